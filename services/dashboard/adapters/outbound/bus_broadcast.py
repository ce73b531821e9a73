"""`BusBroadcastChannel`: the durable `BroadcastSent` event and the live `admin_broadcast`."""

from __future__ import annotations

import orjson

from shared.bus import EventBus
from shared.contracts import LIVE_BROADCAST, BroadcastSent, new_event
from shared.contracts.live import FrameHeaders


class BusBroadcastChannel:
    def __init__(self, bus: EventBus, source: str) -> None:
        self._bus = bus
        self._source = source

    async def announce(self, event: BroadcastSent, event_id: str) -> None:
        # The broadcast id as event id: a retried publish is de-duplicated by JetStream.
        await self._bus.publish_event(*new_event(event, source=self._source, event_id=event_id))

    async def send(self, broadcast_id: str, frame: dict[str, object]) -> None:
        await self._bus.publish(LIVE_BROADCAST, orjson.dumps(frame), headers={
            FrameHeaders.TYPE: str(frame["type"]), FrameHeaders.BROADCAST_ID: broadcast_id})
