"""Chat use cases: one async function per thing a user or operator does."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from services.chat.domain import (
    NO_PASSWORD,
    Actor,
    AuthSession,
    ChatError,
    Conflict,
    Forbidden,
    Frame,
    Invalid,
    Member,
    Message,
    Role,
    Room,
    Unauthenticated,
    Unread,
    User,
    can_delete,
    can_edit,
    can_read,
    is_room_admin,
    member_data,
    mentions_in,
    message_data,
    new_session_id,
    next_read_seq,
    room_data,
    unread_data,
    validate_client_msg_id,
    validate_content,
    validate_description,
    validate_password,
    validate_role,
    validate_room_name,
    validate_username,
)
from services.chat.domain import NotFound as _NotFound
from services.chat.ports import ChatDeps, ChatTx
from services.chat.post_plan import PostRequest
from shared.contracts import (
    MemberJoined,
    MemberLeft,
    MemberRead,
    MemberRoleChanged,
    MessageDeleted,
    MessageEdited,
    RoomCreated,
    RoomUpdated,
    SessionRevoked,
    UserDeactivated,
    UserDeleted,
    UserReactivated,
    UserRegistered,
)
from shared.contracts.events import SessionRevokedReason

HISTORY_MAX_PAGE = 200

log = logging.getLogger(__name__)


def _room_not_found(room_id: int) -> ChatError:
    # Private rooms the caller may not see get the same answer as rooms that don't exist.
    return _NotFound("room_not_found", f"Room {room_id} not found.")


async def _visible_room(tx: ChatTx, actor: Actor, room_id: int) -> tuple[Room, Member | None]:
    room, member = await tx.rooms.with_member(room_id, actor.user_id)
    if room is None or not can_read(room, actor, member):
        raise _room_not_found(room_id)
    return room, member


def _require_user(actor: Actor) -> int:
    if actor.user_id is None:
        raise Unauthenticated("not_authenticated", "Sign in to do that.")
    return actor.user_id


# --- accounts ----------------------------------------------------------------------------


async def register(deps: ChatDeps, username: str, password: str,
                   display_name: str | None = None, *, is_admin: bool = False) -> User:
    """Usernames are unique (case-insensitively); passwords follow `PasswordPolicy` and are
    stored only as argon2id hashes. The first account of an empty system is its
    administrator (decided inside the write transaction: of two at once, one)."""
    validate_username(username)
    validate_password(password, username, deps.passwords)
    password_hash = await deps.hasher.hash(password)
    first = False
    async with deps.uow.write() as tx:
        if await tx.users.by_username(username) is not None:
            raise Conflict("username_taken", f"Username {username!r} is taken.")
        if not is_admin:
            first = is_admin = await tx.users.none_yet()
        now = deps.clock.now()
        user = await tx.users.add(username, display_name, password_hash, is_admin, now)
        await tx.outbox.add(UserRegistered(user_id=user.id, username=user.username,
                                           display_name=display_name, is_admin=is_admin,
                                           registered_at=now), now)
    if first:
        log.info("%s is the first account: administrator", user.username)
    return user


async def authenticate(deps: ChatDeps, username: str, password: str) -> User:
    """A wrong username and a wrong password get the same answer, and so does a deleted
    account; a deactivated one is told so, but only after its right password."""
    async with deps.uow.read() as tx:
        found = await tx.users.by_username(username)
    if found is None or found[0].deleted_at is not None:
        # Spend the same time as a real check, so timing does not reveal which names exist.
        await deps.hasher.hash(password)
        raise Unauthenticated("invalid_credentials", "Wrong username or password.")
    if not await deps.hasher.verify(found[1], password):
        raise Unauthenticated("invalid_credentials", "Wrong username or password.")
    _require_not_deactivated(found[0])
    return found[0]


def _require_not_deactivated(user: User) -> None:
    if user.deactivated_at is not None:
        raise Forbidden("account_deactivated",
                        "This account has been deactivated by an administrator.")


async def _active_user(tx: ChatTx, user_id: int, *, lock: bool = False) -> User:
    """The acting user's row, which must exist and be active: a token that outlived its
    account gets 401, not whatever constraint its writes would trip."""
    user = await tx.users.get(user_id, lock=lock)
    if user is None or user.deleted_at is not None:
        raise Unauthenticated("unknown_user", "The account behind this token no longer exists.")
    if user.deactivated_at is not None:
        raise Unauthenticated("account_deactivated", "This account has been deactivated.")
    return user


async def current_user(deps: ChatDeps, actor: Actor) -> User:
    user_id = _require_user(actor)
    async with deps.uow.read() as tx:
        return await _active_user(tx, user_id)


# --- sessions ----------------------------------------------------------------------------


async def open_session(deps: ChatDeps, user_id: int) -> tuple[User, AuthSession]:
    """A sign-in opens a session of `session_ttl_secs`; its tokens carry the session's id.
    The account is read again under a lock, so a sign-in racing a deactivation either
    loses or has its session revoked by it."""
    async with deps.uow.write() as tx:
        user = await tx.users.get(user_id, lock=True)
        if user is None or user.deleted_at is not None:
            raise Unauthenticated("invalid_credentials", "Wrong username or password.")
        _require_not_deactivated(user)
        session = await _add_session(deps, tx, user_id)
    return user, session


async def _add_session(deps: ChatDeps, tx: ChatTx, user_id: int) -> AuthSession:
    now = deps.clock.now()
    session = AuthSession(new_session_id(), user_id, now,
                          now + timedelta(seconds=deps.session_ttl_secs))
    await tx.sessions.add(session)
    return session


async def _revocation_events(deps: ChatDeps, tx: ChatTx, sessions: Sequence[AuthSession],
                             reason: SessionRevokedReason) -> None:
    now = deps.clock.now()
    for session in sessions:
        await tx.outbox.add(SessionRevoked(session_id=session.id, user_id=session.user_id,
                                           reason=reason, revoked_at=now,
                                           expires_at=session.expires_at), now)


async def _revoked_here(deps: ChatDeps, sessions: Sequence[AuthSession]) -> None:
    if sessions and deps.revocations is not None:
        await deps.revocations.revoked(sessions)


async def end_session(deps: ChatDeps, session_id: str | None) -> bool:
    """Logout: the session is revoked, and every service refuses its tokens within seconds
    (`events.chat.session.revoked`, through the outbox); its sockets are closed with 4001.
    The user's other sessions go on. False when there was nothing left to end."""
    if session_id is None:
        return False
    async with deps.uow.write() as tx:
        session = await tx.sessions.revoke(session_id, deps.clock.now(), "logout")
        if session is not None:
            await _revocation_events(deps, tx, [session], "logout")
    if session is None:
        return False
    await _revoked_here(deps, [session])
    return True


