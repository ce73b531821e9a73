"""Who is told about a message, and why not: the decision and its explanation. No I/O."""

from __future__ import annotations

from datetime import datetime

from services.notifications.domain.model import (
    _STORED_LEVELS,
    DEFAULT_LEVEL,
    DM_DEFAULT_LEVEL,
    LEVELS,
    ROOM_MENTION,
    ROOM_MENTION_ROLES,
    SILENT_MESSAGE_TYPES,
    Decision,
    Kind,
    Level,
    Member,
    PostedMessage,
    RoomKind,
    Suppression,
)


def recipients(members: list[Member], sender_id: int | None) -> list[Member]:
    """Every member of the room except the one who wrote the message."""
    return [m for m in members if m.user_id != sender_id]


def may_mention_room(sender: Member | None, sender_is_admin: bool) -> bool:
    """`@room` reaches everyone only from room admins and moderators (and server admins,
    who have room-admin rights everywhere); from anyone else it is plain text."""
    return sender_is_admin or (sender is not None and sender.role in ROOM_MENTION_ROLES)


def kind_for(username: str, mentions: tuple[str, ...], room_mention_allowed: bool,
             room_kind: RoomKind = "room") -> Kind:
    """A personal `@username` beats `@room`, which beats an ordinary message; in a direct
    message, anything but a personal mention is a `direct_message`."""
    if username.lower() in mentions:
        return "mention"
    if room_kind == "dm":
        return "direct_message"
    if room_mention_allowed and ROOM_MENTION in mentions:
        return "room_mention"
    return "message"


def stored_level(value: str) -> Level:
    """A level as stored, in today's terms (an unknown value: the default)."""
    if value in LEVELS:
        return value  # type: ignore[return-value]
    return _STORED_LEVELS.get(value, DEFAULT_LEVEL)


def suppression_for(kind: Kind, member: Member, seq: int, viewing: frozenset[int],
                    level: Level) -> Suppression | None:
    """Why `member` is not told, or None. First what they have already seen (read past it,
    looking at the room now: any notification would be noise, mention or not), then what
    they chose: `nothing` lets nothing through, `mentions` (the default) `@username` and
    `@room`, `all` every message."""
    if member.read_seq >= seq:
        return "already_read"
    if member.room_id in viewing:
        return "viewing_room"
    if level == "nothing":
        return "muted"
    if level == "mentions" and kind in ("message", "direct_message"):
        return "mentions_only"
    return None


def default_level(room_kind: RoomKind) -> Level:
    """A member who chose no level: mentions in a room, every message in a DM."""
    return DM_DEFAULT_LEVEL if room_kind == "dm" else DEFAULT_LEVEL


def decide(message: PostedMessage, members: list[Member],
           viewing: dict[int, frozenset[int]], levels: dict[int, Level],
           sender_is_admin: bool, now: datetime,
           room_kind: RoomKind = "room") -> list[Decision]:
    """One decision per member other than the sender; system messages notify nobody.
    `viewing`: the rooms each member has on screen now (`Viewing.rooms_of`); `levels`
    the members' chosen levels (the others get `default_level(room_kind)`)."""
    if message.message_type in SILENT_MESSAGE_TYPES:
        return []
    sender = next((m for m in members if m.user_id == message.sender_id), None)
    room_allowed = may_mention_room(sender, sender_is_admin)
    unset = default_level(room_kind)
    decisions = []
    for member in recipients(members, message.sender_id):
        kind = kind_for(member.username, message.mentions, room_allowed, room_kind)
        why = suppression_for(kind, member, message.seq,
                              viewing.get(member.user_id, frozenset()),
                              levels.get(member.user_id, unset))
        decisions.append(Decision(member.user_id, message.message_id, message.room_id,
                                  message.seq, kind, why, now))
    return decisions


def explain(decision: Decision) -> str:
    """The answer to "why was I (not) notified?"."""
    if decision.suppressed_by == "already_read":
        return f"You had already read room {decision.room_id} past this message."
    if decision.suppressed_by == "viewing_room":
        return f"You were looking at room {decision.room_id} when the message arrived."
    if decision.suppressed_by == "muted":
        return f"Room {decision.room_id} is set to notify you of nothing."
    if decision.suppressed_by == "mentions_only":
        return (f"Room {decision.room_id} notifies you of mentions only (@you, @room), "
                f"and this message mentioned neither.")
    return {
        "mention": "The message mentions you.",
        "room_mention": "The message mentions @room.",
        "direct_message": "A direct message to you: direct messages notify you of every "
                          "message unless you chose another level for it.",
    }.get(decision.kind, "A new message in a room you belong to.")
