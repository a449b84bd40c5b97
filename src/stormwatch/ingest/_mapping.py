"""Column mapping: which input column (or JSON key) feeds which Event field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stormwatch.errors import ConfigError
from stormwatch.ingest._normalize import MAPPING_TARGETS


def parse_mapping(text: str) -> dict[str, str]:
    """Parse a CLI mapping like `"prompt=question,account_id=user"` into `{"prompt": "question", ...}`."""
    out: dict[str, str] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        target, sep, column = item.partition("=")
        if not sep:
            raise ConfigError("--mapping", f"expected FIELD=COLUMN, got {item!r}")
        out[target.strip()] = column.strip()
    return check_mapping(out)


def check_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    """Validate a mapping's targets (Event fields or input aliases) and columns; returns a plain dict."""
    out: dict[str, str] = {}
    for target, column in mapping.items():
        if target not in MAPPING_TARGETS:
            known = ", ".join(sorted(MAPPING_TARGETS))
            raise ConfigError("mapping", f"unknown field {target!r}; known fields: {known}")
        if not isinstance(column, str) or not column:
            raise ConfigError("mapping", f"field {target!r} needs a non-empty column name")
        out[target] = column
    return out


def apply_mapping(record: dict[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """Rename mapped columns of `record` in place to their Event field names (the mapping wins)."""
    moved = {target: record[column] for target, column in mapping.items() if column in record}
    for column in mapping.values():
        record.pop(column, None)
    record.update(moved)
    return record
