"""The administration page in Chromium through the gateway: an invitation signs a new
person up while open sign-up is off, an administrator deactivates a user from the page, and
the page fits a phone (and tells a non-administrator it is not for them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.chat_page import DEMO_PASSWORD, PASSWORD, Person, api_token, sign_in, sign_up, unique
from tests.support.system import RunningSystem

pytestmark = pytest.mark.e2e


def _admin_page(person: Person) -> Any:
    person.page.goto("/admin")
    person.by("admin-section-users").wait_for()
    return person.page


@pytest.fixture
def ana_token(system: RunningSystem) -> Iterator[str]:
    """ana's token; open sign-up is on again afterwards, whatever the test did (the other
    browser tests sign people up on this same system)."""
    token = api_token(system, "ana", DEMO_PASSWORD)
    yield token
    restored = httpx.patch(f"{system.url}/api/admin/settings", json={"open_signup": True},
                           headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert restored.status_code == 200, restored.text


def test_an_invitation_signs_a_new_person_up_while_open_sign_up_is_off(
        people: Callable[..., Person], ana_token: str) -> None:
    ana = people("ana")
    sign_in(ana, password=DEMO_PASSWORD)
    page = _admin_page(ana)
    settings = ana.by("admin-section-settings")
    switch = settings.get_by_test_id("setting-open-signup")
    switch.wait_for()
    page.wait_for_function("document.querySelector('[data-testid=setting-message-max-chars]')"
                           ".value !== ''")
    switch.uncheck()
    settings.get_by_test_id("settings-save").click()
    ana.by("admin-status").filter(has_text="Settings saved").wait_for()

    # Without an invitation, the chat page says sign-up is by invitation.
    stranger = people(unique("stranger"))
    stranger.by("auth-username").fill(stranger.username)
    stranger.by("auth-password").fill(PASSWORD)
    stranger.by("auth-sign-up").click()
    stranger.by("auth-error").filter(has_text="by invitation").wait_for()

    invitations = ana.by("admin-section-invitations")
    invitations.get_by_test_id("invitation-create").click()
    url_box = invitations.get_by_test_id("invitation-url").first
    url_box.wait_for()
    url = url_box.input_value()
    assert "/?invite=inv_" in url

    guest = people(unique("invited"))
    guest.page.goto(url)
    guest.by("auth-form").filter(has_text="You have an invitation").wait_for()
    sign_up(guest)
    # The invitation was spent, and the address no longer carries it.
    assert "invite=" not in guest.page.url
    page.reload()
    ana.by("invitation-list").filter(has_text="1 of 1 used").wait_for()
    assert ana.console_errors == [] and guest.console_errors == []


def test_an_administrator_deactivates_a_user_from_the_page(
        people: Callable[..., Person], system: RunningSystem) -> None:
    name = unique("leaver")
    made = httpx.post(f"{system.url}/api/auth/register",
                      json={"username": name, "password": PASSWORD}, timeout=10)
    assert made.status_code == 201, made.text
    ana = people("ana")
    sign_in(ana, password=DEMO_PASSWORD)
    _admin_page(ana)
    users = ana.by("admin-section-users")
    users.get_by_test_id("users-query").fill(name)
    users.get_by_test_id("users-query").press("Enter")
    row = users.get_by_test_id(f"user-{name}")
    row.get_by_test_id("user-deactivate").click()
    row.filter(has_text="Deactivated").get_by_test_id("user-reactivate").wait_for()
    refused = httpx.post(f"{system.url}/api/auth/login",
                         json={"username": name, "password": PASSWORD}, timeout=10)
    assert (refused.status_code, refused.json()["code"]) == (403, "account_deactivated")
    assert ana.console_errors == []


def test_the_page_fits_a_phone_and_is_for_administrators_only(
        people: Callable[..., Person]) -> None:
    ana = people("ana", viewport={"width": 360, "height": 740})
    sign_in(ana, password=DEMO_PASSWORD)
    page = _admin_page(ana)
    ana.by("admin-section-users").locator("li").first.wait_for()
    ana.by("admin-section-rooms").locator("li").first.wait_for()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360

    nobody = people(unique("plain"), viewport={"width": 360, "height": 740})
    sign_up(nobody)
    nobody.page.goto("/admin")
    nobody.by("admin-denied").filter(has_text="Administrators only").wait_for()
    assert nobody.page.evaluate("document.scrollingElement.scrollWidth") <= 360
    assert ana.console_errors == [] and nobody.console_errors == []
