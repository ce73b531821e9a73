"""Moderation over HTTP (docs/protocol.md, Moderation): reports of messages and their queue,
mutes and bans of a room (`/api/chat/rooms/{id}/mutes|bans`) and of the server
(`/api/moderation/mutes|bans`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import Field

from services.chat.adapters.frames import report_data
from services.chat.adapters.inbound.http._deps import ActorDep, Body, ChatDep
from services.chat.domain.moderation import SANCTION_REASON_MAX_CHARS, Sanction
from services.chat.domain.reports import (
    REPORT_NOTE_MAX_CHARS,
    REPORT_REASON_MAX_CHARS,
    REPORTS_MAX_PAGE,
)
from services.chat.use_cases.moderation import impose, lift, sanction_data, sanctions
from services.chat.use_cases.reports import report_message, report_queue, resolve_report
from shared.contracts.bounds import Id


class ReportBody(Body):
    reason: str = Field(min_length=1, max_length=REPORT_REASON_MAX_CHARS)


class ResolveBody(Body):
    action: str = Field(max_length=10)
    note: str | None = Field(default=None, max_length=REPORT_NOTE_MAX_CHARS)
    until: datetime | None = None


class SanctionBody(Body):
    user_id: Id
    until: datetime | None = None
    reason: str | None = Field(default=None, max_length=SANCTION_REASON_MAX_CHARS)


def _sanctions(items: list[Sanction]) -> dict[str, Any]:
    return {"items": [sanction_data(s) for s in items]}


def moderation_router() -> APIRouter:
    router = APIRouter(tags=["moderation"])

    @router.post("/api/chat/messages/{message_id}/reports", status_code=201)
    async def report(message_id: Id, body: ReportBody, who: ActorDep,
                     chat: ChatDep) -> dict[str, Any]:
        """Report a message you may read (not your own): 409 `already_reported` while your
        earlier report of it is open."""
        return report_data(await report_message(chat.deps, who, message_id, body.reason))

    @router.get("/api/moderation/reports")
    async def queue(who: ActorDep, chat: ChatDep,
                    status: Annotated[str, Query(max_length=10)] = "open",
                    room_id: Annotated[Id | None, Query()] = None,
                    before_id: Annotated[Id | None, Query()] = None,
                    limit: Annotated[int, Query(ge=1, le=REPORTS_MAX_PAGE)] = 50
                    ) -> dict[str, Any]:
        """Newest first: administrators see every room's, moderators the rooms they
        moderate; `next_before_id` pages on."""
        page = await report_queue(chat.deps, who, status=status, room_id=room_id,
                                  before_id=before_id, limit=limit)
        return {"reports": [report_data(r) for r in page.reports],
                "next_before_id": page.next_before_id}

    @router.post("/api/moderation/reports/{report_id}/resolve")
    async def resolve(report_id: Id, body: ResolveBody, who: ActorDep,
                      chat: ChatDep) -> dict[str, Any]:
        return report_data(await resolve_report(chat.deps, who, report_id, body.action,
                                                note=body.note, until=body.until))

    for kind in ("mute", "ban"):
        _sanction_routes(router, kind)
    return router


def _sanction_routes(router: APIRouter, kind: str) -> None:
    plural = kind + "s"

    @router.post(f"/api/chat/rooms/{{room_id}}/{plural}", status_code=201,
                 name=f"room_{kind}")
    async def room_add(room_id: Id, body: SanctionBody, who: ActorDep,
                       chat: ChatDep) -> dict[str, Any]:
        return sanction_data(await impose(chat.deps, who, kind, body.user_id, room_id=room_id,
                                          until=body.until, reason=body.reason))

    @router.get(f"/api/chat/rooms/{{room_id}}/{plural}", name=f"room_{plural}")
    async def room_list(room_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        return _sanctions(await sanctions(chat.deps, who, kind, room_id=room_id))

    @router.delete(f"/api/chat/rooms/{{room_id}}/{plural}/{{user_id}}", status_code=204,
                   name=f"room_lift_{kind}")
    async def room_lift(room_id: Id, user_id: Id, who: ActorDep, chat: ChatDep) -> Response:
        await lift(chat.deps, who, kind, user_id, room_id=room_id)
        return Response(status_code=204)

    @router.post(f"/api/moderation/{plural}", status_code=201, name=f"server_{kind}")
    async def server_add(body: SanctionBody, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        return sanction_data(await impose(chat.deps, who, kind, body.user_id,
                                          until=body.until, reason=body.reason))

    @router.get(f"/api/moderation/{plural}", name=f"server_{plural}")
    async def server_list(who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        return _sanctions(await sanctions(chat.deps, who, kind))

    @router.delete(f"/api/moderation/{plural}/{{user_id}}", status_code=204,
                   name=f"server_lift_{kind}")
    async def server_lift(user_id: Id, who: ActorDep, chat: ChatDep) -> Response:
        await lift(chat.deps, who, kind, user_id)
        return Response(status_code=204)
