"""Direct messages: opening one (the same people always get the same one), the people of
the caller's DMs, and the accounts someone starting a DM picks from."""

from __future__ import annotations

from dataclasses import dataclass

from services.chat.domain import (
    Actor,
    Conflict,
    Frame,
    Invalid,
    Member,
    NotFound,
    Room,
    User,
    dm_key,
    dm_name,
    dm_people,
)
from services.chat.ports import ChatDeps, ChatTx
from services.chat.use_cases._access import active_user, require_user
from services.chat.use_cases.membership import joined_event
from shared.contracts import RoomCreated

PEOPLE_MAX_PAGE = 20


@dataclass(frozen=True, slots=True)
class OpenedDm:
    room: Room
    members: list[Member]
    created: bool  # False: the DM existed (the same people opened it before)


async def open_dm(deps: ChatDeps, actor: Actor, user_ids: list[int]) -> OpenedDm:
    """The DM between the caller and `user_ids` (repeats and the caller ignored): created
    with every one of them as a member, or the one that exists for the same people. Two
    openers at once make one: the key is unique, and the one whose insert loses reads the
    winner's. Each member's sockets hear `member_joined`, so the DM shows on their pages."""
    opener = require_user(actor)
    people = dm_people(opener, user_ids)
    key = dm_key(people)
    try:
        async with deps.uow.write() as tx:
            me = await active_user(tx, opener)
            users = {opener: me, **{uid: await _other(tx, uid) for uid in people
                                    if uid != opener}}
            existing = await tx.dms.by_key(key)
            if existing is not None:
                members = (await tx.dms.members_of([existing.id]))[existing.id]
                return OpenedDm(existing, members, created=False)
            room, members = await _create(deps, tx, key, opener, [users[uid] for uid in people])
    except Conflict as exc:
        if exc.code != "dm_exists":
            raise
        async with deps.uow.read() as tx:
            existing = await tx.dms.by_key(key)
            if existing is None:
                raise
            members = (await tx.dms.members_of([existing.id]))[existing.id]
        return OpenedDm(existing, members, created=False)
    for member in members:
        await deps.live.to_user(member.user_id, Frame("member_joined", member))
    return OpenedDm(room, members, created=True)


async def _other(tx: ChatTx, user_id: int) -> User:
    user = await tx.users.get(user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("user_not_found", f"No user with id {user_id}.")
    if user.deactivated_at is not None:
        raise Invalid("user_deactivated", f"User {user.username!r} is deactivated.")
    return user


async def _create(deps: ChatDeps, tx: ChatTx, key: str, opener: int,
                  people: list[User]) -> tuple[Room, list[Member]]:
    now = deps.clock.now()
    room = await tx.dms.add(key, dm_name(key), opener, now)
    await tx.outbox.add(RoomCreated(room_id=room.id, name=room.name, description=None,
                                    is_private=True, created_by=opener, created_at=now,
                                    kind="dm"), now)
    members = []
    for user in people:
        # Everyone has read the empty conversation; nobody in it is its admin.
        member = Member(room.id, user.id, user.username, "member", now, read_seq=0,
                        display_name=user.display_name)
        await tx.members.add(member)
        await tx.outbox.add(joined_event(member, None if user.id == opener else opener), now)
        members.append(member)
    return room, members


async def dm_members(deps: ChatDeps, actor: Actor, room_ids: list[int]) -> dict[int, list[Member]]:
    """The members of those of these DMs the caller is in (the others are left out)."""
    if actor.user_id is None or not room_ids:
        return {}
    async with deps.uow.read() as tx:
        found = await tx.dms.members_of(room_ids)
    return {room_id: members for room_id, members in found.items()
            if any(m.user_id == actor.user_id for m in members)}


async def find_people(deps: ChatDeps, actor: Actor, prefix: str,
                      limit: int = PEOPLE_MAX_PAGE) -> list[User]:
    """Active accounts whose username starts with `prefix`, for someone signed in."""
    require_user(actor)
    async with deps.uow.read() as tx:
        return await tx.dms.people(prefix.strip(), max(1, min(limit, PEOPLE_MAX_PAGE)))
