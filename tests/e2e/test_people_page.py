"""People in the chat page: a display name changed in one page shows on that person's
messages in another person's page at once; the members panel, a profile card, and
@-autocomplete of a member's username (at phone width too)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.chat_page import (
    SCREENSHOTS,
    Person,
    create_room,
    messages,
    open_room,
    send,
    sign_up,
    unique,
    wait_connected,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _two_in_a_room(people: Callable[..., Person]) -> tuple[Person, Person, str]:
    alice, bob = people(unique("alice")), people(unique("bob"))
    sign_up(alice)
    sign_up(bob)
    name = unique("gente")
    create_room(alice, name)
    open_room(alice, name)
    bob.page.reload()
    wait_connected(bob)
    open_room(bob, name)
    bob.by("join-room").click()
    bob.by("join-room").wait_for(state="hidden")
    return alice, bob, name


def _author(person: Person, text: str) -> str:
    return str(messages(person, text).locator('[data-testid="message-author"]').inner_text())


def test_a_new_display_name_shows_on_my_messages_in_the_other_page(
        people: Callable[..., Person]) -> None:
    alice, bob, _room = _two_in_a_room(people)
    send(alice, "Hola, soy yo")
    messages(bob, "Hola, soy yo").wait_for()
    assert _author(bob, "Hola, soy yo") == alice.username

    alice.by("current-user").click()
    editor = alice.by("profile-editor")
    editor.wait_for()
    browser_zone = alice.page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert alice.by("profile-time-zone").input_value() == browser_zone
    alice.by("profile-display-name").fill("Alicia Prueba")
    alice.by("profile-status-text").fill("Probando perfiles")
    alice.by("profile-time-zone").select_option("America/Mexico_City")
    alice.page.screenshot(path=str(SCREENSHOTS / "people-profile-editor.png"))
    alice.by("profile-save").click()
    editor.wait_for(state="detached")
    alice.by("current-user").filter(has_text="Alicia Prueba").wait_for()

    # Bob's page renames her without a reload (user_updated), old and new messages alike.
    messages(bob, "Hola, soy yo").locator('[data-testid="message-author"]').filter(
        has_text="Alicia Prueba").wait_for()
    bob.page.locator(f'[data-testid="online-user"][data-username="{alice.username}"]').filter(
        has_text="Alicia Prueba").wait_for()
    send(alice, "Con nombre nuevo")
    messages(bob, "Con nombre nuevo").wait_for()
    assert _author(bob, "Con nombre nuevo") == "Alicia Prueba"
    assert _author(alice, "Con nombre nuevo") == "Alicia Prueba"
    assert messages(bob, "Con nombre nuevo").get_attribute("data-author") == alice.username

    # A reload reads the name from history.
    bob.page.reload()
    wait_connected(bob)
    messages(bob, "Hola, soy yo").wait_for()
    assert _author(bob, "Hola, soy yo") == "Alicia Prueba"

    # A name too long (past the field's own limit) is refused with its own message.
    alice.by("current-user").click()
    alice.page.evaluate("document.getElementById('profile-display-name').maxLength = 200")
    alice.by("profile-display-name").fill("x" * 65)
    alice.by("profile-save").click()
    alice.by("profile-error").filter(has_text="64").wait_for()
    alice.page.keyboard.press("Escape")
    alice.by("profile-editor").wait_for(state="detached")
    # The only console line is the browser's own note of the 422 answer.
    assert all("422" in e for e in alice.console_errors)
    assert bob.console_errors == []


def test_the_members_panel_a_profile_card_and_mention_autocomplete(
        people: Callable[..., Person]) -> None:
    alice, bob, _room = _two_in_a_room(people)
    alice.by("current-user").click()
    alice.by("profile-display-name").fill("Alicia Prueba")
    alice.by("profile-status-text").fill("En la playa")
    alice.by("profile-time-zone").select_option("Asia/Tokyo")
    alice.by("profile-save").click()
    alice.by("profile-editor").wait_for(state="detached")
    send(alice, "Buenos días")
    messages(bob, "Buenos días").wait_for()

    # The members panel: both members, names shown with their @usernames, live presence.
    bob.by("members-button").click()
    panel = bob.by("members-panel")
    panel.wait_for()
    row = panel.locator(f'[data-testid="member-row"][data-username="{alice.username}"]')
    row.locator('[data-testid="member-name"]').filter(has_text="Alicia Prueba").wait_for()
    assert f"@{alice.username}" in row.inner_text()
    assert row.locator('[data-testid="member-role"]').inner_text() == "Admin"
    panel.locator(f'[data-testid="member-row"][data-username="{bob.username}"]').wait_for()
    row.and_(bob.page.locator('[data-status="online"]')).wait_for()

    # Her card: status text, local time in her time zone, presence, role here.
    row.click()
    card = bob.by("profile-card")
    card.locator('[data-testid="card-status-text"]').filter(has_text="En la playa").wait_for()
    assert card.locator('[data-testid="card-name"]').inner_text() == "Alicia Prueba"
    assert card.locator('[data-testid="card-username"]').inner_text() == f"@{alice.username}"
    assert "Asia/Tokyo" in card.locator('[data-testid="card-local-time"]').inner_text()
    assert card.locator('[data-testid="card-presence"]').inner_text() == "Online"
    bob.page.screenshot(path=str(SCREENSHOTS / "people-members-card.png"))
    bob.page.keyboard.press("Escape")
    card.wait_for(state="detached")

    # The same card from her name on a message.
    messages(bob, "Buenos días").locator('[data-testid="message-author"]').click()
    bob.by("profile-card").locator('[data-testid="card-name"]').filter(
        has_text="Alicia Prueba").wait_for()
    bob.page.keyboard.press("Escape")
    bob.by("members-button").click()
    panel.wait_for(state="hidden")

    # @-autocomplete at phone width: by username prefix, keyboard insertion.
    bob.page.set_viewport_size({"width": 390, "height": 760})
    composer = bob.by("composer")
    composer.click()
    composer.press_sequentially(f"hola @{alice.username[:4]}", delay=20)
    option = bob.page.locator(
        f'[data-testid="mention-option"][data-username="{alice.username}"]')
    option.wait_for()
    assert bob.page.locator(
        f'[data-testid="mention-option"][data-username="{bob.username}"]').count() == 0
    listed = bob.by("mention-list").bounding_box()
    button = bob.by("send").bounding_box()
    assert listed is not None and button is not None
    assert listed["x"] + listed["width"] <= button["x"], "the list covers the send button"
    bob.page.screenshot(path=str(SCREENSHOTS / "people-autocomplete-phone.png"))
    composer.press("Enter")
    bob.by("mention-list").wait_for(state="detached")
    assert composer.input_value() == f"hola @{alice.username} "

    # By the name shown, with the mouse; Escape closes without inserting.
    composer.press_sequentially("y @Alic", delay=20)
    option.wait_for()
    composer.press("Escape")
    bob.by("mention-list").wait_for(state="detached")
    assert composer.input_value().endswith("y @Alic")
    composer.press("Backspace")
    option.wait_for()
    option.click()
    assert composer.input_value() == f"hola @{alice.username} y @{alice.username} "
    bob.by("send").click()
    messages(alice, "hola @").wait_for()
    assert bob.console_errors == []
