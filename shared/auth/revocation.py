"""Revoked sessions: every service keeps the set in memory, fed by `events.chat.session.revoked`."""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from shared.bus.port import EventBus, Subscription
from shared.contracts.envelope import CloudEvent
from shared.contracts.events import SessionRevoked, spec_for

log = logging.getLogger(__name__)

# How far back a starting service reads revocations. A revoked token is refused only while it
# could still verify, so this must cover the longest token lifetime (chat refuses to start
# with `CHAT_ACCESS_TOKEN_TTL_SECS` above it).
SESSION_REPLAY_SECS = 24 * 3600
# Kept a little past a token's expiry: verifiers accept a few seconds of clock skew.
EXPIRY_MARGIN_SECS = 60.0
REVOKED_SPEC = spec_for(SessionRevoked)

OnRevoked = Callable[[SessionRevoked], Awaitable[None]]


class RevokedSessions:
    """Session ids to refuse, each until its tokens would have expired anyway.

    A look-up is one dict access (token verification does it on every request); entries
    past their expiry are dropped as new ones arrive."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}
        self._expiries: list[tuple[float, str]] = []

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._until

    def __len__(self) -> int:
        return len(self._until)

    def revoke(self, session_id: str, expires_at: float) -> bool:
        """Refuse `session_id` until `expires_at` (epoch seconds); False if already known
        or already expired."""
        now = self._clock()
        self._prune(now)
        until = expires_at + EXPIRY_MARGIN_SECS
        if until <= now or session_id in self._until:
            return False
        self._until[session_id] = until
        heapq.heappush(self._expiries, (until, session_id))
        return True

    def _prune(self, now: float) -> None:
        while self._expiries and self._expiries[0][0] <= now:
            _, session_id = heapq.heappop(self._expiries)
            self._until.pop(session_id, None)


async def follow_revocations(bus: EventBus, revoked: RevokedSessions, *,
                             on_revoked: OnRevoked | None = None,
                             replay_secs: float = SESSION_REPLAY_SECS) -> Subscription:
    """Keep `revoked` up to date: the revocations of the last `replay_secs`, then each new one
    (every instance hears every revocation; nothing is acknowledged). Returns once those
    stored before the call are in the set, so a service that starts after a logout refuses
    that token from its first request. `on_revoked` runs after each new entry (chat closes
    that session's sockets)."""

    async def handle(event: CloudEvent) -> None:
        if event.type != REVOKED_SPEC.type:
            return
        try:
            data = SessionRevoked.model_validate(event.data)
        except ValidationError:
            log.error("unreadable session revocation %s skipped", event.id)
            return
        if revoked.revoke(data.session_id, data.expires_at.timestamp()) and \
                on_revoked is not None:
            await on_revoked(data)

    since = datetime.now(UTC) - timedelta(seconds=replay_secs)
    return await bus.follow(REVOKED_SPEC.subject, handle, since=since)
