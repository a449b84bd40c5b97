"""Scan output pinned byte for byte on a fixed corpus (issue 11: refactors change no verdict).

The corpus is 187 seeded simulated events (`SimConfig(accounts=60, days=6, seed=11, landscape=True)`,
sampled) plus six hand-written ones (Hindi and Persian requests for the e5 route, a tool-turn injection, a
base64 view, a long event, a system-prompt conflict). Regenerate the goldens only for an intended
behaviour change: `STORMWATCH_UPDATE_GOLDEN=1 pytest tests/detectors/test_scan_golden.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stormwatch.cli.main import app

GOLDEN = Path(__file__).parent / "golden"
CORPUS = GOLDEN / "scan_corpus.jsonl"


@pytest.mark.parametrize(("name", "flags"), [("scan_fast", ["--fast"]), ("scan_default", [])])
def test_scan_output_is_pinned(tmp_path: Path, name: str, flags: list[str]) -> None:
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(app, ["scan", *flags, "-q", str(CORPUS), "-o", str(out)])
    assert res.exit_code == 0, res.output
    got = out.read_bytes()
    assert got.count(b"\n") == CORPUS.read_bytes().count(b"\n")
    golden = GOLDEN / f"{name}.jsonl"
    if os.environ.get("STORMWATCH_UPDATE_GOLDEN") == "1":  # test-side switch, never read by the library
        golden.write_bytes(got)
    assert got == golden.read_bytes(), f"scan output differs from {golden.name}"
