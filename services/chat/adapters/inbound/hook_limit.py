"""Each incoming webhook's budget of posts (`CHAT_HOOK_RATE_LIMIT`, e.g. "60/minute"):
the `limits` library's moving window over the storage every replica shares (the sign-in
throttle's NATS KV bucket; in memory in tests)."""

from __future__ import annotations

import logging
import math
import time

from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

from services.chat.adapters.inbound.throttle import parse_limits
from services.chat.domain import Throttled

log = logging.getLogger(__name__)


class HookLimiter:
    def __init__(self, storage: Storage, limits: str) -> None:
        self.storage = storage
        self.items = parse_limits(limits)
        self._limiter = MovingWindowRateLimiter(storage)

    async def spend(self, hook_id: int) -> None:
        """One post of the hook's budget, or `Throttled("rate_limited")` with the wait."""
        for item in self.items:
            try:
                if await self._limiter.hit(item, "hook", str(hook_id)):
                    continue
                reset_at, _ = await self._limiter.get_window_stats(item, "hook", str(hook_id))
            except self.storage.base_exceptions as exc:
                # NATS is down: hooks still post (the per-user frame budget still holds).
                log.warning("hook rate limit storage failed; not limited",
                            extra={"fields": {"error": repr(exc)}})
                return
            retry_after = max(1, math.ceil(reset_at - time.time()))
            raise Throttled("rate_limited",
                            f"Too many posts to this hook; try again in {retry_after} s.",
                            retry_after)


def window_secs(limits: str) -> int:
    """The longest window of these budgets (the shared bucket keeps keys that long)."""
    return max((item.get_expiry() for item in parse_limits(limits)), default=60)
