"""The DuckDB store: idempotent upserts by event id, the queries the hunt needs, persistence."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

from stormwatch.models import Event, Finding, Message, Verdict
from stormwatch.store import MemoryStore, Store, open_store


def _ev(i: int, acc: str, ip: str = "10.0.0.1", **meta: str) -> Event:
    return Event(
        id=f"e{i}",
        timestamp=datetime(2024, 1, 1, 9, i % 60, tzinfo=UTC),
        account_id=acc,
        source_ip=ip,
        user_agent="ua",
        messages=(Message(role="user", content=f"prompt {i}"),),
        metadata=dict(meta),
    )


def _vd(i: int, risk: float) -> Verdict:
    label = "block" if risk >= 0.75 else "flag" if risk >= 0.5 else "allow"
    fs = (Finding(detector="d", rule="r", score=risk, category="jailbreak"),) if risk >= 0.5 else ()
    return Verdict(id=f"e{i}", risk=risk, verdict=label, categories=("jailbreak",) if fs else (), findings=fs)


def test_protocol_and_idempotent_upsert() -> None:
    store = MemoryStore()
    assert isinstance(store, Store)
    evs = [_ev(i, "a" if i < 3 else "b") for i in range(6)]
    store.add(evs, [_vd(i, 0.8) for i in range(6)])
    store.add(evs, [_vd(i, 0.8) for i in range(6)])
    assert store.count() == 6
    store.add(evs[:2], [_vd(0, 0.1), _vd(1, 0.1)])  # a re-scan replaces verdicts and their findings
    stats = {r.account_id: r for r in store.account_stats()}
    assert stats["a"].events == 3 and stats["a"].flagged == 1
    assert sum(len(v) for v in store.findings_for([e.id for e in evs]).values()) == 4


def test_infra_usage_counts_suspicious_share() -> None:
    store = MemoryStore()
    evs = [_ev(i, f"acc{i}", ip="192.0.2.7", payment_hash="p1" if i < 2 else f"p{i}") for i in range(5)]
    store.add(evs, [_vd(i, 0.9 if i < 2 else 0.0) for i in range(5)])
    usage = store.infra_usage(["acc0", "acc1"])
    assert usage[("ip", "192.0.2.7")] == (5, 2)
    assert usage[("net", "192.0.2.0/24")] == (5, 2)
    assert usage[("payment_hash", "p1")] == (2, 2)


def test_file_store_persists_and_exports(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with open_store(path) as store:
        store.add([_ev(1, "a")], [_vd(1, 0.9)])
        store.save_designations({"a": "Storm-0001"})
        assert store.export_findings(tmp_path / "f.parquet") == 1
    with open_store(path) as store:
        assert store.count() == 1
        assert store.designations(["a", "b"]) == {"a": "Storm-0001"}
        assert store.background_prompts(exclude=["zzz"], n=5) == [("prompt 1", 1)]
    assert pq.read_table(tmp_path / "f.parquet").column("account_id").to_pylist() == ["a"]


def test_sealed_evidence_is_append_only(tmp_path: Path) -> None:
    # issue 16: the guard's records are evidence; no later write may turn a block into an allow
    path = tmp_path / "s.duckdb"
    with open_store(path) as store:
        assert store.add([_ev(1, "a")], [_vd(1, 0.9)], seal=True) == 1
        harmless = _ev(1, "b").model_copy(update={"messages": (Message(role="user", content="hi"),)})
        assert store.add([harmless], [_vd(1, 0.1)], seal=True) == 0  # the first record of an id wins
        assert store.add([harmless], [_vd(1, 0.1)]) == 0  # an ordinary upsert cannot replace it either
        assert store.add([_ev(2, "a"), _ev(1, "b")], [_vd(2, 0.2), _vd(1, 0.1)]) == 1  # the rest is written
    with open_store(path) as store:  # and it holds across reopening
        assert store.is_sealed("e1") and not store.is_sealed("e2")
        assert store.add([harmless], [_vd(1, 0.1)]) == 0
        (row,) = store.account_events(["a"], since=None)[:1]
        assert (row.id, row.verdict, row.prompt) == ("e1", "block", "prompt 1")
        assert sum(len(v) for v in store.findings_for(["e1"]).values()) == 1
        store.add([_ev(2, "a")], [_vd(2, 0.6)])  # unsealed records stay idempotent upserts
        assert store.count() == 2
        assert {r.id: r.verdict for r in store.account_events(["a"])}["e2"] == "flag"
