"""Streaming readers: JSONL (generic and OpenAI log lines), CSV and Parquet, in constant memory."""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, get_args

from stormwatch.errors import ConfigError
from stormwatch.ingest._json import JSONDecodeError, loads
from stormwatch.ingest._limits import Limits
from stormwatch.ingest._mapping import apply_mapping, check_mapping
from stormwatch.ingest._normalize import build_event, canonical_bytes, is_openai_line
from stormwatch.ingest._report import BadKind, IngestReport, RecordError
from stormwatch.ingest._source import (
    STREAM_ERRORS,
    Format,
    Opened,
    Source,
    format_from_name,
    open_source,
    sniff_format,
)
from stormwatch.models import Event

_BOM = b"\xef\xbb\xbf"
_SKIP_CHUNK = 1 << 16
_PARQUET_BATCH = 2048
_FORMATS = frozenset(get_args(Format))


def read_events(
    source: Source,
    *,
    format: Format = "auto",
    mapping: Mapping[str, str] | None = None,
    limits: Limits = Limits(),
    strict: bool = False,
    report: IngestReport | None = None,
) -> Iterator[Event]:
    """Stream Events from a path, "-" (stdin) or a binary stream; bad records are counted and skipped.

    `format="auto"` picks by file name (`.jsonl/.json/.ndjson`, `.csv`, `.parquet`, each optionally `.gz`
    or `.zst`), else by content (Parquet magic), else JSONL. gzip and zstd are undone by magic bytes.
    `mapping` ({Event field: input column or key}) renames input fields first, in every format.
    With `strict=True` the first bad record raises its `RecordError` (an `InputRecordError`).
    A source that cannot be opened raises `RecordError` (kind `broken-source`) in either mode.
    """
    if format not in _FORMATS:
        raise ConfigError("format", f"unknown input format {format!r}; use one of {sorted(_FORMATS)}")
    checked = check_mapping(mapping) if mapping else None
    return _read(source, format, checked, limits, strict, report if report is not None else IngestReport())


def _read(
    source: Source,
    format: Format,
    mapping: dict[str, str] | None,
    limits: Limits,
    strict: bool,
    report: IngestReport,
) -> Iterator[Event]:
    with open_source(source) as opened:
        report.sources.append(opened.name)
        opened.events_before = report.events
        fmt = format
        if fmt == "auto":
            fmt = format_from_name(opened.name) or sniff_format(opened.stream)
        if fmt == "csv":
            yield from _read_csv(opened, mapping, limits, strict, report)
        elif fmt == "parquet":
            yield from _read_parquet(opened, mapping, limits, strict, report)
        else:
            yield from _read_jsonl(opened, fmt == "openai", mapping, limits, strict, report)


def _fail(report: IngestReport, strict: bool, err: RecordError, raw: bytes | None = None) -> None:
    report.add(err, raw)
    if strict:
        raise err


def _too_big(name: str, line: int, cap: int) -> RecordError:
    return RecordError(name, line, None, f"record over {cap} bytes", kind="oversized-record")


def _read_jsonl(
    opened: Opened,
    openai_only: bool,
    mapping: dict[str, str] | None,
    limits: Limits,
    strict: bool,
    report: IngestReport,
) -> Iterator[Event]:
    name = opened.name
    readline = opened.stream.readline
    cap = limits.max_record_bytes
    bound = cap + 2  # room for the record and a CRLF
    line = 0
    while True:
        try:
            chunk = readline(bound)
        except STREAM_ERRORS as exc:
            report.lines += 1  # the unreadable rest counts as one bad record, so the counts add up
            _fail(report, strict, _stream_error(opened, line, exc, report))
            return
        if not chunk:
            return
        line += 1
        report.lines += 1
        if len(chunk) == bound and chunk[-1] != 10:
            try:
                _skip_rest(readline)
            except STREAM_ERRORS as exc:
                _fail(report, strict, _stream_error(opened, line - 1, exc, report))
                return
            _fail(report, strict, _too_big(name, line, cap))
            continue
        raw = chunk.strip()
        if not raw:
            report.blank_lines += 1
            continue
        if line == 1 and raw.startswith(_BOM):
            raw = raw[3:]
        if len(raw) > cap:
            _fail(report, strict, _too_big(name, line, cap))
            continue
        try:
            record = loads(raw)
        except JSONDecodeError as exc:
            _fail(report, strict, _json_error(name, line, raw, exc), raw)
            continue
        if type(record) is not dict:
            what = "an array" if type(record) is list else "a scalar"
            reason = f"expected a JSON object, got {what}"
            _fail(report, strict, RecordError(name, line, None, reason, kind="not-an-object"), raw)
            continue
        if openai_only and not is_openai_line(record):
            reason = "not an OpenAI log line (no request object)"
            _fail(report, strict, RecordError(name, line, "request", reason, kind="invalid-value"), raw)
            continue
        event = _event_or_fail(record, name, line, raw, mapping, limits, report, strict)
        if event is not None:
            yield event


