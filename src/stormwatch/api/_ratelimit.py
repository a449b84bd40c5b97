"""Per-key token buckets and a failed-authentication throttle per address (the event loop is single-
threaded, so no lock is needed)."""

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


class AuthThrottle:
    """Failed authentications per client address: a bucket of `burst` failures refilled at `per_s`.

    An address that has spent its bucket is refused (429) before its key is even looked at, until a
    failure's worth has refilled. At most `max_addresses` are tracked (the oldest forgotten first), so a
    flood from many addresses cannot grow memory without bound.
    """

    def __init__(
        self,
        *,
        burst: int = 10,
        per_s: float = 10 / 60,
        max_addresses: int = 65_536,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = float(burst)
        self.per_s = per_s
        self.max_addresses = max_addresses
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def blocked(self, address: str) -> float:
        """0.0 when this address may try to authenticate, else the seconds until it may again."""
        bucket = self._buckets.get(address)
        if bucket is None:
            return 0.0
        now = self.clock()
        tokens = min(bucket.burst, bucket.tokens + (now - bucket.last) * bucket.rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / bucket.rate

    def failed(self, address: str) -> None:
        """Count one failed authentication from this address."""
        now = self.clock()
        bucket = self._buckets.pop(address, None)  # re-inserted last: dict order is recency
        if bucket is None:
            bucket = TokenBucket(rate=self.per_s, burst=self.burst, tokens=self.burst, last=now)
            while len(self._buckets) >= self.max_addresses:
                del self._buckets[next(iter(self._buckets))]
        bucket.take(now)
        self._buckets[address] = bucket
