"""The hunt end to end on a small simulation: clusters, attribution, contract files, re-runs, bad records."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from stormwatch.export import report_links
from stormwatch.hunt import HuntResult, analyse, run_hunt
from stormwatch.simulate import BENIGN_LABEL, SimConfig, write_simulation
from stormwatch.store import open_store

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
KNOWN = {"Forest Blizzard", "Emerald Sleet", "Crimson Sandstorm", "Charcoal Typhoon", "Salmon Typhoon"}


@pytest.fixture(scope="module")
def hunted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], HuntResult, Path]:
    d = tmp_path_factory.mktemp("hunt")
    events, truth_path = d / "events.jsonl", d / "truth.json"
    write_simulation(SimConfig(accounts=160, days=12, seed=11), events, truth_path)
    with events.open("a", encoding="utf-8") as fh:  # bad records are counted, never fatal
        fh.write("{not json\n")
        fh.write('{"id": "x", "messages": 5}\n')
    store_path = d / "store.duckdb"
    with open_store(store_path) as store:
        # the real engine, fast path; the caller wires the export layer in (the hunt does not import it)
        result = run_hunt([events], store=store, out_dir=d / "out", exporter=report_links)
    return d, json.loads(truth_path.read_text("utf-8")), result, store_path


def test_clusters_are_pure_and_benign_stay_out(hunted: tuple[Path, dict[str, Any], HuntResult, Path]) -> None:
    _, truth, result, _ = hunted
    labels = truth["accounts"]
    assert len(result.clusters) >= 5
    for c in result.clusters:
        assert len(Counter(labels[a] for a in c.accounts)) == 1, c.accounts
        assert all(labels[a] != BENIGN_LABEL for a in c.accounts)


def test_attribution_names_the_right_actor_with_evidence(
    hunted: tuple[Path, dict[str, Any], HuntResult, Path],
) -> None:
    _, truth, result, _ = hunted
    labels = truth["accounts"]
    for c in result.clusters:
        actual = labels[c.accounts[0]]
        if actual in KNOWN:
            assert c.attribution and c.attribution[0].actor == actual
        else:  # the fraud ring and the unknown operation have no profile: no actor may be named
            assert not c.attribution or c.attribution[0].score < 0.5
        for a in c.attribution:
            assert a.evidence


def test_outputs_validate_against_schemas(hunted: tuple[Path, dict[str, Any], HuntResult, Path]) -> None:
    d, _, result, _ = hunted
    out = d / "out"
    clusters_schema = json.loads((SCHEMAS / "clusters.schema.json").read_text("utf-8"))
    accounts_schema = json.loads((SCHEMAS / "accounts.schema.json").read_text("utf-8"))
    jsonschema.validate(json.loads((out / "clusters.json").read_text("utf-8")), clusters_schema)
    lines = (out / "accounts.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == len(result.accounts)
    for line in lines:
        jsonschema.validate(json.loads(line), accounts_schema)
    html = (out / "report.html").read_text("utf-8")
    assert "<svg" in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert all(c.designation in html for c in result.clusters)
    assert (out / "findings.parquet").stat().st_size > 0


def test_report_links_each_cluster_to_its_exports(
    hunted: tuple[Path, dict[str, Any], HuntResult, Path],
) -> None:
    d, _, result, _ = hunted
    out = d / "out"
    html = (out / "report.html").read_text("utf-8")
    assert result.clusters
    for c in result.clusters:
        for suffix in (".stix.json", ".navigator.json", ".misp.json", ".indicators.json"):
            rel = f"exports/{c.designation}{suffix}"
            assert (out / rel).is_file(), rel
            assert f"href='{rel}'" in html
    assert "navigator-heatmap" in html


def test_bad_records_counted(hunted: tuple[Path, dict[str, Any], HuntResult, Path]) -> None:
    assert hunted[2].stats["bad_records"] == 2


def test_rerun_is_idempotent_and_designations_stable(
    hunted: tuple[Path, dict[str, Any], HuntResult, Path],
) -> None:
    d, _, first, store_path = hunted
    with open_store(store_path) as store:
        before = store.count()
        again = run_hunt([d / "events.jsonl"], store=store, out_dir=None)
        assert store.count() == before == again.stats["stored_events"]
    assert [(c.designation, c.accounts) for c in again.clusters] == [
        (c.designation, c.accounts) for c in first.clusters
    ]


class _ReadOnly:
    """A store that fails on any write: what `analyse` is given must come back untouched."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name in {"add", "save_designations", "export_findings"}:
            raise AssertionError(f"the analysis wrote to the store: {name}")
        return getattr(self._inner, name)


def test_analysis_reads_the_store_and_returns_designations(
    hunted: tuple[Path, dict[str, Any], HuntResult, Path],
) -> None:
    """`analyse` writes nothing: the designations it chose come back in the result; run_hunt saved them."""
    _, _, first, store_path = hunted
    with open_store(store_path) as store:
        members = [a for c in first.clusters for a in c.accounts]
        assert first.designations == {a: c.designation for c in first.clusters for a in c.accounts}
        assert store.designations(members) == first.designations
        result = analyse(_ReadOnly(store))
    assert result.designations == first.designations
