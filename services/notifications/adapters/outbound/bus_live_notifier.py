"""`LiveNotifier` over the bus: a `notification` frame on `live.user.<id>`, encoded once.

The chat replicas holding the user's sockets forward it unchanged; nobody holding any is fine
(the inbox has it). Best effort: a failure is logged, never raised into the consumer, which
has already committed.
"""

from __future__ import annotations

import logging

import orjson

from services.notifications.domain import Notification, frame_data
from shared.bus import EventBus
from shared.contracts import live_user
from shared.contracts.live import FrameHeaders

log = logging.getLogger(__name__)
FRAME_TYPE = "notification"


def encode_frame(notification: Notification) -> bytes:
    return orjson.dumps({"type": FRAME_TYPE, "data": frame_data(notification)})


class BusLiveNotifier:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def push(self, notification: Notification) -> None:
        try:
            await self._bus.publish(live_user(notification.user_id), encode_frame(notification),
                                    {FrameHeaders.TYPE: FRAME_TYPE})
        except Exception as exc:
            log.warning("live notification not published",
                        extra={"fields": {"notification_id": notification.id,
                                          "error": repr(exc)}})
