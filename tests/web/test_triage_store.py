"""The console's store tables: audit, labels, allow-list (revertible), roles, keyset search paging."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from stormwatch.models import Event, Message, Verdict
from stormwatch.store import MemoryStore
from stormwatch.store._triage import SearchFilters, Triage


def _store(n: int = 25) -> Triage:
    store = MemoryStore()
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    evs = [
        Event(id=f"e{i:03d}", timestamp=t0 + timedelta(minutes=i // 2), account_id=f"a{i % 3}",
              messages=[Message(role="user", content=f"prompt number {i} {'keylogger' if i % 5 == 0 else ''}")])
        for i in range(n)
    ]  # fmt: skip
    vds = [Verdict(id=e.id, risk=0.9 if i % 5 == 0 else 0.0, verdict="block" if i % 5 == 0 else "allow",
                   categories=("malware",) if i % 5 == 0 else ()) for i, e in enumerate(evs)]  # fmt: skip
    store.add(evs, vds)
    return Triage(store)


def test_keyset_paging_visits_every_match_once_newest_first() -> None:
    tr = _store()
    seen: list[str] = []
    cursor = None
    while True:
        page = tr.search(SearchFilters(), cursor=cursor, limit=4)
        seen.extend(r.id for r in page.rows)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == [f"e{i:03d}" for i in range(25)]
    assert len(set(seen)) == 25
    ts = [tr.event(i).ts for i in seen]  # type: ignore[union-attr]
    assert ts == sorted(ts, reverse=True)


def test_filters_text_verdict_category_account() -> None:
    tr = _store()
    hits = tr.search(SearchFilters(text="KEYLOGGER", verdict="block", category="malware"), limit=100).rows
    assert sorted(r.id for r in hits) == ["e000", "e005", "e010", "e015", "e020"]
    assert all(r.account_id == "a0" for r in tr.search(SearchFilters(account="a0"), limit=100).rows)
    # a value that looks like SQL is only ever a bound parameter
    assert tr.search(SearchFilters(text="' OR 1=1 --"), limit=100).rows == ()


def test_audit_labels_allowlist_revert_and_roles() -> None:
    tr = _store()
    assert tr.role_of("k1") == "guard-client"
    tr.set_role("k1", "analyst", by="cli")
    assert tr.role_of("k1") == "analyst"
    lab = tr.add_label("k1", "account", "a1", "fp", "researcher account")
    entry = tr.add_allow("k1", "account_id", "a1", note="researcher", label_seq=lab.seq)
    tr.audit("k1", "analyst", "label", "account:a1", {"label": "fp"})
    assert [e.value for e in tr.allow_entries(active_only=True)] == ["a1"]
    reverted = tr.revert_allow(entry.seq, by="k1")
    assert not reverted.active and reverted.reverted_by == "k1"
    assert tr.allow_entries(active_only=True) == []
    log = tr.audit_log()
    assert log[0].actor == "k1" and log[0].action == "label" and log[0].target == "account:a1"
    assert tr.current_labels()[0].label == "fp"
