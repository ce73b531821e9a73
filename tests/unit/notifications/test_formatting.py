"""A notification's preview is the message's plain text: the markdown subset without markers,
as the chat page's parser reads it (the same table checks both)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notifications import use_cases
from services.notifications.domain import message_preview, plain_text
from shared.contracts import MessageEdited
from tests.unit.notifications.test_use_cases import ALICE, BOB, ROOM, T0, World

CASES = json.loads((Path(__file__).parents[2] / "fixtures" / "formatting_cases.json")
                   .read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_shared_table(case: dict[str, str]) -> None:
    assert plain_text(case["input"]) == case["plain"]


@pytest.mark.parametrize("hostile", [
    "*" * 4000, "_" * 4000, "~~" * 2000, "`" * 4000, "[" * 4000, "> " * 2000,
    "*a " * 1333, "**a " * 500 + "b** " * 500, "*a _b " * 350 + "c* d_ " * 350,
    "`a ``" * 800, "[a](https://x " * 300, "http://" * 570, "- *a*\n" * 660,
])
def test_a_hostile_message_keeps_its_words(hostile: str) -> None:
    """Markers go, nothing else: how long these take (milliseconds, growing linearly) is
    measured by `bench/formatting.py` (docs/performance.md), not asserted here."""
    words = Counter(ch for ch in hostile if ch.isalnum())
    assert Counter(ch for ch in plain_text(hostile) if ch.isalnum()) <= words
    assert plain_text(hostile).strip() or not words


def test_deep_nesting_stays_shallow_and_keeps_the_text() -> None:
    deep = "*a " * 600 + "b" + " c*" * 600
    assert plain_text(deep).replace("*", "").split() == ["a"] * 600 + ["b"] + ["c"] * 600


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("*_~`>[]()#@<-. \n\\ahttps:/x.org")),
               max_size=200))
def test_markers_go_but_no_letter_is_invented(text: str) -> None:
    """(Without digits: an ordered list numbers its items itself.)"""
    letters = Counter(ch for ch in plain_text(text) if ch.isalnum())
    assert letters <= Counter(ch for ch in text if ch.isalnum())


@given(st.text(alphabet=st.characters(blacklist_characters="*_~`>[]()#@<\\-\r\n0123456789",
                                      blacklist_categories=("Cc", "Cf", "Cs"))))
def test_text_without_markers_is_its_own_plain_form(text: str) -> None:
    assert plain_text(text) == (text if text.strip() else "")


def test_the_preview_is_the_plain_text_cut_to_its_length() -> None:
    assert message_preview("**" + "x" * 150 + "**", 100) == "x" * 100
    assert message_preview("> `make up` *now*", 100) == "make up now"


async def test_posted_and_edited_formatted_messages_notify_as_plain_text() -> None:
    world = World()
    await world.room_of((ALICE, "alice", "admin"), (BOB, "bob", "member"))
    posted = world.message(ALICE, "**All green** `make up` https://example.org @bob", "bob")
    await world.apply(posted)
    assert await world.inbox(BOB) == [("mention", "All green make up https://example.org @bob")]

    await world.apply(MessageEdited(message_id=posted.message_id, room_id=ROOM, seq=posted.seq,
                                    user_id=ALICE, content="~~All green~~ _red_ @bob",
                                    edited_by=ALICE, edited_at=T0))
    assert await world.inbox(BOB) == [("mention", "All green red @bob")]
    assert await use_cases.unread_count(world.deps, BOB) == 1
