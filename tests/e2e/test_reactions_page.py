"""Reactions, pins and editing history in the chat page, as two people use them: one reacts
to the other's message and the other sees the count live; a moderator pins it and the other
sees it in the room's pinned panel; the moderator reads the message's editing history."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.e2e.chat_page import PASSWORD, Person, api_token, messages, open_room, sign_in, unique
from tests.support.system import RunningSystem

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

THUMBS = "👍"


def _chip(person: Person, text: str, emoji: str) -> object:
    return messages(person, text).locator(
        f'[data-testid="reaction-chip"][data-emoji="{emoji}"]')


def test_react_pin_and_read_the_history(people: Callable[..., Person],
                                        system: RunningSystem) -> None:
    moderator_name, member_name = unique("mara"), unique("beto")
    room_name = unique("plaza")
    with httpx.Client(base_url=system.url, timeout=10) as http:
        for name in (moderator_name, member_name):
            http.post("/api/auth/register",
                      json={"username": name, "password": PASSWORD}).raise_for_status()
        mod = {"Authorization": f"Bearer {api_token(system, moderator_name)}"}
        member = {"Authorization": f"Bearer {api_token(system, member_name)}"}
        made = http.post("/api/chat/rooms", json={"name": room_name}, headers=mod)
        made.raise_for_status()
        room_id = made.json()["id"]
        http.post(f"/api/chat/rooms/{room_id}/join", headers=member).raise_for_status()
        posted = http.post(f"/api/chat/rooms/{room_id}/messages",
                           json={"content": "lunch at noon?"}, headers=member)
        posted.raise_for_status()
        http.patch(f"/api/chat/messages/{posted.json()['id']}",
                   json={"content": "lunch at one?"}, headers=member).raise_for_status()

    mara, beto = people(moderator_name), people(member_name)
    for person in (mara, beto):
        sign_in(person)
        open_room(person, room_name)
        messages(person, "lunch at one?").wait_for()
    text = "lunch at one?"
    # Beto names himself; both pages hear it (and show it wherever a name is shown).
    httpx.patch(f"{system.url}/api/auth/me", json={"display_name": "Beto Bravo"},
                headers=member, timeout=10).raise_for_status()
    messages(mara, text).get_by_test_id("message-author").filter(has_text="Beto Bravo").wait_for()

    # Mara reacts from the picker; Beto's page shows the count live.
    mara.page.locator(f'[data-testid="message"]:has-text("{text}") '
                      '[data-testid="reaction-add"]').click()
    mara.page.locator(f'[data-testid="message"]:has-text("{text}") '
                      f'[data-testid="reaction-pick"][data-emoji="{THUMBS}"]').click()
    _chip(mara, text, THUMBS).and_(mara.page.locator(".mine")).wait_for()
    beto_chip = _chip(beto, text, THUMBS)
    beto_chip.and_(beto.page.locator('[data-count="1"]')).wait_for()
    assert "mine" not in (beto_chip.get_attribute("class") or "")
    assert moderator_name in (beto_chip.get_attribute("title") or "")

    # Beto adds his by clicking the chip: two, and his is highlighted.
    beto_chip.click()
    _chip(mara, text, THUMBS).and_(mara.page.locator('[data-count="2"]')).wait_for()
    beto_chip.and_(beto.page.locator(".mine")).wait_for()
    # Who reacted, by the names the page shows for people.
    assert "Beto Bravo" in (_chip(mara, text, THUMBS).get_attribute("title") or "")

    # Mara takes hers back.
    _chip(mara, text, THUMBS).click()
    beto_chip.and_(beto.page.locator('[data-count="1"]')).wait_for()
    _chip(mara, text, THUMBS).and_(mara.page.locator(':not(.mine)')).wait_for()

    # Beto opens the pinned panel: nothing yet. He cannot pin; Mara can, and it shows.
    beto.by("pins-button").click()
    beto.by("pins-empty").wait_for()
    assert messages(beto, text).get_by_test_id("message-pin").count() == 0
    target = messages(mara, text)
    target.hover()
    target.get_by_test_id("message-pin").click()
    beto.page.locator('[data-testid="pin-entry-content"]', has_text=text).wait_for()
    messages(beto, text).get_by_test_id("pin-marker").wait_for()

    # Mara reads who changed the message, and from what; Beto's marker opens nothing.
    messages(mara, text).get_by_test_id("message-edited").click()
    dialog = mara.by("edit-history")
    dialog.wait_for()
    entry = dialog.get_by_test_id("edit-entry").first
    assert entry.get_by_test_id("edit-before").inner_text() == "lunch at noon?"
    assert entry.get_by_test_id("edit-after").inner_text() == "lunch at one?"
    assert "Beto Bravo" in entry.inner_text()
    mara.by("edit-history-close").click()
    dialog.wait_for(state="detached")
    beto_marker = messages(beto, text).get_by_test_id("message-edited")
    assert beto_marker.evaluate("node => node.tagName") == "SPAN"

    # Mara unpins; Beto's open panel empties.
    target.hover()
    target.get_by_test_id("message-unpin").click()
    beto.by("pins-empty").wait_for()
    assert mara.console_errors == [] and beto.console_errors == []
