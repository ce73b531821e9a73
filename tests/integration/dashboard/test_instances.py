"""Two dashboard instances on one database and one NATS server, fed by a real chat replica:
the same numbers on both, a stream resumed on the other, broadcasts' receipts on both, and
one killed with SIGKILL while the other keeps serving."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.launcher import NatsServerProcess, free_port
from tests.integration.chat.harness import Client, chat_settings, receive, replicas, sign_up
from tests.integration.dashboard.harness import (
    DashboardServer,
    Keys,
    SseStream,
    dashboard_settings,
    eventually,
    running,
    sse,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[3]


async def stats(base_url: str, keys: Keys) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, headers=keys.headers(), timeout=10) as c:
        response = await c.get("/api/dashboard/stats")
        assert response.status_code == 200, response.text
        return response.json()


async def persisted(alice: Client, room_id: int) -> int:
    """Messages in the room as chat's database has them."""
    response = await alice.http.get(f"/api/chat/rooms/{room_id}/messages",
                                    params={"limit": 100})
    assert response.status_code == 200, response.text
    body = response.json()
    return len(body["messages"] if isinstance(body, dict) else body)


async def post(alice: Client, room_id: int, n: int) -> None:
    for i in range(n):
        assert (await alice.post(room_id, f"mensaje {i}")).status_code == 201


async def both_show(urls: list[str], keys: Keys, messages: int) -> bool:
    shown = [(await stats(url, keys))["messages_24h"] for url in urls]
    return shown == [messages] * len(urls)


