"""Issue 16, input side: no record crashes a reader, damaged inputs are reported, nothing is lost in silence.

The property tests run with a fixed budget here (`make test`); `HARDENING_FUZZ_EXAMPLES=20000 pytest
tests/test_hardening_io.py` runs the long fuzz documented in docs/reliability.md.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pickle
import random
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stormwatch.ingest import BadRecordLog, IngestReport, Limits, RecordError, read_events
from stormwatch.models import Event

EXAMPLES = int(os.environ.get("HARDENING_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

CRASH_RECORD = b'{"id":"x","messages":[{"role":"user","content":[{"type":["text"],"text":"hi"}]}]}'


def _read(data: bytes, fmt: str = "jsonl", **kw: Any) -> tuple[list[Event], IngestReport]:
    report = IngestReport()
    events = list(read_events(io.BytesIO(data), format=fmt, report=report, **kw))  # type: ignore[arg-type]
    return events, report


def _lines(n: int, *, noise: bool = False) -> bytes:
    rng = random.Random(7)
    out = []
    for i in range(n):
        tail = "".join(rng.choice("abcdefghij klmnop") for _ in range(40)) if noise else ""
        out.append(json.dumps({"id": f"e{i}", "prompt": f"hello {i} {tail}"}).encode())
    return b"\n".join(out) + b"\n"


# --- the crash record of the issue and its relatives ---------------------------------------------------


def test_content_part_type_not_a_string_is_a_bad_record() -> None:
    events, report = _read(CRASH_RECORD + b"\n" + b'{"id":"ok","prompt":"fine"}\n')
    assert [e.id for e in events] == ["ok"]
    (bad,) = report.errors
    assert (bad.field, bad.kind, bad.record_id) == ("messages[0].content[0].type", "wrong-type", "x")
    assert bad.head is not None and bad.head.startswith('{"id":"x"')


@pytest.mark.parametrize("ptype", ['["text"]', '{"a":1}', "3", "true", "null"])
def test_any_part_type_value_never_raises(ptype: str) -> None:
    line = b'{"messages":[{"content":[{"type":%s,"text":"hi"}]}]}' % ptype.encode()
    _, report = _read(line)
    assert report.events + report.bad_records == 1


def _deep(depth: int) -> Any:
    node: Any = "leaf"
    for _ in range(depth):
        node = {"a": node}
    return node


@pytest.mark.parametrize("where", ["metadata", "extra_field", "request_metadata", "response_error"])
def test_metadata_nested_600_deep_is_a_bad_record(where: str) -> None:
    deep = _deep(600)
    rec: dict[str, Any] = {"id": "d", "prompt": "hi"}
    if where == "metadata":
        rec["metadata"] = deep
    elif where == "extra_field":
        rec["custom"] = deep
    elif where == "request_metadata":
        rec = {"request": {"messages": [{"role": "user", "content": "hi"}], "metadata": deep}}
    else:
        rec["response"] = {"error": {"message": deep}}
    events, report = _read(json.dumps(rec).encode())
    assert events == [] and report.by_kind == {"nested-too-deep": 1}, report.errors
    assert report.errors[0].field == "metadata"


def test_metadata_within_the_depth_limit_pickles_and_dumps() -> None:
    events, report = _read(json.dumps({"id": "d", "prompt": "hi", "metadata": _deep(32)}).encode())
    assert report.bad_records == 0
    pickle.loads(pickle.dumps(events[0]))  # what the hunt sends to its worker processes
    json.dumps(events[0].metadata)
    _, report = _read(json.dumps({"id": "d", "prompt": "hi", "metadata": _deep(33)}).encode())
    assert report.by_kind == {"nested-too-deep": 1}


def test_metadata_node_limit() -> None:
    rec = {"id": "w", "prompt": "hi", "metadata": {"many": list(range(100))}}
    _, report = _read(json.dumps(rec).encode(), limits=Limits(max_metadata_nodes=50))
    assert report.by_kind == {"oversized-field": 1} and report.errors[0].field == "metadata"


# --- damaged compressed and Parquet inputs ----------------------------------------------------------------


def test_truncated_zstd_is_reported_with_what_was_read() -> None:
    data = _lines(20_000, noise=True)
    z = zstandard.ZstdCompressor(level=3).compress(data)
    events, report = _read(z[: len(z) // 2])
    assert 0 < len(events) < 20_000
    assert report.by_kind == {"truncated-input": 1}
    (damage,) = report.damaged
    assert "zstd input truncated" in damage.reason and f"({len(events)} events)" in damage.reason
    assert [e.id for e in events] == [f"e{i}" for i in range(len(events))]  # nothing before it lost


def test_zstd_multi_frame_and_whole_file_still_read() -> None:
    a, b = _lines(10), _lines(5)
    z = zstandard.ZstdCompressor().compress(a) + zstandard.ZstdCompressor().compress(b)
    events, report = _read(z)
    assert len(events) == 15 and report.bad_records == 0 and not report.damaged


def test_corrupt_zstd_header_is_reported() -> None:
    events, report = _read(b"\x28\xb5\x2f\xfd" + b"\xff" * 100)
    assert events == [] and report.by_kind == {"broken-source": 1}
    assert "zstd input corrupt" in report.damaged[0].reason


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_bad_gzip_header_is_reported_not_raised(fmt: str) -> None:
    events, report = _read(b"\x1f\x8b" + b"\xff" * 100, fmt)
    assert events == [] and len(report.damaged) == 1
    assert "gzip input corrupt" in report.damaged[0].reason


def test_truncated_gzip_csv_keeps_rows_before_the_damage() -> None:
    rows = "id,prompt\n" + "".join(f"r{i},hello number {i} {'x' * (i % 37)}\n" for i in range(5000))
    g = gzip.compress(rows.encode())
    events, report = _read(g[: len(g) // 2], "csv")
    assert 0 < len(events) < 5000 and report.by_kind == {"truncated-input": 1}
    assert [e.id for e in events] == [f"r{i}" for i in range(len(events))]


def test_truncated_parquet_is_reported() -> None:
    t = pa.table({"id": [f"p{i}" for i in range(3000)], "prompt": [f"text {i}" for i in range(3000)]})
    buf = io.BytesIO()
    pq.write_table(t, buf, row_group_size=500)
    data = buf.getvalue()
    events, report = _read(data[: len(data) // 2], "parquet")
    assert events == [] and report.by_kind == {"truncated-input": 1}
    assert "Parquet file truncated" in report.damaged[0].reason
    with pytest.raises(RecordError, match="Parquet"):
        list(read_events(io.BytesIO(data[:100]), format="parquet", strict=True))


# --- every bad record can be written out ------------------------------------------------------------------


def test_errors_file_gets_every_bad_record(tmp_path: Any) -> None:
    data = b"\n".join([b"not json %d" % i for i in range(300)] + [CRASH_RECORD, b'{"prompt":"ok"}'])
    path = tmp_path / "errors.jsonl"
    with BadRecordLog(path) as log:
        report = IngestReport(max_errors=5, on_bad=log)
        events = list(read_events(io.BytesIO(data), report=report))
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    assert len(events) == 1 and report.bad_records == 301 == len(rows) == log.written
    assert len(report.errors) == 5
    assert rows[0] == {
        "source": "<stream>", "line": 1, "field": None, "kind": "broken-json",
        "reason": rows[0]["reason"], "record_id": None, "head": "not json 0",
    }  # fmt: skip
    assert rows[-1]["field"] == "messages[0].content[0].type" and rows[-1]["line"] == 301


# --- property tests: bytes and JSON shapes ----------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
anything = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return value | anything


part = st.fixed_dictionaries(
    {},
    optional={
        # unhashable and odd `type` values are what crashed ingest: draw them often
        "type": st.sampled_from(["text", "input_text", "output_text", "refusal", "image_url"])
        | st.lists(st.text(max_size=4), max_size=2)
        | st.dictionaries(st.text(max_size=3), scalars, max_size=2)
        | anything,
        "text": _maybe(st.text(max_size=10)),
        "refusal": _maybe(st.text(max_size=10)),
    },
)
content = st.text(max_size=10) | st.lists(part | st.text(max_size=5), min_size=1, max_size=3) | anything
call = st.fixed_dictionaries(
    {},
    optional={
        "function": _maybe(st.fixed_dictionaries({}, optional={"name": anything, "arguments": anything}))
    },
)
message = st.fixed_dictionaries(
    {},
    optional={
        "role": _maybe(st.sampled_from(["user", "assistant", "system", "tool", "Human"])),
        "content": content,
        "name": anything,
        "tool_calls": _maybe(st.lists(call, max_size=2)),
        "function_call": anything,
    },
)
choice = st.fixed_dictionaries(
    {}, optional={"message": _maybe(message), "finish_reason": anything, "text": anything}
)
response = _maybe(
    st.fixed_dictionaries(
        {},
        optional={
            "id": anything,
            "created": anything,
            "choices": _maybe(st.lists(_maybe(choice), max_size=2)),
            "output": _maybe(st.lists(_maybe(st.fixed_dictionaries({"type": anything, "content": content})))),
            "error": anything,
            "content": anything,
        },
    )
)
generic = st.fixed_dictionaries(
    {},
    optional={
        "id": anything, "timestamp": anything, "created_at": anything, "ts": anything,
        "user": anything, "account_id": anything, "org_id": anything, "source_ip": anything,
        "messages": _maybe(st.lists(_maybe(message), max_size=3)) | st.text(max_size=20),
        "prompt": content, "text": content, "input": content, "system": content, "response": response,
        "metadata": st.dictionaries(st.text(max_size=6), anything, max_size=3) | anything
        | st.text(max_size=12).map(lambda t: "{" + t), "api_key": anything,
        "headers": anything, "model": anything, "extra": anything,
    },
)  # fmt: skip
openai = st.fixed_dictionaries(
    {"request": _maybe(generic)}, optional={"response": response, "id": anything, "metadata": anything}
)
records = generic | openai


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, allow_nan=True).encode("utf-8", "surrogatepass")


def _total(data: bytes, fmt: str = "jsonl", limits: Limits | None = None) -> IngestReport:
    events, report = _read(data, fmt, limits=limits or Limits())
    assert len(events) == report.events
    assert report.lines == report.events + report.bad_records + report.blank_lines
    for event in events:
        assert Event.model_validate(event.model_dump()) == event
        pickle.loads(pickle.dumps(event))
    return report


@settings(max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(records, min_size=1, max_size=6))
def test_json_shapes_never_raise(recs: list[Any]) -> None:
    report = _total(b"\n".join(_dump(r) for r in recs))
    assert report.events + report.bad_records == len(recs)


@FUZZ
@given(st.binary(max_size=400))
def test_raw_bytes_never_raise(data: bytes) -> None:
    _total(data, limits=Limits(max_record_bytes=128))
    _total(data, "csv", limits=Limits(max_record_bytes=128))
    _total(data, "parquet")


@FUZZ
@given(st.lists(records, min_size=1, max_size=4), st.sampled_from(["gzip", "zstd"]), st.floats(0, 1))
def test_cut_compressed_input_never_raises_or_goes_silent(recs: list[Any], how: str, cut: float) -> None:
    raw = b"\n".join(_dump(r) for r in recs) + b"\n"
    data = gzip.compress(raw) if how == "gzip" else zstandard.ZstdCompressor().compress(raw)
    n = int(len(data) * cut)
    report = _total(data[:n])
    if 4 <= n < len(data) - 8:  # cut after the magic bytes, inside the stream
        assert report.damaged, "a cut compressed input must be reported"


# --- hunt: bad records, damaged inputs, worker processes ---------------------------------------------------


def _hunt_input(path: Any, n: int = 200) -> list[str]:
    rows = [
        json.dumps({"id": f"h{i}", "account_id": f"acct-{i % 7}", "prompt": f"hello {i}"}) for i in range(n)
    ]
    deep = json.dumps({"id": "deep", "account_id": "acct-1", "prompt": "hi", "metadata": _deep(600)})
    lines = [*rows[: n // 2], CRASH_RECORD.decode(), deep, "{broken", *rows[n // 2 :]]
    path.write_text("\n".join(lines) + "\n")
    return lines


def test_hunt_survives_the_crash_records_with_workers_and_writes_errors(tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from stormwatch.cli.main import app

    src = tmp_path / "in.jsonl"
    _hunt_input(src)
    errors = tmp_path / "errors.jsonl"
    args = ["hunt", str(src), "--store", str(tmp_path / "s.duckdb"), "--out", str(tmp_path / "out")]
    res = CliRunner().invoke(app, [*args, "--workers", "2", "--errors", str(errors)])
    assert res.exit_code == 0, res.output
    assert "scanned 200 events" in res.stderr
    assert "3 bad records skipped (broken-json: 1, nested-too-deep: 1, wrong-type: 1)" in res.stderr
    assert [json.loads(x)["line"] for x in errors.read_text().splitlines()] == [101, 102, 103]


def test_hunt_exits_non_zero_on_a_truncated_input(tmp_path: Any) -> None:
    from typer.testing import CliRunner

    from stormwatch.cli.main import app

    z = zstandard.ZstdCompressor().compress(_lines(20_000, noise=True))
    src = tmp_path / "cut.jsonl.zst"
    src.write_bytes(z[: len(z) // 2])
    args = ["hunt", str(src), "--store", str(tmp_path / "s.duckdb"), "--out", str(tmp_path / "out")]
    res = CliRunner().invoke(app, [*args, "--workers", "1"])
    assert res.exit_code == 1, res.output
    assert "damaged input, not read to the end" in res.stderr and "zstd input truncated" in res.stderr


_ORPHAN_SCRIPT = """
import os, sys, time
from stormwatch.hunt.pipeline import scan_into_store
from stormwatch.models import Event
from stormwatch.store import MemoryStore
import multiprocessing

