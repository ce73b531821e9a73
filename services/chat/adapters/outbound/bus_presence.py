"""`PresenceDirectory` over NATS request/reply to the presence service."""

from __future__ import annotations

import logging

from services.chat.domain import Presence
from shared.bus import EventBus, RequestFailed
from shared.contracts import PRESENCE_USERS_RPC, PresenceQuery, PresenceSnapshot

log = logging.getLogger(__name__)
PRESENCE_RPC_TIMEOUT_SECS = 0.5


class BusPresenceDirectory:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def lookup(self, user_ids: list[int]) -> list[Presence]:
        try:
            raw = await self._bus.request(
                PRESENCE_USERS_RPC, PresenceQuery(user_ids=user_ids).model_dump_json().encode(),
                PRESENCE_RPC_TIMEOUT_SECS)
        except RequestFailed as exc:
            # Presence is a nicety on join; the room works without it.
            log.debug("presence unavailable: %s", exc)
            return []
        snapshot = PresenceSnapshot.model_validate_json(raw)
        return [Presence(u.user_id, u.status, u.current_room, u.last_active_at)
                for u in snapshot.users]
