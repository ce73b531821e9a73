"""`/api/chat`: rooms, members, messages and read markers."""

from __future__ import annotations

import asyncio
import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import Field

from services.chat import use_cases
from services.chat.adapters.frames import member_data, message_data, room_data, unread_data
from services.chat.adapters.inbound.http._deps import ActorDep, Body, ChatDep, MaybeActorDep
from services.chat.adapters.inbound.http.avatars import with_avatar
from services.chat.adapters.inbound.http.dms import rooms_data
from services.chat.adapters.inbound.service import ChatService
from services.chat.domain import Actor, Invalid, Throttled
from services.chat.domain.moderation import SLOW_MODE_MAX_SECS
from shared.contracts.bounds import AttachmentIds, Id, Limit, Seq


class RoomBody(Body):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    is_private: bool = False


class RoomPatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    is_private: bool | None = None
    # Moderators may send this alone; 0 turns slow mode off (domain/moderation.py).
    slow_mode_secs: int | None = Field(default=None, ge=0, le=SLOW_MODE_MAX_SECS)


class InviteBody(Body):
    username: str = Field(min_length=1, max_length=64)
    role: str = "member"


class RoleBody(Body):
    role: str


class MessageBody(Body):
    content: str = Field(max_length=100_000)
    client_msg_id: str | None = Field(default=None, max_length=64)
    thread_root_id: Id | None = None
    also_send_to_room: bool = False
    # Uploaded files (POST /api/chat/files); with some, `content` may be "".
    attachment_ids: AttachmentIds = []


class EditBody(Body):
    content: str = Field(max_length=100_000)


class ReadBody(Body):
    seq: Seq


def charge_post(chat: ChatService, who: Actor) -> None:
    """One token of the user's budget on this replica: the one its WebSocket frames spend."""
    if who.user_id is None:
        return  # the use case refuses guests
    now = asyncio.get_running_loop().time()
    bucket = chat.limiter.bucket(who.user_id, now)
    if not bucket.take(now):
        raise Throttled("rate_limited", "Slow down: too many messages.",
                        retry_after_secs=max(1, math.ceil(bucket.wait_secs())))


