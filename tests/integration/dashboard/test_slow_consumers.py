"""A socket a chat replica closes for not reading shows on the dashboard, for that replica."""

from __future__ import annotations

from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from services.launcher import NatsServerProcess
from tests.integration.chat.harness import chat_settings, receive, replicas, send, sign_up
from tests.integration.chat.test_slow_consumer import BIG, tiny_receive_buffer_socket
from tests.integration.dashboard.harness import (
    DashboardServer,
    Keys,
    dashboard_settings,
    eventually,
    running,
    sse,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def _connections(server: DashboardServer, keys: Keys) -> dict[str, object]:
    async with server.client(keys.headers()) as client:
        response = await client.get("/api/dashboard/stats")
        response.raise_for_status()
        return dict(response.json()["connections"])


async def test_a_socket_closed_for_being_slow_is_counted_for_its_replica(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    # A NATS of its own: on the session's, the dashboard folds every earlier test's events
    # at start and can miss its 10 s start in a full run.
    nats_url = nats_server.url
    keys = Keys.generate()
    chats = [chat_settings(tmp_path / "chat", nats_url, signing_key_pem=keys.private_pem,
                           ws_send_buffer_bytes=32 * 1024, rate_limit_per_sec=10_000,
                           rate_limit_burst=10_000) for _ in range(2)]
    async with replicas(chats) as (slow_one, other), \
            running(dashboard_settings(tmp_path / "dashboard", nats_url, keys)) as server, \
            sse(server, keys.headers()) as stream:
        alice = await sign_up(slow_one)
        carol = await sign_up(slow_one)
        room = await alice.create_room()
        # max_queue=1 and a tiny receive buffer: a client that stops reading at once.
        slow = await connect(slow_one.ws_url + f"/ws/chat/{room['id']}?token={carol.token}",
                             sock=tiny_receive_buffer_socket(slow_one.port), max_queue=1,
                             max_size=None)
        replica_id = slow_one.settings.replica_id
        await eventually(lambda: slow_one.chat.hub.connections)
        async with alice.socket("/ws") as sender:
            await send(sender, type="join", room_id=room["id"])
            await receive(sender, "joined")
            posted = 0
            metric = slow_one.chat.metrics.slow_consumers_closed
            while metric._value.get() == 0 and posted < 3000:
                for _ in range(50):
                    posted += 1
                    await send(sender, type="chat_message", room_id=room["id"],
                               content=f"{posted} {BIG}")
                for _ in range(50):
                    await receive(sender, "ack")
            assert metric._value.get() == 1, "the chat replica kept the slow socket"

        await stream.until(lambda e: e.type == "connections" and e.body.get(
            "slow_consumers_1h", {}).get("by_replica") == {replica_id: 1}, timeout=30)
        shown = await _connections(server, keys)
        assert shown["slow_consumers_1h"] == {"total": 1, "by_replica": {replica_id: 1}}
        assert other.settings.replica_id not in shown["slow_consumers_1h"]["by_replica"]
        await slow.close()
