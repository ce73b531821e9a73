"""Direct messages on the chat page, as two people use them in two browsers: A opens a DM
with B by username and writes; B sees the DM appear under "Direct messages", named after A,
with the message; A sees B's presence on the DM, in the list and in its header."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.chat_page import (
    SCREENSHOTS,
    Person,
    messages,
    send,
    sign_up,
    unique,
)
from tests.support.system import RunningSystem

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def dm_item(person: Person, name: str) -> object:
    return person.page.locator(
        f'[data-testid="dm-list"] [data-testid="dm-item"][data-room-name="{name}"]')


def test_a_dm_reaches_the_other_person_live_with_presence(
        people: Callable[..., Person], system: RunningSystem) -> None:
    ana_name, bruno_name = unique("ana"), unique("bruno")
    bruno = people(bruno_name)
    sign_up(bruno)
    ana = people(ana_name)
    sign_up(ana)

    # Ana starts a DM with Bruno by his username (the suggestions come as she types).
    ana.by("new-dm-button").click()
    ana.by("new-dm-users").fill(bruno_name)
    ana.by("new-dm-submit").click()
    ana.by("room-title").filter(has_text=bruno_name).wait_for()
    dm_item(ana, bruno_name).wait_for()
    # A DM is not a room: not in the room list, no invite form, no leave button.
    as_room = f'[data-testid="room-item"][data-room-name="{bruno_name}"]'
    assert ana.page.locator(as_room).count() == 0
    assert ana.by("invite-username").is_hidden() and ana.by("leave-room").is_hidden()
    assert "Direct message" in ana.page.locator("#room-meta").inner_text()
    send(ana, "hola Bruno, ¿comemos?")
    messages(ana, "hola Bruno, ¿comemos?").wait_for()

    # Bruno, who never reloaded, finds it under "Direct messages", named after Ana.
    item = dm_item(bruno, ana_name)
    item.wait_for()
    item.click()
    bruno.by("room-title").filter(has_text=ana_name).wait_for()
    messages(bruno, "hola Bruno, ¿comemos?").wait_for()
    assert bruno.page.locator("[data-testid=\"dm-list\"]").inner_text().strip() != ""

    # Ana sees Bruno's presence on the DM: the dot in the list, the status in the header.
    ana.page.locator(f'[data-testid="dm-item"][data-room-name="{bruno_name}"]'
                     '[data-status="online"] [data-testid="dm-presence"]').wait_for()
    ana.page.locator('#room-meta[data-status="online"]').wait_for()
    bruno.by("status-menu").select_option("busy")
    ana.page.locator(f'[data-testid="dm-item"][data-room-name="{bruno_name}"]'
                     '[data-status="busy"]').wait_for()
    assert "Busy" in ana.page.locator("#room-meta").inner_text()
    ana.page.screenshot(path=str(SCREENSHOTS / "dm.png"))

    # Bruno takes a display name: Ana's DM is renamed at once, in the list and its header.
    bruno.page.evaluate("""() => fetch('/api/auth/me', {method: 'PATCH',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({display_name: 'Bruno Díaz'})})""")
    dm_item(ana, "Bruno Díaz").wait_for()
    ana.by("room-title").filter(has_text="Bruno Díaz").wait_for()

    # The same people get the same DM: Bruno opening one with Ana lands in it.
    bruno.by("new-dm-button").click()
    bruno.by("new-dm-users").fill(ana_name)
    bruno.by("new-dm-submit").click()
    bruno.by("room-title").filter(has_text=ana_name).wait_for()
    assert bruno.page.locator('[data-testid="dm-item"]').count() == 1
    messages(bruno, "hola Bruno, ¿comemos?").wait_for()

    # Refused with the page's words: a DM with only yourself, someone who does not exist.
    ana.by("new-dm-button").click()
    ana.by("new-dm-users").fill(ana_name)
    ana.by("new-dm-submit").click()
    ana.by("new-dm-error").filter(has_text="at least one other person").wait_for()
    ana.by("new-dm-users").fill("nobody-" + unique("x"))
    ana.by("new-dm-submit").click()
    ana.by("new-dm-error").filter(has_text="No active user").wait_for()

    assert ana.console_errors == [] and bruno.console_errors == []


def test_the_dm_section_works_at_phone_width(
        people: Callable[..., Person], system: RunningSystem) -> None:
    lea_name, max_name = unique("lea"), unique("max")
    other = people(max_name)
    sign_up(other)
    lea = people(lea_name, viewport={"width": 390, "height": 800})
    sign_up(lea)
    lea.by("menu-button").click()
    lea.by("new-dm-button").click()
    lea.by("new-dm-users").fill(max_name)
    lea.by("new-dm-submit").click()
    lea.by("room-title").filter(has_text=max_name).wait_for()
    send(lea, "hi from a phone")
    messages(lea, "hi from a phone").wait_for()
    dm_item(other, lea_name).wait_for()
    assert lea.console_errors == []
