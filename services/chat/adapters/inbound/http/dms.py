"""`/api/chat/dms` (opening a direct message) and `/api/chat/users` (the active accounts
someone starting one picks from)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import Field

from services.chat import use_cases
from services.chat.adapters.frames import room_data
from services.chat.adapters.inbound.http._deps import ActorDep, Body, ChatDep
from services.chat.adapters.inbound.http.avatars import with_avatar
from services.chat.domain import Actor, Member, Room, shown_name
from services.chat.ports import ChatDeps
from shared.contracts.bounds import Id


class DmBody(Body):
    # The other people; the caller is added. More than 7 others is refused by the rule
    # (`dm_too_many_members`); this bound only keeps a hostile body small.
    user_ids: list[Id] = Field(min_length=1, max_length=64)


def person_data(member: Member) -> dict[str, Any]:
    return {"user_id": member.user_id, "username": member.username,
            "display_name": shown_name(member.username, member.display_name),
            "is_bot": member.is_bot}


def dm_data(room: Room, members: Sequence[Member]) -> dict[str, Any]:
    """A DM's JSON: the room's, plus its people (the page names a DM by them)."""
    return {**room_data(room), "members": [person_data(m) for m in members]}


async def rooms_data(deps: ChatDeps, actor: Actor, rooms: list[Room]) -> list[dict[str, Any]]:
    """Rooms as `GET /api/chat/rooms` lists them: DMs with their people (one more read,
    only when the caller has DMs)."""
    dm_ids = [r.id for r in rooms if r.kind == "dm"]
    people = await use_cases.dm_members(deps, actor, dm_ids) if dm_ids else {}
    return [dm_data(r, people.get(r.id, [])) if r.kind == "dm" else room_data(r)
            for r in rooms]


def dms_router() -> APIRouter:
    router = APIRouter(prefix="/api/chat", tags=["chat"])

    @router.post("/dms", status_code=status.HTTP_201_CREATED)
    async def open_dm(body: DmBody, who: ActorDep, chat: ChatDep,
                      response: Response) -> dict[str, Any]:
        """The DM with these people: 201 when it was made now, 200 when it existed."""
        opened = await use_cases.open_dm(chat.deps, who, list(body.user_ids))
        if not opened.created:
            response.status_code = status.HTTP_200_OK
        return dm_data(opened.room, opened.members)

    @router.get("/users")
    async def people(who: ActorDep, chat: ChatDep,
                     q: Annotated[str, Query(max_length=32)] = "",
                     limit: Annotated[int, Query(ge=1, le=20)] = 20) -> list[dict[str, Any]]:
        """Active accounts whose username starts with `q`, by username (signed in only)."""
        found = await use_cases.find_people(chat.deps, who, q, limit)
        avatars = await use_cases.avatar_ids(chat.deps, [u.id for u in found])
        return [with_avatar({"id": u.id, "username": u.username,
                             "display_name": u.display_name, "is_bot": u.is_bot}, u.id,
                            avatars) for u in found]

    return router
