"""The presence bar of the chat page: who is online, whichever room was on screen when they came."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.e2e.chat_page import (
    PASSWORD,
    Person,
    api_token,
    open_room,
    room,
    sign_in,
    unique,
)
from tests.support.system import RunningSystem

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _online(person: Person, username: str) -> object:
    return person.page.locator(
        f'[data-testid="online-users"] [data-testid="online-user"][data-username="{username}"]'
        '[data-status="online"]')


def test_someone_who_came_online_in_another_room_shows_when_that_room_is_opened(
        people: Callable[..., Person], system: RunningSystem) -> None:
    viewer_name, other_name = unique("vera"), unique("omar")
    with httpx.Client(base_url=system.url, timeout=10) as http:
        for name in (viewer_name, other_name):
            http.post("/api/auth/register",
                      json={"username": name, "password": PASSWORD}).raise_for_status()
        owner = {"Authorization": f"Bearer {api_token(system, other_name)}"}
        viewer = {"Authorization": f"Bearer {api_token(system, viewer_name)}"}
        # Omar has never been online: the viewer's page learns of him from frames only.
        names = {key: unique(key) for key in ("patio", "sala")}
        for name in names.values():
            made = http.post("/api/chat/rooms", json={"name": name}, headers=owner)
            made.raise_for_status()
            http.post(f"/api/chat/rooms/{made.json()['id']}/join",
                      headers=viewer).raise_for_status()

    vera = people(viewer_name)
    sign_in(vera)
    open_room(vera, names["sala"])
    room(vera, names["patio"]).wait_for()
    assert _online(vera, other_name).count() == 0

    omar = people(other_name)
    sign_in(omar)
    # The frame reached the viewer's page while another room was on screen...
    _online(vera, other_name).wait_for()
    # ...and the room where he also belongs shows him as soon as it is opened.
    open_room(vera, names["patio"])
    _online(vera, other_name).wait_for()
    assert vera.console_errors == []
