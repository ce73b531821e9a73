"""Sign-in and sign-up throttling, per account and per client address, before any password
is hashed: the `limits` library's moving window over a storage every replica shares (the
NATS KV bucket of `adapters/outbound/nats_kv_limits.py`; its in-memory storage in tests)."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

from services.chat.domain import Throttled

log = logging.getLogger(__name__)


def parse_limits(text: str) -> list[RateLimitItem]:
    """`"10/minute"`, `"10/minute;100/hour"` (each must hold); empty: no limit."""
    return parse_many(text) if text.strip() else []


@dataclass(frozen=True, slots=True)
class AuthLimits:
    sign_in_per_account: list[RateLimitItem]
    sign_in_per_address: list[RateLimitItem]
    sign_up_per_account: list[RateLimitItem]
    sign_up_per_address: list[RateLimitItem]

    @classmethod
    def parse(cls, sign_in_per_account: str, sign_in_per_address: str,
              sign_up_per_account: str, sign_up_per_address: str) -> AuthLimits:
        return cls(parse_limits(sign_in_per_account), parse_limits(sign_in_per_address),
                   parse_limits(sign_up_per_account), parse_limits(sign_up_per_address))

    def longest_window_secs(self) -> int:
        items = [*self.sign_in_per_account, *self.sign_in_per_address,
                 *self.sign_up_per_account, *self.sign_up_per_address]
        return max((item.get_expiry() for item in items), default=60)


class AuthThrottle:
    """Every attempt spends one unit of each budget it falls under, successful or not: the
    check comes first and an attempt over budget costs no argon2 work."""

    def __init__(self, storage: Storage, limits: AuthLimits) -> None:
        self.storage = storage
        self.limits = limits
        self._limiter = MovingWindowRateLimiter(storage)

    async def sign_in(self, username: str, address: str) -> None:
        await self._spend("sign-in", "Too many sign-in attempts.", [
            ("address", address, self.limits.sign_in_per_address),
            ("account", username.casefold(), self.limits.sign_in_per_account)])

    async def sign_up(self, username: str, address: str) -> None:
        await self._spend("sign-up", "Too many sign-up attempts.", [
            ("address", address, self.limits.sign_up_per_address),
            ("account", username.casefold(), self.limits.sign_up_per_account)])

    async def _spend(self, action: str, message: str,
                     budgets: list[tuple[str, str, list[RateLimitItem]]]) -> None:
        for per, who, items in budgets:
            for item in items:
                try:
                    allowed = await self._limiter.hit(item, action, per, who)
                    if allowed:
                        continue
                    reset_at, _ = await self._limiter.get_window_stats(item, action, per, who)
                except self.storage.base_exceptions as exc:
                    # NATS is down: sign-in stays open (argon2 still costs what it costs).
                    log.warning("throttle storage failed; %s not throttled", action,
                                extra={"fields": {"error": repr(exc)}})
                    return
                retry_after = max(1, math.ceil(reset_at - time.time()))
                log.info("%s throttled", action, extra={"fields": {
                    "per": per, "limit": str(item), "retry_after_secs": retry_after}})
                raise Throttled("too_many_attempts",
                                f"{message} Try again in {retry_after} s.", retry_after)
