"""Token buckets for client frames: per user on this replica, per connection for guests."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class TokenBucket:
    rate: float
    burst: float
    tokens: float
    stamp: float
    strikes: int = 0

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            # Strikes fade as the sender slows down: only a sustained flood gets closed.
            self.strikes = max(0, self.strikes - 1)
            return True
        self.strikes += 1
        return False


class RateLimiter:
    """A user's tabs share one budget."""

    def __init__(self, per_sec: float, burst: int) -> None:
        self._per_sec = per_sec
        self._burst = burst
        self._buckets: dict[int | str, TokenBucket] = {}

    def bucket(self, key: int | str, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(self._per_sec, self._burst, self._burst, now)
            self._buckets[key] = bucket
        return bucket

    def forget(self, key: int | str) -> None:
        self._buckets.pop(key, None)
