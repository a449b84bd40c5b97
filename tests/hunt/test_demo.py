"""The demo's hunt part end to end on a tiny population (the real demo simulates ≥ 50,000 events)."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from stormwatch.hunt.demo import run_demo


def test_run_demo_reaches_its_minimum_size_and_writes_the_report(tmp_path: Path) -> None:
    out = io.StringIO()
    result = run_demo(
        tmp_path,
        accounts=80,
        days=4,
        seed=2,
        console=Console(file=out, width=120),
        min_events=1500,
        workers=1,
    )
    text = out.getvalue()
    n = int(text.split("simulated ", 1)[1].split(" events", 1)[0].replace(",", ""))
    assert n >= 700
    assert (tmp_path / "report.html").is_file() and (tmp_path / "clusters.json").is_file()
    assert "report:" in text and result.stats["scanned"] == n