async def _check_password(deps: ChatDeps, actor: Actor, password: str) -> User:
    user_id = _require_user(actor)
    async with deps.uow.read() as tx:
        user = await _active_user(tx, user_id)
        found = await tx.users.by_username(user.username)
    if found is None or not await deps.hasher.verify(found[1], password):
        raise Forbidden("wrong_password", "The current password is not right.")
    return user


async def change_password(deps: ChatDeps, actor: Actor, current_password: str,
                          new_password: str) -> tuple[User, AuthSession]:
    """Needs the current password. Every session of the user is revoked, the caller's
    included (on every device the old password may have been given to), and the caller
    gets a new session: this device stays signed in, the others sign in again."""
    user = await _check_password(deps, actor, current_password)
    validate_password(new_password, user.username, deps.passwords)
    password_hash = await deps.hasher.hash(new_password)
    async with deps.uow.write() as tx:
        user = await _active_user(tx, user.id, lock=True)
        await tx.users.update_account(user, password_hash)
        revoked = await tx.sessions.revoke_all(user.id, deps.clock.now(), "password_changed")
        await _revocation_events(deps, tx, revoked, "password_changed")
        session = await _add_session(deps, tx, user.id)
    await _revoked_here(deps, revoked)
    return user, session


def _require_admin(actor: Actor) -> int:
    user_id = _require_user(actor)
    if not actor.is_admin:
        raise Forbidden("forbidden", "Administrators only.")
    return user_id


