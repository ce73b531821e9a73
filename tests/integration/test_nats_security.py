"""The whole system as `tertulia up` runs it: every service under its own restricted NATS
user still does its whole job, and what a user may not do is refused by the server."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.errors
import pytest

from shared.contracts import EVENTS_STREAM
from tests.support.scenario import Urls, exercise
from tests.support.system import RunningSystem

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_NATS_URL = re.compile(r"\bnats pid=\d+ url=(nats://\S+)")


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with RunningSystem(tmp_path_factory.mktemp("secure") / "data") as running:
        yield running


def _nats_url(system: RunningSystem) -> str:
    match = _NATS_URL.search(system.output())
    assert match, system.output()[-3000:]
    return match.group(1)


def _passwords(system: RunningSystem) -> dict[str, str]:
    return dict(json.loads((system.data_dir / "nats-passwords.json").read_text()))


async def test_each_service_does_its_whole_job_under_its_own_user(
        system: RunningSystem) -> None:
    gateway = system.url
    seen = await exercise(Urls(gateway, gateway, gateway, gateway))
    assert seen.message_seq > 0
    assert any(n["reason"] == "mention" for n in seen.notifications), seen.notifications
    assert seen.presence["status"] == "busy"
    assert seen.broadcast["replicas"] >= 1  # chat answered the dashboard's broadcast
    # Nothing any service did was refused: nats-server logs each violation.
    assert "Violation" not in system.output(), [
        line for line in system.output().splitlines() if "Violation" in line]


async def test_a_service_user_cannot_publish_what_is_not_its_own(
        system: RunningSystem) -> None:
    url, passwords = _nats_url(system), _passwords(system)
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    presence = await nats.connect(url, user="presence", password=passwords["presence"],
                                  error_cb=on_error, inbox_prefix="_INBOX.presence")
    chat = await nats.connect(url, user="chat", password=passwords["chat"],
                              error_cb=on_error, inbox_prefix="_INBOX.chat")
    admin = await nats.connect(url, user="admin", password=passwords["admin"])
    try:
        await presence.publish("events.chat.message.created", b"{}")
        await presence.flush()
        with pytest.raises(nats.errors.TimeoutError):
            # The stream is not deleted: the server drops the request, no answer comes.
            await chat.jetstream(timeout=2).delete_stream(EVENTS_STREAM)
        for _ in range(50):
            if len(errors) >= 2:
                break
            await asyncio.sleep(0.1)
        text = " ".join(str(e) for e in errors).lower()
        assert 'permissions violation for publish to "events.chat.message.created"' in text
        assert 'permissions violation for publish to "$js.api.stream.delete.events"' in text
        # The server logs each one too (what the first test looks for in the console).
        system.wait_for_line("Publish Violation", 10)
        # A wrong password is refused outright.
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await nats.connect(url, user="chat", password="guess", allow_reconnect=False,
                               max_reconnect_attempts=0, connect_timeout=2)
        info = await admin.jetstream().stream_info(EVENTS_STREAM)
        assert info.state.messages > 0
    finally:
        for client in (presence, chat, admin):
            await client.close()


def test_passwords_are_kept_private_and_never_printed(system: RunningSystem) -> None:
    path: Path = system.data_dir / "nats-passwords.json"
    assert path.stat().st_mode & 0o777 == 0o600
    output = system.output()
    for password in _passwords(system).values():
        assert password not in output
