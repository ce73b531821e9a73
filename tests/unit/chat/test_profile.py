"""Profiles: the rules of a display name, a status text and a time zone, the name shown for
a user, and what changing a profile stores, announces and shows on messages and members."""

from __future__ import annotations

import pytest

from services.chat import use_cases
from services.chat.adapters.frames import member_data, message_data
from services.chat.domain import (
    Actor,
    Invalid,
    shown_name,
    validate_display_name,
    validate_status_text,
    validate_time_zone,
)
from services.chat.ports import ChatDeps
from shared.contracts import UserUpdated
from tests.unit.chat.fakes import InMemoryChatUnitOfWork, RecordingLiveFeed

PASSWORD = "correct horse battery"


def code_of(rule, value) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as refused:
        rule(value)
    return refused.value.code


def test_a_display_name_is_trimmed_and_empty_clears_it() -> None:
    assert validate_display_name("  Ana María  ") == "Ana María"
    assert validate_display_name("") is None
    assert validate_display_name("   ") is None
    assert validate_display_name(None) is None
    assert validate_display_name("x" * 64) == "x" * 64
    assert validate_display_name("🦊 Zorro") == "🦊 Zorro"


def test_a_display_name_has_at_most_64_characters_and_no_control_characters() -> None:
    assert code_of(validate_display_name, "x" * 65) == "display_name_too_long"
    assert code_of(validate_display_name, "Ana\nMaría") == "invalid_display_name"
    assert code_of(validate_display_name, "Ana\x00") == "invalid_display_name"
    assert code_of(validate_display_name, "evil\u202egnp") == "invalid_display_name"  # bidi


def test_a_status_text_is_one_line_of_at_most_100_characters() -> None:
    assert validate_status_text(" In a meeting ") == "In a meeting"
    assert validate_status_text("") is None
    assert code_of(validate_status_text, "x" * 101) == "status_text_too_long"
    assert code_of(validate_status_text, "two\nlines") == "invalid_status_text"


def test_a_time_zone_is_an_iana_name() -> None:
    assert validate_time_zone("Europe/Madrid") == "Europe/Madrid"
    assert validate_time_zone("America/Argentina/Buenos_Aires") == \
        "America/Argentina/Buenos_Aires"
    assert validate_time_zone("UTC") == "UTC"
    assert validate_time_zone("") is None
    for bad in ("Mars/Olympus", "../../etc/passwd", "/etc/localtime", "Europe/", "x" * 80,
                "Europe/Madrid\n"[:-1] + "\x00"):
        assert code_of(validate_time_zone, bad) == "invalid_time_zone"


def test_the_shown_name_is_the_display_name_else_the_username() -> None:
    assert shown_name("ana", "Ana María") == "Ana María"
    assert shown_name("ana", None) == "ana"
    assert shown_name("ana", "") == "ana"


async def test_changing_a_profile_stores_it_announces_it_and_tells_the_rooms(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork, live: RecordingLiveFeed) -> None:
    user = await use_cases.register(deps, "ana", PASSWORD)
    ana = Actor(user.id, user.username)
    room = await use_cases.create_room(deps, ana, "general")
    await use_cases.post_message(deps, ana, room.id, "hola")

    updated = await use_cases.update_profile(deps, ana, {
        "display_name": " Ana María ", "status_text": "En una reunión",
        "time_zone": "Europe/Madrid"})
    assert (updated.display_name, updated.status_text, updated.time_zone) == (
        "Ana María", "En una reunión", "Europe/Madrid")
    me = await use_cases.current_user(deps, ana)
    assert (me.display_name, me.status_text, me.time_zone) == (
        "Ana María", "En una reunión", "Europe/Madrid")
    [event] = uow.events_of(UserUpdated)
    assert (event.user_id, event.username, event.display_name, event.time_zone) == (
        user.id, "ana", "Ana María", "Europe/Madrid")
    [frame] = live.frames("room", room.id, "user_updated")
    assert frame.data == {"user_id": user.id, "username": "ana", "display_name": "Ana María",
                          "status_text": "En una reunión", "time_zone": "Europe/Madrid",
                          "is_bot": False}

    # Messages show the author's current name, posted before the change or after it.
    await use_cases.post_message(deps, ana, room.id, "otra vez")
    page = await use_cases.history(deps, ana, room.id)
    assert [message_data(m)["display_name"] for m in page.messages] == ["Ana María"] * 2
    assert [member_data(m)["display_name"]
            for m in await use_cases.list_members(deps, ana, room.id)] == ["Ana María"]

    # Only the fields given change; the same values again change nothing.
    await use_cases.update_profile(deps, ana, {"status_text": ""})
    again = await use_cases.update_profile(deps, ana, {"display_name": "Ana María"})
    assert (again.display_name, again.status_text, again.time_zone) == (
        "Ana María", None, "Europe/Madrid")
    assert len(uow.events_of(UserUpdated)) == 2

    # Cleared, the username shows again.
    await use_cases.update_profile(deps, ana, {"display_name": None})
    page = await use_cases.history(deps, ana, room.id)
    assert [message_data(m)["display_name"] for m in page.messages] == ["ana"] * 2


async def test_a_refused_profile_changes_nothing(deps: ChatDeps,
                                                 uow: InMemoryChatUnitOfWork) -> None:
    user = await use_cases.register(deps, "ana", PASSWORD)
    ana = Actor(user.id, user.username)
    with pytest.raises(Invalid) as refused:
        await use_cases.update_profile(deps, ana, {"display_name": "Ana",
                                                   "time_zone": "Mars/Olympus"})
    assert refused.value.code == "invalid_time_zone"
    assert (await use_cases.current_user(deps, ana)).display_name is None
    assert uow.events_of(UserUpdated) == []


async def test_a_first_post_and_a_join_carry_the_display_name(
        deps: ChatDeps, live: RecordingLiveFeed) -> None:
    owner = await use_cases.register(deps, "owner", PASSWORD)
    room = await use_cases.create_room(deps, Actor(owner.id, owner.username), "general")
    bob = await use_cases.register(deps, "bob", PASSWORD, "  Bob B.  ")
    assert bob.display_name == "Bob B."
    posted = await use_cases.post_message(deps, Actor(bob.id, "bob"), room.id, "hi")
    assert message_data(posted.message)["display_name"] == "Bob B."
    [joined] = live.frames("room", room.id, "member_joined")
    assert (joined.data["username"], joined.data["display_name"]) == ("bob", "Bob B.")
    [message] = live.frames("room", room.id, "message")
    assert message.data["display_name"] == "Bob B."
