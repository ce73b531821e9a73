"""A dashboard restart keeps the last 24 hours: counters come from its own database and the
durable consumer goes on from where it was, so nothing is lost or counted twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from services.launcher import NatsServerProcess
from tests.integration.dashboard import events as ev
from tests.integration.dashboard.harness import (
    DashboardServer,
    Keys,
    dashboard_settings,
    eventually,
    feeder,
    now,
    publish,
    running,
)

pytestmark = pytest.mark.integration

DAY_NUMBERS = ("messages_24h", "active_rooms", "presence", "users", "notifications")


async def stats(server: DashboardServer, keys: Keys) -> dict[str, Any]:
    async with server.client(keys.headers()) as client:
        response = await client.get("/dashboard/stats")  # the exercise's path
        assert response.status_code == 200, response.text
        return response.json()


def day_numbers(s: dict[str, Any]) -> dict[str, Any]:
    return {key: s[key] for key in DAY_NUMBERS}


async def test_after_a_restart_the_24_hour_numbers_are_unchanged(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    keys = Keys.generate()
    settings = dashboard_settings(tmp_path, nats_server.url, keys)
    async with feeder(nats_server.url) as bus:
        async with running(settings) as server:
            await publish(bus, ev.room(1, "general"), ev.room(2, "random"),
                          ev.user(1, "ana"), ev.user(2, "bea"),
                          *(ev.message(1) for _ in range(5)),
                          *(ev.message(2, at=now() - timedelta(hours=3)) for _ in range(2)),
                          ev.presence(1, "online", "offline"), ev.presence(2, "away", "online"),
                          ev.notification(2, "mention"))
            before = await eventually(lambda: _counted(server, keys, messages=7, users=2))
            expected = day_numbers(before)
            assert expected["active_rooms"] == [
                {"id": 1, "name": "general", "message_count": 5},
                {"id": 2, "name": "random", "message_count": 2}]
            assert expected["presence"] == {"online": 1, "away": 1, "busy": 0, "offline": 0}

        async with running(settings) as restarted:
            # Straight from the database, before anything new arrives.
            assert day_numbers(await stats(restarted, keys)) == expected
            services = {s["instance_id"] for s in (await stats(restarted, keys))["services"]}
            assert settings.instance_id in services  # the earlier run, remembered

        # Events published while the dashboard is down are counted once it is back, and
        # only those: the consumer resumes, it does not start over.
        await publish(bus, ev.message(2), ev.message(2), ev.user(3, "cris"))
        async with running(settings) as again:
            after = await eventually(lambda: _counted(again, keys, messages=9, users=3))
            assert after["active_rooms"] == [
                {"id": 1, "name": "general", "message_count": 5},
                {"id": 2, "name": "random", "message_count": 4}]
            assert after["users"] == {"new_24h": 3, "known": 3}
            assert after["notifications"] == expected["notifications"]


async def _counted(server: DashboardServer, keys: Keys, *, messages: int, users: int) -> Any:
    """The stats once every event published so far is in (the last one of each batch)."""
    s = await stats(server, keys)
    done = s["messages_24h"] == messages and s["users"]["known"] == users and \
        s["notifications"]["sent_24h"] == 1 and s["presence"]["away"] == 1
    return s if done else None
