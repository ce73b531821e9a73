"""Who belongs to a room, with which role: joining, leaving, invitations, kicks, roles."""

from __future__ import annotations

from services.chat.domain import (
    Actor,
    Conflict,
    Forbidden,
    Frame,
    Invalid,
    Member,
    NotFound,
    Role,
    Room,
    is_room_admin,
    refuse_in_dm,
    shown_name,
    validate_role,
)
from services.chat.ports import ChatDeps, ChatTx
from services.chat.use_cases._access import active_user, require_user, room_not_found, visible_room
from services.chat.use_cases._sanctions import refuse_banned, room_mute_for
from services.chat.use_cases.audit import record
from shared.contracts import MemberJoined, MemberLeft, MemberRoleChanged


def joined_event(member: Member, invited_by: int | None) -> MemberJoined:
    return MemberJoined(room_id=member.room_id, user_id=member.user_id,
                        username=member.username, role=member.role, invited_by=invited_by,
                        joined_at=member.joined_at)


async def join_room(deps: ChatDeps, actor: Actor, room_id: int) -> Member:
    """Anyone signed in joins a public room; a private room needs an invitation."""
    user_id = require_user(actor)
    async with deps.uow.write() as tx:
        user = await active_user(tx, user_id)
        room = await tx.rooms.get(room_id)
        member = await tx.members.get(room_id, user_id) if room else None
        if room is None or (room.is_private and member is None):
            raise room_not_found(room_id)
        if member is not None:
            return member
        await refuse_banned(tx, room_id, user_id, deps.clock.now())
        try:
            member = await _add_member(deps, tx, room, user_id, actor.username or "",
                                       "member", None, user.display_name)
        except Conflict:
            member = None  # joined concurrently (another tab, another replica)
    if member is None:
        async with deps.uow.read() as tx:
            existing = await tx.members.get(room_id, user_id)
        if existing is None:
            raise Conflict("join_conflict", "Joining raced with a removal; try again.")
        return existing
    await deps.live.to_room(room_id, Frame("member_joined", member))
    return member


async def _add_member(deps: ChatDeps, tx: ChatTx, room: Room, user_id: int, username: str,
                      role: Role, invited_by: int | None,
                      display_name: str | None = None) -> Member:
    now = deps.clock.now()
    # A new member has read nothing older than their arrival: unread starts at zero.
    member = Member(room.id, user_id, username, role, now, read_seq=room.last_seq,
                    display_name=display_name,
                    muted_until=await room_mute_for(tx, room.id, user_id, now))
    await tx.members.add(member)
    await tx.outbox.add(joined_event(member, invited_by), now)
    return member


async def leave_room(deps: ChatDeps, actor: Actor, room_id: int) -> None:
    user_id = require_user(actor)
    await _remove_member(deps, actor, room_id, user_id, reason="left")


async def kick_member(deps: ChatDeps, actor: Actor, room_id: int, user_id: int) -> None:
    """Moderators remove members; only room admins remove moderators or admins."""
    await _remove_member(deps, actor, room_id, user_id, reason="kicked")


async def _remove_member(deps: ChatDeps, actor: Actor, room_id: int, user_id: int,
                         reason: str) -> None:
    actor_id = require_user(actor)
    async with deps.uow.write() as tx:
        room, actor_member = await visible_room(tx, actor, room_id)
        refuse_in_dm(room, "kick" if reason == "kicked" else "leave")
        target = await tx.members.get(room_id, user_id)
        if target is None:
            raise NotFound("not_a_member", f"User {user_id} is not a member of this room.")
        if reason == "kicked":
            if user_id == actor_id:
                raise Invalid("cannot_kick_self", "Leave the room instead of kicking yourself.")
            allowed = is_room_admin(actor, actor_member) or (
                actor_member is not None and actor_member.role == "moderator"
                and target.role == "member")
            if not allowed:
                raise Forbidden("forbidden", "You may not remove this member.")
        await tx.members.remove(room_id, user_id)
        now = deps.clock.now()
        await tx.outbox.add(MemberLeft(room_id=room_id, user_id=user_id,
                                       username=target.username,
                                       reason="kicked" if reason == "kicked" else "left",
                                       removed_by=actor_id if reason == "kicked" else None,
                                       left_at=now), now)
        if reason == "kicked":
            await record(tx, now, actor, "member.kick", "user", user_id, room_id=room_id)
    await deps.live.to_room(room_id, Frame("member_left",
                                           {"room_id": room_id, "user_id": user_id,
                                            "username": target.username,
                                            "display_name": shown_name(target.username,
                                                                       target.display_name),
                                            "reason": reason},
                                           about_user=user_id))


