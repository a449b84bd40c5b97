"""CSV and Parquet reading with column mappings, compression, stdin and bad rows."""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_helpers import compress

from stormwatch.errors import ConfigError, InputRecordError
from stormwatch.ingest import IngestReport, Limits, parse_mapping, read_events
from stormwatch.models import Message

CSV = (
    "question,user,when,ip,team\n"
    "How do I reverse a string?,alice,2024-05-01T10:00:00Z,10.0.0.1,eng\n"
    '"Multi-line, quoted\nprompt",bob,1714557600,,\n'
    "\n"
    ",carol,2024-05-01,,\n"
    "too,many,cells,here,x,y\n"
    "Last one,dave,not-a-time,,\n"
    "Fine again,erin,,,\n"
)
MAPPING = {"prompt": "question", "account_id": "user", "timestamp": "when", "source_ip": "ip"}


def test_parse_mapping() -> None:
    assert parse_mapping("prompt=question, account_id=user,") == {"prompt": "question", "account_id": "user"}
    with pytest.raises(ConfigError):
        parse_mapping("prompt")
    with pytest.raises(ConfigError, match="unknown field"):
        parse_mapping("nonsense=col")
    with pytest.raises(ConfigError):
        parse_mapping("prompt=")


def test_csv_with_mapping(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(CSV, encoding="utf-8")
    report = IngestReport()
    events = list(read_events(path, mapping=MAPPING, report=report))
    assert [e.account_id for e in events] == ["alice", "bob", "erin"]
    first, second, last = events
    assert first.messages == (Message(role="user", content="How do I reverse a string?"),)
    assert first.timestamp == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert first.source_ip == "10.0.0.1" and first.metadata == {"team": "eng"}
    assert second.messages[0].content == "Multi-line, quoted\nprompt"
    assert second.timestamp == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert last.timestamp is None and last.metadata == {}
    assert [(e.line, e.kind, e.field) for e in report.errors] == [
        (6, "missing-text", "prompt"),
        (7, "broken-csv", None),
        (8, "invalid-timestamp", "timestamp"),
    ]
    assert report.lines == report.events + report.bad_records + report.blank_lines
    assert report.blank_lines == 1


def test_csv_mapping_from_cli_string_and_ids_are_deterministic(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(CSV, encoding="utf-8")
    mapping = parse_mapping("prompt=question,account_id=user,timestamp=when,source_ip=ip")
    ids = [e.id for e in read_events(path, mapping=mapping)]
    assert ids == [e.id for e in read_events(path, mapping=mapping)]
    assert len(set(ids)) == 3 and all(i.startswith("ev-") for i in ids)


def test_csv_missing_mapped_column_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(CSV, encoding="utf-8")
    with pytest.raises(ConfigError, match="nope"):
        list(read_events(path, mapping={"prompt": "nope"}))


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_csv_compressed_and_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compression: str) -> None:
    data = compress(b"\xef\xbb\xbfid,prompt,api_key\n1,hello,sk-secret\n2,world,\n", compression)
    suffix = ".csv.gz" if compression == "gzip" else ".csv.zst"
    path = tmp_path / f"log{suffix}"
    path.write_bytes(data)
    events = list(read_events(path))
    assert [(e.id, e.messages[0].content) for e in events] == [("1", "hello"), ("2", "world")]
    assert events[0].api_key_id is not None and "sk-secret" not in events[0].model_dump_json()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert [e.id for e in read_events("-", format="csv")] == ["1", "2"]


def test_csv_oversized_and_bad_utf8_rows(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(
        b"id,prompt\n1,ok\n2,"
        + b"x" * 5000
        + b'\n3,\xff\xfe broken\n4,fine\n5,"open quote\n'
        + b"y" * 3000
        + b'"\n6,end\n'
    )
    report = IngestReport()
    events = list(read_events(path, limits=Limits(max_record_bytes=1024), report=report))
    assert [e.id for e in events] == ["1", "4", "6"]
    assert [(e.line, e.kind) for e in report.errors] == [
        (3, "oversized-record"),
        (4, "bad-utf8"),
        (6, "oversized-record"),  # a quoted field spanning lines 6-7 grows past the limit
    ]


def test_csv_unreadable_header_is_a_damaged_source(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(b"\xff\xfeid,prompt\n1,x\n")
    report = IngestReport()
    assert list(read_events(path, report=report)) == []
    assert report.by_kind == {"broken-csv": 1} and "header" in report.errors[0].reason
    with pytest.raises(InputRecordError, match="header"):
        list(read_events(path, strict=True))


def _table() -> pa.Table:
    return pa.table(
        {
            "question": ["first prompt", "second prompt", None, "fourth prompt"],
            "user": ["alice", "bob", "carol", "dave"],
            "ts": pa.array(
                [datetime(2024, 5, 1, 10), datetime(2024, 5, 2, 11), None, datetime(2024, 5, 4, 12)],
                type=pa.timestamp("ms"),
            ),
            "score": [0.5, 1.5, 2.5, 3.5],
            "messages": pa.array(
                [None, [{"role": "system", "content": "be nice"}], None, None],
                type=pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())])),
            ),
        }
    )


def test_parquet_with_mapping_streamed_by_batches(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    pq.write_table(_table(), path, row_group_size=2)
    report = IngestReport()
    events = list(
        read_events(
            path, mapping={"prompt": "question", "account_id": "user", "timestamp": "ts"}, report=report
        )
    )
    assert [e.account_id for e in events] == ["alice", "bob", "dave"]
    assert events[0].messages == (Message(role="user", content="first prompt"),)
    assert events[1].messages == (
        Message(role="system", content="be nice"),
        Message(role="user", content="second prompt"),
    )
    assert events[2].timestamp == datetime(2024, 5, 4, 12, tzinfo=UTC)
    assert events[0].metadata == {"score": 0.5}
    assert [(e.line, e.kind, e.field) for e in report.errors] == [(3, "missing-text", "prompt")]
    assert report.lines == 4


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_parquet_compressed_and_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compression: str
) -> None:
    sink = io.BytesIO()
    pq.write_table(pa.table({"id": ["a", "b"], "prompt": ["x", "y"]}), sink)
    raw = sink.getvalue()
    path = tmp_path / f"log.parquet.{'gz' if compression == 'gzip' else 'zst'}"
    path.write_bytes(compress(raw, compression))
    assert [e.id for e in read_events(path)] == ["a", "b"]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    assert [e.id for e in read_events("-")] == ["a", "b"], "stdin sniffs Parquet's magic bytes"


def test_parquet_mapping_and_corrupt_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "log.parquet"
    pq.write_table(_table(), path)
    with pytest.raises(ConfigError, match="missing_col"):
        list(read_events(path, mapping={"prompt": "missing_col"}))
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    report = IngestReport()
    assert list(read_events(bad, report=report)) == []
    assert report.damaged and "Parquet" in report.damaged[0].reason
    with pytest.raises(InputRecordError, match="Parquet"):
        list(read_events(bad, strict=True))
