"""The bad-record error with a stable kind, and the running report of one ingest."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

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
    "truncated-input",
    "nested-too-deep",
    "internal-error",
]

#: Kinds that mean the rest of a source could not be read: the input is damaged, not only one record.
SOURCE_KINDS: frozenset[str] = frozenset({"broken-source", "truncated-input"})
_HEAD_BYTES = 160


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
    head: str | None = None
    """The record's first bytes (UTF-8, undecodable bytes escaped), when the reader had them."""

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
    damaged: list[BadRecord] = field(default_factory=list)
    """Sources that could not be read to their end (truncated or corrupt), each with what was read."""
    on_bad: Callable[[BadRecord], None] | None = None
    """Called with every bad record, also those past `max_errors` (e.g. to write an errors file)."""
    columns: dict[str, list[str]] = field(default_factory=dict)
    """The header columns of each CSV source (and the schema of each Parquet one), for hints."""

    def add(self, err: InputRecordError, raw: bytes | None = None) -> None:
        """Count a bad record, keep its details while fewer than `max_errors` are kept, pass it to `on_bad`."""
        kind = err.kind if isinstance(err, RecordError) else "other"
        self.bad_records += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        keep = len(self.errors) < self.max_errors
        if not keep and self.on_bad is None and kind not in SOURCE_KINDS:
            return
        bad = BadRecord(
            source=err.source,
            line=err.line,
            field=err.field,
            kind=kind,
            reason=err.reason,
            record_id=err.record_id,
            head=None if raw is None else raw[:_HEAD_BYTES].decode("utf-8", "backslashreplace"),
        )
        if keep:
            self.errors.append(bad)
        if kind in SOURCE_KINDS:
            self.damaged.append(bad)
        if self.on_bad is not None:
            self.on_bad(bad)

    def summary(self) -> str:
        """One line for people: events read, bad records by kind."""
        ranked = sorted(self.by_kind.items(), key=lambda kv: (-kv[1], kv[0]))
        kinds = ", ".join(f"{k}: {n}" for k, n in ranked)
        bad = f"{self.bad_records} bad records" + (f" ({kinds})" if kinds else "")
        text = f"{self.events} events from {self.lines} lines in {len(self.sources)} source(s); {bad}"
        if self.damaged:
            text += f"; {len(self.damaged)} source(s) damaged, not read to the end"
        return text

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
            "damaged": [e.model_dump() for e in self.damaged],
        }


class BadRecordLog:
    """Writes every bad record it is given as one JSON line (source, line, field, kind, reason, head).

    Use it as `IngestReport(on_bad=log)`; a context manager that closes the file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.written = 0
        self._fh: IO[bytes] = open(self.path, "wb")  # noqa: SIM115 - closed by close() / __exit__

    def __call__(self, bad: BadRecord) -> None:
        """Append one bad record."""
        self._fh.write(json.dumps(bad.model_dump(), ensure_ascii=False).encode("utf-8") + b"\n")
        self.written += 1

    def close(self) -> None:
        """Flush and close the file."""
        self._fh.close()

    def __enter__(self) -> BadRecordLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
