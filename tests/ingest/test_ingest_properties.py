"""Property tests: any bytes in, never a crash; each line is an Event, a counted bad record or blank."""

from __future__ import annotations

import io
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stormwatch.ingest import IngestReport, Limits, read_events
from stormwatch.models import Event

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "id", "prompt", "text", "input", "messages", "timestamp", "created", "account_id", "user", "session_id",
        "source_ip", "metadata", "response", "api_key", "request", "role", "content", "system", "model", "x",
    ]
)  # fmt: skip
messages = st.lists(
    st.dictionaries(st.sampled_from(["role", "content", "name", "tool_calls"]), json_values | st.sampled_from(
        ["user", "assistant", "tool", "system", "hi"]), max_size=4),
    max_size=3,
)  # fmt: skip
records = st.dictionaries(field_names, json_values | messages, max_size=8)


def _line(obj: Any) -> bytes:
    return json.dumps(obj).encode("utf-8")


lines = st.one_of(
    st.binary(max_size=80).map(lambda b: b.replace(b"\n", b" ")),
    records.map(_line),
    records.map(lambda r: _line({"request": r, "response": {"choices": [{"message": r}]}})),
    st.text(max_size=60).map(lambda t: t.replace("\n", " ").encode("utf-8", "surrogatepass")),
)


def _check(data: bytes, limits: Limits) -> None:
    report = IngestReport()
    events = list(read_events(io.BytesIO(data), format="jsonl", limits=limits, report=report))
    assert len(events) == report.events
    assert report.lines == report.events + report.bad_records + report.blank_lines
    if data[:2] != b"\x1f\x8b" and data[:4] != b"\x28\xb5\x2f\xfd":  # else read as gzip / zstd
        assert report.lines == data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    for event in events:
        assert isinstance(event, Event) and event.id
        assert any(m.content for m in event.messages)
        # every built Event is one pydantic would accept as is
        assert Event.model_validate(event.model_dump()) == event
        assert "api_key" not in event.metadata


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lines, max_size=12))
def test_jsonl_lines_never_crash(chunks: list[bytes]) -> None:
    _check(b"\n".join(chunks), Limits())


@settings(max_examples=100, deadline=None)
@given(st.lists(lines, max_size=6), st.integers(min_value=64, max_value=200))
def test_small_record_limit_never_crashes(chunks: list[bytes], cap: int) -> None:
    _check(b"\n".join(chunks) + b"\n", Limits(max_record_bytes=cap, max_field_chars=20, max_metadata_keys=2))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    _check(data, Limits(max_record_bytes=64))


csv_bodies = st.lists(
    st.one_of(
        st.binary(max_size=60),
        st.text(alphabet=st.sampled_from('ab,"\n\r x1{}[]:'), max_size=40).map(str.encode),
    ),
    max_size=10,
)


@settings(max_examples=100, deadline=None)
@given(csv_bodies)
def test_csv_rows_never_crash(chunks: list[bytes]) -> None:
    data = b"id,prompt,timestamp,messages\n" + b"\n".join(chunks)
    report = IngestReport()
    events = list(
        read_events(io.BytesIO(data), format="csv", limits=Limits(max_record_bytes=64), report=report)
    )
    assert len(events) == report.events
    assert report.lines == report.events + report.bad_records + report.blank_lines
    for event in events:
        assert Event.model_validate(event.model_dump()) == event
