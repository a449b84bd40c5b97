"""The store's one schema definition and its typed rows: what the store returns to the hunt and the exporters.

The Arrow schemas below are the tables; the DuckDB DDL is generated from them (`ddl`), so a column is
declared once. Rows leave the store as frozen models (`EventRow`, `FindingRow`, `AccountStats`), never as
dicts indexed by string. `FlagRule` is the one definition of a "flagged" event, shared by the store's
account statistics, the hunt's profiles and the exporters' prompt indicators.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, field_validator

__all__ = [
    "EVENTS",
    "FINDINGS",
    "FLAGGED",
    "VERDICTS",
    "AccountStats",
    "EventRow",
    "FindingRow",
    "FlagRule",
    "LinkKey",
    "ddl",
    "decode_link_key",
    "encode_link_key",
]

EVENTS: Final = pa.schema(
    [
        ("id", pa.string()),
        ("ts", pa.timestamp("us")),
        ("account_id", pa.string()),
        ("org_id", pa.string()),
        ("session_id", pa.string()),
        ("source_ip", pa.string()),
        ("net", pa.string()),
        ("user_agent", pa.string()),
        ("api_key_id", pa.string()),
        ("model", pa.string()),
        ("prompt", pa.string()),
        ("response", pa.string()),
        ("link_keys", pa.list_(pa.string())),
        ("metadata", pa.string()),
    ]
)
VERDICTS: Final = pa.schema(
    [
        ("id", pa.string()),
        ("risk", pa.float64()),
        ("verdict", pa.string()),
        ("categories", pa.list_(pa.string())),
        ("techniques", pa.list_(pa.string())),
        ("tactics", pa.list_(pa.string())),
        ("reasons", pa.list_(pa.string())),
    ]
)
FINDINGS: Final = pa.schema(
    [
        ("event_id", pa.string()),
        ("idx", pa.int32()),
        ("detector", pa.string()),
        ("rule", pa.string()),
        ("score", pa.float64()),
        ("category", pa.string()),
        ("techniques", pa.list_(pa.string())),
        ("explanation", pa.string()),
        ("evidence", pa.string()),
        ("error", pa.bool_()),
    ]
)
DESIGNATIONS: Final = pa.schema([("account_id", pa.string()), ("designation", pa.string())])
SEALED: Final = pa.schema([("id", pa.string())])

# table → (schema, primary key)
TABLES: Final[dict[str, tuple[pa.Schema, tuple[str, ...]]]] = {
    "events": (EVENTS, ("id",)),
    "verdicts": (VERDICTS, ("id",)),
    "findings": (FINDINGS, ("event_id", "idx")),
    "designations": (DESIGNATIONS, ("account_id",)),
    "sealed": (SEALED, ("id",)),
}

_SQL_TYPES: Final = {
    pa.string(): "VARCHAR",
    pa.timestamp("us"): "TIMESTAMP",
    pa.float64(): "DOUBLE",
    pa.int32(): "INTEGER",
    pa.bool_(): "BOOLEAN",
    pa.list_(pa.string()): "VARCHAR[]",
}


def ddl() -> str:
    """`CREATE TABLE IF NOT EXISTS` statements for every table, generated from the Arrow schemas."""
    out = []
    for name, (schema, key) in TABLES.items():
        cols = ", ".join(f"{f.name} {_SQL_TYPES[f.type]}" for f in schema)
        out.append(f"CREATE TABLE IF NOT EXISTS {name} ({cols}, PRIMARY KEY ({', '.join(key)}));")
    return "\n".join(out)


class FlagRule(BaseModel):
    """When an event counts as flagged: its verdict is not `allow`, or its risk is at or above `risk`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    risk: float = 0.5

    def flagged(self, verdict: str, risk: float) -> bool:
        """Whether an event with this verdict and risk is flagged."""
        return verdict != "allow" or risk >= self.risk


FLAGGED: Final = FlagRule()
"""The hunt's default cut (risk 0.5)."""


class LinkKey(BaseModel):
    """One shared-identity value of an event (a hashed payment, email, device...): kind and value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    value: str


def encode_link_key(key: LinkKey) -> str:
    """The stored form `kind=value` (the store's SQL splits it at the first `=`)."""
    return f"{key.kind}={key.value}"


def decode_link_key(stored: str) -> LinkKey:
    """A link key back from its stored form."""
    kind, _, value = stored.partition("=")
    return LinkKey(kind=kind, value=value)


class EventRow(BaseModel):
    """One stored event joined with its verdict (allow and risk 0 when it has none)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    ts: datetime | None = None
    account_id: str
    org_id: str | None = None
    session_id: str | None = None
    source_ip: str | None = None
    net: str | None = None
    user_agent: str | None = None
    api_key_id: str | None = None
    model: str | None = None
    prompt: str | None = None
    response: str | None = None
    link_keys: tuple[LinkKey, ...] = ()
    risk: float = 0.0
    verdict: str = "allow"
    categories: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()

    @field_validator("link_keys", mode="before")
    @classmethod
    def _keys(cls, value: object) -> object:
        if value is None:
            return ()
        return tuple(decode_link_key(v) if isinstance(v, str) else v for v in value)  # type: ignore[attr-defined]

    @field_validator("categories", "techniques", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        return () if value is None else value


class FindingRow(BaseModel):
    """One stored finding of an event (`evidence`: JSON text of its evidence spans)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    idx: int
    detector: str | None = None
    rule: str | None = None
    score: float | None = None
    category: str | None = None
    techniques: tuple[str, ...] = ()
    explanation: str | None = None
    evidence: str | None = None
    error: bool | None = None

    @field_validator("techniques", mode="before")
    @classmethod
    def _lists(cls, value: object) -> object:
        return () if value is None else value


class AccountStats(BaseModel):
    """Per-account counts over a time window: events, flagged (by a `FlagRule`), blocked, risk and time span."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str
    events: int
    flagged: int
    blocked: int
    max_risk: float
    first_seen: datetime | None = None
    last_seen: datetime | None = None
