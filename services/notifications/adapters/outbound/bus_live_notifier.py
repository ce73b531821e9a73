"""`LiveNotifier` over the bus: a `notification` frame on `live.user.<id>`, encoded once.

The chat replicas holding the user's sockets forward it unchanged; nobody holding any is fine
(the inbox has it). Best effort: a failure is logged, never raised into the consumer, which
has already committed.
"""

from __future__ import annotations

import logging

from services.notifications.adapters.shapes import frame_data
from services.notifications.domain import Notification
from shared.bus import EventBus
from shared.contracts import live_user
from shared.contracts.live import encode_frame as encode
from shared.contracts.live import frame_headers

log = logging.getLogger(__name__)
FRAME_TYPE = "notification"


def encode_frame(notification: Notification) -> bytes:
    return encode(FRAME_TYPE, frame_data(notification))


class BusLiveNotifier:
    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def push(self, notification: Notification) -> None:
        try:
            await self._bus.publish(live_user(notification.user_id), encode_frame(notification),
                                    frame_headers(FRAME_TYPE))
        except Exception as exc:
            log.warning("live notification not published",
                        extra={"fields": {"notification_id": notification.id,
                                          "error": repr(exc)}})
