"""`Peers` over core NATS request/reply: `rpc.presence.peer.<instance_id>`, one JSON
question per call, answered by that instance from its board (`inbound/peers.py`)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import orjson

from services.presence.domain import ManualStatus, NotConnected, PresenceView
from shared.bus import EventBus, RequestFailed
from shared.contracts import PRESENCE_PEER_RPC

log = logging.getLogger(__name__)
# A peer that does not answer a question in this long is treated as gone (its lease will
# tell); a status change, which the owner writes to its database, gets longer: answered
# late it was still applied, and the caller would retry what is done. 3 s, not less: a
# peer answers from memory, but on a loaded machine 1 s was seen to pass (the read then
# fell back to the database with 0 connections), and a wrong answer is worse than a slow
# one during the few seconds of a hand-over.
ASK_TIMEOUT_SECS = 3.0
SET_TIMEOUT_SECS = 5.0


def peer_subject(instance_id: str) -> str:
    return f"{PRESENCE_PEER_RPC}.{instance_id}"


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def encode_view(view: PresenceView) -> dict[str, Any]:
    return {"user_id": view.user_id, "username": view.username, "status": view.status,
            "current_room": view.current_room, "last_active_at": view.last_active_at,
            "last_seen_at": view.last_seen_at, "connections": view.connections,
            "rooms": sorted(view.rooms)}


def decode_view(data: dict[str, Any]) -> PresenceView:
    return PresenceView(
        user_id=int(data["user_id"]), username=data.get("username"), status=data["status"],
        current_room=data.get("current_room"), last_active_at=_when(data.get("last_active_at")),
        last_seen_at=_when(data.get("last_seen_at")), connections=int(data["connections"]),
        rooms=frozenset(int(r) for r in data.get("rooms") or ()))


class BusPeers:
    def __init__(self, bus: EventBus, timeout_secs: float = ASK_TIMEOUT_SECS) -> None:
        self._bus = bus
        self._timeout_secs = timeout_secs

    async def _ask(self, instance: str, question: dict[str, Any],
                   timeout_secs: float | None = None) -> Any:
        try:
            raw = await self._bus.request(peer_subject(instance), orjson.dumps(question),
                                          timeout_secs=timeout_secs or self._timeout_secs)
        except RequestFailed as exc:
            log.info("presence peer %s did not answer %s: %s", instance, question["op"], exc)
            return None
        answer = orjson.loads(raw)
        if not isinstance(answer, dict):
            return None
        error = answer.get("error")
        if isinstance(error, dict) and error.get("code") == "not_connected":
            raise NotConnected("not_connected", str(error.get("message") or ""))
        return answer.get("result")

    async def _views(self, instance: str, question: dict[str, Any]) -> list[PresenceView] | None:
        result = await self._ask(instance, question)
        return None if result is None else [decode_view(v) for v in result]

    async def views(self, instance: str, user_ids: list[int]) -> list[PresenceView] | None:
        return await self._views(instance, {"op": "views", "user_ids": user_ids})

    async def present(self, instance: str) -> list[PresenceView] | None:
        return await self._views(instance, {"op": "present"})

    async def in_room(self, instance: str, room_id: int) -> list[PresenceView] | None:
        return await self._views(instance, {"op": "room", "room_id": room_id})

    async def counts(self, instance: str) -> dict[str, int] | None:
        result = await self._ask(instance, {"op": "counts"})
        return {str(k): int(v) for k, v in result.items()} if result else None

    async def set_status(self, instance: str, user_id: int, status: ManualStatus,
                         ) -> PresenceView | None:
        result = await self._ask(instance, {"op": "set_status", "user_id": user_id,
                                            "status": status}, SET_TIMEOUT_SECS)
        return decode_view(result) if result else None
