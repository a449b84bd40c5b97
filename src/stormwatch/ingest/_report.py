"""The bad-record error with a stable kind, and the running report of one ingest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from stormwatch.errors import InputRecordError

BadKind = Literal[
    "broken-json",
    "bad-utf8",
    "not-an-object",
    "missing-text",
    "wrong-type",
    "invalid-value",
    "invalid-timestamp",
    "oversized-record",
    "oversized-field",
    "too-many-messages",
    "too-many-metadata-keys",
    "broken-csv",
    "broken-source",
]


class RecordError(InputRecordError):
    """An `InputRecordError` that also carries a stable `kind` code used to count bad records."""

    def __init__(
        self,
        source: str,
        line: int | None,
        field: str | None,
        reason: str,
        record_id: str | None = None,
        *,
        kind: BadKind,
    ) -> None:
        super().__init__(source, line, field, reason, record_id)
        self.kind: BadKind = kind


class BadRecord(BaseModel):
    """One reported bad record: where it is, which field, and why."""

    model_config = ConfigDict(frozen=True)

    source: str
    line: int | None
    field: str | None
    kind: str
    reason: str
    record_id: str | None = None

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        rid = f" (record {self.record_id!r})" if self.record_id else ""
        fld = f" field {self.field!r}:" if self.field else ""
        return f"{where}{rid}:{fld} {self.reason} [{self.kind}]"


@dataclass(slots=True)
class IngestReport:
    """Counts of one or more ingest runs; `lines == events + bad_records + blank_lines` always holds.

    `lines` counts JSONL lines, CSV records after the header and Parquet rows. A plain dataclass, not a
    pydantic model: its counters change on every input line.
    """

    sources: list[str] = field(default_factory=list)
    lines: int = 0
    events: int = 0
    blank_lines: int = 0
    bad_records: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    errors: list[BadRecord] = field(default_factory=list)
    max_errors: int = 100

    def add(self, err: InputRecordError) -> None:
        """Count a bad record and keep its details while fewer than `max_errors` are kept."""
        kind = err.kind if isinstance(err, RecordError) else "other"
        self.bad_records += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        if len(self.errors) < self.max_errors:
            self.errors.append(
                BadRecord(
                    source=err.source,
                    line=err.line,
                    field=err.field,
                    kind=kind,
                    reason=err.reason,
                    record_id=err.record_id,
                )
            )

    def summary(self) -> str:
        """One line for people: events read, bad records by kind."""
        ranked = sorted(self.by_kind.items(), key=lambda kv: (-kv[1], kv[0]))
        kinds = ", ".join(f"{k}: {n}" for k, n in ranked)
        bad = f"{self.bad_records} bad records" + (f" ({kinds})" if kinds else "")
        return f"{self.events} events from {self.lines} lines in {len(self.sources)} source(s); {bad}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the counts and the kept errors."""
        return {
            "sources": list(self.sources),
            "lines": self.lines,
            "events": self.events,
            "blank_lines": self.blank_lines,
            "bad_records": self.bad_records,
            "by_kind": dict(self.by_kind),
            "errors": [e.model_dump() for e in self.errors],
        }
