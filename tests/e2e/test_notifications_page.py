"""Notifications as a user meets them in the chat page: what is on screen, and what is not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.chat_page import (
    Person,
    api_token,
    create_room,
    open_room,
    sign_up,
    unique,
    wait_connected,
)
from tests.support.system import RunningSystem

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _join_by_page(person: Person, name: str) -> None:
    person.page.reload()
    wait_connected(person)
    open_room(person, name)
    join = person.by("join-room")
    if join.is_visible():
        join.click()
        join.wait_for(state="hidden")


def _post(system: RunningSystem, token: str, room_id: int, content: str) -> int:
    response = httpx.post(f"{system.url}/api/chat/rooms/{room_id}/messages",
                          json={"content": content},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _decision(system: RunningSystem, token: str, message_id: int, page: Any) -> str:
    """The notifications service's reason for (not) telling the user, once it has decided."""
    for _ in range(100):
        response = httpx.get(f"{system.url}/api/notifications/decisions",
                             params={"message_id": message_id},
                             headers={"Authorization": f"Bearer {token}"}, timeout=10)
        if response.status_code == 200:
            return str(response.json()["decisions"][0]["reason"])
        page.wait_for_timeout(100)
    raise AssertionError(f"no decision about message {message_id}")


def test_a_mention_in_the_room_left_for_another_still_reaches_the_page(
        people: Callable[..., Person], system: RunningSystem) -> None:
    """The report: carmen opens A, then B; bruno mentions @carmen in A. The page told the
    server B is on screen, so A's mention is a toast and an inbox entry, and B's is not."""
    bruno, carmen = people(unique("bruno")), people(unique("carmen"))
    sign_up(bruno)
    sign_up(carmen)
    room_a, room_b = unique("room-a"), unique("room-b")
    id_a, id_b = create_room(bruno, room_a), create_room(bruno, room_b)
    _join_by_page(carmen, room_a)
    _join_by_page(carmen, room_b)
    open_room(carmen, room_a)
    open_room(carmen, room_b)

    bruno_token = api_token(system, bruno.username)
    carmen_token = api_token(system, carmen.username)
    in_a = _post(system, bruno_token, id_a, f"@{carmen.username} a question about A")
    toast = carmen.page.locator('[data-testid="toast"][data-kind="notification"]',
                                has_text="a question about A")
    toast.wait_for()
    carmen.page.locator('[data-testid="inbox-count"]').filter(has_text="1").wait_for()
    assert _decision(system, carmen_token, in_a, carmen.page) == "mention"

    in_b = _post(system, bruno_token, id_b, f"@{carmen.username} and one about B")
    assert _decision(system, carmen_token, in_b, carmen.page) == "viewing_room"
    assert carmen.console_errors == []


def test_toasts_are_few_one_per_room_and_leave_when_the_room_is_read(
        people: Callable[..., Person], system: RunningSystem) -> None:
    """Mentions by default, at most three toasts, a room's newer toast replacing its older
    one; plain messages make none; reading the room takes its toast and entry away."""
    bruno, carmen = people(unique("bruno")), people(unique("carmen"))
    sign_up(bruno)
    sign_up(carmen)
    bruno_token = api_token(system, bruno.username)
    carmen_token = api_token(system, carmen.username)
    names = [unique(f"room-{letter}") for letter in "abcd"]
    ids = [create_room(bruno, name) for name in names]
    for room_id in ids:
        response = httpx.post(f"{system.url}/api/chat/rooms/{room_id}/join",
                              headers={"Authorization": f"Bearer {carmen_token}"}, timeout=10)
        assert response.status_code == 200, response.text
    carmen.page.reload()
    wait_connected(carmen)
    for name in names:
        carmen.page.locator(f'[data-testid="room-item"][data-room-name="{name}"]').wait_for()

    def toast(text: str) -> Any:
        return carmen.page.locator('[data-testid="toast"][data-kind="notification"]',
                                   has_text=text)

    mention = f"@{carmen.username}"
    _post(system, bruno_token, ids[0], f"{mention} first in a")
    toast("first in a").wait_for()
    _post(system, bruno_token, ids[0], f"{mention} second in a")
    toast("second in a").wait_for()
    assert toast("first in a").count() == 0  # replaced: one toast per room
    plain = _post(system, bruno_token, ids[1], "lunch, anyone?")
    assert _decision(system, carmen_token, plain, carmen.page) == "mentions_only"
    for letter, room_id in zip("bcd", ids[1:], strict=True):
        _post(system, bruno_token, room_id, f"{mention} in {letter}")
    toast("in d").wait_for()
    assert carmen.page.locator('[data-testid="toast"]').count() <= 3
    assert toast("lunch, anyone?").count() == 0
    carmen.page.locator('[data-testid="inbox-count"]').filter(has_text="5").wait_for()

    open_room(carmen, names[3])  # reading d: its toast goes, its entry is read
    toast("in d").wait_for(state="detached")
    carmen.page.locator('[data-testid="inbox-count"]').filter(has_text="4").wait_for(
        timeout=20_000)
    assert carmen.console_errors == []
