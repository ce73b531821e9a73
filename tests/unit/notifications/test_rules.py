"""The notification rules on their own: one table per rule, then how they combine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notifications.adapters.shapes import decision_data, frame_data
from services.notifications.domain import (
    DEFAULT_LEVEL,
    LEVELS,
    Decision,
    Invalid,
    Kind,
    Level,
    Member,
    NotFound,
    Notification,
    PostedMessage,
    Suppression,
    broadcast_notification,
    decide,
    explain,
    kind_for,
    may_mention_room,
    message_notification,
    parse_cursor,
    parse_notification_id,
    recipients,
    retention_cutoff,
    stored_level,
    suppression_for,
)

NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)
ROOM = 7
SEQ = 10


def member(user_id: int, name: str = "", role: str = "member", read_seq: int = 0) -> Member:
    return Member(ROOM, user_id, name or f"user{user_id}", role, read_seq)  # type: ignore[arg-type]


def message(content: str = "hello", mentions: tuple[str, ...] = (), sender: int | None = 1,
            message_type: str = "text") -> PostedMessage:
    return PostedMessage(100, ROOM, SEQ, sender, "alice", content, mentions, message_type)


# --- rule: who is considered ------------------------------------------------------------------


@pytest.mark.parametrize(("member_ids", "sender", "expected"), [
    ([1, 2, 3], 1, [2, 3]),  # everyone but the sender
    ([1, 2, 3], 3, [1, 2]),
    ([2, 3], 1, [2, 3]),  # a sender the projection does not know as a member
    ([1], 1, []),  # alone in the room
    ([1, 2], None, [1, 2]),  # no sender (a message without an author)
    ([], 1, []),
])
def test_every_member_but_the_sender_is_considered(member_ids: list[int], sender: int | None,
                                                   expected: list[int]) -> None:
    assert [m.user_id for m in recipients([member(i) for i in member_ids], sender)] == expected


# --- rule: who may mention @room --------------------------------------------------------------


@pytest.mark.parametrize(("role", "server_admin", "allowed"), [
    ("admin", False, True),
    ("moderator", False, True),
    ("member", False, False),
    (None, False, False),  # not a member (any more)
    ("member", True, True),  # server admins have room-admin rights everywhere
    (None, True, True),
])
def test_only_room_admins_and_moderators_mention_the_room(role: str | None, server_admin: bool,
                                                          allowed: bool) -> None:
    sender = member(1, role=role) if role else None
    assert may_mention_room(sender, server_admin) is allowed


# --- rule: what kind of notification ----------------------------------------------------------


@pytest.mark.parametrize(("username", "mentions", "room_allowed", "kind"), [
    ("bob", (), True, "message"),
    ("bob", ("bob",), False, "mention"),
    ("Bob", ("bob",), False, "mention"),  # mentions arrive lower-cased; names may not be
    ("bob", ("carol",), True, "message"),  # someone else's mention
    ("bob", ("room",), True, "room_mention"),
    ("bob", ("room",), False, "message"),  # @room from someone not allowed: plain text
    ("bob", ("room", "bob"), True, "mention"),  # personal beats @room
    ("bob", ("bobby",), True, "message"),
])
def test_kind_of_notification(username: str, mentions: tuple[str, ...], room_allowed: bool,
                              kind: Kind) -> None:
    assert kind_for(username, mentions, room_allowed) == kind


# --- rule: already read past that seq ---------------------------------------------------------


@pytest.mark.parametrize(("read_seq", "kind", "suppressed"), [
    (0, "message", None),
    (SEQ - 1, "message", None),
    (SEQ, "message", "already_read"),
    (SEQ + 5, "message", "already_read"),
    (SEQ, "mention", "already_read"),  # a mention you have read needs no notification
])
def test_already_read_past_the_seq(read_seq: int, kind: Kind,
                                   suppressed: Suppression | None) -> None:
    assert suppression_for(kind, member(2, read_seq=read_seq), SEQ, frozenset(),
                           "all") == suppressed


# --- rule: looking at the room right now ------------------------------------------------------


@pytest.mark.parametrize(("viewed", "kind", "suppressed"), [
    ({ROOM}, "message", "viewing_room"),
    ({ROOM}, "mention", "viewing_room"),  # they see the mention as it arrives
    ({ROOM + 1, ROOM}, "message", "viewing_room"),  # two tabs, two rooms
    ({ROOM + 1}, "mention", None),  # on screen: another room; the one before does not count
    (set(), "message", None),  # no tab shows a room (hidden, closed, offline)
])
def test_viewing_the_room(viewed: set[int], kind: Kind,
                          suppressed: Suppression | None) -> None:
    assert suppression_for(kind, member(2), SEQ, frozenset(viewed), "all") == suppressed


# --- rule: the member's preference for the room -----------------------------------------------


@pytest.mark.parametrize(("level", "kind", "suppressed"), [
    ("all", "message", None),
    ("all", "mention", None),
    ("all", "room_mention", None),
    ("mentions", "message", "mentions_only"),
    ("mentions", "mention", None),
    ("mentions", "room_mention", None),
    ("nothing", "message", "muted"),
    ("nothing", "room_mention", "muted"),
    ("nothing", "mention", "muted"),  # nothing means nothing
])
def test_preference_for_the_room(level: Level, kind: Kind,
                                 suppressed: Suppression | None) -> None:
    assert suppression_for(kind, member(2), SEQ, frozenset(), level) == suppressed


def test_rooms_notify_on_mentions_unless_set_otherwise() -> None:
    """As in the chat products people use: @you and @room by default, plain messages not."""
    assert DEFAULT_LEVEL == "mentions"
    assert set(LEVELS) == {"mentions", "all", "nothing"}
    members = [member(1, "alice", "moderator"), member(2, "bob")]
    plain = decide(message("lunch?"), members, {}, {}, sender_is_admin=False, now=NOW)
    assert [(d.kind, d.suppressed_by) for d in plain] == [("message", "mentions_only")]
    called = decide(message("@room lunch?", ("room",)), members, {}, {}, False, NOW)
    assert [(d.kind, d.suppressed_by) for d in called] == [("room_mention", None)]


@pytest.mark.parametrize(("stored", "level"), [
    ("all", "all"), ("mentions", "mentions"), ("nothing", "nothing"),
    ("none", "nothing"),  # the muted rooms of before: the quietest level there is now
])
def test_stored_levels_map_onto_the_levels_of_today(stored: str, level: Level) -> None:
    assert stored_level(stored) == level


# --- how the rules combine --------------------------------------------------------------------


@pytest.mark.parametrize(("read_seq", "viewing", "level", "kind", "suppressed"), [
    (SEQ, True, "nothing", "message", "already_read"),  # seen beats looking beats choosing
    (0, True, "nothing", "message", "viewing_room"),
    (0, True, "mentions", "mention", "viewing_room"),
    (0, False, "nothing", "message", "muted"),
    (SEQ, False, "nothing", "mention", "already_read"),
])
def test_suppression_precedence(read_seq: int, viewing: bool, level: Level, kind: Kind,
                                suppressed: Suppression) -> None:
    viewed = frozenset({ROOM} if viewing else ())
    assert suppression_for(kind, member(2, read_seq=read_seq), SEQ, viewed,
                           level) == suppressed


def test_decide_gives_every_other_member_one_decision() -> None:
    members = [member(1, "alice", "moderator"), member(2, "bob"), member(3, "carol"),
               member(4, "dave", read_seq=SEQ), member(5, "erin")]
    decisions = decide(message("@bob @room hi", ("bob", "room")), members,
                       viewing={3: frozenset({ROOM})}, levels={5: "nothing"},
                       sender_is_admin=False, now=NOW)
    assert [(d.user_id, d.kind, d.suppressed_by) for d in decisions] == [
        (2, "mention", None),
        (3, "room_mention", "viewing_room"),
        (4, "room_mention", "already_read"),
        (5, "room_mention", "muted"),
    ]
    assert all(d.decided_at == NOW and d.message_id == 100 and d.seq == SEQ for d in decisions)


def test_room_mention_from_a_plain_member_is_an_ordinary_message() -> None:
    members = [member(1, "alice"), member(2, "bob"), member(3, "carol")]
    decisions = decide(message("@room look", ("room",)), members, {}, {2: "all"},
                       sender_is_admin=False, now=NOW)
    assert [(d.user_id, d.kind, d.suppressed_by) for d in decisions] == [
        (2, "message", None), (3, "message", "mentions_only")]


@pytest.mark.parametrize("message_type", ["system"])
def test_system_messages_notify_nobody(message_type: str) -> None:
    members = [member(1), member(2)]
    assert decide(message(message_type=message_type), members, {}, {}, False, NOW) == []


# --- what a notification says -----------------------------------------------------------------


@pytest.mark.parametrize(("kind", "title"), [
    ("message", "New message from alice"),  # the exercise's title
    ("mention", "alice mentioned you"),
    ("room_mention", "alice mentioned @room"),
])
def test_message_notification_shape(kind: Kind, title: str) -> None:
    content = "x" * 99 + "é" + "y" * 50
    decision = Decision(2, 100, ROOM, SEQ, kind, None, NOW)
    made = message_notification(decision, message(content), preview_chars=100)
    assert made.title == title
    assert made.content == content[:100] and len(made.content) == 100
    assert made.data == {"type": "chat_message", "room_id": ROOM, "message_id": 100,
                         "kind": kind}
    assert (made.user_id, made.room_id, made.message_id, made.seq) == (2, ROOM, 100, SEQ)


def test_broadcast_keeps_its_text_and_says_who_sent_it() -> None:
    made = broadcast_notification(5, "b-1", "maintenance tonight " * 10, "ops", 4000, NOW)
    assert made.title == "Announcement from ops"
    assert made.content == "maintenance tonight " * 10
    assert made.data == {"type": "admin_broadcast", "room_id": None, "message_id": None,
                         "kind": "broadcast", "broadcast_id": "b-1"}


def test_frame_data_is_exactly_the_protocol_shape() -> None:
    notification = Notification(42, 2, "mention", "alice mentioned you", "hi @bob",
                                {"type": "chat_message", "room_id": ROOM, "message_id": 100,
                                 "kind": "mention"}, NOW)
    assert frame_data(notification) == {
        "id": "ntf_42", "title": "alice mentioned you", "content": "hi @bob",
        "data": {"type": "chat_message", "room_id": ROOM, "message_id": 100,
                 "kind": "mention"},
        "reason": "mention", "created_at": NOW.isoformat(), "read": False}


@pytest.mark.parametrize("suppressed", [None, "already_read", "viewing_room", "muted",
                                        "mentions_only"])
def test_every_decision_explains_itself(suppressed: Suppression | None) -> None:
    decision = Decision(2, 100, ROOM, SEQ, "message", suppressed, NOW)
    data = decision_data(decision)
    assert data["outcome"] == ("notified" if suppressed is None else "suppressed")
    assert data["reason"] == (suppressed or "message")
    assert data["explanation"] == explain(decision) and data["explanation"]


# --- ids, cursors, retention ------------------------------------------------------------------


@pytest.mark.parametrize(("value", "pk"), [
    ("ntf_1", 1),
    ("ntf_9007199254740993", 9007199254740993),
])
def test_notification_ids_round_trip(value: str, pk: int) -> None:
    assert parse_notification_id(value) == pk
    assert parse_cursor(value) == pk


@pytest.mark.parametrize("value", ["", "1", "ntf_", "ntf_0", "ntf_01", "ntf_-1", "ntf_1x",
                                   "NTF_1", "ntf_1234567890123456789"])
def test_malformed_ids_are_refused(value: str) -> None:
    with pytest.raises(NotFound):
        parse_notification_id(value)
    with pytest.raises(Invalid):
        parse_cursor(value)


def test_retention_cutoff_is_that_many_days_back() -> None:
    assert retention_cutoff(NOW, 30) == NOW - timedelta(days=30)
