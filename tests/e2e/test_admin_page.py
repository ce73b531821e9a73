"""The administration page in Chromium through the gateway: an invitation signs a new
person up while open sign-up is off, an administrator deactivates a user from the page, a
bot, its token, a server-wide mute and an outgoing webhook are made and undone there, and
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


def _pick(section: Any, testid: str, name: str) -> None:
    """Find `name` in a section's picker and pick it."""
    section.get_by_test_id(f"{testid}-query").fill(name)
    section.get_by_test_id(f"{testid}-find").click()
    section.get_by_test_id(f"{testid}-match").filter(has_text=name).click()
    section.get_by_test_id(f"{testid}-picked").filter(has_text=name).wait_for()


def test_bots_mutes_and_outgoing_webhooks_from_the_page(
        people: Callable[..., Person], system: RunningSystem, ana_token: str) -> None:
    name, room_name = unique("mutee"), unique("hookroom")
    with httpx.Client(base_url=system.url, timeout=10) as http:
        made = http.post("/api/auth/register", json={"username": name, "password": PASSWORD})
        assert made.status_code == 201, made.text
        room = http.post("/api/chat/rooms", json={"name": room_name},
                         headers={"Authorization": f"Bearer {ana_token}"})
        assert room.status_code == 201, room.text
    ana = people("ana")
    sign_in(ana, password=DEMO_PASSWORD)
    _admin_page(ana)

    # A bot, a token to post in the room (shown once), listed, then revoked.
    bots = ana.by("admin-section-bots")
    bot_name, token_name = unique("bot"), unique("deploy")
    bots.get_by_test_id("bot-username").fill(bot_name)
    bots.get_by_test_id("bot-create").click()
    bot = bots.get_by_test_id(f"bot-{bot_name}")
    bot.get_by_test_id("bot-tokens-toggle").click()
    bot.get_by_test_id("bot-token-name").fill(token_name)
    _pick(bot, "bot-token-room", room_name)
    bot.get_by_test_id("bot-token-create").click()
    secret = bot.get_by_test_id("bot-token-secret")
    secret.wait_for()
    token = secret.input_value()
    assert token.startswith("tb_")
    listed = bot.get_by_test_id(f"bot-token-{token_name}")
    listed.filter(has_text=f"post:{room.json()['id']}").wait_for()
    listed.get_by_test_id("bot-token-revoke").click()
    listed.filter(has_text="revoked").wait_for()
    refused = httpx.post(f"{system.url}/api/chat/rooms/{room.json()['id']}/messages",
                         json={"content": "hi"}, headers={"Authorization": f"Bearer {token}"},
                         timeout=10)
    assert refused.status_code == 401, refused.text

    # A server-wide mute of a user found by name, listed, then lifted.
    sanctions = ana.by("admin-section-sanctions")
    _pick(sanctions, "sanction-user", name)
    sanctions.get_by_test_id("sanction-reason").fill("spam")
    sanctions.get_by_test_id("sanction-add").click()
    muted = sanctions.get_by_test_id("sanction-list-mute").get_by_test_id(f"sanction-{name}")
    muted.filter(has_text="spam").wait_for()
    muted.get_by_test_id("sanction-lift").click()
    muted.wait_for(state="detached")
    ana.by("admin-status").filter(has_text="may post again").wait_for()

    # An outgoing webhook for the room (its secret shown once, its status listed), deleted.
    hooks = ana.by("admin-section-webhooks")
    hooks.get_by_test_id("webhook-url").fill("http://127.0.0.1:9/")
    _pick(hooks, "webhook-room", room_name)
    assert hooks.get_by_test_id("webhook-event-message.created").is_checked()
    hooks.get_by_test_id("webhook-create").click()
    assert hooks.get_by_test_id("webhook-secret").input_value() != ""
    hook = hooks.get_by_test_id("webhook-list").locator("li").filter(
        has_text="http://127.0.0.1:9/")
    hook.filter(has_text="0 given up").wait_for()
    hook.get_by_test_id("webhook-delete").click()
    hook.wait_for(state="detached")
    assert ana.console_errors == []


def test_the_page_fits_a_phone_and_is_for_administrators_only(
        people: Callable[..., Person], system: RunningSystem, ana_token: str) -> None:
    # A bot, so that its tokens panel (the widest of the forms) can be opened.
    bot = httpx.post(f"{system.url}/api/admin/bots", json={"username": unique("phonebot")},
                     headers={"Authorization": f"Bearer {ana_token}"}, timeout=10)
    assert bot.status_code == 201, bot.text
    ana = people("ana", viewport={"width": 360, "height": 740})
    sign_in(ana, password=DEMO_PASSWORD)
    page = _admin_page(ana)
    ana.by("admin-section-users").locator("li").first.wait_for()
    ana.by("admin-section-rooms").locator("li").first.wait_for()
    # The later sections too: their forms (pickers, checkboxes) and lists, loaded.
    for section in ("sanctions", "bots", "webhooks"):
        ana.by(f"admin-section-{section}").locator("li").first.wait_for()
    ana.by("webhook-event-message.created").wait_for()
    bots = ana.by("admin-section-bots")
    bots.get_by_test_id("bot-tokens-toggle").first.click()
    bots.get_by_test_id("bot-token-create").wait_for()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360

    nobody = people(unique("plain"), viewport={"width": 360, "height": 740})
    sign_up(nobody)
    nobody.page.goto("/admin")
    nobody.by("admin-denied").filter(has_text="Administrators only").wait_for()
    assert nobody.page.evaluate("document.scrollingElement.scrollWidth") <= 360
    assert ana.console_errors == [] and nobody.console_errors == []
