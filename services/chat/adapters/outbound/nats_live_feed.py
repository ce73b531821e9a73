"""`LiveFeed` over the bus: a frame is encoded once here, then forwarded as bytes everywhere."""

from __future__ import annotations

from services.chat.adapters.frames import encode_frame
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


class BusLiveFeed:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def to_room(self, room_id: int, frame: Frame) -> None:
        await self._bus.publish(live_room(room_id), encode_frame(frame), frame_headers(frame))

    async def to_user(self, user_id: int, frame: Frame) -> None:
        await self._bus.publish(live_user(user_id), encode_frame(frame), frame_headers(frame))

    async def to_everyone(self, frame: Frame) -> None:
        await self._bus.publish(LIVE_BROADCAST, encode_frame(frame), frame_headers(frame))
