"""Sign-in and sign-up budgets per account and per address, on `limits`' in-memory storage."""

from __future__ import annotations

import pytest
from limits.aio.storage import MemoryStorage

from services.chat.adapters.inbound.throttle import AuthLimits, AuthThrottle
from services.chat.domain import Throttled


def throttle(sign_in_account: str = "3/minute", sign_in_address: str = "5/minute",
             sign_up_account: str = "2/minute", sign_up_address: str = "4/hour"
             ) -> AuthThrottle:
    return AuthThrottle(MemoryStorage(), AuthLimits.parse(
        sign_in_account, sign_in_address, sign_up_account, sign_up_address))


async def test_an_account_is_throttled_from_any_address() -> None:
    limiter = throttle()
    for n in range(3):
        await limiter.sign_in("alice", f"198.51.100.{n}")
    with pytest.raises(Throttled) as refused:
        await limiter.sign_in("ALICE", "203.0.113.1")  # usernames are case-insensitive
    assert refused.value.status == 429
    assert refused.value.code == "too_many_attempts"
    assert 1 <= refused.value.retry_after_secs <= 60
    await limiter.sign_in("bruno", "203.0.113.1")  # another account still signs in


async def test_an_address_is_throttled_whatever_account_it_tries() -> None:
    limiter = throttle()
    for n in range(5):
        await limiter.sign_in(f"user{n}", "2001:db8::7")
    with pytest.raises(Throttled):
        await limiter.sign_in("someone-else", "2001:db8::7")
    await limiter.sign_in("someone-else", "2001:db8::8")


async def test_sign_up_has_budgets_of_its_own() -> None:
    limiter = throttle()
    for n in range(4):
        await limiter.sign_up(f"new{n}", "192.0.2.1")
    with pytest.raises(Throttled) as refused:
        await limiter.sign_up("new9", "192.0.2.1")
    assert refused.value.retry_after_secs > 60  # an hourly budget
    await limiter.sign_in("new0", "192.0.2.1")  # sign-in is counted apart


async def test_an_empty_limit_is_no_limit() -> None:
    limiter = throttle(sign_in_account="", sign_in_address="")
    for _ in range(50):
        await limiter.sign_in("alice", "127.0.0.1")


def test_the_bucket_keeps_the_longest_window() -> None:
    assert AuthLimits.parse("10/minute", "", "5/minute;50/day", "").longest_window_secs() == 86400
    assert AuthLimits.parse("", "", "", "").longest_window_secs() == 60
