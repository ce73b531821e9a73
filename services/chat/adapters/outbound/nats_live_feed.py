"""`LiveFeed`, local first: a frame is encoded once, handed to this replica's sockets
directly, then published on its live subject for the other replicas (the NATS connection
does not echo it back here). A replica's own sockets therefore stay live while NATS is slow
or away; the other replicas' sockets depend on NATS, and fill any `seq` gap from the
database (`ConnectionHub`). The frames of a batch of posts go to the other replicas as
one NATS message per room (`batch_headers`)."""

from __future__ import annotations

from collections.abc import Sequence

from services.chat.adapters.frames import encode_frame
from services.chat.adapters.outbound.connection_hub import ConnectionHub
from services.chat.adapters.outbound.room_feed import Routing
from services.chat.domain import Frame
from shared.bus import EventBus
from shared.contracts import LIVE_BROADCAST, live_room, live_user
from shared.contracts.live import batch_headers, frame_headers


def headers_of(frame: Frame) -> dict[str, str]:
    return frame_headers(frame.type, seq=frame.seq, exclude_connection=frame.exclude_connection,
                         exclude_user=frame.exclude_user, about_user=frame.about_user,
                         members_only=frame.members_only)


def routing_of(frame: Frame) -> Routing:
    return Routing(frame.type, frame.seq, frame.exclude_connection, frame.exclude_user,
                   frame.about_user, frame.members_only)


class BusLiveFeed:
    def __init__(self, bus: EventBus, hub: ConnectionHub) -> None:
        self._bus = bus
        self._hub = hub

    async def to_room(self, room_id: int, frame: Frame) -> None:
        payload = encode_frame(frame)
        await self._hub.deliver_room(room_id, payload, routing_of(frame))
        await self._bus.publish(live_room(room_id), payload, headers_of(frame))

    async def to_room_many(self, room_id: int, frames: Sequence[Frame]) -> None:
        if len(frames) == 1:
            await self.to_room(room_id, frames[0])
            return
        payloads = []
        for frame in frames:
            assert frame.exclude_connection is None and frame.exclude_user is None
            payload = encode_frame(frame)
            payloads.append(payload)
            await self._hub.deliver_room(room_id, payload, routing_of(frame))
        await self._bus.publish(live_room(room_id), b"\n".join(payloads),
                                batch_headers([(f.type, f.seq) for f in frames]))

    async def to_user(self, user_id: int, frame: Frame) -> None:
        payload = encode_frame(frame)
        self._hub.deliver_user(user_id, payload, frame.exclude_connection)
        await self._bus.publish(live_user(user_id), payload, headers_of(frame))

    async def to_everyone(self, frame: Frame) -> None:
        payload = encode_frame(frame)
        self._hub.deliver_everyone(payload)
        await self._bus.publish(LIVE_BROADCAST, payload, headers_of(frame))