def event_from_record(
    record: dict[str, Any],
    *,
    source: str = "<record>",
    line: int = 0,
    raw: bytes | None = None,
    limits: Limits | None = None,
) -> Event:
    """One already-parsed record (any input form the readers accept) → Event, or a `RecordError` naming
    the field as the input spelled it. The readers and the scan API both use it, so secrets are dropped and
    aliases resolved the same way everywhere."""
    event, rid, bad = build_event(record, line=line, raw=raw, limits=limits or Limits())
    if event is None:
        assert bad is not None
        raise RecordError(source, line, bad.field, bad.reason, rid, kind=bad.kind)
    return event


def _event_or_fail(
    record: dict[str, Any],
    name: str,
    line: int,
    raw: bytes | None,
    mapping: dict[str, str] | None,
    limits: Limits,
    report: IngestReport,
    strict: bool,
) -> Event | None:
    """Map, build and count one record; a bad one is reported (or raised when strict) and gives None."""
    if mapping:
        apply_mapping(record, mapping)
    try:
        event = event_from_record(record, source=name, line=line, raw=raw, limits=limits)
    except RecordError as err:
        _fail(report, strict, err, raw if raw is not None else _row_bytes(record))
        return None
    report.events += 1
    return event


def _row_bytes(record: dict[str, Any]) -> bytes:
    """A CSV / Parquet row as JSON bytes, for the head of its bad-record entry."""
    try:
        return canonical_bytes(record)
    except (TypeError, ValueError, RecursionError):
        return repr(record)[:200].encode("utf-8", "backslashreplace")


def _skip_rest(readline: Any) -> None:
    """Consume the rest of an oversized line without holding it in memory."""
    while True:
        rest = readline(_SKIP_CHUNK)
        if not rest or rest[-1] == 10:
            return


def _stream_error(opened: Opened, line: int, exc: BaseException, report: IngestReport) -> RecordError:
    """The bad record that ends a damaged source: truncated or corrupt, and how much was read before."""
    events = report.events - opened.events_before
    what = "input" if opened.compression == "none" else f"{opened.compression} input"
    read = (
        f"{line} line{'s' if line != 1 else ''} ({events} event{'s' if events != 1 else ''}) read before it"
    )
    if isinstance(exc, EOFError):
        reason = f"{what} truncated: the rest is lost, {read}: {exc}"
        return RecordError(opened.name, line + 1, None, reason, kind="truncated-input")
    reason = f"{what} corrupt: the rest is unreadable, {read}: {exc}"
    return RecordError(opened.name, line + 1, None, reason, kind="broken-source")


def _json_error(name: str, line: int, raw: bytes, exc: BaseException) -> RecordError:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as ude:
        return RecordError(name, line, None, f"invalid UTF-8 at byte {ude.start}", kind="bad-utf8")
    if isinstance(exc, RecursionError):
        return RecordError(name, line, None, "JSON nested too deeply", kind="broken-json")
    return RecordError(name, line, None, f"broken JSON: {str(exc)[:120]}", kind="broken-json")


# --- CSV -------------------------------------------------------------------------------------------------


class _LineProblem(Exception):
    def __init__(self, kind: BadKind, reason: str) -> None:
        super().__init__(reason)
        self.kind: BadKind = kind
        self.reason = reason


class _CsvLines:
    """Physical lines of a CSV stream, decoded, each and every record bounded in bytes."""

    def __init__(self, stream: io.BufferedIOBase, cap: int) -> None:
        self._readline = stream.readline
        self._cap = cap
        self.line = 0
        self.record_bytes = 0

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        bound = self._cap + 2
        chunk = self._readline(bound)
        if not chunk:
            raise StopIteration
        self.line += 1
        if len(chunk) == bound and chunk[-1] != 10:
            _skip_rest(self._readline)
            raise _LineProblem("oversized-record", f"record over {self._cap} bytes")
        self.record_bytes += len(chunk)
        if self.record_bytes > bound:
            raise _LineProblem("oversized-record", f"record over {self._cap} bytes")
        if self.line == 1 and chunk.startswith(_BOM):
            chunk = chunk[3:]
        try:
            return chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _LineProblem("bad-utf8", f"invalid UTF-8 at byte {exc.start}") from None


_HEADER_ERRORS: tuple[type[BaseException], ...] = (_LineProblem, csv.Error, *STREAM_ERRORS)


