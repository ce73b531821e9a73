"""End to end with a real chat replica: real WebSockets opening and closing make presence
events, and presence verifies chat's tokens with the keys from chat's JWKS."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.integration.chat.harness import ChatReplica, chat_settings, sign_up
from tests.integration.presence.harness import (
    GRACE_SECS,
    HEARTBEAT_SECS,
    PresenceInstance,
    Scene,
    eventually,
    presence_settings,
)

pytestmark = pytest.mark.integration


async def receive(ws: Any, frame_type: str, timeout: float = 10.0) -> dict[str, Any]:
    """The next frame of `frame_type` on a client socket, skipping the others."""
    async with asyncio.timeout(timeout):
        while True:
            frame = orjson.loads(await ws.recv())
            if frame["type"] == frame_type:
                return frame


async def test_a_real_socket_opening_and_closing_makes_one_online_and_one_offline(
        world: Scene, tmp_path: Path) -> None:
    chat = ChatReplica(chat_settings(tmp_path / "chat", world.nats_url,
                                     connections_heartbeat_secs=HEARTBEAT_SECS))
    # Presence starts first: it keeps asking chat's JWKS until chat answers.
    settings = presence_settings(tmp_path / "presence", world.nats_url, jwks_url=(
        f"{chat.http_url}/.well-known/jwks.json"), jwks_retry_secs=0.1)
    world.settings = settings
    presence = await PresenceInstance(settings).start()
    world.instances.append(presence)
    async with presence.client() as http:
        assert (await http.get("/readyz")).json()["checks"]["token_keys"] is False
    await chat.start()
    try:
        alice = await sign_up(chat)
        bob = await sign_up(chat)
        world.log.users.update({alice.id, bob.id})
        room = await alice.create_room()
        assert (await bob.http.post(f"/api/chat/rooms/{room['id']}/join")).status_code < 300

        async with bob.socket(f"/ws/chat/{room['id']}") as bob_ws:
            await receive(bob_ws, "joined")
            await world.log.wait_for(1)
            async with alice.socket(f"/ws/chat/{room['id']}") as alice_ws:
                await receive(alice_ws, "joined")
                await world.log.wait_for(2)
                # Chat turns the event into a frame for the room (its side of issue 3).
                frame = await receive(bob_ws, "user_presence")
                while frame["data"]["user_id"] != alice.id:  # Bob hears about himself too
                    frame = await receive(bob_ws, "user_presence")
                assert (frame["data"]["status"], frame["data"]["reason"]) == ("online",
                                                                               "connected")
                async with presence.client(alice.token) as http:
                    await eventually(lambda: keys_loaded(presence), 5, "JWKS fetched")
                    me = (await http.get("/api/presence/me")).json()
                    assert (me["status"], me["connections"], me["username"]) == (
                        "online", 1, alice.username)
                    await eventually(lambda: in_room(http, room["id"], {alice.id, bob.id}),
                                     3, "both in the room")
            # Alice's socket closed: offline once the grace period has passed, exactly once.
            await world.log.wait_for(3, within_secs=GRACE_SECS + 3)
            await world.log.stays_at(3)
        assert world.log.of(alice.id) == [("online", "connected"),
                                                  ("offline", "last_connection_closed")]
        assert world.log.of(bob.id) == [("online", "connected")]
    finally:
        await chat.stop()


def keys_loaded(presence: PresenceInstance) -> bool:
    return bool(presence.presence.keys.loaded)


async def in_room(http: object, room_id: int, users: set[int]) -> bool:
    response = await http.get(f"/api/presence/rooms/{room_id}")  # type: ignore[attr-defined]
    # 403 until presence has heard that Alice's socket joined the room.
    return response.status_code == 200 and {
        u["user_id"] for u in response.json()["users"]} == users


async def test_a_chat_replica_shutting_down_takes_its_users_offline(
        world: Scene, tmp_path: Path) -> None:
    chat = await ChatReplica(chat_settings(tmp_path / "chat", world.nats_url,
                                           connections_heartbeat_secs=HEARTBEAT_SECS)).start()
    await world.presence()
    try:
        alice = await sign_up(chat)
        world.log.users.add(alice.id)
        async with alice.socket("/ws") as ws:
            await receive(ws, "hello")
            await world.log.wait_for(1)
            # Shutting down closes every socket with 1001 and says so on live.connections.
            await chat.stop()
            await world.log.wait_for(2, within_secs=GRACE_SECS + 3)
    finally:
        await chat.stop()
    assert world.log.of(alice.id) == [("online", "connected"),
                                      ("offline", "last_connection_closed")]
