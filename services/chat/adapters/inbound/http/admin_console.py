"""`/api/admin` beyond deactivation: user search, server roles and session resets; room
archive, owner and visibility; sign-up invitations; live server settings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status
from fastapi import Body as JsonBody
from pydantic import Field, StrictBool, StrictInt

from services.chat import use_cases
from services.chat.adapters.frames import member_data, room_data
from services.chat.adapters.inbound.http._deps import ActorDep, Body, ChatDep
from services.chat.adapters.inbound.http.admin import account_data
from services.chat.domain import Room
from services.chat.domain.admin import (
    INVITATION_MAX_TTL_SECS,
    INVITATION_MAX_USES,
    Invitation,
    invitation_status,
)
from shared.contracts.bounds import Id

# What reaches the use cases is bounded here; the rules (and their codes) are theirs.
SearchText = Annotated[str, Query(max_length=200)]
Cursor = Annotated[str | None, Query(max_length=20)]
PageLimit = Annotated[int, Query(ge=1, le=100)]


class RoleBody(Body):
    is_admin: StrictBool


class OwnerBody(Body):
    user_id: Id


class VisibilityBody(Body):
    is_private: StrictBool


class InvitationBody(Body):
    expires_in_secs: StrictInt = Field(default=7 * 86_400, ge=1,
                                       le=10 * INVITATION_MAX_TTL_SECS)
    max_uses: StrictInt = Field(default=1, ge=1, le=10 * INVITATION_MAX_USES)


def admin_room_data(room: Room, member_count: int | None = None) -> dict[str, Any]:
    data = room_data(room)
    if member_count is not None:
        data["member_count"] = member_count
    return data


def invitation_data(invitation: Invitation, request: Request, now: Any) -> dict[str, Any]:
    return {"id": invitation.id, "token": invitation.token,
            "url": f"{request.base_url}?invite={invitation.token}",
            "expires_at": invitation.expires_at.isoformat(), "max_uses": invitation.max_uses,
            "uses": invitation.uses, "created_by": invitation.created_by,
            "created_at": invitation.created_at.isoformat(),
            "revoked_at": invitation.revoked_at.isoformat() if invitation.revoked_at else None,
            "status": invitation_status(invitation, now)}


def admin_console_router() -> APIRouter:
    router = APIRouter(prefix="/api/admin", tags=["admin"])

    @router.get("/users")
    async def users(who: ActorDep, chat: ChatDep, q: SearchText = "",
                    status: Annotated[str, Query(max_length=20)] = "all",
                    cursor: Cursor = None, limit: PageLimit = 50) -> dict[str, Any]:
        """Administrators only: accounts whose username or display name contains `q`
        (any case), by id; `status` is `active`, `deactivated` or `all`; `next_cursor`
        is the next page's `cursor` (null on the last page)."""
        page = await use_cases.search_users(chat.deps, who, q, status, cursor, limit)
        return {"users": [account_data(u) for u in page.users],
                "next_cursor": page.next_cursor}

    @router.post("/users/{user_id}/role")
    async def role(user_id: Id, body: RoleBody, who: ActorDep, chat: ChatDep
                   ) -> dict[str, Any]:
        """Administrators only: make another active account a server administrator, or
        not. Nobody changes their own role (422 `cannot_change_own_role`); a demoted
        account's sessions are revoked. Idempotent."""
        return account_data(await use_cases.set_server_admin(chat.deps, who, user_id,
                                                             body.is_admin))

    @router.post("/users/{user_id}/sessions/revoke")
    async def reset(user_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Administrators only: revoke every live session of the account (signed out
        everywhere, sockets closed with 4001); it may sign in again."""
        return {"revoked": await use_cases.reset_sessions(chat.deps, who, user_id)}

    @router.get("/rooms")
    async def rooms(who: ActorDep, chat: ChatDep, q: SearchText = "",
                    archived: bool | None = None, cursor: Cursor = None,
                    limit: PageLimit = 50) -> dict[str, Any]:
        """Administrators only: every room (public or private; never a DM) whose name
        contains `q`, `archived` true, false or both (absent), by id, with its
        `member_count`."""
        page = await use_cases.search_rooms(chat.deps, who, q, archived, cursor, limit)
        return {"rooms": [admin_room_data(r, n) for r, n in page.rooms],
                "next_cursor": page.next_cursor}

    @router.post("/rooms/{room_id}/archive")
    async def archive(room_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Administrators only: the room becomes read-only (409 / `error` frame
        `room_archived` on posts, edits, reactions, pins) and leaves the public room list;
        members still read it. Idempotent."""
        return admin_room_data(await use_cases.archive_room(chat.deps, who, room_id, True))

    @router.post("/rooms/{room_id}/unarchive")
    async def unarchive(room_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Administrators only: the room takes posts again. Idempotent."""
        return admin_room_data(await use_cases.archive_room(chat.deps, who, room_id, False))

    @router.post("/rooms/{room_id}/owner")
    async def owner(room_id: Id, body: OwnerBody, who: ActorDep, chat: ChatDep
                    ) -> dict[str, Any]:
        """Administrators only: the room's owner (`created_by`) becomes this active member,
        made a room admin (422 `not_a_member` otherwise)."""
        room, member = await use_cases.set_room_owner(chat.deps, who, room_id, body.user_id)
        return {**admin_room_data(room), "owner": member_data(member)}

    @router.post("/rooms/{room_id}/visibility")
    async def visibility(room_id: Id, body: VisibilityBody, who: ActorDep, chat: ChatDep
                         ) -> dict[str, Any]:
        """Administrators only: make the room public or private. Idempotent."""
        return admin_room_data(await use_cases.set_room_visibility(chat.deps, who, room_id,
                                                                   body.is_private))

    @router.get("/invitations")
    async def invitations(request: Request, who: ActorDep, chat: ChatDep
                          ) -> dict[str, Any]:
        """Administrators only: the latest 200 invitations, newest first, with their
        `status` (`active`, `revoked`, `expired`, `used_up`)."""
        found = await use_cases.list_invitations(chat.deps, who)
        now = chat.deps.clock.now()
        return {"invitations": [invitation_data(i, request, now) for i in found]}

    @router.post("/invitations", status_code=status.HTTP_201_CREATED)
    async def invite(body: InvitationBody, request: Request, who: ActorDep, chat: ChatDep
                     ) -> dict[str, Any]:
        """Administrators only: a sign-up link good for `max_uses` (1..10000) accounts
        within `expires_in_secs` (60..7776000); 422 `invalid_invitation` otherwise."""
        made = await use_cases.create_invitation(chat.deps, who, body.expires_in_secs,
                                                 body.max_uses)
        return invitation_data(made, request, chat.deps.clock.now())

    @router.delete("/invitations/{invitation_id}")
    async def revoke(invitation_id: Id, request: Request, who: ActorDep, chat: ChatDep
                     ) -> dict[str, Any]:
        """Administrators only: nobody signs up with it any more. Idempotent."""
        revoked = await use_cases.revoke_invitation(chat.deps, who, invitation_id)
        return invitation_data(revoked, request, chat.deps.clock.now())

    @router.get("/settings")
    async def settings(who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Administrators only: the live server settings."""
        return (await use_cases.read_settings(chat.deps, who)).as_dict()

    @router.patch("/settings")
    async def change_settings(changes: Annotated[dict[str, Any], JsonBody()], who: ActorDep,
                              chat: ChatDep) -> dict[str, Any]:
        """Administrators only: change any of the settings; all are checked before any is
        written (422 `unknown_setting` / `invalid_setting`: nothing changes). Every
        replica uses them within `CHAT_SETTINGS_CACHE_SECS`."""
        return (await use_cases.update_settings(chat.deps, who, changes)).as_dict()

    return router
