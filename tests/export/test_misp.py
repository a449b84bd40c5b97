"""MISP events: built offline with pymisp, load back, carry galaxy and TLP tags and the summary; feed and
taxonomy files."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
from pymisp import MISPEvent

from stormwatch.export import ExportError
from stormwatch.export.misp import (
    activity_group_tag,
    build_events,
    export_misp,
    export_misp_feed,
    galaxy_tag,
    load_events,
    misp_taxonomy,
)
from stormwatch.kb.taxonomy import load_taxonomy
from stormwatch.models import Cluster
from stormwatch.store import DuckDBStore

from ._support import check_golden, fixed_data, fixed_options

GALAXY = json.loads((Path(__file__).parent / "data" / "misp_galaxy_extract.json").read_text("utf-8"))
TAXONOMY_FILE = Path(__file__).parents[2] / "docs" / "misp-taxonomy" / "stormwatch" / "machinetag.json"


@pytest.mark.parametrize("galaxy", ["mitre-attack-pattern", "mitre-atlas-attack-pattern"])
def test_technique_tags_are_published_galaxy_values(galaxy: str) -> None:
    for tid, value in GALAXY[galaxy].items():
        assert galaxy_tag(tid) == f'misp-galaxy:{galaxy}="{value}"', tid


def test_microsoft_actors_get_activity_group_tags() -> None:
    for actor, value in GALAXY["microsoft-activity-group"].items():
        assert activity_group_tag(actor) == f'misp-galaxy:microsoft-activity-group="{value}"', actor
    assert (
        activity_group_tag("unknown actor", "G0007")
        == 'misp-galaxy:microsoft-activity-group="Forest Blizzard"'
    )
    assert activity_group_tag("unknown actor") is None


def test_event_loads_back_and_matches_golden(store: DuckDBStore, tmp_path: Path) -> None:
    (path,) = export_misp(fixed_data(store), fixed_options(), tmp_path / "event.json")
    text = path.read_text("utf-8")
    check_golden("misp_event.json", text)
    ev = MISPEvent()
    ev.load(text)
    tags = {t.name for t in ev.tags}
    assert "tlp:amber" in tags
    assert 'misp-galaxy:mitre-attack-pattern="Phishing - T1566"' in tags
    assert 'misp-galaxy:mitre-atlas-attack-pattern="Direct"' in tags  # AML.T0051.000
    assert 'misp-galaxy:mitre-intrusion-set="APT28 - G0007"' in tags
    assert 'misp-galaxy:microsoft-activity-group="Forest Blizzard"' in tags
    assert not any("Storm-1234" in t for t in tags)  # below the confidence cut
    types = sorted({a.type for a in ev.attributes})
    assert types == ["ip-src", "sha256", "text"]
    assert "10.0.0.5" not in text
    assert "Forest Blizzard" in json.loads(text)["Event"]["EventReport"][0]["content"]


def test_actor_without_attack_group_is_tagged(store: DuckDBStore) -> None:
    data = fixed_data(store)
    cd = data.clusters[0]
    raw = cd.cluster.model_dump(mode="json")
    raw["attribution"] = [
        {"actor": "Salmon Typhoon", "group_id": None, "score": 0.7, "evidence": ["overlap"]}
    ]
    one = type(data)(clusters=[cd.model_copy(update={"cluster": Cluster.model_validate(raw)})])
    (ev,) = build_events(one, fixed_options())
    tags = {t.name for t in ev.tags}
    assert 'misp-galaxy:microsoft-activity-group="Salmon Typhoon"' in tags
    assert not any(t.startswith("misp-galaxy:mitre-intrusion-set") for t in tags)


def _two_clusters(store: DuckDBStore):  # type: ignore[no-untyped-def]
    data = fixed_data(store)
    cd = data.clusters[0]
    raw = cd.cluster.model_dump(mode="json") | {"id": "c-0002", "designation": "Storm-0418"}
    other = cd.model_copy(update={"cluster": Cluster.model_validate(raw)})
    return type(data)(clusters=[cd, other])


def test_events_are_deterministic_and_a_multi_cluster_file_loads_every_event(
    store: DuckDBStore, tmp_path: Path
) -> None:
    data = fixed_data(store)
    a = [e.to_json(sort_keys=True) for e in build_events(data, fixed_options())]
    b = [e.to_json(sort_keys=True) for e in build_events(fixed_data(store), fixed_options())]
    assert a == b
    (path,) = export_misp(_two_clusters(store), fixed_options(tlp="green"), tmp_path / "events.json")
    doc = json.loads(path.read_text("utf-8"))
    assert len(doc["response"]) == 2
    events = load_events(path)
    assert [e.info.split(":")[0] for e in events] == ["Stormwatch Storm-0417", "Stormwatch Storm-0418"]
    assert len({e.uuid for e in events}) == 2
    assert all("tlp:green" in {t.name for t in e.tags} for e in events)
    assert [e.uuid for e in load_events(doc["response"][0])] == [events[0].uuid]
    with pytest.raises(ExportError, match="item 0"):
        load_events({"response": [{"nope": 1}]})


def test_feed_has_manifest_hashes_and_one_file_per_event(store: DuckDBStore, tmp_path: Path) -> None:
    out = tmp_path / "feed"
    written = export_misp_feed(_two_clusters(store), fixed_options(), out)
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert len(manifest) == 2 and set(written) == {out / "manifest.json", out / "hashes.csv"} | {
        out / f"{u}.json" for u in manifest
    }
    for uuid, meta in manifest.items():
        doc = json.loads((out / f"{uuid}.json").read_text("utf-8"))
        (ev,) = load_events(doc)
        assert ev.uuid == uuid and meta["info"] == ev.info
        assert doc["Event"]["Orgc"]["name"] == "Stormwatch"
        assert {t["name"] for t in meta["Tag"]} == {t.name for t in ev.tags}
        assert isinstance(meta["timestamp"], int) and meta["date"] == "2025-04-01"
    rows = list(csv.reader((out / "hashes.csv").read_text("utf-8").splitlines()))
    first = json.loads((out / f"{rows[0][1]}.json").read_text("utf-8"))["Event"]["Attribute"][0]
    assert rows[0][0] == hashlib.md5(first["value"].encode(), usedforsecurity=False).hexdigest()
    assert {r[1] for r in rows} == set(manifest)
    again = tmp_path / "feed2"
    export_misp_feed(_two_clusters(store), fixed_options(), again)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {
        p.name: p.read_bytes() for p in again.iterdir()
    }
    (tmp_path / "file").write_text("x", "utf-8")
    with pytest.raises(ExportError, match="directory"):
        export_misp_feed(fixed_data(store), fixed_options(), tmp_path / "file")


def test_taxonomy_defines_every_category_tag_and_is_published(store: DuckDBStore) -> None:
    tax = misp_taxonomy()
    assert tax["namespace"] == "stormwatch" and [p["value"] for p in tax["predicates"]] == ["category"]
    (values,) = tax["values"]
    entries = {e["value"] for e in values["entry"]}
    assert entries == set(load_taxonomy().slugs())
    (ev,) = build_events(fixed_data(store), fixed_options())
    cats = {t.name for t in ev.tags if t.name.startswith("stormwatch:")}
    assert cats and cats <= {f'stormwatch:category="{s}"' for s in entries}
    # The published file is the generated one (regenerate: UPDATE_GOLDEN=1 pytest tests/export/test_misp.py).
    text = json.dumps(tax, indent=2, ensure_ascii=False) + "\n"
    check_golden(str(TAXONOMY_FILE), text)  # an absolute name: check_golden's GOLDEN / name is this path
