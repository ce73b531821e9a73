"""Who is acting and what they may see: the checks every use case starts with."""

from __future__ import annotations

from services.chat.domain import (
    Actor,
    ChatError,
    Forbidden,
    Member,
    NotFound,
    Room,
    Unauthenticated,
    User,
    can_read,
)
from services.chat.ports import ChatTx


def room_not_found(room_id: int) -> ChatError:
    # Private rooms the caller may not see get the same answer as rooms that don't exist.
    return NotFound("room_not_found", f"Room {room_id} not found.")


async def visible_room(tx: ChatTx, actor: Actor, room_id: int) -> tuple[Room, Member | None]:
    room, member = await tx.rooms.with_member(room_id, actor.user_id)
    if room is None or not can_read(room, actor, member):
        raise room_not_found(room_id)
    return room, member


def require_user(actor: Actor) -> int:
    if actor.user_id is None:
        raise Unauthenticated("not_authenticated", "Sign in to do that.")
    return actor.user_id


def require_not_deactivated(user: User) -> None:
    if user.deactivated_at is not None:
        raise Forbidden("account_deactivated",
                        "This account has been deactivated by an administrator.")


async def active_user(tx: ChatTx, user_id: int, *, lock: bool = False) -> User:
    """The acting user's row, which must exist and be active: a token that outlived its
    account gets 401, not whatever constraint its writes would trip."""
    user = await tx.users.get(user_id, lock=lock)
    if user is None or user.deleted_at is not None:
        raise Unauthenticated("unknown_user", "The account behind this token no longer exists.")
    if user.deactivated_at is not None:
        raise Unauthenticated("account_deactivated", "This account has been deactivated.")
    return user


def require_admin(actor: Actor) -> int:
    user_id = require_user(actor)
    if not actor.is_admin:
        raise Forbidden("forbidden", "Administrators only.")
    return user_id
