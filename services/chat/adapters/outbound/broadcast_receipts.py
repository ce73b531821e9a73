"""`BroadcastReceipts`: an administrator's `live.broadcast` frame goes to every open socket
on this replica; when the message has a `Tertulia-Broadcast-Id` header, a `BroadcastReceipt`
on `live.broadcast.receipts` says how many sockets and users it reached here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from services.chat.adapters.outbound.connection import Connection
from shared.bus import EventBus, LiveMessage
from shared.contracts import LIVE_BROADCAST_RECEIPTS, BroadcastReceipt
from shared.contracts.live import FrameHeaders


class BroadcastReceipts:
    def __init__(self, bus: EventBus, deliver_everyone: Callable[[bytes], list[Connection]],
                 *, replica_id: str) -> None:
        self._bus = bus
        self._deliver_everyone = deliver_everyone
        self.replica_id = replica_id

    async def on_broadcast(self, msg: LiveMessage) -> None:
        reached = self._deliver_everyone(msg.data)
        broadcast_id = msg.headers.get(FrameHeaders.BROADCAST_ID)
        if broadcast_id:
            users = sorted({c.actor.user_id for c in reached if c.actor.user_id is not None})
            receipt = BroadcastReceipt(broadcast_id=broadcast_id, replica_id=self.replica_id,
                                       sockets=len(reached), users=len(users), user_ids=users,
                                       at=datetime.now(UTC))
            await self._bus.publish(LIVE_BROADCAST_RECEIPTS, receipt.model_dump_json().encode())
