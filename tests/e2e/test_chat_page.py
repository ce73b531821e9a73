"""Two people chatting in real browsers through the gateway, as a user meets Tertulia."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

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
    sign_in,
    sign_up,
    unique,
    wait_connected,
)
from tests.support.system import RunningSystem, pid_alive

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

XSS = "<img src=x onerror=alert(1)>"


def _join_by_page(person: Person, name: str) -> None:
    person.page.reload()
    wait_connected(person)
    open_room(person, name)
    join = person.by("join-room")
    if join.is_visible():
        join.click()
        join.wait_for(state="hidden")


def _two_in_a_room(people: Callable[..., Person], prefix: str) -> tuple[Person, Person]:
    """Alice and Bob signed up; alice created a public room and Bob joined it from his page."""
    alice, bob = people(unique("alice")), people(unique("bob"))
    sign_up(alice)
    sign_up(bob)
    name = unique(prefix)
    create_room(alice, name)
    open_room(alice, name)
    _join_by_page(bob, name)
    return alice, bob


def test_two_people_see_each_others_messages_typing_and_presence(
        people: Callable[..., Person]) -> None:
    alice, bob = _two_in_a_room(people, "plaza")

    send(alice, "Hola Bob, ¿qué tal?")
    messages(bob, "Hola Bob, ¿qué tal?").wait_for()
    mine = messages(alice, "Hola Bob, ¿qué tal?")
    assert mine.get_attribute("data-author") == alice.username
    mine.and_(alice.page.locator('[data-state="sent"]')).wait_for()
    assert messages(bob, "Hola Bob").locator('[data-testid="message-author"]').inner_text() \
        == alice.username

    send(bob, "Muy bien, gracias")
    messages(alice, "Muy bien, gracias").wait_for()

    # Typing: bob types without sending; alice sees it, then it goes away when he sends.
    bob.by("composer").press_sequentially("escribiendo algo", delay=20)
    alice.by("typing").filter(has_text=f"{bob.username} is typing").wait_for()
    bob.by("send").click()
    alice.by("typing").wait_for(state="hidden")

    # Presence: each sees the other online in the room.
    for viewer, other in ((alice, bob), (bob, alice)):
        viewer.page.locator(f'[data-testid="online-user"][data-username="{other.username}"]'
                            '[data-status="online"]').wait_for()
    # And a status change shows on the other page.
    bob.by("status-menu").select_option("busy")
    alice.page.locator(f'[data-testid="online-user"][data-username="{bob.username}"]'
                       '[data-status="busy"]').wait_for()

    assert alice.console_errors == [] and bob.console_errors == []
    alice.page.screenshot(path=str(SCREENSHOTS / "chat.png"))


def test_markup_in_a_message_is_shown_as_text(people: Callable[..., Person]) -> None:
    alice, bob = _two_in_a_room(people, "xss")

    send(alice, XSS)
    for person in (alice, bob):
        shown = messages(person, XSS)
        shown.wait_for()
        assert shown.locator('[data-testid="message-content"]').inner_text() == XSS
        assert person.page.locator('[data-testid="messages"] img').count() == 0
    time.sleep(0.5)  # an onerror handler would have fired by now
    assert alice.dialogs == [] and bob.dialogs == []


def post_once(http: httpx.Client, room_id: int, text: str, client_msg_id: str) -> None:
    """As an API client posts: a request the gateway had already handed to the replica that
    died is answered 502 (it cannot know whether it was stored), so it is sent again with
    the same `client_msg_id`, which stores it once however often it arrives."""
    for _ in range(5):
        answer = http.post(f"/api/chat/rooms/{room_id}/messages",
                           json={"content": text, "client_msg_id": client_msg_id})
        if answer.status_code != 502:
            break
    answer.raise_for_status()


def test_a_killed_chat_replica_loses_nothing_for_the_page_it_served(
        people: Callable[..., Person], system: RunningSystem) -> None:
    alice = people(unique("alice"))
    sign_up(alice)
    name = unique("recovery")
    room_id = create_room(alice, name)
    open_room(alice, name)
    send(alice, "before the crash")
    messages(alice, "before the crash").wait_for()

    bob = unique("bob")
    httpx.post(f"{system.url}/api/auth/register",
               json={"username": bob, "password": "e2e-password-1"}).raise_for_status()
    token = api_token(system, bob)
    bob_http = httpx.Client(base_url=system.url, timeout=15,
                            headers={"Authorization": f"Bearer {token}"})
    bob_http.post(f"/api/chat/rooms/{room_id}/join").raise_for_status()

    alice.page.evaluate("window.__sameDocument = true")
    replica = alice.page.evaluate("document.body.dataset.replicaId")
    assert replica in system.pids(), (replica, system.pids())
    killed = system.pids()[replica]
    mark = system.line_count()
    os.kill(killed, signal.SIGKILL)

    posted = [f"while down {i}" for i in range(5)]
    for n, text in enumerate(posted):  # the gateway hands these to the surviving replica
        post_once(bob_http, room_id, text, client_msg_id=f"down-{n}")
    restarted = system.wait_for_line("(restart", 30, after=mark)  # by the supervisor
    assert f" {replica} pid=" in restarted, restarted

    wait_connected(alice)
    for text in posted:
        messages(alice, text).wait_for(timeout=30_000)
    # After the outage everything is live again on the same page.
    bob_http.post(f"/api/chat/rooms/{room_id}/messages",
                  json={"content": "after the restart"}).raise_for_status()
    messages(alice, "after the restart").wait_for()
    texts = [t.strip() for t in alice.page.locator(
        '[data-testid="messages"] [data-testid="message-content"]').all_inner_texts()]
    expected = ["before the crash", *posted, "after the restart"]
    assert [t for t in texts if t in expected] == expected  # in order, each exactly once
    assert alice.page.evaluate("window.__sameDocument") is True  # no reload
    assert system.pids()[replica] != killed and pid_alive(system.pids()[replica])
    bob_http.close()


def test_the_dashboard_counts_and_a_broadcast_reaches_both_pages(
        people: Callable[..., Person], system: RunningSystem) -> None:
    ana = people("ana")
    sign_in(ana, password="tertulia-demo")
    ana.by("dashboard-link").wait_for()
    alice, bob = people(unique("alice")), people(unique("bob"))
    sign_up(alice)
    sign_up(bob)
    name = unique("metrics")
    create_room(alice, name)
    open_room(alice, name)

    board = ana.context.new_page()
    board.goto("/dashboard")  # the session cookie from the chat page signs in here too
    day = board.locator("#k-day")
    board.locator("#link", has_text="live").wait_for()
    board.wait_for_function("() => /^\\d+$/.test(document.querySelector('#k-day').innerText)")
    before = int(day.inner_text())
    for i in range(3):
        send(alice, f"counted {i}")
    board.wait_for_function(
        f"() => Number(document.querySelector('#k-day').innerText) >= {before + 3}")

    text = unique("Mantenimiento a las 22:00 ")
    board.locator("#broadcast-text").fill(text)
    board.locator("#broadcast-send").click()
    for person in (alice, bob):
        person.page.locator('[data-testid="toast"][data-kind="broadcast"]',
                            has_text=text).wait_for()
    board.set_viewport_size({"width": 1280, "height": 1320})  # its sticky header, once
    board.screenshot(path=str(SCREENSHOTS / "dashboard.png"))


def test_a_mention_waits_in_the_inbox_of_someone_who_was_away(
        people: Callable[..., Person], system: RunningSystem) -> None:
    alice, carol = people(unique("alice")), people(unique("carol"))
    sign_up(alice)
    sign_up(carol)
    name = unique("mentions")
    create_room(alice, name)
    open_room(alice, name)
    _join_by_page(carol, name)
    carol.by("sign-out").click()
    carol.by("auth-form").wait_for()
    carol.context.close()

    send(alice, f"@{carol.username} can you review this?")
    messages(alice, "can you review this?").wait_for()
    messages(alice, "can you review this?").locator(".mention").filter(
        has_text=f"@{carol.username}").wait_for()

    again = people(carol.username)
    sign_in(again)
    again.page.locator('[data-testid="inbox-count"]').filter(has_text="1").wait_for(
        timeout=20_000)
    again.by("inbox-button").click()
    item = again.page.locator('[data-testid="inbox-item"][data-read="false"]',
                              has_text="can you review this?")
    item.wait_for()
    assert room(again, name).count() == 1


def test_the_page_speaks_spanish_to_a_spanish_browser_and_fits_a_phone(
        people: Callable[..., Person]) -> None:
    lucia = people(unique("lucia"), locale="es-ES", viewport={"width": 375, "height": 740})
    assert lucia.page.evaluate("document.documentElement.lang") == "es"
    sign_up(lucia)
    assert lucia.by("connection-status").inner_text().strip().lower() == "conectado"
    assert lucia.page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    lucia.by("lang-switch").select_option("en")
    lucia.by("connection-status").filter(has_text="Connected").wait_for()
    assert lucia.page.evaluate("document.documentElement.lang") == "en"


def test_an_invitation_to_a_private_room_shows_up_at_once(
        people: Callable[..., Person]) -> None:
    alice, bob, eve = people(unique("alice")), people(unique("bob")), people(unique("eve"))
    for person in (alice, bob, eve):
        sign_up(person)
    name = unique("secreto")
    create_room(alice, name, private=True)
    open_room(alice, name)
    send(alice, "only for invited people")
    messages(alice, "only for invited people").and_(
        alice.page.locator('[data-state="sent"]')).wait_for()

    alice.by("invite-username").fill(bob.username)
    alice.by("invite-submit").click()
    # Live, not the page's periodic refresh (every 20 s): the invitee is told directly.
    room(bob, name).wait_for(timeout=8_000)
    open_room(bob, name)
    messages(bob, "only for invited people").wait_for()
    send(bob, "thanks!")
    messages(alice, "thanks!").wait_for()
    assert room(eve, name).count() == 0


def test_edits_and_deletions_made_while_a_page_was_cut_off_show_after_it_reconnects(
        people: Callable[..., Person], system: RunningSystem) -> None:
    alice = people(unique("alice"))
    outage = {"on": False}
    sockets: list[Any] = []

    def network(ws: Any) -> None:  # every WebSocket of alice's page passes through here
        if outage["on"]:
            ws.close(code=1012, reason="network down")
            return
        sockets.append(ws)
        ws.connect_to_server()

    alice.page.route_web_socket("**/ws", network)
    sign_up(alice)
    name = unique("offline")
    room_id = create_room(alice, name)
    open_room(alice, name)

    bob = unique("bob")
    httpx.post(f"{system.url}/api/auth/register",
               json={"username": bob, "password": "e2e-password-1"}).raise_for_status()
    with httpx.Client(base_url=system.url, timeout=15, headers={
            "Authorization": f"Bearer {api_token(system, bob)}"}) as bob_http:
        ids = [bob_http.post(f"/api/chat/rooms/{room_id}/messages",
                             json={"content": text}).json()["id"]
               for text in ("to be edited", "to be deleted")]
        messages(alice, "to be deleted").wait_for()

        outage["on"] = True
        for ws in sockets:
            ws.close(code=1012, reason="network down")
        alice.page.locator('[data-testid="connection-status"]:not([data-state="connected"])'
                           ).wait_for()
        bob_http.patch(f"/api/chat/messages/{ids[0]}",
                       json={"content": "edited while alice was away"}).raise_for_status()
        bob_http.delete(f"/api/chat/messages/{ids[1]}").raise_for_status()
        bob_http.post(f"/api/chat/rooms/{room_id}/messages",
                      json={"content": "new while alice was away"}).raise_for_status()
        outage["on"] = False

    wait_connected(alice)
    messages(alice, "new while alice was away").wait_for(timeout=30_000)
    edited = alice.page.locator(f'[data-testid="message"][data-message-id="{ids[0]}"]')
    edited.filter(has_text="edited while alice was away").wait_for()
    edited.locator('[data-testid="message-edited"]').wait_for()
    alice.page.locator(f'[data-testid="message"][data-message-id="{ids[1]}"].deleted').wait_for()
    assert messages(alice, "to be deleted").count() == 0
