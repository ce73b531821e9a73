"""Word filters in the chat page: a room admin adds a `hold` rule in the room's Moderation
panel; a member's message with the word is held (the member is told, nobody sees it); the
admin approves it and it appears in both pages; a second one is rejected with a note the
member reads. And, at phone width in Spanish, the room's panel (with a mute listed, and the
problem's message when lifting one already lifted) and the server's rules in the
administration page."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.chat_page import (
    DEMO_PASSWORD,
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


def _setup(system: RunningSystem) -> tuple[str, str, str, int, dict[str, str]]:
    admin_name, member_name, room_name = unique("mara"), unique("beto"), unique("quesos")
    with httpx.Client(base_url=system.url, timeout=10) as http:
        for name in (admin_name, member_name):
            http.post("/api/auth/register",
                      json={"username": name, "password": PASSWORD}).raise_for_status()
        mara = {"Authorization": f"Bearer {api_token(system, admin_name)}"}
        beto = {"Authorization": f"Bearer {api_token(system, member_name)}"}
        made = http.post("/api/chat/rooms", json={"name": room_name}, headers=mara)
        made.raise_for_status()
        room_id = made.json()["id"]
        http.post(f"/api/chat/rooms/{room_id}/join", headers=beto).raise_for_status()
    return admin_name, member_name, room_name, room_id, beto


def _until_every_replica_has(system: RunningSystem, word: str, room_id: int,
                             member: dict[str, str]) -> None:
    """A rule reaches the other replica within CHAT_WORD_FILTER_REFRESH_SECS: edit a probe
    message of the member's on each replica's own port until both refuse the word."""
    urls = [url.rstrip("/") for name, url in system.urls().items() if name.startswith("chat")]
    probe = httpx.post(f"{system.url}/api/chat/rooms/{room_id}/messages",
                       json={"content": "probe"}, headers=member, timeout=10)
    probe.raise_for_status()
    deadline = time.monotonic() + 15
    waiting = set(urls)
    while waiting:
        assert time.monotonic() < deadline, f"the rule never reached {waiting}"
        for url in sorted(waiting):
            edited = httpx.patch(f"{url}/api/chat/messages/{probe.json()['id']}",
                                 json={"content": f"probe {word}"}, headers=member, timeout=10)
            if edited.status_code == 422 and edited.json()["code"] == "content_blocked":
                waiting.discard(url)
        time.sleep(0.1)


def test_a_held_message_approved_by_a_moderator_appears_in_the_room(
        people: Callable[..., Person], system: RunningSystem) -> None:
    admin_name, member_name, room_name, room_id, member = _setup(system)
    mara, beto = people(admin_name), people(member_name)
    for person in (mara, beto):
        sign_in(person)
        open_room(person, room_name)

    # Beto is no moderator: no Moderation button. Mara adds a hold rule from the panel.
    assert beto.by("filters-button").is_hidden()
    mara.by("filters-button").click()
    mara.by("held-empty").wait_for()
    mara.by("filter-pattern").fill("Queso")
    mara.by("filter-action").select_option("hold")
    mara.by("filter-add").click()
    mara.by("filter-rule").filter(has_text="Queso").wait_for()
    _until_every_replica_has(system, "queso", room_id, member)

    # Beto's message is held: he is told, it is in nobody's room.
    send(beto, "me gusta el QUESÓ manchego")
    beto.page.locator('[data-testid="toast"]', has_text="waiting for a moderator").wait_for()
    send(beto, "and bread")
    messages(mara, "and bread").wait_for()
    assert messages(mara, "manchego").count() == 0
    assert messages(beto, "manchego").count() == 0

    # Mara approves it: it appears in both rooms, as Beto's.
    mara.by("filters-refresh").click()
    entry = mara.by("held-entry").filter(has_text="manchego")
    entry.wait_for()
    entry.get_by_test_id("held-approve").click()
    messages(mara, "manchego").wait_for()
    messages(beto, "manchego").wait_for()
    beto.page.locator('[data-testid="toast"]', has_text="approved your message").wait_for()
    mara.by("held-empty").wait_for()

    # A second one is rejected with a note: Beto reads it; the room never shows it.
    send(beto, "more queso please")
    beto.page.locator('[data-testid="toast"]', has_text="waiting for a moderator").nth(1
                                                                                     ).wait_for()
    mara.by("filters-refresh").click()
    entry = mara.by("held-entry").filter(has_text="more queso")
    entry.get_by_test_id("held-note").fill("one cheese is enough")
    entry.get_by_test_id("held-reject").click()
    beto.page.locator('[data-testid="toast"]', has_text="one cheese is enough").wait_for()
    mara.by("held-empty").wait_for()
    assert messages(mara, "more queso").count() == 0
    assert mara.console_errors == [] and beto.console_errors == []


def test_the_room_panel_and_the_server_rules_at_phone_width_in_spanish(
        people: Callable[..., Person], system: RunningSystem) -> None:
    admin_name, member_name, room_name, room_id, member = _setup(system)
    mara = people(admin_name, locale="es-ES", viewport={"width": 360, "height": 780})
    sign_in(mara)
    mara.by("menu-button").click()  # the room list is a drawer at phone width
    open_room(mara, room_name)
    mara.by("filters-button").filter(has_text="Moderación").click()
    mara.by("filter-pattern").fill("tonto*")
    mara.by("filter-add").click()
    rule = mara.by("filter-rule").filter(has_text="tonto*")
    rule.filter(has_text="Bloquear").wait_for()
    mara.by("held-empty").filter(has_text="No hay nada pendiente").wait_for()
    mara.by("room-sanction-empty").filter(has_text="Nadie está silenciado").wait_for()
    # A mute of the member, until lifted with a long reason, is listed on Refresh.
    admin = {"Authorization": f"Bearer {api_token(system, admin_name)}"}
    member_id = httpx.get(f"{system.url}/api/auth/me", headers=member, timeout=10).json()["id"]
    mute_url = f"{system.url}/api/chat/rooms/{room_id}/mutes"
    httpx.post(mute_url, json={"user_id": member_id, "reason": "calma " * 40},
               headers=admin, timeout=10).raise_for_status()
    mara.by("filters-refresh").click()
    muted = mara.by("room-sanction").filter(has_text=member_name)
    muted.filter(has_text="silencio").filter(has_text="hasta que se levante").wait_for()
    # Nothing sticks out sideways at phone width.
    assert mara.page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    panel = mara.by("filters-panel").bounding_box()
    assert panel is not None and panel["x"] >= 0 and panel["x"] + panel["width"] <= 360
    # Lifted elsewhere meanwhile: the page's Lift shows the server's problem, and the list
    # catches up.
    httpx.delete(f"{mute_url}/{member_id}", headers=admin, timeout=10).raise_for_status()
    muted.get_by_test_id("room-sanction-lift").click()
    mara.page.locator('[data-testid="toast"]', has_text="has no mute here").wait_for()
    muted.wait_for(state="detached")
    # A bad pattern is refused with a clear line; removing the rule empties the list.
    mara.by("filter-pattern").fill("t*")
    mara.by("filter-add").click()
    mara.page.locator('[data-testid="toast"]', has_text="filtro de palabras").wait_for()
    rule.get_by_test_id("filter-remove").click()
    rule.wait_for(state="detached")
    # The refused pattern's 422 and the lift's 404 are the only things the console shows.
    assert [e for e in mara.console_errors
            if "status of 422" not in e and "status of 404" not in e] == []

    # The server's rules: an administrator keeps them in /admin.
    ana = people("ana", locale="es-ES", viewport={"width": 390, "height": 844})
    sign_in(ana, password=DEMO_PASSWORD)
    ana.page.goto("/admin")
    section = ana.by("admin-section-word-filters")
    section.get_by_role("heading", name="Filtros de palabras").wait_for()
    word = unique("zzpalabra")
    section.get_by_test_id("server-filter-pattern").fill(word)
    section.get_by_test_id("server-filter-action").select_option("hold")
    section.get_by_test_id("server-filter-add").click()
    server_rule = section.get_by_test_id("server-filter").filter(has_text=word)
    server_rule.filter(has_text="Retener para revisión").wait_for()
    assert ana.page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    server_rule.get_by_test_id("server-filter-remove").click()
    server_rule.wait_for(state="detached")
    assert ana.console_errors == []
