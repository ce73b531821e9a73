"""Token buckets for client frames and HTTP posts: per user on this replica, per connection
for guests. A post costs one token however it arrives (a WebSocket frame or
`POST /api/chat/rooms/{id}/messages`)."""

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

    def wait_secs(self) -> float:
        """How long until the next token, after a refused `take`."""
        return max(0.0, (1 - self.tokens) / self.rate) if self.rate > 0 else float("inf")

    def refilled(self, now: float) -> bool:
        return self.tokens + (now - self.stamp) * self.rate >= self.burst


class RateLimiter:
    """A user's tabs share one budget."""

    # Buckets of users with no socket here (HTTP posters) are not forgotten on a close;
    # once the map doubles, the full ones (no different from new) are dropped.
    PRUNE_AT_LEAST = 1024

    def __init__(self, per_sec: float, burst: int) -> None:
        self._per_sec = per_sec
        self._burst = burst
        self._buckets: dict[int | str, TokenBucket] = {}
        self._prune_at = self.PRUNE_AT_LEAST

    def __len__(self) -> int:
        return len(self._buckets)

    def bucket(self, key: int | str, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self._prune_at:
                self._prune(now)
            bucket = TokenBucket(self._per_sec, self._burst, self._burst, now)
            self._buckets[key] = bucket
        return bucket

    def _prune(self, now: float) -> None:
        self._buckets = {k: b for k, b in self._buckets.items() if not b.refilled(now)}
        self._prune_at = max(self.PRUNE_AT_LEAST, 2 * len(self._buckets))

    def forget(self, key: int | str) -> None:
        self._buckets.pop(key, None)
