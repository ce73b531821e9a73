"""`LiveFeed`, local first: a frame is encoded once, handed to this replica's sockets
directly, then published on its live subject for the other replicas (the NATS connection
does not echo it back here). A replica's own sockets therefore stay live while NATS is slow
or away; the other replicas' sockets depend on NATS, and fill any `seq` gap from the
database (`ConnectionHub`). The frames of a batch of posts go to the other replicas as
one NATS message per room (`FrameHeaders.FRAMES`)."""

from __future__ import annotations

from collections.abc import Sequence

from services.chat.adapters.frames import encode_frame
from services.chat.adapters.outbound.connection_hub import ConnectionHub
from services.chat.adapters.outbound.room_feed import Routing
from services.chat.domain import Frame
from shared.bus import EventBus
from shared.contracts import LIVE_BROADCAST, live_room, live_user
from shared.contracts.live import FrameHeaders


def frame_headers(frame: Frame) -> dict[str, str]:
    headers = {FrameHeaders.TYPE: frame.type}
    if frame.seq is not None:
        headers[FrameHeaders.SEQ] = str(frame.seq)
    if frame.exclude_connection is not None:
        headers[FrameHeaders.EXCLUDE_CONNECTION] = frame.exclude_connection
    if frame.exclude_user is not None:
        headers[FrameHeaders.EXCLUDE_USER] = str(frame.exclude_user)
    if frame.about_user is not None:
        headers[FrameHeaders.USER] = str(frame.about_user)
    return headers


def routing_of(frame: Frame) -> Routing:
    return Routing(frame.type, frame.seq, frame.exclude_connection, frame.exclude_user,
                   frame.about_user)


class BusLiveFeed:
    def __init__(self, bus: EventBus, hub: ConnectionHub) -> None:
        self._bus = bus
        self._hub = hub

    async def to_room(self, room_id: int, frame: Frame) -> None:
        payload = encode_frame(frame)
        await self._hub.deliver_room(room_id, payload, routing_of(frame))
        await self._bus.publish(live_room(room_id), payload, frame_headers(frame))

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
        listed = ",".join(f.type if f.seq is None else f"{f.type}:{f.seq}" for f in frames)
        await self._bus.publish(live_room(room_id), b"\n".join(payloads),
                                {FrameHeaders.TYPE: "frames", FrameHeaders.FRAMES: listed})

    async def to_user(self, user_id: int, frame: Frame) -> None:
        payload = encode_frame(frame)
        self._hub.deliver_user(user_id, payload, frame.exclude_connection)
        await self._bus.publish(live_user(user_id), payload, frame_headers(frame))

    async def to_everyone(self, frame: Frame) -> None:
        payload = encode_frame(frame)
        self._hub.deliver_everyone(payload)
        await self._bus.publish(LIVE_BROADCAST, payload, frame_headers(frame))
