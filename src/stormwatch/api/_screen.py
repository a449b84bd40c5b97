"""Screening at the async edge: the sync engine runs in worker threads so the event loop stays free."""

from __future__ import annotations

import time
from collections.abc import Sequence

import anyio

from stormwatch.api._metrics import Metrics
from stormwatch.detectors.response import ANSWER_CONTEXT_KEY
from stormwatch.engine import Engine
from stormwatch.models import Event, Evidence, Finding, Verdict


class Screener:
    """Scans requests, batches and (growing) answers with one shared engine."""

    def __init__(self, engine: Engine, metrics: Metrics, *, inline_chars: int = 0, threads: int = 8) -> None:
        self.engine = engine
        self.metrics = metrics
        self.inline_chars = inline_chars
        self.threads = threads
        self._limiter: anyio.CapacityLimiter | None = None

    def _pool(self) -> anyio.CapacityLimiter:
        # Detection gets its own bounded set of worker threads: a flood of large scans queues here instead
        # of taking every thread anyio has (the store writer's backpressure and file I/O need some too).
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.threads)
        return self._limiter

    def warm_up(self) -> None:
        """Run one scan so lazy models and caches load before the first request."""
        self.engine.scan(Event.from_text("warm-up: hello", id="warm-up"))

    async def scan(self, events: Sequence[Event], *, phase: str) -> list[Verdict]:
        """Verdicts for events (in input order), computed in a worker thread."""
        t0 = time.perf_counter()
        if self._inline(sum(_chars(e) for e in events)):
            verdicts = self.engine.scan_batch(list(events))
        else:
            verdicts = await anyio.to_thread.run_sync(
                self.engine.scan_batch, list(events), limiter=self._pool()
            )
        self.metrics.scan_seconds.labels(phase).observe(time.perf_counter() - t0)
        for v in verdicts:
            self.metrics.verdicts.labels(phase, v.verdict).inc()
            self._count_errors(v)
        return verdicts

    def _count_errors(self, verdict: Verdict) -> None:
        for f in verdict.findings:
            if f.error:
                self.metrics.detector_errors.labels(f.detector).inc()

    async def screen_output(
        self, request: Event, request_verdict: Verdict, text: str, offset: int = 0
    ) -> tuple[Event, Verdict]:
        """The exchange (request + answer so far) and the policy's verdict over all its findings.

        `offset`: where `text` starts in the whole answer when it is only the tail of a streamed answer (a
        sliding window); evidence offsets are moved back into the whole answer.
        """
        t0 = time.perf_counter()
        if self._inline(len(text)):
            out = self._exchange(request, request_verdict, text, offset)
        else:
            out = await anyio.to_thread.run_sync(
                self._exchange, request, request_verdict, text, offset, limiter=self._pool()
            )
        self.metrics.scan_seconds.labels("response").observe(time.perf_counter() - t0)
        return out

    def _inline(self, chars: int) -> bool:
        # A fast-path scan of a short text costs well under a millisecond, less than the hop to a worker
        # thread (and the GIL hand-offs it brings); longer texts and learned stages go to the thread pool.
        return chars <= self.inline_chars

    def _exchange(
        self, request: Event, request_verdict: Verdict, text: str, offset: int = 0
    ) -> tuple[Event, Verdict]:
        # The answer alone; the request's system/developer texts ride along in metadata for the answer
        # detectors (prompt leakage) without being scanned and decoded again on every re-scan.
        context = [m.content for m in request.messages if m.role in ("system", "developer")]
        answer = Event(
            id=request.id,
            messages=(),
            response=text,
            account_id=request.account_id,
            org_id=request.org_id,
            api_key_id=request.api_key_id,
            metadata={ANSWER_CONTEXT_KEY: context} if context else {},
        )
        found = [_shift(f, len(request.messages), offset) for f in self.engine.findings(answer)]
        for f in found:
            if f.error:
                self.metrics.detector_errors.labels(f.detector).inc()
        full = request.model_copy(update={"response": text})
        verdict = self.engine.decide(full, [*request_verdict.findings, *found])
        return full, verdict

    def count_response(self, verdict: Verdict) -> None:
        """Count the final verdict of an answer."""
        self.metrics.verdicts.labels("response", verdict.verdict).inc()


def _chars(event: Event) -> int:
    return sum(len(m.content) for m in event.messages) + len(event.response or "")


def _shift(f: Finding, by: int, offset: int) -> Finding:
    """Move a finding's evidence from the answer-only event's turn 0 to the answer's turn in the exchange
    (and from a streamed answer's window into the whole answer)."""
    if not f.evidence or (by == 0 and offset == 0):
        return f
    ev = tuple(
        Evidence(
            turn=e.turn + by,
            start=e.start + (offset if e.decoded_by is None else 0),
            end=e.end + (offset if e.decoded_by is None else 0),
            text=e.text,
            decoded_by=e.decoded_by,
        )
        for e in f.evidence
    )
    return f.model_copy(update={"evidence": ev})
