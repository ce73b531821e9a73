"""The per-user token buckets: what a refused take says, and that idle ones are let go."""

from __future__ import annotations

from services.chat.adapters.inbound.rate_limit import RateLimiter


def test_a_refused_take_says_when_the_next_token_comes() -> None:
    limiter = RateLimiter(per_sec=2, burst=3)
    bucket = limiter.bucket(7, now=100.0)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait_secs() == 0.5
    assert not bucket.take(100.25)
    assert bucket.take(100.5)


def test_full_buckets_are_dropped_once_the_map_doubles() -> None:
    limiter = RateLimiter(per_sec=1, burst=2)
    for user in range(RateLimiter.PRUNE_AT_LEAST):
        limiter.bucket(user, now=0.0).take(0.0)
    busy = limiter.bucket(0, now=0.5)
    busy.take(0.5)  # user 0 keeps spending: its bucket is not full by t=1
    limiter.bucket("new", now=1.0)
    assert len(limiter) == 2  # user 0 and the new one; the refilled ones were let go
    assert limiter.bucket(0, now=1.0) is busy
