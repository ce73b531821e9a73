"""The SSE stream on real NATS and SQLite: snapshot and deltas carry the right numbers,
`Last-Event-ID` resumes exactly, keep-alives flow."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path

import pytest

from services.launcher import NatsServerProcess
from shared.bus.nats import NatsEventBus
from shared.contracts import LIVE_CONNECTIONS, LIVE_SERVICE_HEARTBEAT
from tests.integration.dashboard import events as ev
from tests.integration.dashboard.harness import (
    DashboardServer,
    Keys,
    SseEvent,
    dashboard_settings,
    eventually,
    feeder,
    live,
    now,
    publish,
    running,
    sse,
)

pytestmark = pytest.mark.integration

LOBBY, DEV = 10, 11


class FakeInstance:
    """A service instance that beats on `live.service.heartbeat` until stopped."""

    def __init__(self, bus: NatsEventBus, instance_id: str, interval: float) -> None:
        self._bus = bus
        self._beat = ev.heartbeat("notifications", instance_id, interval)
        self._task = asyncio.create_task(self._run(interval))

    async def _run(self, interval: float) -> None:
        while True:
            await live(self._bus, LIVE_SERVICE_HEARTBEAT, self._beat)
            await asyncio.sleep(interval)

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def stats(server: DashboardServer, keys: Keys) -> dict[str, object]:
    async with server.client(keys.headers()) as client:
        response = await client.get("/api/dashboard/stats")
        assert response.status_code == 200, response.text
        return response.json()


async def test_snapshot_and_deltas_carry_the_right_numbers(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    keys = Keys.generate()
    settings = dashboard_settings(tmp_path, nats_server.url, keys, keepalive_secs=0.3)
    async with running(settings) as server, feeder(nats_server.url) as bus:
        notifications = FakeInstance(bus, "notif-1", 0.2)
        await publish(bus, ev.room(LOBBY, "lobby"), ev.room(DEV, "dev"),
                      *(ev.user(u) for u in (101, 102, 103)),
                      *(ev.message(LOBBY) for _ in range(4)),
                      *(ev.message(DEV) for _ in range(2)),
                      ev.message(DEV, at=now() - timedelta(hours=2)),
                      ev.message(DEV, at=now() - timedelta(hours=25)),  # out of the window
                      ev.presence(101, "online", "offline"),
                      ev.presence(102, "online", "offline"),
                      ev.presence(103, "online", "offline"),
                      ev.presence(103, "busy", "online"),
                      ev.notification(101, "message"), ev.notification(102, "mention"))
        await live(bus, LIVE_CONNECTIONS, ev.opened("r1", "c1", 101, [LOBBY]),
                   ev.opened("r1", "c2", 102, [LOBBY]), ev.opened("r2", "c3", 101, [DEV]),
                   ev.opened("r2", "c4", None))
        await eventually(lambda: _settled(server, keys))

        async with sse(server, keys.headers()) as stream:
            first = await stream.next()
            assert first.type == "initial_data" and first.id is not None
            snap = first.body
            assert (snap["websocket_connections"], snap["active_users"],
                    snap["active_rooms"]) == (4, 2, 2)
            assert snap["connections"]["by_replica"] == {"r1": 2, "r2": 2}
            assert snap["connections"]["rooms"] == [
                {"room_id": LOBBY, "name": "lobby", "sockets": 2, "users": 2},
                {"room_id": DEV, "name": "dev", "sockets": 1, "users": 1}]
            messages = snap["messages"]
            assert messages["messages_24h"] == 7
            assert messages["top_rooms"] == [
                {"id": LOBBY, "name": "lobby", "message_count": 4},
                {"id": DEV, "name": "dev", "message_count": 3}]
            assert sum(messages["per_minute"]) == 6  # the 2-hour-old one is not in the chart
            assert snap["presence"] == {"online": 2, "away": 0, "busy": 1, "offline": 0}
            assert snap["users"] == {"new_24h": 3, "known": 3}
            assert snap["notifications"]["sent_24h"] == 2
            services = {s["instance_id"]: s for s in snap["services"]}
            assert services["notif-1"]["status"] == "up"
            assert services["notif-1"]["version"] == "9.9.9"
            assert services[settings.instance_id]["service"] == "dashboard"

            # Deltas, as things happen.
            await publish(bus, *(ev.message(DEV) for _ in range(3)))
            seen = await stream.until(lambda e: e.type == "message_stats"
                                      and e.body["messages_24h"] == 10)
            stats_delta = seen[-1].body
            assert stats_delta["top_rooms"][0] == {"id": DEV, "name": "dev", "message_count": 6}
            (dev,) = [r for r in stats_delta["rooms"] if r["room_id"] == DEV]
            assert dev["count_24h"] == 6

            await live(bus, LIVE_CONNECTIONS, ev.closed("r2", "c3", 101))
            seen += await stream.until(lambda e: e.type == "connections"
                                       and e.body["total"] == 3)
            assert seen[-1].body["by_replica"] == {"r1": 2, "r2": 1}
            assert seen[-1].body["rooms_with_people"] == 1

            await publish(bus, ev.presence(102, "away", "online"))
            seen += await stream.until(lambda e: e.type == "user_presence")
            presence = seen[-1].body
            assert [(u["user_id"], u["status"], u["previous"]) for u in presence["users"]] == [
                (102, "away", "online")]
            assert presence["counts"] == {"online": 1, "away": 1, "busy": 1, "offline": 0}

            # An instance that stops beating shows as down after 3 of its intervals.
            await notifications.stop()
            seen += await stream.until(lambda e: e.type == "service_health" and any(
                i["instance_id"] == "notif-1" for i in e.body["instances"]), timeout=5)
            (down,) = [i for i in seen[-1].body["instances"] if i["instance_id"] == "notif-1"]
            assert down["status"] == "down"

            # Silence: keep-alive comments (every 0.3 s here), and no event without an id.
            seen += await stream.quiet_for(0.8)
            assert "keep-alive" in stream.comments
            assert_ids_increase([first, *seen])


async def _settled(server: DashboardServer, keys: Keys) -> bool:
    s = await stats(server, keys)
    return (s["messages_24h"] == 7 and s["connections"]["total"] == 4  # type: ignore[index]
            and s["notifications"]["sent_24h"] == 2  # type: ignore[index]
            and s["presence"]["busy"] == 1)  # type: ignore[index]


def local(event_id: str | None) -> int:
    """An id's own counter (`<stream position>.<n>`)."""
    assert event_id is not None
    return int(event_id.partition(".")[2])


