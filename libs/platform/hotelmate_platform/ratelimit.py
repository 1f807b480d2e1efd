"""Token buckets in memory, one set per process (several replicas each allow the full rate): the
gateway's per-client limits and payments' webhook limit."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """``take(key)`` spends one token or says how many seconds until one is available."""

    MAX_KEYS = 100_000

    def __init__(self, per_minute: float, burst: int, clock=time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = max(1, burst)
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float:
        """0 when allowed, else the wait in seconds (for ``Retry-After``)."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.MAX_KEYS:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate if self.rate > 0 else 3600.0

    def _forget_full(self, now: float) -> None:
        # A bucket that has refilled is the same as no bucket: drop those to bound memory.
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.updated) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.MAX_KEYS:
            self._buckets.clear()


class TokenBucket:
    """One process-wide bucket: ``take()`` is True when allowed (``rate`` a second, bursts of ``burst``)."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic) -> None:
        self._buckets = TokenBuckets(rate * 60.0, burst, clock)

    def take(self) -> bool:
        return self._buckets.take("") == 0.0


def retry_after(wait_seconds: float) -> str:
    return str(max(1, math.ceil(wait_seconds)))
