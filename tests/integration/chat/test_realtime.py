"""Rooms in real time on real NATS and SQLite: the exercise's flow, two replicas, retries."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.integration.chat.harness import (
    chat_settings,
    collect,
    frames_until,
    receive,
    replicas,
    send,
    sign_up,
)

pytestmark = pytest.mark.integration


async def test_two_clients_in_a_room_the_exercises_flow(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice = await sign_up(replica)
        bob = await sign_up(replica)
        room = await alice.create_room("general")
        # The exercise's client lists rooms as a plain JSON array.
        listed = (await bob.http.get("/api/chat/rooms")).json()
        assert [r["name"] for r in listed] == ["general"]

        async with alice.socket(f"/ws/chat/{room['id']}") as ws1, \
                bob.socket(f"/ws/chat/{room['id']}") as ws2:
            await receive(ws1, "joined")
            await receive(ws2, "joined")
            # The exercise's frame: no room_id, the room comes from the URL.
            await send(ws1, type="chat_message", content="Hola mundo!")
            message = await receive(ws2, "message")
            data = message["data"]
            assert data["content"] == "Hola mundo!"
            assert data["user_id"] == alice.id
            assert data["username"] == alice.username
            assert {"id", "content", "user_id", "username", "created_at"} <= data.keys()
            assert data["seq"] == 1
            ack = await receive(ws1, "ack")
            assert ack["data"]["id"] == data["id"] and ack["data"]["seq"] == 1

            # Typing reaches the other person and never comes back to the typist.
            await send(ws2, type="typing", is_typing=True)
            typing = await receive(ws1, "typing")
            assert typing["data"] == {"room_id": room["id"], "user_id": bob.id,
                                      "username": bob.username, "is_typing": True}
            await send(ws2, type="ping")
            pong_frames = await frames_until(ws2, "pong")
            assert all(f["type"] != "typing" for f in pong_frames)

        # A later join gets the recent history first, as the exercise does.
        async with bob.socket(f"/ws/chat/{room['id']}") as ws3:
            before = await frames_until(ws3, "joined")
            assert [f["data"]["content"] for f in before if f["type"] == "message"] == [
                "Hola mundo!"]
            assert before[0]["type"] == "hello"
            assert before[0]["data"]["user"]["id"] == bob.id


async def test_a_message_on_one_replica_reaches_a_socket_on_the_other_in_seq_order(
        tmp_path: Path, nats_url: str) -> None:
    shared_key = (tmp_path / "key").as_posix()
    # 31 frames at once: above the default burst of 30 (rate limits have tests of their own).
    settings = [chat_settings(tmp_path, nats_url, signing_key_file=shared_key,
                              replica_id=f"chat-{n}", rate_limit_burst=100)
                for n in ("a", "b")]
    async with replicas(settings) as (one, two):
        alice = await sign_up(one)
        bob = await sign_up(two)
        room = await alice.create_room()
        async with bob.socket(f"/ws/chat/{room['id']}") as listener, \
                alice.socket("/ws") as sender:
            await receive(listener, "joined")
            await receive(sender, "hello")
            await send(sender, type="join", room_id=room["id"])
            await receive(sender, "joined")
            for n in range(30):
                await send(sender, type="chat_message", room_id=room["id"],
                           content=f"m{n}", client_msg_id=f"c{n}")
            got = await collect(listener, "message", 30)
        assert [f["data"]["seq"] for f in got] == list(range(1, 31))
        assert [f["data"]["content"] for f in got] == [f"m{n}" for n in range(30)]
        assert {f["data"]["user_id"] for f in got} == {alice.id}


async def test_a_retried_client_msg_id_makes_one_message_and_the_same_ack(
        tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice = await sign_up(replica)
        room = await alice.create_room()
        async with alice.socket("/ws") as ws:
            await send(ws, type="join", room_id=room["id"])
            await receive(ws, "joined")
            await send(ws, type="chat_message", room_id=room["id"], content="once",
                       client_msg_id="retry-1")
            first = await receive(ws, "ack")
            await send(ws, type="chat_message", room_id=room["id"], content="once",
                       client_msg_id="retry-1")
            second = await receive(ws, "ack")
        assert first == second
        # The same id over HTTP (a script retrying) answers 200 with that message.
        again = await alice.post(room["id"], "once", client_msg_id="retry-1")
        assert again.status_code == 200 and again.json()["id"] == first["data"]["id"]
        # Concurrent retries race to the same single row.
        results = await asyncio.gather(*(alice.post(room["id"], "race", client_msg_id="race")
                                         for _ in range(5)))
        assert len({r.json()["id"] for r in results}) == 1
        history = (await alice.http.get(f"/api/chat/rooms/{room['id']}/messages")).json()
        assert [m["content"] for m in history["messages"]] == ["once", "race"]