async def _account(tx: ChatTx, user_id: int) -> User:
    user = await tx.users.get(user_id, lock=True)
    if user is None or user.deleted_at is not None:
        raise _NotFound("user_not_found", f"No user with id {user_id}.")
    return user


async def deactivate_user(deps: ChatDeps, actor: Actor, user_id: int) -> User:
    """Administrators deactivate an account: it can no longer sign in, and every session it
    has is revoked (refused everywhere, sockets closed). Its messages and memberships stay;
    reactivating gives the account back. Administrators cannot deactivate themselves."""
    admin_id = _require_admin(actor)
    if user_id == admin_id:
        raise Invalid("cannot_deactivate_self", "Ask another administrator to do that.")
    async with deps.uow.write() as tx:
        user = await _account(tx, user_id)
        if user.deactivated_at is not None:
            return user
        now = deps.clock.now()
        user.deactivated_at = now
        await tx.users.update_account(user)
        await tx.outbox.add(UserDeactivated(user_id=user.id, username=user.username,
                                            deactivated_by=admin_id, deactivated_at=now), now)
        revoked = await tx.sessions.revoke_all(user.id, now, "deactivated")
        await _revocation_events(deps, tx, revoked, "deactivated")
    await _revoked_here(deps, revoked)
    return user


async def reactivate_user(deps: ChatDeps, actor: Actor, user_id: int) -> User:
    """The account can sign in again; sessions revoked by the deactivation stay revoked."""
    admin_id = _require_admin(actor)
    async with deps.uow.write() as tx:
        user = await _account(tx, user_id)
        if user.deactivated_at is None:
            return user
        now = deps.clock.now()
        user.deactivated_at = None
        await tx.users.update_account(user)
        await tx.outbox.add(UserReactivated(user_id=user.id, username=user.username,
                                            reactivated_by=admin_id, reactivated_at=now), now)
    return user


async def delete_account(deps: ChatDeps, actor: Actor, password: str) -> None:
    """A user deletes their own account, confirming with their password. It is marked
    deleted, not removed: its messages keep the author's name, and the name stays taken so
    nobody can speak under it later. The password, display name, admin flag and every
    membership go (`member.left` per room), every session is revoked, and it can no longer
    sign in (`invalid_credentials`, as for a name that never existed)."""
    user = await _check_password(deps, actor, password)
    left: list[Member] = []
    async with deps.uow.write() as tx:
        user = await _active_user(tx, user.id, lock=True)
        now = deps.clock.now()
        for room_id in await tx.members.rooms_of(user.id):
            member = await tx.members.get(room_id, user.id)
            if member is None:
                continue
            await tx.members.remove(room_id, user.id)
            left.append(member)
            await tx.outbox.add(MemberLeft(room_id=room_id, user_id=user.id,
                                           username=member.username, reason="left",
                                           removed_by=None, left_at=now), now)
        deleted = replace(user, display_name=None, is_admin=False, deleted_at=now)
        await tx.users.update_account(deleted, NO_PASSWORD)
        await tx.outbox.add(UserDeleted(user_id=user.id, username=user.username,
                                        deleted_at=now), now)
        revoked = await tx.sessions.revoke_all(user.id, now, "deleted")
        await _revocation_events(deps, tx, revoked, "deleted")
    await _revoked_here(deps, revoked)
    for member in left:
        await deps.live.to_room(member.room_id, Frame(
            "member_left", {"room_id": member.room_id, "user_id": member.user_id,
                            "username": member.username, "reason": "left"},
            about_user=member.user_id))


async def ensure_admin(deps: ChatDeps, username: str, password: str) -> str:
    """Create the first administrator if absent; an existing account is promoted, not reset."""
    async with deps.uow.read() as tx:
        found = await tx.users.by_username(username)
    if found is None:
        try:
            await register(deps, username, password, is_admin=True)
            return "created"
        except Conflict:
            return "exists"  # another replica created it a moment ago
    user, _ = found
    if not user.is_admin:
        async with deps.uow.write() as tx:
            await tx.users.set_admin(user.id, None)
        return "promoted"
    return "exists"


# --- rooms -------------------------------------------------------------------------------