async def test_two_instances_show_the_same_numbers_and_resume_each_others_streams(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    keys = Keys.generate()
    chat = chat_settings(tmp_path / "chat", nats_server.url, signing_key_pem=keys.private_pem)
    shared_dir = tmp_path / "dashboard"  # one database for both
    async with replicas([chat]) as (replica,), \
            running(dashboard_settings(shared_dir, nats_server.url, keys,
                                       instance_id="dash-a")) as a, \
            running(dashboard_settings(shared_dir, nats_server.url, keys,
                                       instance_id="dash-b")) as b:
        alice = await sign_up(replica)
        room = await alice.create_room()
        await post(alice, room["id"], 3)
        await eventually(lambda: both_show([a.url, b.url], keys, 3))
        assert await persisted(alice, room["id"]) == 3
        sa, sb = await stats(a.url, keys), await stats(b.url, keys)
        for key in ("messages_24h", "active_rooms", "users", "presence"):
            assert sa[key] == sb[key], key

        # A client reads instance A ...
        async with sse(a, keys.headers()) as stream:
            first = await stream.next()
            assert first.type == "initial_data"
            assert first.body["messages"]["messages_24h"] == 3
            await post(alice, room["id"], 2)
            seen = await stream.until(lambda e: e.type == "message_stats"
                                      and e.body["messages_24h"] == 5)
        last_id = seen[-1].id
        assert last_id is not None
        # ... is cut off; four messages meanwhile; it comes back on instance B.
        await post(alice, room["id"], 4)
        await eventually(lambda: both_show([b.url], keys, 9))
        headers = {**keys.headers(), "Last-Event-ID": last_id}
        async with sse(b, headers) as resumed:
            got = await resumed.until(lambda e: e.type == "message_stats")
            got += await resumed.quiet_for(0.5)
            assert "initial_data" not in [e.type for e in got]  # no state from before
            stats_deltas = [e for e in got if e.type == "message_stats"]
            # Exactly what it missed: four new messages, no more, no fewer.
            assert sum(r["new_message_count"] for e in stats_deltas
                       for r in e.body["rooms"] if r["room_id"] == room["id"]) == 4
            assert stats_deltas[-1].body["messages_24h"] == 9
            # Then B's live deltas.
            await post(alice, room["id"], 1)
            after = await resumed.until(lambda e: e.type == "message_stats"
                                        and e.body["messages_24h"] == 10)
            assert after[-1].id is not None
        # And from B back to A: B's id means the same there.
        headers = {**keys.headers(), "Last-Event-ID": after[-1].id}
        await post(alice, room["id"], 2)
        async with sse(a, headers) as back:
            # The two may come as one delta or as two: up to the count after both.
            got = await back.until(lambda e: e.type == "message_stats"
                                   and e.body["messages_24h"] == 12)
            assert got[0].type != "initial_data"
            assert sum(r["new_message_count"] for e in got if e.type == "message_stats"
                       for r in e.body["rooms"] if r["room_id"] == room["id"]) == 2
        assert await persisted(alice, room["id"]) == 12
        await eventually(lambda: both_show([a.url, b.url], keys, 12))


async def test_a_broadcast_sent_through_one_instance_shows_its_receipts_on_the_other(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    keys = Keys.generate()
    chat = chat_settings(tmp_path / "chat", nats_server.url, signing_key_pem=keys.private_pem)
    shared_dir = tmp_path / "dashboard"
    async with replicas([chat]) as (replica,), \
            running(dashboard_settings(shared_dir, nats_server.url, keys,
                                       instance_id="dash-a")) as a, \
            running(dashboard_settings(shared_dir, nats_server.url, keys,
                                       instance_id="dash-b")) as b:
        alice = await sign_up(replica)
        async with alice.socket() as ws, sse(b, keys.headers()) as on_b:
            await receive(ws, "hello")
            await eventually(lambda: _sockets(b, keys, 1))
            await eventually(lambda: _sockets(a, keys, 1))
            async with a.client(keys.headers(99)) as admin:
                response = await admin.post("/api/dashboard/broadcast",
                                            json={"content": "Corte a las 22:00"})
            assert response.status_code == 200, response.text
            sent = response.json()
            assert (sent["sent_to"], sent["replicas"]) == (1, 1)
            await receive(ws, "admin_broadcast")
            # B, which did not send it, reports the same delivery.
            reported = (await on_b.until(lambda e: e.type == "broadcast"
                                         and e.body["sent_to"] == 1))[-1]
            assert reported.body["broadcast_id"] == sent["broadcast_id"]
            assert (reported.body["replicas"], reported.body["expected_replicas"]) == (1, 1)
        # And a new client of B sees it in its snapshot.
        async with sse(b, keys.headers()) as fresh:
            snapshot = await fresh.next()
            (shown,) = [x for x in snapshot.body["broadcasts"]
                        if x["broadcast_id"] == sent["broadcast_id"]]
            assert shown["sent_to"] == 1


async def _sockets(server: DashboardServer, keys: Keys, n: int) -> bool:
    return (await stats(server.url, keys))["connections"]["total"] == n


@contextlib.asynccontextmanager
async def dashboard_process(data_dir: Path, nats_url: str, keys: Keys,
                            instance_id: str) -> AsyncIterator[tuple[str, Any]]:
    """`tertulia serve dashboard` in a process of its own (stopped by its PID)."""
    port = free_port()
    env = {**os.environ, "DASHBOARD_NATS_URL": nats_url, "DASHBOARD_DATA_DIR": str(data_dir),
           "DASHBOARD_JWT_PUBLIC_KEY_PEM": keys.public_pem, "DASHBOARD_LOG_LEVEL": "WARNING",
           "DASHBOARD_INSTANCE_ID": instance_id, "DASHBOARD_DELTA_INTERVAL_SECS": "0.05",
           "PYTHONPATH": str(REPO)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", "serve", "dashboard", "--host", "127.0.0.1",
        "--port", str(port), env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/readyz")).status_code == 200:
                        break
                assert process.returncode is None, "the dashboard exited"
                assert time.monotonic() < deadline, "the dashboard did not become ready"
                await asyncio.sleep(0.1)
        yield base, process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_sigkill_of_one_instance_the_other_serves_and_the_restarted_one_catches_up(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    keys = Keys.generate()
    chat = chat_settings(tmp_path / "chat", nats_server.url, signing_key_pem=keys.private_pem)
    shared_dir = tmp_path / "dashboard"
    async with replicas([chat]) as (replica,):
        alice = await sign_up(replica)
        room = await alice.create_room()
        async with dashboard_process(shared_dir, nats_server.url, keys, "dash-a") as (a, pa), \
                dashboard_process(shared_dir, nats_server.url, keys, "dash-b") as (b, _):
            await post(alice, room["id"], 5)
            await eventually(lambda: both_show([a, b], keys, 5))
            async with httpx.AsyncClient(base_url=b, headers=keys.headers(), timeout=30) as c, \
                    c.stream("GET", "/api/dashboard/stream") as response:
                on_b = SseStream(response)
                try:
                    assert (await on_b.next()).type == "initial_data"
                    pa.send_signal(signal.SIGKILL)
                    await pa.wait()
                    # Mid-stream the other instance goes on counting, with the right numbers.
                    await post(alice, room["id"], 6)
                    await on_b.until(lambda e: e.type == "message_stats"
                                     and e.body["messages_24h"] == 11)
                finally:
                    await on_b.close()
            assert (await stats(b, keys))["messages_24h"] == 11
            # The killed one, started again on the same database, catches up.
            async with dashboard_process(shared_dir, nats_server.url, keys,
                                         "dash-a") as (again, _):
                await post(alice, room["id"], 1)
                await eventually(lambda: both_show([again, b], keys, 12))
                assert await persisted(alice, room["id"]) == 12
