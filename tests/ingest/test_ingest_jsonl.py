"""Generic JSONL reading: forms, fields, timestamps, secrets, ids, compression, stdin, bad records."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ingest_helpers import Writer, compress, encode_lines

from stormwatch.errors import InputRecordError
from stormwatch.ingest import (
    IngestReport,
    Limits,
    RecordError,
    api_key_id_for,
    deterministic_id,
    read_events,
)
from stormwatch.models import Event, Message

FULL = {
    "id": "evt-1",
    "timestamp": "2024-05-01T10:00:00+02:00",
    "account_id": "acct-7",
    "org_id": "org-1",
    "session_id": "sess-9",
    "source_ip": "203.0.113.5",
    "user_agent": "python-requests/2.31",
    "api_key_id": "key-abc",
    "model": "gpt-4o",
    "messages": [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Write a port scanner."},
    ],
    "response": "I can't help with that.",
    "metadata": {"email_hash": "e1", "payment_hash": "p1"},
}


def read_all(source: Any, **kwargs: Any) -> tuple[list[Event], IngestReport]:
    report = IngestReport()
    events = list(read_events(source, report=report, **kwargs))
    return events, report


def test_minimal_form_and_text_aliases(write_lines: Writer) -> None:
    path = write_lines(
        "min.jsonl",
        [{"id": "a", "prompt": "hello"}, {"id": "b", "text": "hi there"}, {"id": 3, "input": "yo"}],
    )
    events, report = read_all(path)
    assert [e.id for e in events] == ["a", "b", "3"]
    assert [e.messages for e in events] == [
        (Message(role="user", content="hello"),),
        (Message(role="user", content="hi there"),),
        (Message(role="user", content="yo"),),
    ]
    assert report.events == 3 and report.bad_records == 0 and report.lines == 3


def test_full_form_fields(write_lines: Writer) -> None:
    (event,), _ = read_all(write_lines("full.jsonl", [FULL]))
    assert event.id == "evt-1"
    assert event.timestamp == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert event.timestamp is not None and event.timestamp.utcoffset() is not None
    assert (event.account_id, event.org_id, event.session_id) == ("acct-7", "org-1", "sess-9")
    assert (event.source_ip, event.user_agent, event.api_key_id) == (
        "203.0.113.5",
        "python-requests/2.31",
        "key-abc",
    )
    assert event.model == "gpt-4o"
    assert [m.role for m in event.messages] == ["system", "user"]
    assert event.response == "I can't help with that."
    assert event.metadata == {"email_hash": "e1", "payment_hash": "p1"}


def test_events_equal_validated_events(write_lines: Writer) -> None:
    """Events built without validation are the same objects pydantic would build."""
    (event,), _ = read_all(write_lines("full.jsonl", [FULL]))
    validated = Event.model_validate(event.model_dump())
    assert validated == event
    assert event.model_dump() == validated.model_dump()
    assert event.model_fields_set == set(Event.model_fields)
    assert event.turns()[-1] == Message(role="assistant", content="I can't help with that.")
    with pytest.raises(Exception, match="frozen"):
        event.id = "x"  # type: ignore[misc]


def test_aliases_extra_fields_and_numeric_ids(write_lines: Writer) -> None:
    record = {
        "prompt": "p",
        "user": 1234,
        "conversation_id": "c-1",
        "ip": "10.0.0.1",
        "created_at": 1714557600,
        "email_hash": "abc",
        "label": "benign",
    }
    (event,), _ = read_all(write_lines("alias.jsonl", [record]))
    assert event.account_id == "1234"
    assert event.session_id == "c-1"
    assert event.source_ip == "10.0.0.1"
    assert event.timestamp == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert event.metadata == {"email_hash": "abc", "label": "benign"}


def test_two_aliases_keep_the_canonical_one_and_the_other_in_metadata(write_lines: Writer) -> None:
    (event,), _ = read_all(write_lines("a.jsonl", [{"prompt": "p", "user": "u-alias", "account_id": "acct"}]))
    assert event.account_id == "acct"
    assert event.metadata == {"user": "u-alias"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01 10:00:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T12:30:00.250+02:30", datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        (1714557600, datetime(2024, 5, 1, 10, tzinfo=UTC)),
        (1714557600.5, datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        (1714557600123, datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)),
        (1714557600123456, datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        (1714557600123456789, datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        ("1714557600", datetime(2024, 5, 1, 10, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(write_lines: Writer, value: Any, expected: datetime) -> None:
    (event,), _ = read_all(write_lines("t.jsonl", [{"prompt": "p", "timestamp": value}]))
    assert event.timestamp == expected
    assert event.timestamp is not None and event.timestamp.tzinfo == UTC


@pytest.mark.parametrize("value", ["yesterday", "2024-13-45T00:00:00", 1e300, "9" * 30, -1e20])
def test_invalid_timestamps_are_bad_records(write_lines: Writer, value: Any) -> None:
    events, report = read_all(write_lines("t.jsonl", [{"id": "x", "prompt": "p", "timestamp": value}]))
    assert events == []
    assert report.by_kind == {"invalid-timestamp": 1}
    assert report.errors[0].field == "timestamp" and report.errors[0].record_id == "x"


def test_api_key_is_never_stored(write_lines: Writer, tmp_path: Path) -> None:
    secret = "sk-live-THIS-IS-SECRET-1234567890"
    lines = [
        {"id": "1", "prompt": "p", "api_key": secret},
        {"id": "2", "prompt": "p", "api_key": secret, "api_key_id": "key-given"},
        {
            "id": "3",
            "prompt": "p",
            "metadata": {"API_KEY": secret, "headers": {"Authorization": f"Bearer {secret}"}},
        },
        {"id": "4", "request": {"messages": [{"role": "user", "content": "q"}], "api_key": secret}},
    ]
    events, report = read_all(write_lines("k.jsonl", lines))
    assert report.events == 4
    derived = api_key_id_for(secret)
    assert derived.startswith("key-") and len(derived) == 20 and secret not in derived
    assert [e.api_key_id for e in events] == [derived, "key-given", derived, derived]
    assert api_key_id_for(f"Bearer {secret}") == derived
    for event in events:
        assert secret not in event.model_dump_json()
    assert events[2].metadata == {"headers": {}}


def test_deterministic_ids(write_lines: Writer, tmp_path: Path) -> None:
    lines = [{"prompt": "same"}, {"prompt": "same"}, {"prompt": "other"}]
    path = write_lines("noid.jsonl", lines)
    first, _ = read_all(path)
    again, _ = read_all(str(path))
    ids = [e.id for e in first]
    assert ids == [e.id for e in again]
    assert len(set(ids)) == 3, "identical lines at different places get different ids"
    assert all(i.startswith("ev-") and len(i) == 23 for i in ids)
    assert ids[0] == deterministic_id(1, json.dumps(lines[0]).encode())
    # the same content at the same line of another file (or spelled path) gives the same id
    copy = tmp_path / "elsewhere.jsonl"
    copy.write_bytes(path.read_bytes())
    assert [e.id for e in read_all(copy)[0]] == ids
    # CRLF line ends do not change ids
    crlf = tmp_path / "crlf.jsonl"
    crlf.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert [e.id for e in read_all(crlf)[0]] == ids


def test_bad_records_are_reported_with_line_field_reason(write_lines: Writer) -> None:
    lines: list[Any] = [
        {"id": "ok1", "prompt": "fine"},
        "{broken json",
        "[1, 2, 3]",
        {"id": "nt", "model": "gpt-4o"},
        {"id": "wt", "prompt": 42},
        {"id": "wa", "prompt": "p", "account_id": {"nested": True}},
        b'{"id": "u8", "prompt": "\xff\xfe"}',
        {"id": "role", "messages": [{"role": "wizard", "content": "x"}]},
        {"id": "meta", "prompt": "p", "metadata": "not an object"},
        "",
        "   ",
        {"id": "ok2", "prompt": "also fine"},
    ]
    path = write_lines("bad.jsonl", lines)
    events, report = read_all(path)
    assert [e.id for e in events] == ["ok1", "ok2"]
    assert report.lines == 12 and report.blank_lines == 2 and report.bad_records == 8
    assert report.lines == report.events + report.bad_records + report.blank_lines
    got = [(e.line, e.field, e.kind, e.record_id) for e in report.errors]
    assert got == [
        (2, None, "broken-json", None),
        (3, None, "not-an-object", None),
        (4, "prompt", "missing-text", "nt"),
        (5, "prompt", "wrong-type", "wt"),
        (6, "account_id", "wrong-type", "wa"),
        (7, None, "bad-utf8", None),
        (8, "messages[0].role", "invalid-value", "role"),
        (9, "metadata", "wrong-type", "meta"),
    ]
    assert {e.source for e in report.errors} == {str(path)}
    assert report.errors[3].reason == "expected a string or an array of parts, got a number"
    assert report.errors[4].reason == "expected a string, got an object"
    assert "bad records" in report.summary() and "broken-json: 1" in report.summary()


def test_alias_field_names_in_errors(write_lines: Writer) -> None:
    _, report = read_all(
        write_lines("a.jsonl", [{"id": "x", "text": 5}, {"id": "y", "prompt": "p", "user": []}])
    )
    assert [(e.field, e.kind) for e in report.errors] == [("text", "wrong-type"), ("user", "wrong-type")]


def test_strict_mode_raises_the_first_bad_record(write_lines: Writer) -> None:
    path = write_lines("bad.jsonl", [{"id": "a", "prompt": "x"}, "nope", {"id": "b", "prompt": 1}])
    report = IngestReport()
    seen: list[str] = []
    with pytest.raises(RecordError) as info:
        for event in read_events(path, strict=True, report=report):
            seen.append(event.id)
    assert seen == ["a"]
    err = info.value
    assert isinstance(err, InputRecordError)
    assert (err.line, err.kind) == (2, "broken-json")
    assert str(err).startswith(f"{path}:2:")
    assert report.bad_records == 1


def test_oversized_line_is_skipped_without_reading_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as f:
        f.write(b'{"id": "before", "prompt": "a"}\n')
        f.write(b'{"id": "huge", "prompt": "')
        chunk = b"x" * (1 << 20)
        for _ in range(24):
            f.write(chunk)
        f.write(b'"}\n{"id": "after", "prompt": "b"}\n')
    limits = Limits(max_record_bytes=64 * 1024)
    tracemalloc.start()
    try:
        events, report = read_all(path, limits=limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [e.id for e in events] == ["before", "after"]
    assert [(e.line, e.kind) for e in report.errors] == [(2, "oversized-record")]
    assert peak < 8 * (1 << 20), f"peak {peak} bytes: the 24 MiB line must not be held in memory"


def test_record_exactly_at_the_limit_is_read(tmp_path: Path) -> None:
    line = json.dumps({"id": "edge", "prompt": "y" * 200}).encode()
    path = tmp_path / "edge.jsonl"
    path.write_bytes(line + b"\r\n" + line[:-1] + b" }\n")
    events, report = read_all(path, limits=Limits(max_record_bytes=len(line)))
    assert [e.id for e in events] == ["edge"]
    assert report.by_kind == {"oversized-record": 1}


def test_field_and_count_limits(write_lines: Writer) -> None:
    limits = Limits(max_field_chars=10, max_messages=2, max_metadata_keys=1, max_attr_chars=8)
    lines = [
        {"id": "long", "prompt": "x" * 11},
        {"id": "many", "messages": [{"role": "user", "content": "a"}] * 3},
        {"id": "meta", "prompt": "p", "a": 1, "b": 2},
        {"id": "ua", "prompt": "p", "user_agent": "u" * 9},
        {"id": "resp", "prompt": "p", "response": "r" * 11},
        {"id": "fits", "prompt": "x" * 10, "a": 1},
    ]
    events, report = read_all(write_lines("lim.jsonl", lines), limits=limits)
    assert [e.id for e in events] == ["fits"]
    assert [(e.record_id, e.kind, e.field) for e in report.errors] == [
        ("long", "oversized-field", "prompt"),
        ("many", "too-many-messages", "messages"),
        ("meta", "too-many-metadata-keys", "metadata"),
        ("ua", "oversized-field", "user_agent"),
        ("resp", "oversized-field", "response"),
    ]


def test_limits_defaults_and_validation() -> None:
    limits = Limits()
    assert (limits.max_record_bytes, limits.max_field_chars, limits.max_messages) == (1 << 20, 200_000, 256)
    with pytest.raises(ValueError):
        Limits(max_messages=0)


def test_error_list_is_bounded(write_lines: Writer) -> None:
    report = IngestReport(max_errors=5)
    list(read_events(write_lines("many.jsonl", ["x"] * 50), report=report))
    assert report.bad_records == 50 and len(report.errors) == 5 and report.by_kind == {"broken-json": 50}


def test_bom_and_deep_nesting(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    deep = b"[" * 5000 + b"]" * 5000
    path.write_bytes(b'\xef\xbb\xbf{"id": "b", "prompt": "p"}\n' + deep + b"\n")
    events, report = read_all(path)
    assert [e.id for e in events] == ["b"]
    assert report.bad_records == 1


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst", ".ndjson", ".json", ".log"])
def test_compression_by_magic_bytes_whatever_the_name(
    write_lines: Writer, compression: str, suffix: str
) -> None:
    path = write_lines(f"events{suffix}", [FULL, {"id": "2", "prompt": "x"}], compression)
    events, report = read_all(path)
    assert [e.id for e in events] == ["evt-1", "2"]
    assert report.bad_records == 0


def test_multi_frame_zstd_and_multi_member_gzip(tmp_path: Path) -> None:
    one = encode_lines([{"id": "1", "prompt": "a"}])
    two = encode_lines([{"id": "2", "prompt": "b"}])
    (tmp_path / "m.jsonl.zst").write_bytes(compress(one, "zstd") + compress(two, "zstd"))
    (tmp_path / "m.jsonl.gz").write_bytes(compress(one, "gzip") + compress(two, "gzip"))
    for name in ("m.jsonl.zst", "m.jsonl.gz"):
        assert [e.id for e in read_all(tmp_path / name)[0]] == ["1", "2"]


def test_truncated_gzip_is_reported_not_fatal(tmp_path: Path) -> None:
    data = compress(encode_lines([{"id": str(i), "prompt": "p" * 50} for i in range(2000)]), "gzip")
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    events, report = read_all(path)
    assert 0 < len(events) < 2000
    assert report.by_kind == {"truncated-input": 1}
    (damage,) = report.damaged
    assert f"{len(events)} lines ({len(events)} events) read before it" in damage.reason
    with pytest.raises(RecordError):
        list(read_events(path, strict=True))


def test_missing_file_raises_input_record_error(tmp_path: Path) -> None:
    with pytest.raises(InputRecordError, match="cannot open"):
        list(read_events(tmp_path / "nope.jsonl"))


def test_stdin_dash_reads_jsonl(monkeypatch: pytest.MonkeyPatch) -> None:
    data = compress(encode_lines([{"id": "s1", "prompt": "from stdin"}]), "zstd")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    events, report = read_all("-")
    assert [e.id for e in events] == ["s1"]
    assert report.sources == ["<stdin>"]


def test_stdin_in_a_real_process() -> None:
    data = compress(encode_lines([{"id": "p1", "prompt": "x"}, "bad", {"id": "p2", "prompt": "y"}]), "gzip")
    code = (
        "from stormwatch.ingest import read_events, IngestReport\n"
        "r = IngestReport()\n"
        "print(','.join(e.id for e in read_events('-', report=r)), r.bad_records)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True, check=True)
    assert out.stdout.decode().split() == ["p1,p2", "1"]


def test_binary_stream_source() -> None:
    stream = io.BytesIO(encode_lines([{"id": "b1", "prompt": "x"}]))
    events, report = read_all(stream)
    assert [e.id for e in events] == ["b1"]
    assert report.sources == ["<stream>"]


def test_report_accumulates_over_sources(write_lines: Writer) -> None:
    report = IngestReport()
    for name in ("a.jsonl", "b.jsonl"):
        list(read_events(write_lines(name, [{"prompt": "x"}, "bad"]), report=report))
    assert (report.events, report.bad_records, len(report.sources)) == (2, 2, 2)
    assert report.to_dict()["by_kind"] == {"broken-json": 2}


def test_unknown_format_is_a_config_error() -> None:
    from stormwatch.errors import ConfigError

    with pytest.raises(ConfigError):
        read_events("x.jsonl", format="xml")  # type: ignore[arg-type]


def test_live_pipe_yields_each_line_as_it_arrives() -> None:
    read_fd, write_fd = os.pipe()
    # a safety net: if reading blocked for a full buffer, close the pipe after 5 s instead of hanging
    watchdog = threading.Timer(5.0, os.close, args=(write_fd,))
    watchdog.start()
    try:
        with open(read_fd, "rb") as pipe:
            events = read_events(pipe, format="jsonl")
            os.write(write_fd, encode_lines([{"id": "live-1", "prompt": "x"}]))
            started = time.monotonic()
            first = next(events)
            assert first.id == "live-1"
            assert time.monotonic() - started < 2.0
    finally:
        if watchdog.is_alive():
            watchdog.cancel()
            os.close(write_fd)


def test_text_stream_source_reads_its_bytes() -> None:
    stream = io.TextIOWrapper(io.BytesIO(encode_lines([{"id": "t1", "prompt": "x"}])))
    assert [e.id for e in read_events(stream)] == ["t1"]
