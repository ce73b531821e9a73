"""Mutes and bans, in a room or server-wide, for a time or until lifted; the checks that
joining, signing in and editing make. Posting checks them in its batch (`post_plan`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.chat.domain import (
    Actor,
    AuthSession,
    Forbidden,
    Frame,
    Invalid,
    Member,
    NotFound,
    is_moderator,
    refuse_in_dm,
    shown_name,
)
from services.chat.domain.moderation import (
    Sanction,
    SanctionKind,
    may_sanction,
    refuse_if_muted,
    validate_sanction,
)
from services.chat.ports import ChatDeps, ChatTx
from services.chat.use_cases._access import require_admin, require_user, visible_room
from services.chat.use_cases.audit import record
from services.chat.use_cases.sessions import revocation_events, revoked_here
from shared.contracts import MemberLeft


@dataclass(slots=True)
class Imposed:
    """What a sanction changed, for the frames sent after its commit."""

    sanction: Sanction
    removed: Member | None = None  # a room ban's removed membership
    revoked: list[AuthSession] = field(default_factory=list)  # a server ban's sessions


def sanction_data(sanction: Sanction, active: bool = True) -> dict[str, Any]:
    until = sanction.until
    return {"kind": sanction.kind, "user_id": sanction.user_id, "username": sanction.username,
            "room_id": sanction.room_id,
            "scope": "room" if sanction.room_id is not None else "server",
            "until": until.isoformat() if until else None, "reason": sanction.reason,
            "created_by": sanction.created_by, "created_at": sanction.created_at.isoformat(),
            "active": active}


async def _may_moderate(tx: ChatTx, actor: Actor, room_id: int | None, kind: str,
                        ) -> Member | None:
    if room_id is None:
        require_admin(actor)
        return None
    room, member = await visible_room(tx, actor, room_id)
    refuse_in_dm(room, "kick")
    if not is_moderator(actor, member):
        raise Forbidden("forbidden", f"Only the room's moderators may {kind} here.")
    return member


async def impose_in(tx: ChatTx, deps: ChatDeps, now: datetime, actor: Actor,
                    kind: SanctionKind, user_id: int, room_id: int | None,
                    until: datetime | None, reason: str | None) -> Imposed:
    """The sanction inside the caller's write transaction (a report's resolution uses it)."""
    actor_id = require_user(actor)
    actor_member = await _may_moderate(tx, actor, room_id, kind)
    if user_id == actor_id:
        raise Invalid("cannot_sanction_self", f"You cannot {kind} yourself.")
    target = await tx.users.get(user_id, lock=True)
    if target is None or target.deleted_at is not None:
        raise NotFound("user_not_found", f"No user with id {user_id}.")
    target_member = await tx.members.get(room_id, user_id) if room_id is not None else None
    if not may_sanction(actor, actor_member, target.is_admin, target_member,
                        server_wide=room_id is None):
        raise Forbidden("forbidden", f"You may not {kind} this user.")
    sanction = Sanction(kind, user_id, room_id, until, reason, actor_id, now, target.username)
    await tx.sanctions.put(sanction)
    imposed = Imposed(sanction)
    if kind == "ban" and room_id is not None and target_member is not None:
        await tx.members.remove(room_id, user_id)
        await tx.outbox.add(MemberLeft(room_id=room_id, user_id=user_id,
                                       username=target.username, reason="banned",
                                       removed_by=actor_id, left_at=now), now)
        imposed.removed = target_member
    if kind == "ban" and room_id is None:
        # Writing the account's row (unchanged) waits for a sign-in holding it (FOR SHARE)
        # to commit, so the revocation below sees that session; a later sign-in waits for
        # this transaction and then sees the ban (as a deactivation does).
        await tx.users.update_account(target)
        imposed.revoked = await tx.sessions.revoke_all(user_id, now, "banned")
        await revocation_events(deps, tx, imposed.revoked, "banned")
    await record(tx, now, actor, f"{kind}.add", "user", user_id, room_id=room_id,
                 reason=reason, scope="room" if room_id is not None else "server",
                 until=until.isoformat() if until else None)
    return imposed


async def announce(deps: ChatDeps, imposed: Imposed) -> None:
    """After the commit: sockets of a server ban closed, a room ban's `member_left`, and
    `moderation_updated` to the user."""
    sanction = imposed.sanction
    await revoked_here(deps, imposed.revoked)
    if imposed.removed is not None and sanction.room_id is not None:
        removed = imposed.removed
        await deps.live.to_room(sanction.room_id, Frame("member_left", {
            "room_id": sanction.room_id, "user_id": removed.user_id,
            "username": removed.username,
            "display_name": shown_name(removed.username, removed.display_name),
            "reason": "banned"}, about_user=removed.user_id))
    await deps.live.to_user(sanction.user_id, Frame("moderation_updated",
                                                    sanction_data(sanction)))


async def impose(deps: ChatDeps, actor: Actor, kind: str, user_id: int, *,
                 room_id: int | None = None, until: datetime | None = None,
                 reason: str | None = None) -> Sanction:
    """Mute (cannot post or edit) or ban (a room: removed and cannot rejoin; the server:
    cannot sign in, every session revoked) a user, until `until` or until lifted. In a room
    its moderators decide (a moderator over plain members, a room admin over moderators
    too); server-wide, administrators. Nobody sanctions an administrator. A new sanction of
    the same kind and scope replaces the old one. Audited (`mute.add`, `ban.add`)."""
    require_user(actor)
    now = deps.clock.now()
    valid_kind, until, reason = validate_sanction(kind, until, reason, now)
    async with deps.uow.write() as tx:
        imposed = await impose_in(tx, deps, now, actor, valid_kind, user_id, room_id, until,
                                  reason)
    await announce(deps, imposed)
    return imposed.sanction


async def lift(deps: ChatDeps, actor: Actor, kind: str, user_id: int, *,
               room_id: int | None = None) -> Sanction:
    """The mute or ban ends now (404 `not_sanctioned` when there is none). Audited."""
    require_user(actor)
    valid_kind, _, _ = validate_sanction(kind, None, None, deps.clock.now())
    async with deps.uow.write() as tx:
        await _may_moderate(tx, actor, room_id, valid_kind)
        removed = await tx.sanctions.remove(valid_kind, room_id, user_id)
        if removed is None:
            raise NotFound("not_sanctioned", f"User {user_id} has no {kind} here.")
        now = deps.clock.now()
        await record(tx, now, actor, f"{kind}.lift", "user", user_id, room_id=room_id,
                     scope="room" if room_id is not None else "server")
    await deps.live.to_user(user_id, Frame("moderation_updated",
                                           sanction_data(removed, active=False)))
    return removed


async def sanctions(deps: ChatDeps, actor: Actor, kind: str, *,
                    room_id: int | None = None) -> list[Sanction]:
    """The mutes or bans in force in the room (its moderators) or server-wide (admins)."""
    require_user(actor)
    now = deps.clock.now()
    valid_kind, _, _ = validate_sanction(kind, None, None, now)
    async with deps.uow.read() as tx:
        await _may_moderate(tx, actor, room_id, valid_kind)
        return await tx.sanctions.in_force(valid_kind, room_id, now)


async def refuse_muted(tx: ChatTx, actor: Actor, room_id: int, now: datetime) -> None:
    """An edit: the author's room and server mutes, as a post checks them."""
    user_id = require_user(actor)
    _, member = await tx.rooms.with_member(room_id, user_id)
    user = await tx.users.get(user_id)
    refuse_if_muted(member, user.muted_until if user else None, now)
