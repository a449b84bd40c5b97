"""The hunt with a judge: only flagged and uncertain events are sent, verdicts land in the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from judge_support import Script, answer, conversation_text
from stormwatch.detectors.judge import Judge, JudgeConfig
from stormwatch.engine import Engine
from stormwatch.hunt import run_hunt
from stormwatch.ingest import read_events
from stormwatch.simulate import SimConfig, write_simulation
from stormwatch.store import open_store


@pytest.mark.parametrize("workers", [1, 2])
def test_hunt_judges_only_the_band_and_stores_its_findings(tmp_path: Path, workers: int) -> None:
    # with workers the verdicts come back from the pool and are judged here: one budget, one cache
    events_path = tmp_path / "events.jsonl"
    write_simulation(SimConfig(accounts=40, days=3, seed=5), events_path, tmp_path / "truth.json")
    events = list(read_events(str(events_path)))
    plain = Engine.default(fast=True).scan_batch(events)
    cfg = JudgeConfig(base_url="http://judge.test/v1", model="fake-judge", max_calls_per_minute=10_000)
    in_band = {e.id for e, v in zip(events, plain, strict=True) if cfg.in_band(v.risk)}
    flagged_or_uncertain = {v.id for v in plain if v.verdict != "allow" or cfg.in_band(v.risk)}
    assert in_band and len(in_band) < len(events) // 2

    script = Script(default=answer(True, "llm-informed-reconnaissance", 0.7, "target research"))
    with Judge(cfg, transport=script.transport()) as judge, open_store(tmp_path / "s.duckdb") as store:
        result = run_hunt([events_path], store=store, judge=judge, workers=workers)
        stored = store.findings_for(sorted(in_band))
    # one call per distinct in-band conversation (repeats come from the cache), none for the rest
    texts = {e.id: e.turns()[-1].content for e in events}
    sent = [conversation_text(b) for b in script.requests]
    assert all(any(texts[i] in s for i in in_band) for s in sent)
    assert len(sent) + result.stats["judge"]["cache_hits"] == len(in_band)
    assert in_band <= flagged_or_uncertain
    assert result.stats["judge"]["in_band"] == len(in_band) and result.stats["judge"]["raised"] == len(
        in_band
    )
    assert result.stats["judge"]["seen"] == len(events)
    judged = {eid for eid, rows in stored.items() if any(r.detector == "judge" for r in rows)}
    assert judged == in_band
