"""Write Events as JSONL (the generic full form), gzip or zstd by file extension."""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

import zstandard

from stormwatch.ingest._json import dumps
from stormwatch.models import Event


def format_timestamp(ts: datetime) -> str:
    """ISO 8601 in UTC with a `Z` suffix (naive datetimes are taken as UTC)."""
    ts = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    return ts.isoformat().replace("+00:00", "Z")


def event_to_dict(event: Event) -> dict[str, Any]:
    """The JSON form of an Event that `read_events` reads back to an equal Event; null fields left out."""
    out: dict[str, Any] = {"id": event.id}
    if event.timestamp is not None:
        out["timestamp"] = format_timestamp(event.timestamp)
    for field in ("account_id", "org_id", "session_id", "source_ip", "user_agent", "api_key_id", "model"):
        value = getattr(event, field)
        if value is not None:
            out[field] = value
    messages: list[dict[str, str]] = []
    for m in event.messages:
        msg = {"role": m.role, "content": m.content}
        if m.name is not None:
            msg["name"] = m.name
        messages.append(msg)
    out["messages"] = messages
    if event.response is not None:
        out["response"] = event.response
    if event.metadata:
        out["metadata"] = event.metadata
    return out


def _line(event: Event) -> bytes:
    record = event_to_dict(event)
    try:
        return dumps(record) + b"\n"
    except TypeError:  # metadata values orjson cannot write (e.g. integers over 64 bits): fall back
        return json.dumps(record, ensure_ascii=False, default=str).encode("utf-8") + b"\n"


def write_jsonl(events: Iterable[Event], path: str | Path | IO[bytes]) -> int:
    """Write events as JSONL to a path ("-": stdout; `.gz`/`.zst` compress) or a stream; returns the count."""
    if not isinstance(path, str | Path):
        return _write(events, path)
    if str(path) == "-":
        count = _write(events, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return count
    target = Path(path)
    suffix = target.suffix.lower()
    with open(target, "wb") as raw:
        if suffix in (".gz", ".gzip"):
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz:
                return _write(events, gz)
        if suffix in (".zst", ".zstd"):
            with zstandard.ZstdCompressor(level=3).stream_writer(raw, closefd=False) as zw:
                return _write(events, zw)
        return _write(events, raw)


class _Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


def _write(events: Iterable[Event], out: _Writable) -> int:
    pending: list[bytes] = []
    size = 0
    count = 0
    for event in events:
        data = _line(event)
        pending.append(data)
        size += len(data)
        count += 1
        if size >= 1 << 20:  # batch small writes: one write call per MiB, not per event
            out.write(b"".join(pending))
            pending.clear()
            size = 0
    if pending:
        out.write(b"".join(pending))
    return count
