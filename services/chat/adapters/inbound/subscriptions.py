"""NATS subscribers of the chat service: presence changes become `user_presence` frames."""

from __future__ import annotations

import logging

from services.chat import use_cases
from services.chat.adapters import frames
from services.chat.adapters.outbound.bus_presence import BusPresenceDirectory
from services.chat.adapters.outbound.connection_hub import ConnectionHub
from services.chat.ports import ChatDeps
from shared.bus import EventBus, LiveMessage, Subscription
from shared.contracts import CloudEvent, PresenceChanged, spec_for

log = logging.getLogger(__name__)


async def subscribe_presence(bus: EventBus, deps: ChatDeps, hub: ConnectionHub,
                             directory: BusPresenceDirectory) -> Subscription:
    """Every replica hears each change (a core subscription to the event subject, best
    effort), remembers it for the next joins' `room_presence`, and tells only its own
    sockets, in the rooms the user belongs to."""

    async def on_change(msg: LiveMessage) -> None:
        try:
            change = CloudEvent.from_bytes(msg.data).payload()
        except Exception:
            log.warning("unreadable presence event on %s", msg.subject)
            return
        assert isinstance(change, PresenceChanged)
        directory.heard(change)
        if not hub.has_rooms():
            return
        rooms = await use_cases.rooms_of_user(deps, change.user_id)

        def frame(room_id: int | None) -> str:
            return frames.encode("user_presence", {
                "user_id": change.user_id, "username": change.username,
                "status": change.status, "previous": change.previous, "room_id": room_id,
                "last_active_at": (change.last_active_at.isoformat()
                                   if change.last_active_at else None),
                "connections": change.connections, "reason": change.reason})

        # Where someone is is told only inside that room: the other rooms they share with
        # you learn their status, not which (possibly private) room they are looking at.
        here = change.current_room if change.current_room in rooms else None
        reached = hub.deliver_local([here], frame(here)) if here is not None else set()
        hub.deliver_local([r for r in rooms if r != here], frame(None), skip=reached)

    return await bus.subscribe(spec_for(PresenceChanged).subject, on_change)