def _read_csv(
    opened: Opened,
    mapping: dict[str, str] | None,
    limits: Limits,
    strict: bool,
    report: IngestReport,
) -> Iterator[Event]:
    name = opened.name
    # The csv module's only field limit is process-wide; raise it (never lower it) to our record bound,
    # which _CsvLines already enforces per record.
    if csv.field_size_limit() < limits.max_record_bytes + 2:
        csv.field_size_limit(limits.max_record_bytes + 2)
    lines = _CsvLines(opened.stream, limits.max_record_bytes)
    reader = csv.reader(lines)
    header: list[str] | None = None
    while header is None:
        try:
            first = next(reader)
        except StopIteration:
            return
        except _HEADER_ERRORS as exc:
            if isinstance(exc, STREAM_ERRORS):
                err = _stream_error(opened, max(lines.line - 1, 0), exc, report)
            else:
                err = RecordError(name, lines.line, None, f"unreadable CSV header: {exc}", kind="broken-csv")
            if strict:
                raise err from exc
            report.lines += 1  # nothing of this source is readable without its header: one bad record
            report.add(err)
            return
        if first:
            header = [h.strip() for h in first]  # the header is not counted as a record
            report.columns[name] = header
        else:
            report.lines += 1
            report.blank_lines += 1
    if mapping:
        missing = sorted(col for col in mapping.values() if col not in header)
        if missing:
            raise ConfigError(name, f"mapped columns not in the CSV header: {', '.join(missing)}")
    width = len(header)
    while True:
        lines.record_bytes = 0
        start = lines.line + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except _LineProblem as problem:
            report.lines += 1
            _fail(report, strict, RecordError(name, start, None, problem.reason, kind=problem.kind))
            reader = csv.reader(lines)
            continue
        except csv.Error as exc:
            report.lines += 1
            _fail(report, strict, RecordError(name, start, None, f"broken CSV: {exc}", kind="broken-csv"))
            reader = csv.reader(lines)
            continue
        except STREAM_ERRORS as exc:
            report.lines += 1
            _fail(report, strict, _stream_error(opened, start - 1, exc, report))
            return
        report.lines += 1
        if not row:
            report.blank_lines += 1
            continue
        if len(row) > width:
            reason = f"row has {len(row)} cells, the header {width}"
            _fail(report, strict, RecordError(name, start, None, reason, kind="broken-csv"))
            continue
        record = {h: v for h, v in zip(header, row, strict=False) if v != ""}
        event = _event_or_fail(record, name, start, None, mapping, limits, report, strict)
        if event is not None:
            yield event


# --- Parquet ---------------------------------------------------------------------------------------------

_PLAIN = (str, int, float, bool)


def _jsonable(value: Any) -> Any:
    """Arrow values as JSON-safe Python values (timestamps as ISO text, bytes as UTF-8 or hex)."""
    t = type(value)
    if t in _PLAIN or value is None:
        return value
    if t is list:
        return [_jsonable(v) for v in value]
    if t is dict:
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.hex()
    if isinstance(value, tuple):  # map columns come back as lists of (key, value) tuples
        return [_jsonable(v) for v in value]
    return str(value)


def _read_parquet(
    opened: Opened,
    mapping: dict[str, str] | None,
    limits: Limits,
    strict: bool,
    report: IngestReport,
) -> Iterator[Event]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = opened.name
    with tempfile.TemporaryFile() as spool:
        try:
            if opened.path is not None:
                pfile = pq.ParquetFile(opened.path)
            else:  # Parquet needs random access: spool compressed or piped input to disk, not memory
                shutil.copyfileobj(opened.stream, spool, 1 << 20)
                spool.seek(0)
                pfile = pq.ParquetFile(spool)
        except (pa.ArrowException, *STREAM_ERRORS) as exc:
            err = _parquet_open_error(opened, exc)
            if strict:
                raise err from exc
            report.lines += 1  # the unreadable file counts as one bad record, so the counts add up
            report.add(err)
            return
        columns = pfile.schema_arrow.names
        report.columns[name] = list(columns)
        if mapping:
            missing = sorted(col for col in mapping.values() if col not in columns)
            if missing:
                raise ConfigError(name, f"mapped columns not in the Parquet schema: {', '.join(missing)}")
        row_no = 0
        batches = pfile.iter_batches(batch_size=_PARQUET_BATCH)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except (pa.ArrowException, *STREAM_ERRORS) as exc:
                report.lines += 1
                rows = f"{row_no} row{'s' if row_no != 1 else ''} read before it"
                reason = f"Parquet file corrupt: the rest is unreadable, {rows}: {exc}"
                _fail(report, strict, RecordError(name, row_no + 1, None, reason, kind="broken-source"))
                return
            for row in batch.to_pylist():
                row_no += 1
                report.lines += 1
                record = {
                    k: v if type(v) in _PLAIN else _jsonable(v) for k, v in row.items() if v is not None
                }
                event = _event_or_fail(record, name, row_no, None, mapping, limits, report, strict)
                if event is not None:
                    yield event


def _parquet_open_error(opened: Opened, exc: BaseException) -> RecordError:
    if isinstance(exc, STREAM_ERRORS) and opened.compression != "none":
        return _stream_error(opened, 0, exc, IngestReport())  # the compressed wrapper is what broke
    text = str(exc)[:200]
    if "footer" in text:
        # Parquet keeps its schema and row index in a footer: a file cut short reads as no rows at all
        reason = f"Parquet file truncated or corrupt (no valid footer): 0 rows read: {text}"
        return RecordError(opened.name, None, None, reason, kind="truncated-input")
    reason = f"not a readable Parquet file: {text}"
    return RecordError(opened.name, None, None, reason, kind="broken-source")