def chat_router() -> APIRouter:
    router = APIRouter(prefix="/api/chat", tags=["chat"])

    @router.get("/rooms")
    async def list_rooms(who: MaybeActorDep, chat: ChatDep) -> list[dict[str, Any]]:
        """Public rooms and the caller's private rooms and DMs (with their `members`)."""
        return await rooms_data(chat.deps, who, await use_cases.list_rooms(chat.deps, who))

    @router.post("/rooms", status_code=status.HTTP_201_CREATED)
    async def create_room(body: RoomBody, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        room = await use_cases.create_room(chat.deps, who, body.name, body.description,
                                           body.is_private)
        return room_data(room)

    @router.get("/rooms/{room_id}")
    async def get_room(room_id: Id, who: MaybeActorDep, chat: ChatDep) -> dict[str, Any]:
        room, member = await use_cases.get_room(chat.deps, who, room_id)
        return {**room_data(room), "my_role": member.role if member else None}

    @router.patch("/rooms/{room_id}")
    async def update_room(room_id: Id, body: RoomPatch, who: ActorDep,
                          chat: ChatDep) -> dict[str, Any]:
        room = await use_cases.update_room(chat.deps, who, room_id, name=body.name,
                                           description=body.description,
                                           is_private=body.is_private,
                                           slow_mode_secs=body.slow_mode_secs)
        return room_data(room)

    @router.post("/rooms/{room_id}/join")
    async def join_room(room_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        return member_data(await use_cases.join_room(chat.deps, who, room_id))

    @router.post("/rooms/{room_id}/leave", status_code=status.HTTP_204_NO_CONTENT)
    async def leave_room(room_id: Id, who: ActorDep, chat: ChatDep) -> None:
        await use_cases.leave_room(chat.deps, who, room_id)

    @router.get("/rooms/{room_id}/members")
    async def members(room_id: Id, who: MaybeActorDep, chat: ChatDep) -> list[dict[str, Any]]:
        """The room's members, each with `avatar_url` (null without an avatar)."""
        members = await use_cases.list_members(chat.deps, who, room_id)
        avatars = await use_cases.avatar_ids(chat.deps, [m.user_id for m in members])
        return [with_avatar(member_data(m), m.user_id, avatars) for m in members]

    @router.post("/rooms/{room_id}/members", status_code=status.HTTP_201_CREATED)
    async def invite(room_id: Id, body: InviteBody, who: ActorDep,
                     chat: ChatDep) -> dict[str, Any]:
        member = await use_cases.invite_member(chat.deps, who, room_id, body.username,
                                               body.role)  # type: ignore[arg-type]
        return member_data(member)

    @router.patch("/rooms/{room_id}/members/{user_id}")
    async def change_role(room_id: Id, user_id: Id, body: RoleBody, who: ActorDep,
                          chat: ChatDep) -> dict[str, Any]:
        member = await use_cases.change_role(chat.deps, who, room_id, user_id, body.role)
        return member_data(member)

    @router.delete("/rooms/{room_id}/members/{user_id}",
                   status_code=status.HTTP_204_NO_CONTENT)
    async def kick(room_id: Id, user_id: Id, who: ActorDep, chat: ChatDep) -> None:
        await use_cases.kick_member(chat.deps, who, room_id, user_id)

    @router.get("/rooms/{room_id}/messages")
    async def history(room_id: Id, who: MaybeActorDep, chat: ChatDep,
                      before_seq: Annotated[Seq | None, Query()] = None,
                      after_seq: Annotated[Seq | None, Query()] = None,
                      around_seq: Annotated[Seq | None, Query()] = None,
                      limit: Annotated[Limit, Query()] = 50) -> dict[str, Any]:
        """A page of history, oldest first, with `has_more` in the paging direction;
        `around_seq`: the page around that message (a search result opened), with
        `has_more` (older) and `has_more_after` (newer)."""
        if around_seq is not None:
            if before_seq is not None or after_seq is not None:
                raise Invalid("invalid_paging", "around_seq goes without before_seq and "
                              "after_seq.")
            page = await use_cases.history_around(chat.deps, who, room_id, around_seq,
                                                  limit=limit)
            return {"messages": [message_data(m) for m in page.messages],
                    "has_more": page.has_more, "has_more_after": page.has_more_after,
                    "thread_seqs": page.thread_seqs}
        page = await use_cases.history(chat.deps, who, room_id, before_seq=before_seq,
                                       after_seq=after_seq, limit=limit)
        return {"messages": [message_data(m) for m in page.messages],
                "has_more": page.has_more, "thread_seqs": page.thread_seqs}

    @router.post("/rooms/{room_id}/messages", status_code=status.HTTP_201_CREATED)
    async def post(room_id: Id, body: MessageBody, who: ActorDep, response: Response,
                   chat: ChatDep) -> dict[str, Any]:
        """Post without a socket; a retried `client_msg_id` answers 200 with the first one.
        Charged to the sender's frame budget, as a post over the WebSocket is (429)."""
        charge_post(chat, who)
        posted = await use_cases.post_message(chat.deps, who, room_id, body.content,
                                              body.client_msg_id,
                                              thread_root_id=body.thread_root_id,
                                              also_send_to_room=body.also_send_to_room,
                                              attachment_ids=body.attachment_ids)
        if not posted.created:
            response.status_code = status.HTTP_200_OK
        else:
            chat.metrics.messages_posted.inc()
        return message_data(posted.message)

    @router.get("/messages/{message_id}/thread")
    async def thread(message_id: Id, who: MaybeActorDep, chat: ChatDep,
                     after_seq: Annotated[Seq | None, Query()] = None,
                     limit: Annotated[Limit, Query()] = 50) -> dict[str, Any]:
        """The message's thread: its root and a page of replies, oldest first."""
        page = await use_cases.thread(chat.deps, who, message_id, after_seq=after_seq,
                                      limit=limit)
        return {"root": message_data(page.root),
                "messages": [message_data(m) for m in page.replies],
                "has_more": page.has_more}

    @router.patch("/messages/{message_id}")
    async def edit(message_id: Id, body: EditBody, who: ActorDep,
                   chat: ChatDep) -> dict[str, Any]:
        return message_data(await use_cases.edit_message(chat.deps, who, message_id,
                                                         body.content))

    @router.delete("/messages/{message_id}")
    async def delete(message_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        return message_data(await use_cases.delete_message(chat.deps, who, message_id))

    @router.post("/rooms/{room_id}/read")
    async def read(room_id: Id, body: ReadBody, who: ActorDep,
                   chat: ChatDep) -> dict[str, Any]:
        return unread_data(await use_cases.mark_read(chat.deps, who, room_id, body.seq))

    @router.get("/unread")
    async def unread(who: ActorDep, chat: ChatDep) -> list[dict[str, Any]]:
        """Per room: `count`, `mentions`, `last_seq`, `read_seq` — derived from read markers."""
        return [unread_data(u) for u in await use_cases.unread_counts(chat.deps, who)]

    return router
