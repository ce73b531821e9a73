"""The chat rules on their own: validation, mentions, permissions, read markers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.chat.adapters.frames import message_data
from services.chat.adapters.outbound.common_passwords import read_common_passwords
from services.chat.domain import (
    GUEST,
    Actor,
    Invalid,
    Member,
    Message,
    PasswordPolicy,
    Room,
    can_delete,
    can_edit,
    can_post,
    can_read,
    is_moderator,
    is_room_admin,
    mentions_in,
    next_read_seq,
    validate_client_msg_id,
    validate_content,
    validate_description,
    validate_password,
    validate_room_name,
    validate_username,
)

NOW = datetime(2025, 1, 1, tzinfo=UTC)
MAX = 4000


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "stored"), [
    ("hello", "hello"),
    ("  hello \n", "hello"),
    ("line one\nline two", "line one\nline two"),
    ("a" * MAX, "a" * MAX),
    ("  " + "a" * MAX + "\n", "a" * MAX),  # the limit applies after trimming
])
def test_content_is_stored_trimmed(content: str, stored: str) -> None:
    assert validate_content(content, MAX) == stored


@pytest.mark.parametrize(("content", "code"), [
    ("", "content_empty"),
    ("   ", "content_empty"),
    ("\n\t \r\n", "content_empty"),
    ("a" * (MAX + 1), "content_too_long"),
])
def test_content_refused(content: str, code: str) -> None:
    with pytest.raises(Invalid) as refused:
        validate_content(content, MAX)
    assert refused.value.code == code


@pytest.mark.parametrize("username", [
    "abc", "a" * 32, "Alice", "al.ice", "al_ice", "al-ice", "007",
])
def test_username_accepted(username: str) -> None:
    assert validate_username(username) == username


@pytest.mark.parametrize("username", [
    "", "ab", "a" * 33, "al ice", "alice!", "al@ice", "ålice", " alice",
    "alice\n",  # a look-alike of "alice"
])
def test_username_refused(username: str) -> None:
    with pytest.raises(Invalid) as refused:
        validate_username(username)
    assert refused.value.code == "invalid_username"


COMMON = PasswordPolicy(common=frozenset({"password", "12345678", "qwertyuiop"}))


@pytest.mark.parametrize(("password", "code"), [
    ("a" * 7, "password_too_short"),
    ("", "password_too_short"),
    ("ñ" * 7, "password_too_short"),  # code points, not bytes: 14 bytes, 7 characters
    ("a" * 257, "password_too_long"),
    (" " * 8, "password_blank"),
    ("\t \u3000  \n  ", "password_blank"),
    ("password", "password_too_common"),
    ("PassWord", "password_too_common"),
    ("12345678", "password_too_common"),
    ("QWERTYUIOP", "password_too_common"),
    ("Carmen.Ruiz", "password_is_username"),
])
def test_password_refused(password: str, code: str) -> None:
    with pytest.raises(Invalid) as refused:
        validate_password(password, "carmen.ruiz", COMMON)
    assert refused.value.code == code


@pytest.mark.parametrize("password", [
    "a" * 8,
    "ñ" * 8,
    "correct horse battery staple",  # spaces are allowed
    "  padded  ",
    "a" * 256,
    "alllowercase",  # no composition rules
    "carmen.ruiz!",  # contains the username, is not it
])
def test_password_accepted(password: str) -> None:
    assert validate_password(password, "carmen.ruiz", COMMON) == password


def test_the_bundled_list_refuses_the_best_known_passwords() -> None:
    policy = PasswordPolicy(common=read_common_passwords())
    assert len(policy.common) > 8000
    for weak in ("password", "12345678", "qwertyuiop", "iloveyou", "Password1", "tertulia"):
        with pytest.raises(Invalid) as refused:
            policy.check(weak)
        assert refused.value.code == "password_too_common"
    assert policy.check("tertulia-demo") == "tertulia-demo"


@pytest.mark.parametrize(("name", "stored"), [
    ("general", "general"),
    ("  general  ", "general"),
    ("x" * 100, "x" * 100),
    ("", None),
    ("   ", None),
    ("x" * 101, None),
])
def test_room_name(name: str, stored: str | None) -> None:
    if stored is not None:
        assert validate_room_name(name) == stored
    else:
        with pytest.raises(Invalid) as refused:
            validate_room_name(name)
        assert refused.value.code == "invalid_room_name"


@pytest.mark.parametrize(("description", "ok"), [
    (None, True), ("", True), ("d" * 1000, True), ("d" * 1001, False),
])
def test_description_length(description: str | None, ok: bool) -> None:
    if ok:
        assert validate_description(description) == description
    else:
        with pytest.raises(Invalid) as refused:
            validate_description(description)
        assert refused.value.code == "invalid_description"


@pytest.mark.parametrize(("client_msg_id", "ok"), [
    (None, True), ("c-1", True), ("x" * 64, True), ("", False), ("x" * 65, False),
])
def test_client_msg_id_length(client_msg_id: str | None, ok: bool) -> None:
    if ok:
        assert validate_client_msg_id(client_msg_id) == client_msg_id
    else:
        with pytest.raises(Invalid) as refused:
            validate_client_msg_id(client_msg_id)
        assert refused.value.code == "invalid_client_msg_id"


# --- mentions ----------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "mentioned"), [
    ("hi @alice", ["alice"]),
    ("@alice at the start", ["alice"]),
    ("@Alice, @ALICE and @alice", ["alice"]),
    ("@bob then @alice then @bob", ["bob", "alice"]),
    ("(@alice) and [@bob]: @carol!", ["alice", "bob", "carol"]),
    ("@al.ice_-1 is a whole name", ["al.ice_-1"]),
    ("@room heads up", ["room"]),
    ("write to a@b.com or alice@example.com", []),
    ("@al is too short to be anyone", []),
    ("@@alice", []),
    ("no mentions here", []),
    ("", []),
    ("thanks @bob.", ["bob"]),
])
def test_mentions_in(content: str, mentioned: list[str]) -> None:
    assert mentions_in(content) == mentioned


# --- permissions -------------------------------------------------------------------------

AUTHOR, MEMBER, MODERATOR, ROOM_ADMIN, SERVER_ADMIN, OUTSIDER = 1, 2, 3, 4, 5, 6
ROLE_OF = {AUTHOR: "member", MEMBER: "member", MODERATOR: "moderator", ROOM_ADMIN: "admin"}
PERSONAS = {
    "author": Actor(AUTHOR, "author"),
    "member": Actor(MEMBER, "member"),
    "moderator": Actor(MODERATOR, "moderator"),
    "room admin": Actor(ROOM_ADMIN, "roomadmin"),
    "server admin": Actor(SERVER_ADMIN, "root", is_admin=True),
    "outsider": Actor(OUTSIDER, "outsider"),
    "guest": GUEST,
}


def _room(is_private: bool) -> Room:
    return Room(1, "r", None, is_private, ROOM_ADMIN, NOW, last_seq=1)


def _member_of(actor: Actor) -> Member | None:
    if actor.user_id not in ROLE_OF:
        return None
    return Member(1, actor.user_id, actor.username or "", ROLE_OF[actor.user_id], NOW)  # type: ignore[arg-type]


def _message(**changes: object) -> Message:
    fields: dict = {"id": 1, "room_id": 1, "seq": 1, "user_id": AUTHOR, "username": "author",
                    "content": "hello", "message_type": "text", "created_at": NOW}
    return Message(**{**fields, **changes})


# (persona, private room?, read, post, edit, delete)
MATRIX = [
    ("author", False, True, True, True, True),
    ("member", False, True, True, False, False),
    ("moderator", False, True, True, False, True),
    ("room admin", False, True, True, False, True),
    ("server admin", False, True, True, False, True),
    ("outsider", False, True, True, False, False),
    ("guest", False, True, False, False, False),
    ("author", True, True, True, True, True),
    ("member", True, True, True, False, False),
    ("moderator", True, True, True, False, True),
    ("room admin", True, True, True, False, True),
    # Reading is what the use cases check first, so a private room hides its messages even
    # from a server admin who is not in it.
    ("server admin", True, False, False, False, True),
    ("outsider", True, False, False, False, False),
    ("guest", True, False, False, False, False),
]


@pytest.mark.parametrize(("persona", "private", "read", "post", "edit", "delete"), MATRIX,
                         ids=[f"{p}-{'private' if pr else 'public'}" for p, pr, *_ in MATRIX])
def test_permissions(persona: str, private: bool, read: bool, post: bool, edit: bool,
                     delete: bool) -> None:
    actor = PERSONAS[persona]
    room, member, message = _room(private), _member_of(actor), _message()
    assert can_read(room, actor, member) is read
    assert can_post(room, actor, member) is post
    assert can_edit(message, actor) is edit
    assert can_delete(message, actor, member) is delete


@pytest.mark.parametrize(("persona", "moderator", "room_admin"), [
    ("member", False, False),
    ("moderator", True, False),
    ("room admin", True, True),
    ("server admin", True, True),
    ("outsider", False, False),
    ("guest", False, False),
])
def test_moderator_and_room_admin(persona: str, moderator: bool, room_admin: bool) -> None:
    actor = PERSONAS[persona]
    assert is_moderator(actor, _member_of(actor)) is moderator
    assert is_room_admin(actor, _member_of(actor)) is room_admin


def test_guests_edit_no_one_elses_messages_even_authorless_ones() -> None:
    # A system message has no author; a guest (no user id) must not count as its author.
    system = _message(user_id=None, message_type="system")
    assert can_edit(system, GUEST) is False
    assert can_delete(system, GUEST, None) is False


# --- read markers ------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "requested", "last_seq", "expected"), [
    (0, 5, 10, 5),      # forward
    (5, 3, 10, 5),      # never backwards
    (5, 5, 10, 5),
    (5, 20, 10, 10),    # never past the last message
    (0, -1, 10, 0),
    (0, 1, 0, 0),       # empty room
    (10, 10, 10, 10),
])
def test_next_read_seq(current: int, requested: int, last_seq: int, expected: int) -> None:
    assert next_read_seq(current, requested, last_seq) == expected


@given(st.lists(st.tuples(st.integers(-10, 1000), st.integers(0, 5)), max_size=50))
def test_read_markers_are_monotonic_and_bounded(steps: list[tuple[int, int]]) -> None:
    """However requests and new messages interleave, the marker only climbs, up to last_seq."""
    read_seq = last_seq = 0
    for requested, new_messages in steps:
        last_seq += new_messages
        moved = next_read_seq(read_seq, requested, last_seq)
        assert read_seq <= moved <= last_seq
        if read_seq <= requested <= last_seq:
            assert moved == requested
        read_seq = moved


# --- frames ------------------------------------------------------------------------------


def test_deleted_message_data_has_no_content() -> None:
    data = message_data(_message(content="secret", is_deleted=True, edited_at=NOW))
    assert data["content"] == ""
    assert data["is_deleted"] is True
    assert data["seq"] == 1
    assert data["edited_at"] == NOW.isoformat()


def test_message_data_keeps_content_and_times() -> None:
    data = message_data(_message(content="hello", client_msg_id="c-1"))
    assert data["content"] == "hello"
    assert data["created_at"] == NOW.isoformat()
    assert data["edited_at"] is None
    assert data["client_msg_id"] == "c-1"