async def create_room(deps: ChatDeps, actor: Actor, name: str, description: str | None = None,
                      is_private: bool = False) -> Room:
    """Room names are unique; the creator becomes the room's admin."""
    user_id = _require_user(actor)
    name = validate_room_name(name)
    validate_description(description)
    async with deps.uow.write() as tx:
        await _active_user(tx, user_id)
        if await tx.rooms.by_name(name) is not None:
            raise Conflict("room_name_taken", f"A room named {name!r} exists.")
        now = deps.clock.now()
        room = await tx.rooms.add(name, description, is_private, user_id, now)
        member = Member(room.id, user_id, actor.username or "", "admin", now)
        await tx.members.add(member)
        await tx.outbox.add(RoomCreated(room_id=room.id, name=room.name,
                                        description=description, is_private=is_private,
                                        created_by=user_id, created_at=now), now)
        await tx.outbox.add(_joined_event(member, None), now)
    return room


def _joined_event(member: Member, invited_by: int | None) -> MemberJoined:
    return MemberJoined(room_id=member.room_id, user_id=member.user_id,
                        username=member.username, role=member.role, invited_by=invited_by,
                        joined_at=member.joined_at)


async def list_rooms(deps: ChatDeps, actor: Actor) -> list[Room]:
    """Public rooms and the private rooms the caller belongs to."""
    async with deps.uow.read() as tx:
        return await tx.rooms.visible_to(actor.user_id)


async def get_room(deps: ChatDeps, actor: Actor, room_id: int) -> tuple[Room, Member | None]:
    async with deps.uow.read() as tx:
        return await _visible_room(tx, actor, room_id)


async def update_room(deps: ChatDeps, actor: Actor, room_id: int, *, name: str | None = None,
                      description: str | None = None, is_private: bool | None = None) -> Room:
    """Room admins (and server admins) change a room's name, description and privacy."""
    user_id = _require_user(actor)
    async with deps.uow.write() as tx:
        room, member = await _visible_room(tx, actor, room_id)
        if not is_room_admin(actor, member):
            raise Forbidden("not_room_admin", "Only the room's admins can change it.")
        if name is not None:
            name = validate_room_name(name)
            other = await tx.rooms.by_name(name)
            if other is not None and other.id != room.id:
                raise Conflict("room_name_taken", f"A room named {name!r} exists.")
            room.name = name
        if description is not None:
            room.description = validate_description(description)
        if is_private is not None:
            room.is_private = is_private
        await tx.rooms.update(room)
        now = deps.clock.now()
        await tx.outbox.add(RoomUpdated(room_id=room.id, name=room.name,
                                        description=room.description,
                                        is_private=room.is_private, updated_by=user_id,
                                        updated_at=now), now)
    await deps.live.to_room(room.id, Frame("room_updated", room_data(room)))
    return room


async def join_room(deps: ChatDeps, actor: Actor, room_id: int) -> Member:
    """Anyone signed in joins a public room; a private room needs an invitation."""
    user_id = _require_user(actor)
    async with deps.uow.write() as tx:
        await _active_user(tx, user_id)
        room = await tx.rooms.get(room_id)
        member = await tx.members.get(room_id, user_id) if room else None
        if room is None or (room.is_private and member is None):
            raise _room_not_found(room_id)
        if member is not None:
            return member
        try:
            member = await _add_member(deps, tx, room, user_id, actor.username or "",
                                       "member", None)
        except Conflict:
            member = None  # joined concurrently (another tab, another replica)
    if member is None:
        async with deps.uow.read() as tx:
            existing = await tx.members.get(room_id, user_id)
        if existing is None:
            raise Conflict("join_conflict", "Joining raced with a removal; try again.")
        return existing
    await deps.live.to_room(room_id, Frame("member_joined", member_data(member)))
    return member


async def _add_member(deps: ChatDeps, tx: ChatTx, room: Room, user_id: int, username: str,
                      role: Role, invited_by: int | None) -> Member:
    now = deps.clock.now()
    # A new member has read nothing older than their arrival: unread starts at zero.
    member = Member(room.id, user_id, username, role, now, read_seq=room.last_seq)
    await tx.members.add(member)
    await tx.outbox.add(_joined_event(member, invited_by), now)
    return member


