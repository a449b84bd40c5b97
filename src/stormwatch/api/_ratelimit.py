"""Per-key token buckets (the event loop is single-threaded, so no lock is needed)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class TokenBucket:
    """Refills `rate` tokens per second up to `burst`; each request takes one."""

    rate: float
    burst: float
    tokens: float
    last: float

    def take(self, now: float) -> float:
        """0.0 when a token was taken, else the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """One token bucket per key id."""

    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def check(self, key_id: str, rate: float | None = None, burst: int | None = None) -> float:
        """0.0 when the request may go ahead, else the suggested retry delay in seconds."""
        r = rate or self.rate
        b = float(burst or self.burst)
        now = self.clock()
        bucket = self._buckets.get(key_id)
        if bucket is None or bucket.rate != r or bucket.burst != b:
            bucket = TokenBucket(rate=r, burst=b, tokens=b, last=now)
            self._buckets[key_id] = bucket
        return bucket.take(now)
