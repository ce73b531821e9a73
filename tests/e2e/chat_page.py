"""The chat page as the browser tests drive it: people, sign-in, rooms, messages (by test id)."""

from __future__ import annotations

import itertools
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.system import RunningSystem

CHROMIUM = Path(os.environ.get("TEST_CHROMIUM", "/usr/bin/chromium"))
# Without the networking flags Chromium keeps calling Google's hosts, which this closed
# network refuses many times a second.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "e2e-password-1"
DEMO_PASSWORD = "tertulia-demo"
# `TERTULIA_SCREENSHOTS=docs/screenshots make test-e2e` refreshes the README's pictures.
SCREENSHOTS = Path(os.environ.get("TERTULIA_SCREENSHOTS", tempfile.gettempdir())).resolve()

_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}{secrets.token_hex(2)}"


@dataclass
class Person:
    """One user in a browser context of their own (their own cookies)."""

    username: str
    page: Any
    context: Any
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def by(self, testid: str) -> Any:
        return self.page.get_by_test_id(testid)



def sign_up(person: Person, password: str = PASSWORD) -> None:
    _authenticate(person, password, "auth-sign-up")


def sign_in(person: Person, password: str = PASSWORD) -> None:
    _authenticate(person, password, "auth-sign-in")


def _authenticate(person: Person, password: str, button: str) -> None:
    person.by("auth-username").fill(person.username)
    person.by("auth-password").fill(password)
    person.by(button).click()
    person.by("current-user").filter(has_text=person.username).wait_for()
    wait_connected(person)


def wait_connected(person: Person) -> None:
    person.page.locator('[data-testid="connection-status"][data-state="connected"]').wait_for()


def room(person: Person, name: str) -> Any:
    return person.page.locator(f'[data-testid="room-item"][data-room-name="{name}"]')


def create_room(person: Person, name: str, *, private: bool = False) -> int:
    person.by("new-room-button").click()
    person.by("new-room-name").fill(name)
    if private:
        person.by("new-room-private").check()
    person.by("new-room-submit").click()
    item = room(person, name)
    item.wait_for()
    return int(item.get_attribute("data-room-id"))


def open_room(person: Person, name: str) -> None:
    room(person, name).click()
    person.by("room-title").filter(has_text=name).wait_for()


def send(person: Person, text: str) -> None:
    person.by("composer").fill(text)
    person.by("send").click()


def messages(person: Person, text: str | None = None) -> Any:
    found = person.page.locator('[data-testid="messages"] [data-testid="message"]')
    return found.filter(has_text=text) if text is not None else found


def api_token(system: RunningSystem, username: str, password: str = PASSWORD) -> str:
    response = httpx.post(f"{system.url}/api/auth/token",
                          data={"username": username, "password": password}, timeout=10)
    response.raise_for_status()
    return str(response.json()["access_token"])
