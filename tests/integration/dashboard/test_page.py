"""The operators' page in Chromium against a live dashboard fed over real NATS: the numbers
it shows are the dashboard's, it signs in with the session cookie only, and a broadcast sent
from it is listed and logged. Skipped without Chromium and Playwright (a failure under CI)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from services.launcher import NatsServerProcess
from shared.auth import SESSION_COOKIE
from shared.contracts import LIVE_CONNECTIONS
from tests.e2e.chat_page import CHROMIUM, CHROMIUM_ARGS
from tests.integration.dashboard import events as ev
from tests.integration.dashboard.harness import (
    DashboardServer,
    Keys,
    dashboard_settings,
    eventually,
    feeder,
    live,
    publish,
    running,
)

pytestmark = pytest.mark.integration


def _require_browser() -> None:
    problems = []
    if not CHROMIUM.is_file():
        problems.append(f"no Chromium at {CHROMIUM}")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        problems.append("Playwright for Python is not installed")
    if problems:
        if os.environ.get("CI") == "true":
            pytest.fail("; ".join(problems))
        pytest.skip("; ".join(problems))


@asynccontextmanager
async def page_signed_in(server: DashboardServer, token: str) -> AsyncIterator[Any]:
    """The dashboard page in Chromium with a session cookie, as the chat's sign-in leaves it."""
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=str(CHROMIUM),
                                               args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(base_url=server.url, locale="en-US")
            await context.add_cookies([{"name": SESSION_COOKIE, "value": token,
                                        "url": server.url, "httpOnly": True}])
            await context.add_init_script(
                "localStorage.setItem('tertulia.signedIn', '1')")
            page = await context.new_page()
            page.set_default_timeout(15_000)
            await page.goto("/dashboard")
            yield page
        finally:
            await browser.close()


async def _text(page: Any, selector: str) -> str:
    return " ".join((await page.locator(selector).inner_text()).split())


async def test_the_page_shows_the_live_numbers_and_sends_broadcasts(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    _require_browser()
    keys = Keys.generate()
    # The fake replica never sends a heartbeat: its sockets must not expire while the
    # browser starts.
    settings = dashboard_settings(tmp_path, nats_server.url, keys, chat_heartbeat_secs=60.0)
    async with running(settings) as server, feeder(nats_server.url) as bus:
        await publish(bus, ev.room(1, "general"), ev.user(1), ev.user(2),
                      *(ev.message(1) for _ in range(3)), ev.presence(1, "online", "offline"))
        slow = ev.closed("chat-x", "c2", 2).model_copy(update={"code": 1013,
                                                              "slow_consumer": True})
        await live(bus, LIVE_CONNECTIONS, ev.opened("chat-x", "c1", 1, [1]),
                   ev.opened("chat-x", "c2", 2, [1]), slow)

        async def counted() -> bool:
            async with server.client(keys.headers()) as client:
                stats = (await client.get("/api/dashboard/stats")).json()
            return stats["messages_24h"] == 3 and stats["connections"]["total"] == 1 \
                and stats["connections"]["slow_consumers_1h"]["total"] == 1

        await eventually(counted)

        async with page_signed_in(server, keys.token()) as page:
            await page.locator('#link[data-state="live"]').wait_for()
            await page.wait_for_function(
                "() => document.querySelector('#k-day').innerText === '3'"
                " && document.querySelector('#k-sockets').innerText === '1'")
            assert await page.locator("#auth").is_hidden()
            assert (await _text(page, "#k-users"), await _text(page, "#k-rooms"),
                    await _text(page, "#k-new-users")) == ("1", "1", "2")
            assert (await _text(page, "#top-rooms")).split() == ["general", "3"]
            assert (await _text(page, "#rooms-people")).split() == ["general", "1", "1", "3"]
            # Sockets, and sockets closed as slow consumers in the last hour.
            assert (await _text(page, "#replicas")).split() == ["chat-x", "1", "1"]
            assert "online 1" in await _text(page, "#presence-legend")
            services = await _text(page, "#services")
            assert "dashboard" in services and "up" in services

            await page.locator("#broadcast-text").fill("Hola desde la página")
            await page.locator("#broadcast-send").click()
            # No chat replica answers in this test: nobody confirmed, said plainly.
            result = page.locator("#broadcast-result.result-ok")
            await result.wait_for()
            assert (await result.inner_text()).startswith("Sent. No chat replica confirmed")
            await page.locator("#broadcasts li", has_text="Hola desde la página").wait_for()
            await page.locator("#activity li", has_text="Hola desde la página").wait_for()

        # Someone who is not an administrator sees the sign-in card, not data.
        async with page_signed_in(server, keys.token(5, admin=False)) as page:
            await page.locator('#link[data-state="forbidden"]').wait_for()
            assert await page.locator("#auth").is_visible()
            assert "not an administrator" in await _text(page, "#auth-reason")
            assert await _text(page, "#k-day") == "\u2013"  # never filled in
