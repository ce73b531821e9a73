"""`BusBroadcastChannel`: the durable `BroadcastSent` event and the live `admin_broadcast`."""

from __future__ import annotations

from services.dashboard.adapters.views import admin_broadcast_data
from services.dashboard.domain.broadcasts import Broadcast
from shared.bus import EventBus
from shared.contracts import LIVE_BROADCAST, BroadcastSent, new_event
from shared.contracts.live import encode_frame, frame_headers

FRAME_TYPE = "admin_broadcast"


class BusBroadcastChannel:
    def __init__(self, bus: EventBus, source: str) -> None:
        self._bus = bus
        self._source = source

    async def announce(self, event: BroadcastSent, event_id: str) -> None:
        # The broadcast id as event id: a retried publish is de-duplicated by JetStream.
        await self._bus.publish_event(*new_event(event, source=self._source, event_id=event_id))

    async def send(self, broadcast: Broadcast) -> None:
        await self._bus.publish(
            LIVE_BROADCAST, encode_frame(FRAME_TYPE, admin_broadcast_data(broadcast)),
            headers=frame_headers(FRAME_TYPE, broadcast_id=broadcast.broadcast_id))
