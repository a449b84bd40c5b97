"""`stormwatch export FORMAT`: every format from a hunt directory and a store file, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from stormwatch.cli.export import export_cmd

app = typer.Typer()
app.command("export")(export_cmd)
app.command("noop")(lambda: None)  # two commands, so typer keeps the sub-command name


@pytest.mark.parametrize("fmt", ["stix", "navigator", "misp", "indicators"])
def test_each_format(fmt: str, hunt_dir: Path, store_file: Path, tmp_path: Path) -> None:
    out = tmp_path / f"{fmt}.json"
    args = ["export", fmt, "--hunt-dir", str(hunt_dir), "--store", str(store_file), "-o", str(out)]
    res = CliRunner().invoke(app, [*args, "--cluster", "Storm-0417", "--created", "2025-04-01T12:00:00Z"])
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text("utf-8"))
    again = tmp_path / f"{fmt}-2.json"
    res = CliRunner().invoke(app, [*args[:-1], str(again), "--all", "--created", "2025-04-01T12:00:00Z"])
    assert res.exit_code == 0, res.output
    assert again.read_bytes() == out.read_bytes()  # same input and clock: same bytes


def test_hunt_dir_alone_uses_accounts_for_infrastructure(hunt_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    res = CliRunner().invoke(app, ["export", "stix", "--hunt-dir", str(hunt_dir), "-o", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text("utf-8")
    assert "203.0.113.7" in text and '"pattern_type": "stormwatch-prompt"' not in text
    assert '"created": "2025-03-01T13:00:00.000Z"' in text  # default clock: the latest last_seen


def test_errors(hunt_dir: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "x.json")
    runner = CliRunner()
    res = runner.invoke(
        app, ["export", "stix", "--hunt-dir", str(hunt_dir), "--cluster", "Storm-9999", "-o", out]
    )
    assert res.exit_code == 2 and "Storm-9999" in res.output
    res = runner.invoke(app, ["export", "stix", "--hunt-dir", str(hunt_dir), "--tlp", "purple", "-o", out])
    assert res.exit_code == 2
    res = runner.invoke(app, ["export", "stix", "-o", out])
    assert res.exit_code == 2 and "--hunt-dir" in res.output
    res = runner.invoke(app, ["export", "stix", "--hunt-dir", str(tmp_path), "-o", out])
    assert res.exit_code == 2 and "clusters.json" in res.output
