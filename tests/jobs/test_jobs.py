"""The jobs end to end on a tiny simulated population: demo (scan + simulate → hunt), hunt and export jobs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from stormwatch.config import Config
from stormwatch.errors import StormwatchError
from stormwatch.export import ExportOptions
from stormwatch.jobs import DEMO_SAMPLES, export_job, hunt_job, run_demo, scan_texts
from stormwatch.runtime import Runtime


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime.from_config(Config(fast=True))


def test_scan_texts_gives_one_verdict_per_sample_in_order(runtime: Runtime) -> None:
    verdicts = scan_texts(runtime, DEMO_SAMPLES)
    assert [v.id for v in verdicts] == [name for name, _ in DEMO_SAMPLES]
    by_id = {v.id: v.verdict for v in verdicts}
    assert by_id["benign-coding"] == "allow" and by_id["injection"] != "allow"


def test_demo_then_hunt_and_export_jobs(runtime: Runtime, tmp_path: Path) -> None:
    out = io.StringIO()
    demo_dir = tmp_path / "demo"
    result = run_demo(
        runtime,
        demo_dir,
        accounts=80,
        days=4,
        seed=2,
        console=Console(file=out, width=120),
        min_events=1500,
        workers=1,
    )
    text = out.getvalue()
    assert "APT28" in text and "scan (fast path)" in text and "report:" in text
    n = int(text.split("simulated ", 1)[1].split(" events", 1)[0].replace(",", ""))
    assert n >= 700 and result.stats["scanned"] == n
    assert (demo_dir / "report.html").is_file() and (demo_dir / "clusters.json").is_file()

    # the hunt job on the demo's events, into the runtime's configured store
    hunt_dir = tmp_path / "hunt"
    rt = Runtime.from_config(Config(fast=True, store=tmp_path / "h.duckdb"))
    hunted = hunt_job(rt, [demo_dir / "events.jsonl"], out_dir=hunt_dir, workers=1)
    assert hunted.stats["scanned"] == n and (tmp_path / "h.duckdb").is_file()
    assert [c.designation for c in hunted.clusters] == [c.designation for c in result.clusters]

    # the export job: a STIX bundle of the hunt's clusters
    stix = tmp_path / "bundle.json"
    count, written = export_job("stix", stix, ExportOptions(), hunt_dir=hunt_dir)
    assert count == len(hunted.clusters) > 0 and written == [stix]
    assert json.loads(stix.read_text())["type"] == "bundle"

    # a failed export leaves no new file behind
    bad = tmp_path / "none.json"
    with pytest.raises(StormwatchError):
        export_job("stix", bad, ExportOptions(), hunt_dir=tmp_path / "no-such-hunt")
    assert not bad.exists()
    with pytest.raises(StormwatchError, match="unknown export format"):
        export_job("pdf", bad, ExportOptions(), hunt_dir=hunt_dir)
