"""The operators' page as an operator meets it: their language, a phone, the chat's sign-in,
and what a broadcast leaves in the Activity list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.chat_page import (
    DEMO_PASSWORD,
    PASSWORD,
    Person,
    sign_in,
    sign_up,
    unique,
)
from tests.support.system import RunningSystem

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _board(person: Person) -> Any:
    """The dashboard in a new tab of the person's browser (their cookies, their storage)."""
    board = person.context.new_page()
    board.set_default_timeout(15_000)
    board.on("console", lambda m: m.type == "error" and person.console_errors.append(m.text))
    board.goto("/dashboard")
    return board


def _live(board: Any) -> None:
    board.locator("#link.pill-live").wait_for()
    board.wait_for_function("() => /\\d/.test(document.querySelector('#k-day').innerText)")


def test_the_dashboard_speaks_the_browsers_language(people: Callable[..., Person]) -> None:
    ana = people("ana", locale="es-ES")
    sign_in(ana, password=DEMO_PASSWORD)
    board = _board(ana)
    _live(board)
    assert board.evaluate("document.documentElement.lang") == "es"
    assert board.locator("#link").inner_text().strip() == "en directo"
    board.get_by_role("heading", name="Difundir a todos").wait_for()
    board.get_by_role("heading", name="Actividad").wait_for()


def test_the_dashboard_follows_the_language_chosen_on_the_chat_page(
        people: Callable[..., Person]) -> None:
    ana = people("ana", locale="en-US")
    sign_in(ana, password=DEMO_PASSWORD)
    ana.by("lang-switch").select_option("es")
    board = _board(ana)
    _live(board)
    assert board.evaluate("document.documentElement.lang") == "es"
    board.get_by_role("heading", name="Difundir a todos").wait_for()
    # And back, from the dashboard's own switch; the chat page follows on its next load.
    board.get_by_test_id("dashboard-lang").select_option("en")
    board.get_by_role("heading", name="Broadcast to everyone").wait_for()
    ana.page.reload()
    ana.by("connection-status").filter(has_text="Connected").wait_for()


def test_the_dashboard_fits_a_phone(people: Callable[..., Person]) -> None:
    ana = people("ana", viewport={"width": 375, "height": 700})
    sign_in(ana, password=DEMO_PASSWORD)
    board = _board(ana)
    _live(board)
    board.locator("#services tr").first.wait_for()
    assert board.evaluate("document.scrollingElement.scrollWidth") <= 375


def test_a_signed_out_operator_signs_in_on_the_page_without_a_token(
        people: Callable[..., Person], system: RunningSystem) -> None:
    ana = people("ana")
    board = _board(ana)
    form = board.get_by_test_id("dashboard-sign-in")
    form.wait_for()
    assert board.locator("input#token").count() == 0
    assert board.get_by_text("token", exact=False).count() == 0
    board.get_by_test_id("dashboard-username").fill("ana")
    board.get_by_test_id("dashboard-password").fill(DEMO_PASSWORD)
    board.get_by_test_id("dashboard-sign-in-submit").click()
    _live(board)
    assert form.is_hidden()
    # The same session as the chat page: it opens signed in.
    ana.page.reload()
    ana.by("current-user").filter(has_text="ana").wait_for()
    assert ana.console_errors == []


def test_someone_who_is_not_an_administrator_is_told_so(people: Callable[..., Person]) -> None:
    bea = people(unique("bea"))
    sign_up(bea, password=PASSWORD)
    board = _board(bea)
    board.locator('#link[data-state="forbidden"]').wait_for()
    board.get_by_test_id("dashboard-sign-in").wait_for()
    assert board.locator("#k-day").inner_text() == "\u2013"  # nothing shown


def test_a_broadcast_sent_from_the_page_shows_in_the_activity_list(
        people: Callable[..., Person]) -> None:
    ana = people("ana")
    sign_in(ana, password=DEMO_PASSWORD)
    board = _board(ana)
    _live(board)
    text = unique("Reinicio a las 23:00 ")
    board.locator("#broadcast-text").fill(text)
    board.locator("#broadcast-send").click()
    board.locator("#broadcast-result.result-ok").wait_for()
    board.locator("#activity li", has_text=text).wait_for()
    assert board.locator("#activity li", has_text=text).count() == 1
