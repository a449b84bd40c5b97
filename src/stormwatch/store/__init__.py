"""The embedded event store: events, verdicts and findings, upserted by event id (DuckDB by default)."""

from __future__ import annotations

from stormwatch.store._behaviour import AccountBehaviour, KeyShift
from stormwatch.store._duckdb import DuckDBStore, MemoryStore, open_store
from stormwatch.store.base import LINK_METADATA_KEYS, Store

__all__ = [
    "LINK_METADATA_KEYS",
    "AccountBehaviour",
    "DuckDBStore",
    "KeyShift",
    "MemoryStore",
    "Store",
    "open_store",
]