async def leave_room(deps: ChatDeps, actor: Actor, room_id: int) -> None:
    user_id = _require_user(actor)
    await _remove_member(deps, actor, room_id, user_id, reason="left")


async def kick_member(deps: ChatDeps, actor: Actor, room_id: int, user_id: int) -> None:
    """Moderators remove members; only room admins remove moderators or admins."""
    await _remove_member(deps, actor, room_id, user_id, reason="kicked")


async def _remove_member(deps: ChatDeps, actor: Actor, room_id: int, user_id: int,
                         reason: str) -> None:
    actor_id = _require_user(actor)
    async with deps.uow.write() as tx:
        _room, actor_member = await _visible_room(tx, actor, room_id)
        target = await tx.members.get(room_id, user_id)
        if target is None:
            raise _NotFound("not_a_member", f"User {user_id} is not a member of this room.")
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
    await deps.live.to_room(room_id, Frame("member_left",
                                           {"room_id": room_id, "user_id": user_id,
                                            "username": target.username, "reason": reason},
                                           about_user=user_id))


async def list_members(deps: ChatDeps, actor: Actor, room_id: int) -> list[Member]:
    async with deps.uow.read() as tx:
        await _visible_room(tx, actor, room_id)
        return await tx.members.list(room_id)


async def invite_member(deps: ChatDeps, actor: Actor, room_id: int, username: str,
                        role: Role = "member") -> Member:
    """Moderators and admins add people; only room admins hand out moderator or admin roles."""
    actor_id = _require_user(actor)
    role = validate_role(role)
    async with deps.uow.write() as tx:
        room, actor_member = await _visible_room(tx, actor, room_id)
        if not (is_room_admin(actor, actor_member) or
                (actor_member is not None and actor_member.role == "moderator")):
            raise Forbidden("forbidden", "Only moderators and admins can add members.")
        if role != "member" and not is_room_admin(actor, actor_member):
            raise Forbidden("forbidden", "Only room admins can grant that role.")
        found = await tx.users.by_username(username)
        if found is None or found[0].deleted_at is not None:
            raise _NotFound("user_not_found", f"No user named {username!r}.")
        user = found[0]
        existing = await tx.members.get(room_id, user.id)
        if existing is not None:
            return existing
        member = await _add_member(deps, tx, room, user.id, user.username, role, actor_id)
    data = member_data(member)
    # The invitee's sockets have not joined the room (a private one was invisible to them until
    # now): they hear of it on their own subject, and the room's copy skips them.
    await deps.live.to_room(room_id, Frame("member_joined", data, exclude_user=user.id))
    await deps.live.to_user(user.id, Frame("member_joined", data))
    return member


async def change_role(deps: ChatDeps, actor: Actor, room_id: int, user_id: int,
                      role: str) -> Member:
    actor_id = _require_user(actor)
    validated = validate_role(role)
    async with deps.uow.write() as tx:
        _room, actor_member = await _visible_room(tx, actor, room_id)
        if not is_room_admin(actor, actor_member):
            raise Forbidden("not_room_admin", "Only the room's admins change roles.")
        target = await tx.members.get(room_id, user_id)
        if target is None:
            raise _NotFound("not_a_member", f"User {user_id} is not a member of this room.")
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
    await deps.live.to_room(room_id, Frame("member_role_changed", member_data(target)))
    return target


# --- messages ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Posted:
    message: Message
    created: bool  # False when a retried client_msg_id returned the first message


async def post_message(deps: ChatDeps, actor: Actor, room_id: int, content: str,
                       client_msg_id: str | None = None) -> Posted:
    """The message and its event commit together, with the room's next `seq`; a retry with
    the same `client_msg_id` returns the first message instead of posting twice. Posts that
    arrive together share one transaction (`services.chat.posting`); each is acknowledged
    only after that commit."""
    _require_user(actor)
    content = validate_content(content, deps.message_max_chars)
    validate_client_msg_id(client_msg_id)
    outcome = await deps.post(PostRequest(actor, room_id, content, client_msg_id,
                                          tuple(mentions_in(content))))
    if outcome.error is not None:
        raise outcome.error
    assert outcome.message is not None
    return Posted(outcome.message, created=outcome.created)


