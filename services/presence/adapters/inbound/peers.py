"""NATS inbound: the other presence instances' questions about the users this one computes
(`rpc.presence.peer.<instance_id>`; the asking side is `outbound/bus_peers.py`)."""

from __future__ import annotations

import logging
from typing import Any

import orjson

from services.presence import use_cases
from services.presence.adapters.outbound.bus_peers import encode_view, peer_subject
from services.presence.domain import MANUAL_STATUSES, NotConnected
from services.presence.ports import PresenceDeps
from shared.bus import EventBus, Subscription

log = logging.getLogger(__name__)


async def _answer(deps: PresenceDeps, question: dict[str, Any]) -> Any:
    board, ownership = deps.board, deps.ownership
    match question.get("op"):
        case "views":
            views = (board.view(int(uid)) for uid in question.get("user_ids") or ()
                     if ownership.owns(int(uid)))
            return [encode_view(v) for v in views if v is not None]
        case "present":
            return [encode_view(v) for v in board.present()]
        case "room":
            return [encode_view(v) for v in board.in_room(int(question["room_id"]))]
        case "counts":
            return use_cases.local_counts(deps)
        case "set_status":
            user_id, status = int(question["user_id"]), question.get("status")
            if status not in MANUAL_STATUSES or not ownership.owns(user_id):
                return None  # handed over meanwhile: the asker says "try again"
            return encode_view(await use_cases.set_status_here(deps, user_id, status))
    return None


async def answer_peers(bus: EventBus, deps: PresenceDeps) -> Subscription:
    async def respond(raw: bytes) -> bytes:
        try:
            question = orjson.loads(raw)
            return orjson.dumps({"result": await _answer(deps, question)})
        except NotConnected as exc:
            return orjson.dumps({"error": {"code": exc.code, "message": exc.message}})
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("bad presence peer question: %r", exc)
            return orjson.dumps({"result": None})

    return await bus.respond(peer_subject(deps.ownership.me), respond)