def events():
    for i in range(40):
        yield Event.from_text(f"hello {i}", id=f"o{i}")
    pids = [p.pid for p in multiprocessing.active_children()]
    print(" ".join(map(str, pids)), flush=True)
    time.sleep(600)  # the parent is killed here, its pool never shut down
    yield Event.from_text("never", id="never")

scan_into_store(events(), MemoryStore(), workers=2, batch_size=10)
"""


def test_hunt_workers_end_with_a_killed_parent() -> None:
    import signal
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-c", _ORPHAN_SCRIPT], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        pids = [int(x) for x in proc.stdout.readline().split()]
        assert len(pids) == 2
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()

    def alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        try:  # a zombie (exited, not yet reaped by init) is not running
            with open(f"/proc/{pid}/stat") as fh:
                return fh.read().split(") ", 1)[1][0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in pids if alive(p)]
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert not left, "hunt worker processes outlived their killed parent"


def test_reingest_is_idempotent_and_cannot_replace_guard_evidence(tmp_path: Any) -> None:
    from stormwatch.hunt.pipeline import scan_into_store
    from stormwatch.models import Message, Verdict
    from stormwatch.store import open_store

    src = tmp_path / "log.jsonl"
    rows = [{"id": f"r{i}", "account_id": "a", "prompt": f"hello {i}"} for i in range(50)]
    rows.append({"id": "gw-1", "account_id": "a", "prompt": "harmless rewrite"})
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with open_store(tmp_path / "s.duckdb") as store:
        guard = Event(id="gw-1", account_id="a", messages=(Message(role="user", content="the attack"),))
        store.add([guard], [Verdict(id="gw-1", risk=0.99, verdict="block")], seal=True)
        for _ in range(2):  # the same file twice: the same store
            scan_into_store(read_events(src), store, workers=1)
            assert store.count() == 51
        by_id = {r.id: r for r in store.account_events(["a"])}
        assert (by_id["gw-1"].verdict, by_id["gw-1"].prompt) == ("block", "the attack")
        assert by_id["r7"].prompt == "hello 7"
