"""An export reads a hunt result; with only a store it says so and re-analyses only on `--reanalyse`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from stormwatch.cli.export import export_cmd
from stormwatch.store import open_store

app = typer.Typer()
app.command("export")(export_cmd)
app.command("noop")(lambda: None)  # two commands, so typer keeps the sub-command name


def test_store_alone_is_refused_with_the_way_out(store_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    res = CliRunner().invoke(app, ["export", "stix", "--store", str(store_file), "-o", str(out)])
    assert res.exit_code == 2
    assert "no hunt result" in res.output and "--reanalyse" in res.output
    assert not out.exists()


def test_reanalyse_exports_and_writes_nothing_to_the_store(store_file: Path, tmp_path: Path) -> None:
    with open_store(store_file) as store:
        before = store.count()
        accounts = sorted({r.account_id for r in store.account_stats()})
        names_before = store.designations(accounts)
    out = tmp_path / "x.json"
    args = ["export", "stix", "--store", str(store_file), "--reanalyse", "-o", str(out)]
    res = CliRunner().invoke(app, [*args, "--created", "2025-04-01T12:00:00Z"])
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text("utf-8"))["type"] == "bundle"
    assert "Storm-" in out.read_text("utf-8")  # the analysis found a cluster (else the check below is empty)
    with open_store(store_file) as store:
        assert store.count() == before
        assert store.designations(accounts) == names_before  # the export saved no designation
