"""The embedded event store: events, verdicts and findings, upserted by event id (DuckDB by default)."""

from __future__ import annotations

from stormwatch.store._duckdb import DuckDBStore, MemoryStore, open_store
from stormwatch.store.base import LINK_METADATA_KEYS, Store

__all__ = ["LINK_METADATA_KEYS", "DuckDBStore", "MemoryStore", "Store", "open_store"]
