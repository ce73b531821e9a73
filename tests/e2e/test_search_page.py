"""Search in the chat page: messages posted, a search typed in the header, the results with
the matched words in <mark> elements (accents folded: "cafe manana" marks "café" and
"mañana"), and a result opened in context: its room, older history paged until the message
is there, the message scrolled to and highlighted. Once at desktop width, once at phone
width."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.e2e.chat_page import PASSWORD, SCREENSHOTS, Person, api_token, sign_in, unique
from tests.support.system import RunningSystem

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TARGET = "¿Quedamos en el café de la mañana?"


def _seed(system: RunningSystem) -> tuple[str, str]:
    """A room where the message searched for lies more than a history page (50) back."""
    names = [unique("rosa"), unique("tomas"), unique("uma")]
    room_name = unique("cafeteria")
    with httpx.Client(base_url=system.url, timeout=10) as http:
        headers = []
        for name in names:
            http.post("/api/auth/register",
                      json={"username": name, "password": PASSWORD}).raise_for_status()
            headers.append({"Authorization": f"Bearer {api_token(system, name)}"})
        made = http.post("/api/chat/rooms", json={"name": room_name}, headers=headers[0])
        made.raise_for_status()
        room_id = made.json()["id"]
        post = f"/api/chat/rooms/{room_id}/messages"
        http.post(post, json={"content": TARGET}, headers=headers[0]).raise_for_status()
        # 75 later messages, 25 each (under the per-user posting burst).
        for n in range(25):
            for who in headers:
                http.post(post, json={"content": f"filler {n}"},
                          headers=who).raise_for_status()
    return names[0], room_name


def _search_and_open(person: Person, room_name: str, shot: str) -> None:
    person.by("search-input").fill("cafe manana")
    person.by("search-input").press("Enter")
    result = person.by("search-result").filter(has_text="Quedamos")
    result.wait_for()
    assert result.get_by_test_id("search-result-room").inner_text() == f"#{room_name}"
    assert result.locator("mark").all_inner_texts() == ["café", "mañana"]
    # Text, not HTML: the result's content holds text nodes and marks only.
    assert result.get_by_test_id("search-result-content").evaluate(
        "n => [...n.childNodes].every(c => c.nodeType === 3 || c.nodeName === 'MARK')")
    person.page.screenshot(path=str(SCREENSHOTS / f"search-{shot}.png"))
    result.click()
    person.by("room-title").filter(has_text=room_name).wait_for()
    target = person.page.locator(
        '[data-testid="messages"] [data-testid="message"].search-target').filter(
        has_text="Quedamos")
    target.wait_for()
    assert target.evaluate(
        "n => { const r = n.getBoundingClientRect(); "
        "return r.top >= 0 && r.bottom <= innerHeight; }")


def test_search_shows_highlights_and_opens_a_result_in_context(
        people: Callable[..., Person], system: RunningSystem) -> None:
    name, room_name = _seed(system)
    rosa = people(name)
    sign_in(rosa)
    _search_and_open(rosa, room_name, "desktop")
    phone = people(name, viewport={"width": 375, "height": 740})
    sign_in(phone)
    _search_and_open(phone, room_name, "phone")
    assert rosa.console_errors == [] and phone.console_errors == []
