"""Moderation in the chat page, the issue's scenario in Chromium: a member reports a message
from its menu; the room's moderator sees the report arrive live in the queue and resolves it
with a mute of a few seconds; the muted author's post is refused with the muted banner; once
the mute's end passes, they post again (the author on a phone-width page). Then a mute until
lifted: the moderator finds it in the room's Moderation panel, lifts it there, and the
author's next post goes through."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.e2e.chat_page import (
    PASSWORD,
    Person,
    api_token,
    messages,
    open_room,
    send,
    sign_in,
    unique,
)
from tests.support.system import RunningSystem

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MUTE_SECS = "3"


def test_report_resolve_with_a_mute_and_the_mute_expires(
        people: Callable[..., Person], system: RunningSystem) -> None:
    mod_name, reporter_name, author_name = unique("mods"), unique("rita"), unique("tomas")
    room_name = unique("agora")
    rude = "everyone here is wrong"
    with httpx.Client(base_url=system.url, timeout=10) as http:
        for name in (mod_name, reporter_name, author_name):
            http.post("/api/auth/register",
                      json={"username": name, "password": PASSWORD}).raise_for_status()
        headers = {name: {"Authorization": f"Bearer {api_token(system, name)}"}
                   for name in (mod_name, reporter_name, author_name)}
        made = http.post("/api/chat/rooms", json={"name": room_name}, headers=headers[mod_name])
        made.raise_for_status()
        room_id = made.json()["id"]
        for name in (reporter_name, author_name):
            http.post(f"/api/chat/rooms/{room_id}/join",
                      headers=headers[name]).raise_for_status()
        http.post(f"/api/chat/rooms/{room_id}/messages", json={"content": rude},
                  headers=headers[author_name]).raise_for_status()

    mods, rita = people(mod_name), people(reporter_name)
    tomas = people(author_name, viewport={"width": 390, "height": 780})
    for person in (mods, rita, tomas):
        sign_in(person)
        if person is tomas:
            tomas.by("menu-button").click()  # the room list is a drawer on a phone
        open_room(person, room_name)
        messages(person, rude).wait_for()
    # Only a moderator has the queue; nobody reports their own message.
    mods.by("reports-button").wait_for()
    assert rita.by("reports-button").is_hidden()
    assert messages(tomas, rude).get_by_test_id("message-report").count() == 0

    # Rita reports the message from its menu, with a reason.
    messages(rita, rude).hover()
    messages(rita, rude).get_by_test_id("message-report").click()
    rita.by("report-reason").fill("insulting the room")
    rita.by("report-submit").click()
    rita.by("report-form").wait_for(state="hidden")

    # The moderator's page hears of it live and resolves it with a mute of a few seconds.
    mods.page.locator('[data-testid="reports-count"]:has-text("1")').wait_for()
    mods.by("reports-button").click()
    entry = mods.by("report-entry").filter(has_text=rude)
    entry.get_by_test_id("report-entry-reason").filter(has_text="insulting the room").wait_for()
    entry.get_by_test_id("report-duration").fill(MUTE_SECS)
    entry.get_by_test_id("report-unit").select_option("seconds")
    entry.locator('[data-testid="report-action"][data-action="mute"]').click()
    mods.by("reports-empty").wait_for()

    # Tomas is told (the banner), and a post while muted is refused clearly, not dropped.
    send(tomas, "let me speak")
    banner = tomas.page.locator('[data-testid="moderation-banner"][data-state="muted"]')
    banner.filter(has_text="muted").wait_for()
    messages(tomas, "let me speak").get_by_test_id("message-retry").wait_for()
    tomas.page.locator('[data-testid="toast"]').filter(has_text="muted").first.wait_for()
    assert messages(mods, "let me speak").count() == 0

    # The mute ends by the clock: the banner goes, and the next post goes through.
    banner.wait_for(state="detached", timeout=15_000)
    send(tomas, "back again")
    messages(mods, "back again").wait_for()

    # A mute until lifted: listed in the moderator's panel, lifted there, and Tomas posts.
    with httpx.Client(base_url=system.url, timeout=10) as http:
        tomas_id = http.get("/api/auth/me", headers=headers[author_name]).json()["id"]
        http.post(f"/api/chat/rooms/{room_id}/mutes",
                  json={"user_id": tomas_id, "reason": "cool off"},
                  headers=headers[mod_name]).raise_for_status()
    banner.filter(has_text="muted").wait_for()
    mods.by("filters-button").click()
    row = mods.by("room-sanction").filter(has_text=author_name)
    row.filter(has_text="until lifted").filter(has_text="cool off").filter(
        has_text="mute").wait_for()
    row.get_by_test_id("room-sanction-lift").click()
    mods.by("room-sanction-empty").wait_for()
    banner.wait_for(state="hidden")
    send(tomas, "free to talk")
    messages(mods, "free to talk").wait_for()
    assert not mods.console_errors, mods.console_errors
    assert not tomas.console_errors, tomas.console_errors
