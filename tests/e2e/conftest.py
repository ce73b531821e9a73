"""Browser tests: the system as `make up` starts it (gateway included), driven in Chromium."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.chat_page import CHROMIUM, CHROMIUM_ARGS, Person
from tests.support.system import RunningSystem


def _require_browser() -> None:
    """Skip without Chromium or Playwright, except under CI where that is a failure."""
    problems = []
    if not CHROMIUM.is_file():
        problems.append(f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("Playwright for Python is not installed (pip install -e '.[dev]')")
    if problems:
        if os.environ.get("CI") == "true":
            pytest.fail("; ".join(problems))
        pytest.skip("; ".join(problems))


@pytest.fixture(scope="package")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """Two chat replicas behind the gateway, with the demo data (ana is an administrator)."""
    _require_browser()
    # Every browser test signs people up from 127.0.0.1 on this one system: more than the
    # 50 an hour a single address may by default (the later tests' sign-ups were refused).
    running = RunningSystem(tmp_path_factory.mktemp("e2e") / "data",
                            args=["--chat-replicas", "2", "--demo"],
                            env={"CHAT_SIGNUP_LIMIT_PER_ADDRESS": "1000/hour",
                                 # The administration page's test makes an outgoing webhook
                                 # to http://127.0.0.1:9/: loopback is refused (SSRF) unless
                                 # allowed; this allows that one address, nothing wider.
                                 "NOTIFICATIONS_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.1/32"]'})
    with running:
        running.wait_for_line("Demo data added", 30)
        yield running


@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Any]:
    """One Playwright for the browser tests: its sync API allows only one per thread, and
    while it runs it holds an event loop, so it must end before other tiers' tests run."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="package")
def browser(playwright_driver: Any) -> Iterator[Any]:
    chromium = playwright_driver.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def people(browser: Any, system: RunningSystem) -> Iterator[Callable[..., Person]]:
    """`people("alice")` opens a new browser context on the chat page, not signed in yet."""
    opened: list[Person] = []

    def open_page(username: str, *, locale: str = "en-US",
                  viewport: dict[str, int] | None = None) -> Person:
        context = browser.new_context(
            base_url=system.url, locale=locale, permissions=["notifications"],
            viewport=viewport or {"width": 1280, "height": 800})
        page = context.new_page()
        page.set_default_timeout(15_000)
        person = Person(username, page, context)
        page.on("console", lambda m: m.type == "error" and person.console_errors.append(m.text))
        page.on("dialog", lambda d: (person.dialogs.append(d.message), d.dismiss()))
        page.goto("/")
        opened.append(person)
        return person

    yield open_page
    for person in opened:
        person.context.close()
