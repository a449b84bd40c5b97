"""The single store writer: a background thread fed by a bounded queue, batching, drained on shutdown.

DuckDB allows one writer per file, so every request hands its record to this one thread instead of
writing itself; a full queue slows producers down (backpressure) rather than dropping records.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import anyio

from stormwatch.models import Event, Verdict

LOG = logging.getLogger("stormwatch.api.writer")
_STOP = object()
Record = tuple[Event, Verdict]


class RecordSink(Protocol):
    """Where screened events go: the store interface's write half."""

    def add(self, events: Sequence[Event], verdicts: Sequence[Verdict], *, seal: bool = False) -> int:
        """Write events with their verdicts; sealed ones (the guard's evidence) are never replaced."""
        ...

    def close(self) -> None:
        """Release the sink."""
        ...


class NullSink:
    """Records nothing (no --store given)."""

    def add(self, events: Sequence[Event], verdicts: Sequence[Verdict], *, seal: bool = False) -> int:
        """Discard the records."""
        return len(events)

    def close(self) -> None:
        """Nothing to release."""


class MemorySink:
    """Keeps records in lists (tests and benchmarks)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.verdicts: list[Verdict] = []
        self.closed = False

    def add(self, events: Sequence[Event], verdicts: Sequence[Verdict], *, seal: bool = False) -> int:
        """Append the records (sealed ones only when their id is new, as the store does)."""
        if seal:
            known = {e.id for e in self.events}
            pairs = [(e, v) for e, v in zip(events, verdicts, strict=True) if e.id not in known]
            events, verdicts = [e for e, _ in pairs], [v for _, v in pairs]
        self.events.extend(events)
        self.verdicts.extend(verdicts)
        return len(events)

    def close(self) -> None:
        """Mark closed."""
        self.closed = True


def open_sink(path: str | None) -> RecordSink:
    """The store at `path` (DuckDB through `stormwatch.store.open_store`), or a NullSink when None."""
    if path is None:
        return NullSink()
    from stormwatch.store import open_store

    return open_store(path)


class StoreWriter:
    """Owns the sink; `submit` from the event loop, one thread writes in batches."""

    def __init__(
        self,
        sink: RecordSink,
        *,
        maxsize: int = 10_000,
        batch: int = 256,
        flush_s: float = 0.2,
        retries: int = 3,
        dead_letter: Path | None = None,
        on_written: Callable[[int], None] | None = None,
        on_error: Callable[[], None] | None = None,
    ) -> None:
        self.sink = sink
        self.batch = batch
        self.flush_s = flush_s
        self.retries = retries
        self.dead_letter = dead_letter
        self.on_written = on_written
        self.on_error = on_error
        self.written = 0
        self.lost = 0
        self._q: queue.Queue[object] = queue.Queue(maxsize=maxsize)
        self._thread = threading.Thread(target=self._run, name="stormwatch-store-writer", daemon=True)
        self._closed = False

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    @property
    def alive(self) -> bool:
        """True while the writer thread runs."""
        return self._thread.is_alive()

    def depth(self) -> int:
        """Records waiting to be written."""
        return self._q.qsize()

    async def submit(self, event: Event, verdict: Verdict) -> None:
        """Queue one record; waits (in a worker thread) while the queue is full instead of dropping it."""
        try:
            self._q.put_nowait((event, verdict))
        except queue.Full:
            await anyio.to_thread.run_sync(self._q.put, (event, verdict))

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then close the sink (blocks up to `timeout` seconds)."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            self._q.put(_STOP)
            self._thread.join(timeout)
            if self._thread.is_alive():
                LOG.error("store writer did not drain in time", extra={"pending": self.depth()})
                return
        else:
            self._drain_inline()
        try:
            self.sink.close()
        except Exception:
            LOG.exception("closing the store failed")

    def _drain_inline(self) -> None:
        items: list[Record] = []
        while True:
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                items.append(item)  # type: ignore[arg-type]
        if items:
            self._write(items)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._q.get()
            if first is _STOP:
                break
            items: list[Record] = [first]  # type: ignore[list-item]
            # Linger up to flush_s collecting a batch: one store transaction per batch, not per request.
            until = time.monotonic() + self.flush_s
            while len(items) < self.batch:
                left = until - time.monotonic()
                try:
                    nxt = self._q.get(timeout=left) if left > 0 else self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                items.append(nxt)  # type: ignore[arg-type]
            self._write(items)
        self._drain_inline()

    def _write(self, items: list[Record]) -> None:
        events = [e for e, _ in items]
        verdicts = [v for _, v in items]
        delay = 0.05
        for attempt in range(self.retries + 1):
            try:
                self.sink.add(events, verdicts, seal=True)  # what the guard saw and decided is evidence
            except Exception:
                if self.on_error is not None:
                    self.on_error()
                LOG.warning(
                    "store write failed", extra={"records": len(items), "attempt": attempt + 1}, exc_info=True
                )
                time.sleep(delay)
                delay *= 4
                continue
            self.written += len(items)
            if self.on_written is not None:
                self.on_written(len(items))
            return
        self._dead_letter(items)

    def _dead_letter(self, items: list[Record]) -> None:
        if self.dead_letter is None:
            self.lost += len(items)
            LOG.error("store write gave up; records lost", extra={"records": len(items)})
            return
        try:
            with self.dead_letter.open("a", encoding="utf-8") as fh:
                for e, v in items:
                    fh.write(json.dumps({"event": e.model_dump(mode="json"), "verdict": v.contract()}) + "\n")
        except OSError:
            self.lost += len(items)
            LOG.exception("dead-letter write failed; records lost", extra={"records": len(items)})
            return
        LOG.error(
            "store write gave up; records kept in dead-letter file",
            extra={"records": len(items), "path": str(self.dead_letter)},
        )
