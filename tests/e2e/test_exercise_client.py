"""The original exercise's client (`chat.html`, `js/chat.js`) against our chat service.

The files in `seed_client/` are the exercise's, byte for byte; the only change, made here
when they are served, is its hard-coded `ws://localhost:8000` address.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.chat_page import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    Person,
    create_room,
    messages,
    open_room,
    send,
    sign_up,
    unique,
)
from tests.support.system import RunningSystem

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SEED_CLIENT = Path(__file__).parent / "seed_client"
SEED_TEXT = Path(__file__).resolve().parents[3] / "shared" / "seed"
HARD_CODED = "ws://localhost:8000"


def _serve_exercise_client(page: Any, system: RunningSystem) -> None:
    html = (SEED_CLIENT / "chat.html").read_text()
    script = (SEED_CLIENT / "chat.js").read_text()
    assert script.count(HARD_CODED) == 1
    script = script.replace(HARD_CODED, system.url.replace("http://", "ws://"))
    # Same origin as the gateway: its fetch('/api/chat/rooms') reaches the real service.
    page.route(f"{system.url}/exercise/chat.html",
               lambda route: route.fulfill(body=html, content_type="text/html"))
    page.route(f"{system.url}/static/js/chat.js",
               lambda route: route.fulfill(body=script, content_type="text/javascript"))


@pytest.fixture(scope="module")
def exercise_browser(playwright_driver: Any) -> Iterator[Any]:
    """A browser of its own: a document fulfilled by the test has no network address, so
    Chromium's Local Network Access checks would count it as public and refuse its socket to
    127.0.0.1. A real deployment serves the file from a server; here the check is relaxed."""
    chromium = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[*CHROMIUM_ARGS, "--disable-features=LocalNetworkAccessChecks"])
    yield chromium
    chromium.close()


def test_the_exercise_client_chats_with_our_page(
        people: Callable[..., Person], exercise_browser: Any, system: RunningSystem) -> None:
    alice = people(unique("alice"))
    sign_up(alice)
    name = unique("ejercicio")
    create_room(alice, name)
    open_room(alice, name)

    dora = unique("dora")
    httpx.post(f"{system.url}/api/auth/register",
               json={"username": dora, "password": PASSWORD}).raise_for_status()
    token = httpx.post(f"{system.url}/api/auth/token",
                       data={"username": dora, "password": PASSWORD}).json()["access_token"]
    context = exercise_browser.new_context(base_url=system.url)
    try:
        # The exercise's client reads its token from localStorage and sends it as ?token=.
        context.add_init_script(f"localStorage.setItem('access_token', {token!r})")
        page = context.new_page()
        page.set_default_timeout(15_000)
        _serve_exercise_client(page, system)
        page.goto("/exercise/chat.html")
        page.locator(".room-item", has_text=name).click()
        page.locator("#connectionStatus.status-connected", has_text="Conectado").wait_for()

        page.locator("#messageInput").fill("Hola mundo!")
        page.locator("#sendButton").click()
        messages(alice, "Hola mundo!").wait_for()
        assert messages(alice, "Hola mundo!").get_attribute("data-author") == dora

        send(alice, "¡Hola Dora!")
        page.locator(".message", has_text="¡Hola Dora!").wait_for()
        assert alice.username in page.locator(".message", has_text="¡Hola Dora!").inner_text()

        alice.by("composer").press_sequentially("pensando", delay=20)
        page.locator("#typingIndicator", has_text=f"{alice.username} está escribiendo").wait_for()
    finally:
        context.close()


def test_the_kept_copy_is_the_exercise_unchanged() -> None:
    if not SEED_TEXT.is_dir():
        pytest.skip(f"the exercise text is not beside this checkout ({SEED_TEXT})")
    text = "\n".join(p.read_text() for p in sorted(SEED_TEXT.glob("*.txt")))
    for name in ("chat.html", "chat.js"):
        assert (SEED_CLIENT / name).read_text() in text
