"""The store's one schema definition, its typed rows and the one "flagged" rule."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest
from pydantic import ValidationError

from stormwatch.models import Event, Verdict
from stormwatch.store import FLAGGED, EventRow, FindingRow, FlagRule, LinkKey, open_store
from stormwatch.store.schema import EVENTS, FINDINGS, TABLES, VERDICTS, ddl

# The tables as the hand-written DDL created them before the schema was generated: stores on disk keep working.
_BEFORE = {
    "events": "id VARCHAR, ts TIMESTAMP, account_id VARCHAR, org_id VARCHAR, session_id VARCHAR, source_ip VARCHAR, "
    "net VARCHAR, user_agent VARCHAR, api_key_id VARCHAR, model VARCHAR, prompt VARCHAR, response VARCHAR, "
    "link_keys VARCHAR[], metadata VARCHAR",
    "verdicts": "id VARCHAR, risk DOUBLE, verdict VARCHAR, categories VARCHAR[], techniques VARCHAR[], "
    "tactics VARCHAR[], reasons VARCHAR[]",
    "findings": "event_id VARCHAR, idx INTEGER, detector VARCHAR, rule VARCHAR, score DOUBLE, category VARCHAR, "
    "techniques VARCHAR[], explanation VARCHAR, evidence VARCHAR, error BOOLEAN",
    "designations": "account_id VARCHAR, designation VARCHAR",
    "sealed": "id VARCHAR",
}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> str:
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return ", ".join(f"{n} {t}" for n, t in rows)


def test_generated_ddl_matches_the_tables_stores_already_have() -> None:
    con = duckdb.connect(":memory:")
    con.execute(ddl()).fetchall()
    assert {t: _columns(con, t) for t in TABLES} == _BEFORE
    assert [f.name for f in EVENTS] == [c.split()[0] for c in _BEFORE["events"].split(", ")]
    assert VERDICTS.names[0] == "id" and FINDINGS.names[:2] == ["event_id", "idx"]


def test_flag_rule_is_verdict_or_risk_cut() -> None:
    assert FLAGGED.risk == 0.5
    assert (
        FLAGGED.flagged("flag", 0.0) and FLAGGED.flagged("allow", 0.5) and not FLAGGED.flagged("allow", 0.49)
    )
    strict = FlagRule(risk=0.9)
    assert not strict.flagged("allow", 0.8) and strict.flagged("block", 0.1)


def test_rows_are_typed_and_frozen() -> None:
    ev = Event(
        id="e1",
        account_id="a",
        timestamp=datetime(2025, 1, 1, 12),
        messages=[{"role": "user", "content": "hello there"}],
        metadata={"payment_hash": "p=1"},
    )
    with open_store(None) as store:
        store.add([ev], [Verdict(id="e1", risk=0.7, verdict="flag", categories=("jailbreak",))])
        (row,) = store.account_events(["a"])
        (stats,) = store.account_stats()
        strict = store.account_stats(flag=FlagRule(risk=0.9))
    assert isinstance(row, EventRow) and row.link_keys == (LinkKey(kind="payment_hash", value="p=1"),)
    assert (row.verdict, row.risk, row.categories, row.prompt) == ("flag", 0.7, ("jailbreak",), "hello there")
    assert (stats.account_id, stats.events, stats.flagged, stats.blocked) == ("a", 1, 1, 0)
    assert strict[0].flagged == 1  # a "flag" verdict counts whatever the risk cut
    with pytest.raises(ValidationError):
        row.risk = 0.1  # type: ignore[misc]
    with pytest.raises(ValidationError, match="idx"):
        FindingRow.model_validate({"event_id": "e1"})