async def list_members(deps: ChatDeps, actor: Actor, room_id: int) -> list[Member]:
    async with deps.uow.read() as tx:
        await visible_room(tx, actor, room_id)
        return await tx.members.list(room_id)


async def invite_member(deps: ChatDeps, actor: Actor, room_id: int, username: str,
                        role: Role = "member") -> Member:
    """Moderators and admins add people; only room admins hand out moderator or admin roles."""
    actor_id = require_user(actor)
    role = validate_role(role)
    async with deps.uow.write() as tx:
        room, actor_member = await visible_room(tx, actor, room_id)
        refuse_in_dm(room, "invite")
        if not (is_room_admin(actor, actor_member) or
                (actor_member is not None and actor_member.role == "moderator")):
            raise Forbidden("forbidden", "Only moderators and admins can add members.")
        if role != "member" and not is_room_admin(actor, actor_member):
            raise Forbidden("forbidden", "Only room admins can grant that role.")
        found = await tx.users.by_username(username)
        if found is None or found[0].deleted_at is not None:
            raise NotFound("user_not_found", f"No user named {username!r}.")
        user = found[0]
        existing = await tx.members.get(room_id, user.id)
        if existing is not None:
            return existing
        await refuse_banned(tx, room_id, user.id, deps.clock.now())
        member = await _add_member(deps, tx, room, user.id, user.username, role, actor_id,
                                   user.display_name)
    data = member
    # The invitee's sockets have not joined the room (a private one was invisible to them until
    # now): they hear of it on their own subject, and the room's copy skips them.
    await deps.live.to_room(room_id, Frame("member_joined", data, exclude_user=user.id))
    await deps.live.to_user(user.id, Frame("member_joined", data))
    return member


async def change_role(deps: ChatDeps, actor: Actor, room_id: int, user_id: int,
                      role: str) -> Member:
    actor_id = require_user(actor)
    validated = validate_role(role)
    async with deps.uow.write() as tx:
        room, actor_member = await visible_room(tx, actor, room_id)
        refuse_in_dm(room, "role")
        if not is_room_admin(actor, actor_member):
            raise Forbidden("not_room_admin", "Only the room's admins change roles.")
        target = await tx.members.get(room_id, user_id)
        if target is None:
            raise NotFound("not_a_member", f"User {user_id} is not a member of this room.")
        previous = target.role
        if previous == validated:
            return target
        target.role = validated
        await tx.members.set_role(room_id, user_id, target.role)
        now = deps.clock.now()
        await tx.outbox.add(MemberRoleChanged(room_id=room_id, user_id=user_id,
                                              username=target.username, role=target.role,
                                              previous=previous, changed_by=actor_id,
                                              changed_at=now), now)
        await record(tx, now, actor, "member.role", "user", user_id, room_id=room_id,
                     role=target.role, previous=previous)
    await deps.live.to_room(room_id, Frame("member_role_changed", target))
    return target


async def member_ids(deps: ChatDeps, room_id: int) -> set[int]:
    async with deps.uow.read() as tx:
        return {m.user_id for m in await tx.members.list(room_id)}
