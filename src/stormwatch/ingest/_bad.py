"""The in-reader signal for one bad record (kind, field, reason); readers turn it into a `RecordError`."""

from __future__ import annotations

from stormwatch.ingest._report import BadKind


class Bad(Exception):
    """A record fails a check; the reader adds source, line and record id."""

    def __init__(self, kind: BadKind, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.kind: BadKind = kind
        self.field = field
        self.reason = reason