def assert_ids_increase(events: list[SseEvent]) -> None:
    ids = [local(e.id) for e in events if e.id is not None]
    assert len(ids) == len(events), "every event has an id"
    assert ids == sorted(ids) and len(set(ids[1:])) == len(ids) - 1


async def test_reconnecting_with_last_event_id_gets_exactly_the_missed_deltas(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    keys = Keys.generate()
    settings = dashboard_settings(tmp_path, nats_server.url, keys)
    async with running(settings) as server, feeder(nats_server.url) as bus, \
            sse(server, keys.headers()) as watcher:
        # The watcher never disconnects: it sees every delta there is.
        watched = [await watcher.next()]
        async with sse(server, keys.headers()) as stream:
            seen = [await stream.next()]
            for n in range(1, 4):
                await live(bus, LIVE_CONNECTIONS, ev.opened("r1", f"c{n}", n, [LOBBY]))
                seen += await stream.until(lambda e, n=n: e.type == "connections"
                                           and e.body["total"] == n)
        last_id = seen[-1].id
        assert last_id is not None

        # While it is away: more sockets, a message, a socket closes.
        await live(bus, LIVE_CONNECTIONS, ev.opened("r2", "c4", 4, [DEV]),
                   ev.opened("r2", "c5", 5, [DEV]))
        await publish(bus, ev.message(DEV))
        await live(bus, LIVE_CONNECTIONS, ev.closed("r1", "c1", 1))
        watched += await watcher.until(lambda e: e.type == "connections"
                                       and e.body["total"] == 4)
        if not any(e.type == "message_stats" for e in watched):
            watched += await watcher.until(lambda e: e.type == "message_stats")

        # The exercise's path, resuming: exactly the deltas after that id, in order, and no
        # snapshot. Compared with the watcher, so a delta the clock makes meanwhile (the
        # minute turning) is expected on both sides rather than a surprise.
        headers = {**keys.headers(), "Last-Event-ID": last_id}
        async with sse(server, headers, "/dashboard/stream") as resumed:
            got = await resumed.quiet_for(0.6)  # bounded window: what the replay holds
            watched += await watcher.quiet_for(0.2)
            missed = [e for e in watched if local(e.id) > local(last_id)]
            assert any(e.type == "message_stats" for e in missed)
            assert [(e.id, e.data) for e in got] == [(e.id, e.data) for e in missed]

            # Then live deltas, the same the watcher gets.
            await live(bus, LIVE_CONNECTIONS, ev.closed("r1", "c2", 2))
            after = (await resumed.until(lambda e: e.type == "connections"))[-1]
            seen_by_watcher = (await watcher.until(lambda e: e.type == "connections"))[-1]
            assert after.body["total"] == 3
            assert (after.id, after.data) == (seen_by_watcher.id, seen_by_watcher.data)

        # An id this run never issued (a previous run's) gets a fresh snapshot instead.
        async with sse(server, {**keys.headers(), "Last-Event-ID": "17"}) as fresh:
            snapshot = await fresh.next()
            assert snapshot.type == "initial_data"
            assert snapshot.body["connections"]["total"] == 3
