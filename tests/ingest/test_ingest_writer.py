"""write_jsonl / event_to_dict round-trips, and the package's public surface."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import stormwatch.ingest as ingest
from stormwatch.ingest import event_to_dict, read_events, write_jsonl
from stormwatch.models import Event, Message

EVENTS = [
    Event(
        id="e1",
        timestamp=datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC),
        account_id="a",
        org_id="o",
        session_id="s",
        source_ip="::1",
        user_agent="ua",
        api_key_id="key-1",
        model="m",
        messages=(
            Message(role="system", content="sys"),
            Message(role="user", content="héllo ✓ \u202e"),
            Message(role="tool", content="out", name="search"),
        ),
        response="answer",
        metadata={"n": 1, "nested": {"x": [1, 2]}, "big": 2**70},
    ),
    Event.from_text("just text", id="e2"),
    Event(
        id="e3",
        timestamp=datetime(2024, 5, 1, 12, tzinfo=timezone(timedelta(hours=2))),
        messages=(Message(role="user", content="tz"),),
    ),
]


def test_event_to_dict_shape() -> None:
    d = event_to_dict(EVENTS[0])
    assert d["timestamp"] == "2024-05-01T10:00:00.123456Z"
    assert d["messages"][2] == {"role": "tool", "content": "out", "name": "search"}
    assert event_to_dict(EVENTS[1]) == {"id": "e2", "messages": [{"role": "user", "content": "just text"}]}
    assert event_to_dict(EVENTS[2])["timestamp"] == "2024-05-01T10:00:00Z"


@pytest.mark.parametrize("name", ["out.jsonl", "out.jsonl.gz", "out.jsonl.zst"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    assert write_jsonl(iter(EVENTS), path) == 3
    back = list(read_events(path, strict=True))
    assert back == EVENTS
    assert write_jsonl(back, tmp_path / ("again." + name.split(".", 1)[1])) == 3
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    if name.endswith(".zst"):
        assert path.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"


def test_write_to_stream_and_stdout(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    sink = io.BytesIO()
    assert write_jsonl(EVENTS[1:2], sink) == 1
    assert sink.getvalue() == b'{"id":"e2","messages":[{"role":"user","content":"just text"}]}\n'
    write_jsonl(EVENTS[1:2], "-")
    assert capsysbinary.readouterr().out == sink.getvalue()


def test_public_surface() -> None:
    assert sorted(ingest.__all__) == sorted(
        [
            "BadKind",
            "BadRecord",
            "BadRecordLog",
            "Format",
            "IngestReport",
            "Limits",
            "RecordError",
            "api_key_id_for",
            "check_mapping",
            "deterministic_id",
            "event_from_record",
            "event_to_dict",
            "format_from_name",
            "no_event_hints",
            "parse_mapping",
            "parse_timestamp",
            "read_events",
            "write_jsonl",
        ]
    )
    for name in ingest.__all__:
        obj = getattr(ingest, name)
        if callable(obj) and hasattr(obj, "__doc__") and not name.startswith("Bad") and name != "Format":
            assert obj.__doc__, name


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.jsonl", "jsonl"),
        ("a.NDJSON.gz", "jsonl"),
        ("a.json.zst", "jsonl"),
        ("a.csv", "csv"),
        ("a.csv.zstd", "csv"),
        ("a.parquet", "parquet"),
        ("a.pq.gz", "parquet"),
        ("a.txt", None),
    ],
)
def test_format_from_name(name: str, fmt: str | None) -> None:
    assert ingest.format_from_name(name) == fmt


def test_event_from_record_names_the_field_and_drops_secrets() -> None:
    ev = ingest.event_from_record({"id": "k", "prompt": "hi", "api_key": "sk-live-123", "team": "blue"})
    assert ev.messages[0].content == "hi"
    assert "api_key" not in ev.metadata and ev.metadata == {"team": "blue"}
    assert ev.api_key_id is not None and "sk-live" not in ev.api_key_id
    try:
        ingest.event_from_record({"id": "r", "messages": [{"role": "wizard", "content": "x"}]}, source="req")
    except ingest.RecordError as err:
        assert (err.source, err.field, err.kind) == ("req", "messages[0].role", "invalid-value")
    else:
        raise AssertionError("a bad role must raise RecordError")