async def edit_message(deps: ChatDeps, actor: Actor, message_id: int, content: str) -> Message:
    """The author edits; the edit keeps the message's `seq` and records `edited_at`."""
    user_id = _require_user(actor)
    content = validate_content(content, deps.message_max_chars)
    async with deps.uow.write() as tx:
        message = await _visible_message(tx, actor, message_id)
        if not can_edit(message, actor):
            raise Forbidden("not_author", "Only the author can edit a message.")
        if message.is_deleted:
            raise Conflict("message_deleted", "A deleted message cannot be edited.")
        now = deps.clock.now()
        message.content = content
        message.edited_at = now
        message.mentions = mentions_in(content)
        await tx.messages.update(message)
        await tx.outbox.add(MessageEdited(
            message_id=message.id, room_id=message.room_id, seq=message.seq,
            user_id=message.user_id, content=content, mentions=message.mentions,
            edited_by=user_id, edited_at=now), now)
    await deps.live.to_room(message.room_id,
                            Frame("message_edited", message_data(message)))
    return message


async def delete_message(deps: ChatDeps, actor: Actor, message_id: int) -> Message:
    """Authors, moderators and admins soft-delete: the `seq` stays, the content goes."""
    user_id = _require_user(actor)
    async with deps.uow.write() as tx:
        message = await _visible_message(tx, actor, message_id)
        member = await tx.members.get(message.room_id, user_id)
        if not can_delete(message, actor, member):
            raise Forbidden("forbidden", "You may not delete this message.")
        if message.is_deleted:
            return message
        now = deps.clock.now()
        message.is_deleted = True
        message.edited_at = now
        await tx.messages.update(message)
        await tx.outbox.add(MessageDeleted(
            message_id=message.id, room_id=message.room_id, seq=message.seq,
            user_id=message.user_id, deleted_by=user_id, deleted_at=now), now)
    await deps.live.to_room(message.room_id,
                            Frame("message_deleted", message_data(message)))
    return message


async def _visible_message(tx: ChatTx, actor: Actor, message_id: int) -> Message:
    message = await tx.messages.get(message_id)
    if message is None:
        raise _NotFound("message_not_found", f"Message {message_id} not found.")
    try:
        await _visible_room(tx, actor, message.room_id)
    except _NotFound:
        raise _NotFound("message_not_found", f"Message {message_id} not found.") from None
    return message


@dataclass(frozen=True, slots=True)
class HistoryPage:
    messages: list[Message]
    has_more: bool


async def history(deps: ChatDeps, actor: Actor, room_id: int, *, before_seq: int | None = None,
                  after_seq: int | None = None, limit: int = 50) -> HistoryPage:
    """Oldest first. `after_seq` pages forward from a point; otherwise the newest page before
    `before_seq` (or the end). `has_more` says whether more lie in the paging direction."""
    if not 1 <= limit <= HISTORY_MAX_PAGE:
        raise Invalid("invalid_limit", f"limit must be 1-{HISTORY_MAX_PAGE}.")
    async with deps.uow.read() as tx:
        await _visible_room(tx, actor, room_id)
        rows = await tx.messages.page(room_id, before_seq=before_seq, after_seq=after_seq,
                                      limit=limit + 1)
    has_more = len(rows) > limit
    if has_more:
        rows = rows[:limit] if after_seq is not None else rows[1:]
    return HistoryPage(rows, has_more)


@dataclass(frozen=True, slots=True)
class Recovery:
    room: Room
    member: Member | None
    messages: list[Message]
    last_seq: int
    recovered: bool
    members: list[tuple[int, str]]  # (user_id, username), for the room's presence


async def recover(deps: ChatDeps, actor: Actor, room_id: int,
                  since_seq: int | None) -> Recovery:
    """On join: everything after `since_seq` when it is at most `recovery_max_messages`
    (recovered), else the latest `history_on_join` messages (not recovered: page history).
    Without `since_seq`, the latest `history_on_join` messages, as the exercise does."""
    view = await deps.joins.read(room_id, actor.user_id, since_seq,
                                 replay_max=deps.recovery_max_messages,
                                 history=deps.history_on_join)
    if view.room is None or not can_read(view.room, actor, view.member):
        raise _room_not_found(room_id)
    return Recovery(view.room, view.member, view.messages, view.room.last_seq,
                    view.recovered, view.members)


