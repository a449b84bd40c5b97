"""Ingest throughput: records/s for each reader on synthetic full-form events.

Run:  .venv/bin/python benchmarks/ingest_throughput.py [--n 100000]
Writes the inputs to a temporary folder, then times `read_events` over each (wall and CPU seconds).
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import zstandard

from stormwatch.ingest import IngestReport, read_events

_TEXT = (
    "Could you review this deployment script and tell me why the health check fails after the rollout? "
    "It waits for the pods, then curls the endpoint, but the retry loop exits early on the first timeout "
    "and the logs only show a generic error. I would also like a cleaner way to pass the environment. "
)


def _rows(n: int) -> list[dict[str, object]]:
    return [
        {
            "id": f"e{i}",
            "timestamp": f"2026-01-{1 + i % 28:02d}T{i % 24:02d}:00:00Z",
            "account_id": f"acct-{i % 5000}",
            "session_id": f"s-{i // 7}",
            "source_ip": f"10.0.{i % 250}.{i % 200}",
            "user_agent": "python-requests/2.32",
            "model": "gpt-4o-mini",
            "prompt": _TEXT[: 360 + i % 40],
            "metadata": {"org": f"org-{i % 40}"},
        }
        for i in range(n)
    ]


def _time(label: str, fn: Callable[[], int]) -> None:
    w0, c0 = time.perf_counter(), time.process_time()
    n = fn()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    print(f"| {label} | {n:,} | {n / wall:,.0f} | {n / cpu:,.0f} |")


def main() -> None:
    """Build the inputs, time each reader, print a Markdown table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    rows = _rows(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        lines = "".join(json.dumps(r) + "\n" for r in rows).encode()
        (d / "e.jsonl").write_bytes(lines)
        (d / "e.jsonl.gz").write_bytes(gzip.compress(lines, 6))
        (d / "e.jsonl.zst").write_bytes(zstandard.ZstdCompressor(level=3).compress(lines))
        flat = [{k: v for k, v in r.items() if k != "metadata"} for r in rows]
        table = pa.Table.from_pylist(flat)
        pacsv.write_csv(table, d / "e.csv")
        pq.write_table(table, d / "e.parquet")
        openai_lines = "".join(
            json.dumps(
                {
                    "request": {
                        "model": "gpt-4o-mini",
                        "user": r["account_id"],
                        "messages": [{"role": "user", "content": r["prompt"]}],
                    },
                    "response": {
                        "id": r["id"],
                        "created": 1767225600 + i,
                        "choices": [{"message": {"role": "assistant", "content": "Sure."}}],
                    },
                }
            )
            + "\n"
            for i, r in enumerate(rows)
        )
        (d / "openai.jsonl").write_text(openai_lines, encoding="utf-8")

        print(f"{args.n:,} synthetic events (~400-char prompt, full field set)\n")
        print("| input | events | events/s (wall) | events per CPU-second |")
        print("|---|---|---|---|")
        for name in ("e.jsonl", "e.jsonl.gz", "e.jsonl.zst", "openai.jsonl", "e.csv", "e.parquet"):

            def run(name: str = name) -> int:
                report = IngestReport()
                n = sum(1 for _ in read_events(d / name, report=report))
                assert report.bad_records == 0, report.summary()
                return n

            _time(name, run)


if __name__ == "__main__":
    main()
