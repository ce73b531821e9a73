"""An operator broadcast reaches every socket on every chat replica, and says so."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from shared.bus import LiveMessage
from shared.contracts import (
    BroadcastSent,
    CloudEvent,
    NotificationRead,
    NotificationSuppressed,
    spec_for,
)
from tests.integration.chat.harness import chat_settings, receive, replicas, sign_up
from tests.integration.dashboard.harness import (
    DashboardServer,
    Keys,
    dashboard_settings,
    eventually,
    feeder,
    now,
    publish,
    running,
    sse,
)

pytestmark = pytest.mark.integration


async def sockets_by_replica(server: DashboardServer, keys: Keys) -> dict[str, int]:
    async with server.client(keys.headers()) as client:
        return (await client.get("/api/dashboard/stats")).json()["connections"]["by_replica"]


async def test_a_broadcast_reaches_two_sockets_on_two_chat_replicas(
        tmp_path: Path, nats_url: str) -> None:
    keys = Keys.generate()
    chats = [chat_settings(tmp_path / "chat", nats_url, signing_key_pem=keys.private_pem)
             for _ in range(2)]
    settings = dashboard_settings(tmp_path / "dashboard", nats_url, keys)
    async with replicas(chats) as (a, b), running(settings) as server, \
            feeder(nats_url) as bus:
        durable: list[CloudEvent] = []

        async def on_sent(msg: LiveMessage) -> None:
            durable.append(CloudEvent.from_bytes(msg.data))

        await bus.subscribe(spec_for(BroadcastSent).subject, on_sent)
        alice = await sign_up(a)
        bob = await sign_up(b)
        async with alice.socket() as ws_alice, bob.socket() as ws_bob, \
                sse(server, keys.headers()) as stream:
            await receive(ws_alice, "hello")
            await receive(ws_bob, "hello")
            ids = {a.settings.replica_id, b.settings.replica_id}
            await eventually(lambda: _one_socket_each(server, keys, ids))

            async with server.client(keys.headers(99)) as admin:
                response = await admin.post("/api/dashboard/broadcast",
                                            json={"content": "Mantenimiento a las 22:00"})
            assert response.status_code == 200, response.text
            result = response.json()
            assert result | {"broadcast_id": None, "sent_at": None} == {
                "message": "Broadcast sent", "broadcast_id": None, "sent_at": None,
                "content": "Mantenimiento a las 22:00", "from": "Administrador", "sent_by": 99,
                "sent_to": 2, "users_reached": 2, "replicas": 2, "expected_replicas": 2,
                "total_connections": 2, "inboxes": 0, "read": 0}

            # Every socket, on both replicas, got the exercise's frame.
            frames = await asyncio.gather(receive(ws_alice, "admin_broadcast"),
                                          receive(ws_bob, "admin_broadcast"))
            for frame in frames:
                assert frame["data"] == {"message": "Mantenimiento a las 22:00",
                                         "from": "Administrador",
                                         "timestamp": result["sent_at"]}

            # The dashboard reports the delivery too.
            reported = (await stream.until(
                lambda e: e.type == "broadcast" and e.body["sent_to"] == 2))[-1]
            assert reported.body["broadcast_id"] == result["broadcast_id"]

            # And the durable event notifications fills inboxes from.
            await eventually(lambda: durable)
            sent = durable[0].payload()
            assert isinstance(sent, BroadcastSent)
            assert (sent.broadcast_id, sent.content, sent.sent_by) == (
                result["broadcast_id"], "Mantenimiento a las 22:00", 99)
            assert orjson.loads(durable[0].to_bytes())["id"] == result["broadcast_id"]

            # Notifications reports a read of its inbox entry, and a suppressed message.
            await publish(bus, NotificationRead(
                notification_id="ntf_1", user_id=7, reason="broadcast",
                broadcast_id=result["broadcast_id"], read_at=now()))
            read = (await stream.until(
                lambda e: e.type == "broadcast" and e.body["read"] == 1))[-1]
            assert read.body["broadcast_id"] == result["broadcast_id"]
            await publish(bus, NotificationSuppressed(
                user_id=8, room_id=1, message_id=1, reason="viewing_room",
                decided_at=now()))
            held = (await stream.until(lambda e: e.type == "notification_stats"))[-1]
            assert held.body["suppressed_24h"] >= 1
            assert held.body["suppressed_by_reason"]["viewing_room"] >= 1


async def _one_socket_each(server: DashboardServer, keys: Keys, ids: set[str]) -> bool:
    by_replica = await sockets_by_replica(server, keys)
    return all(by_replica.get(replica_id) == 1 for replica_id in ids)
