"""Threads and reading in real browsers: a reply in a thread from the page, its count live on
the other page, the thread panel; the "New messages" line and "Jump to first unread"."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.chat_page import (
    SCREENSHOTS,
    Person,
    api_token,
    create_room,
    messages,
    open_room,
    room,
    send,
    sign_up,
    unique,
    wait_connected,
)
from tests.support.system import RunningSystem

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

UNREAD = 60


def _post(http: httpx.Client, room_id: int, body: dict[str, object]) -> None:
    """An API client's post, waiting out the per-user budget (429 `Retry-After`)."""
    for _ in range(20):
        answer = http.post(f"/api/chat/rooms/{room_id}/messages", json=body)
        if answer.status_code != 429:
            assert answer.status_code == 201, answer.text
            return
        time.sleep(float(answer.headers.get("Retry-After", "1")))
    raise AssertionError("still rate limited")


def _two_in_a_room(people: Callable[..., Person], prefix: str) -> tuple[Person, Person, str]:
    alice, bob = people(unique("alice")), people(unique("bob"))
    sign_up(alice)
    sign_up(bob)
    name = unique(prefix)
    create_room(alice, name)
    open_room(alice, name)
    bob.page.reload()
    wait_connected(bob)
    open_room(bob, name)
    bob.by("join-room").click()
    bob.by("join-room").wait_for(state="hidden")
    return alice, bob, name


def test_a_reply_in_a_thread_shows_live_on_the_other_page(
        people: Callable[..., Person]) -> None:
    alice, bob, _ = _two_in_a_room(people, "hilos")
    send(alice, "Who is up for lunch?")
    root = messages(bob, "Who is up for lunch?")
    root.wait_for()

    # Bob replies in the thread from his page.
    root.get_by_test_id("reply-in-thread").click()
    bob.by("thread-panel").wait_for()
    bob.by("thread-root").filter(has_text="Who is up for lunch?").wait_for()
    bob.by("thread-composer").fill("Me! At noon?")
    bob.by("thread-send").click()
    bob.by("thread-reply").filter(has_text="Me! At noon?").wait_for()

    # Alice sees the count move live, without the reply in the room's timeline.
    summary = messages(alice, "Who is up for lunch?").get_by_test_id("thread-summary")
    summary.filter(has_text="1 reply").wait_for()
    assert messages(alice, "Me! At noon?").count() == 0
    summary.click()
    alice.by("thread-reply").filter(has_text="Me! At noon?").wait_for()

    # A reply also sent to the room shows in both places; the open panel gets it live.
    bob.by("thread-composer").fill("Booking a table")
    bob.by("thread-also-send").check()
    bob.by("thread-send").click()
    messages(alice, "Booking a table").wait_for()
    alice.by("thread-reply").filter(has_text="Booking a table").wait_for()
    messages(alice, "Who is up for lunch?").get_by_test_id("thread-summary").filter(
        has_text="2 replies").wait_for()
    alice.page.screenshot(path=str(SCREENSHOTS / "thread.png"))

    # Closing the panel; at phone width it covers the room and closes the same way.
    alice.by("thread-close").click()
    alice.by("thread-panel").wait_for(state="hidden")
    bob.page.set_viewport_size({"width": 390, "height": 800})
    bob.by("thread-panel").wait_for()
    box = bob.by("thread-panel").bounding_box()
    assert box is not None and box["width"] >= 380
    bob.by("thread-close").click()
    bob.by("thread-panel").wait_for(state="hidden")
    assert alice.console_errors == [] and bob.console_errors == []


def test_new_messages_line_after_reopening_and_jump_to_first_unread(
        people: Callable[..., Person], system: RunningSystem) -> None:
    alice, bob, name = _two_in_a_room(people, "lectura")
    send(alice, "seen before")
    messages(bob, "seen before").wait_for()
    bob.page.wait_for_timeout(1500)  # the page marks what is on screen read after 0.7 s
    # Bob goes to another room; alice writes many messages meanwhile.
    other = unique("otra")
    create_room(bob, other)
    open_room(bob, other)
    root_id = int(messages(alice, "seen before").get_attribute("data-message-id"))
    room_id = int(room(alice, name).get_attribute("data-room-id"))
    token = api_token(system, alice.username)
    with httpx.Client(base_url=system.url, timeout=10,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        # More than the latest page (50): the first unread one is not loaded on opening.
        for n in range(UNREAD):
            _post(http, room_id, {"content": f"unread {n}"})
        # A reply only in a thread is not unread in the room: live, and as the server counts.
        _post(http, room_id, {"content": "only in the thread", "thread_root_id": root_id})
    badge = room(bob, name).get_by_test_id("unread-badge")
    messages(alice, "seen before").get_by_test_id("thread-summary").wait_for()
    badge.filter(has_text=str(UNREAD)).wait_for()
    bob.page.reload()
    wait_connected(bob)
    badge.filter(has_text=str(UNREAD)).wait_for()
    open_room(bob, other)

    open_room(bob, name)
    messages(bob, f"unread {UNREAD - 1}").wait_for()
    # The list opens at the bottom and the first unread message is older than the latest
    # page: the button pages back to it and shows the line right before it.
    divider = bob.by("new-messages-divider")
    jump = bob.by("jump-unread")
    jump.wait_for()
    assert messages(bob, "unread 0").count() == 0
    jump.click()
    jump.wait_for(state="hidden")
    divider.wait_for()
    assert divider.is_visible()
    first_after = divider.locator("xpath=following-sibling::article[1]")
    assert "unread 0" in first_after.inner_text()
    bob.page.wait_for_timeout(1500)  # read after 0.7 s on screen
    # Reopening after reading moves the line: nothing new, no line.
    open_room(bob, other)
    open_room(bob, name)
    messages(bob, f"unread {UNREAD - 1}").wait_for()
    bob.page.wait_for_timeout(300)
    assert divider.count() == 0, (divider.get_attribute("data-after-seq"),
                                  divider.locator("xpath=following-sibling::article[1]")
                                  .inner_text())
    assert bob.console_errors == []