async def messages_between(deps: ChatDeps, room_id: int, after_seq: int,
                           before_seq: int) -> list[Message]:
    """The room's messages with `after_seq < seq < before_seq`, oldest first: what a replica
    missed of another replica's live frames (no visibility check: it serves the sockets
    that already joined the room)."""
    if before_seq - after_seq <= 1:
        return []
    async with deps.uow.read() as tx:
        return await tx.messages.page(
            room_id, before_seq=before_seq, after_seq=after_seq,
            limit=min(before_seq - after_seq - 1, deps.recovery_max_messages))


# --- read markers ------------------------------------------------------------------------


async def mark_read(deps: ChatDeps, actor: Actor, room_id: int, seq: int,
                    connection_id: str | None = None) -> Unread:
    """Read markers only move forward; the user's other sockets hear the new count."""
    user_id = _require_user(actor)
    async with deps.uow.write() as tx:
        room, member = await _visible_room(tx, actor, room_id)
        if member is None:
            raise Forbidden("not_a_member", "Only members keep read markers.")
        read_seq = next_read_seq(member.read_seq, seq, room.last_seq)
        moved = read_seq != member.read_seq
        if moved:
            await tx.members.set_read_seq(room_id, user_id, read_seq)
            now = deps.clock.now()
            # Notifications clears what this read covers, and never notifies about it.
            await tx.outbox.add(MemberRead(room_id=room_id, user_id=user_id,
                                           read_seq=read_seq, read_at=now), now)
        counts = {u.room_id: u for u in await tx.messages.unread(user_id)}
    unread = counts.get(room_id, Unread(room_id, 0, 0, room.last_seq, read_seq))
    await deps.live.to_user(user_id, Frame("unread", unread_data(unread),
                                           exclude_connection=connection_id))
    return unread


async def unread_counts(deps: ChatDeps, actor: Actor) -> list[Unread]:
    """Derived from read markers at query time, so they cannot drift."""
    user_id = _require_user(actor)
    async with deps.uow.read() as tx:
        return await tx.messages.unread(user_id)


def typing_frame(actor: Actor, room_id: int, is_typing: bool) -> Frame:
    """Typing goes to the room's other people, never back to the typist. (The socket
    checks that it has joined the room: no database round trip per keystroke.)"""
    return Frame("typing", {"room_id": room_id, "user_id": actor.user_id,
                            "username": actor.username, "is_typing": is_typing},
                 exclude_user=actor.user_id)


# --- presence ----------------------------------------------------------------------------


async def rooms_of_user(deps: ChatDeps, user_id: int) -> list[int]:
    """The rooms whose sockets hear about this user's presence."""
    async with deps.uow.read() as tx:
        return await tx.members.rooms_of(user_id)


async def present_members(deps: ChatDeps, actor: Actor, room_id: int,
                          members: list[tuple[int, str]] | None = None,
                          ) -> list[dict[str, object]]:
    """The room's members who are not offline (the exercise's "online users"), as the presence
    service sees them; empty when presence cannot be asked. `members` (user_id, username)
    when the caller has just read them (a join) and checked the room's visibility."""
    if members is None:
        async with deps.uow.read() as tx:
            await _visible_room(tx, actor, room_id)
            members = [(m.user_id, m.username) for m in await tx.members.list(room_id)]
    if deps.presence is None or not members:
        return []
    names = dict(members)
    found = await deps.presence.lookup(list(names))
    # Only "here" is said: another room a member is looking at may be private.
    return [{"user_id": p.user_id, "username": names.get(p.user_id), "status": p.status,
             "room_id": p.current_room if p.current_room == room_id else None,
             "last_active_at": p.last_active_at.isoformat() if p.last_active_at else None}
            for p in found if p.status != "offline"]


async def member_ids(deps: ChatDeps, room_id: int) -> set[int]:
    async with deps.uow.read() as tx:
        return {m.user_id for m in await tx.members.list(room_id)}
