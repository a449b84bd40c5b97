"""Unit tests: token bucket, store writer (batching, drain, backpressure, failures), serve refusal."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

from typer.testing import CliRunner

from stormwatch.api._ratelimit import RateLimiter
from stormwatch.api._writer import MemorySink, StoreWriter
from stormwatch.models import Event, Verdict


def _rec(i: int) -> tuple[Event, Verdict]:
    return Event.from_text("x", id=f"e{i}"), Verdict(id=f"e{i}", risk=0.0, verdict="allow")


def test_token_bucket() -> None:
    now = [0.0]
    rl = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [rl.check("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert rl.check("k") > 0
    now[0] += 0.5
    assert rl.check("k") == 0.0
    assert rl.check("other") == 0.0  # buckets are per key
    assert rl.check("slow", rate=0.1, burst=1) == 0.0 and rl.check("slow", rate=0.1, burst=1) > 9


def test_writer_drains_everything_on_close_even_with_a_tiny_queue() -> None:
    sink = MemorySink()
    w = StoreWriter(sink, maxsize=4, batch=3, flush_s=0.01)
    w.start()

    async def produce() -> None:
        for i in range(200):
            await w.submit(*_rec(i))  # a full queue waits instead of dropping

    asyncio.run(produce())
    w.close()
    assert [e.id for e in sink.events] == [f"e{i}" for i in range(200)] and sink.closed


class _Flaky:
    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.events: list[Event] = []
        self.lock = threading.Lock()

    def add(self, events: Sequence[Event], verdicts: Sequence[Verdict], *, seal: bool = False) -> int:
        if self.fail > 0:
            self.fail -= 1
            raise OSError("disk hiccup")
        self.events.extend(events)
        return len(events)

    def close(self) -> None:
        pass


def test_writer_retries_then_dead_letters(tmp_path: Path) -> None:
    flaky = _Flaky(fail=2)
    w = StoreWriter(flaky, retries=3, flush_s=0.01)
    w.start()
    asyncio.run(w.submit(*_rec(1)))
    w.close()
    assert [e.id for e in flaky.events] == ["e1"]
    dead = tmp_path / "dead.jsonl"
    broken = _Flaky(fail=100)
    w = StoreWriter(broken, retries=1, flush_s=0.01, dead_letter=dead)
    w.start()
    asyncio.run(w.submit(*_rec(2)))
    w.close()
    assert '"id": "e2"' in dead.read_text() and w.lost == 0


def test_serve_refuses_without_keys(tmp_path: Path) -> None:
    import typer

    from stormwatch.cli.serve import serve_cmd

    app = typer.Typer()
    app.command()(serve_cmd)
    r = CliRunner().invoke(app, ["--keys-file", str(tmp_path / "none.json")])
    assert r.exit_code == 2 and "keys add" in r.output
