"""The embedded event store: events, verdicts and findings, upserted by event id (DuckDB by default)."""

from __future__ import annotations

from stormwatch.store._behaviour import AccountBehaviour, KeyShift
from stormwatch.store._duckdb import DuckDBStore, MemoryStore, open_store
from stormwatch.store.base import LINK_METADATA_KEYS, Store
from stormwatch.store.schema import FLAGGED, AccountStats, EventRow, FindingRow, FlagRule, LinkKey

__all__ = [
    "FLAGGED",
    "LINK_METADATA_KEYS",
    "AccountBehaviour",
    "AccountStats",
    "DuckDBStore",
    "EventRow",
    "FindingRow",
    "FlagRule",
    "KeyShift",
    "LinkKey",
    "MemoryStore",
    "Store",
    "open_store",
]
