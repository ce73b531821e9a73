"""Membership, edits, read markers, live.connections and health, end to end on one replica."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import orjson
import pytest
from websockets.asyncio.client import connect

from shared.contracts import LIVE_CONNECTIONS, parse_connections_message
from tests.integration.chat.harness import (
    chat_settings,
    frames_until,
    receive,
    replicas,
    send,
    sign_up,
)

pytestmark = pytest.mark.integration


async def test_invite_kick_and_the_kicked_socket_stops_hearing_the_room(
        tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice = await sign_up(replica)
        bob = await sign_up(replica)
        room = await alice.create_room(is_private=True)
        async with bob.socket("/ws") as bob_lobby:
            await receive(bob_lobby, "hello")
            invited = await alice.http.post(f"/api/chat/rooms/{room['id']}/members",
                                            json={"username": bob.username})
            assert invited.status_code == 201 and invited.json()["role"] == "member"
            # Bob's socket has joined no room, yet hears at once that he is in a new one.
            told = await receive(bob_lobby, "member_joined")
            assert (told["data"]["room_id"], told["data"]["user_id"]) == (room["id"], bob.id)
        # Bob cannot hand out roles; alice can.
        refused = await bob.http.post(f"/api/chat/rooms/{room['id']}/members",
                                      json={"username": alice.username, "role": "admin"})
        assert refused.status_code == 403
        async with bob.socket(f"/ws/chat/{room['id']}") as ws:
            joined = (await frames_until(ws, "joined"))[-1]["data"]
            assert joined["role"] == "member"
            await alice.post(room["id"], "before the kick")
            assert (await receive(ws, "message"))["data"]["content"] == "before the kick"
            kicked = await alice.http.delete(f"/api/chat/rooms/{room['id']}/members/{bob.id}")
            assert kicked.status_code == 204
            left = await receive(ws, "member_left")
            assert left["data"] == {"room_id": room["id"], "user_id": bob.id,
                                    "username": bob.username, "display_name": bob.username,
                                    "reason": "kicked"}
            await alice.post(room["id"], "after the kick")
            await send(ws, type="ping")
            after = await frames_until(ws, "pong")
            assert all(f["type"] != "message" for f in after)
        assert (await bob.http.get(f"/api/chat/rooms/{room['id']}")).status_code == 404


async def test_edit_and_delete_reach_the_room_and_history(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice = await sign_up(replica)
        bob = await sign_up(replica)
        room = await alice.create_room()
        async with alice.socket(f"/ws/chat/{room['id']}") as a_ws, \
                bob.socket(f"/ws/chat/{room['id']}") as b_ws:
            await receive(a_ws, "joined")
            await receive(b_ws, "joined")
            await send(a_ws, type="chat_message", content="helo")
            message_id = (await receive(a_ws, "ack"))["data"]["id"]
            await send(b_ws, type="edit_message", message_id=message_id, content="hijack")
            assert (await receive(b_ws, "error"))["data"]["code"] == "not_author"
            await send(a_ws, type="edit_message", message_id=message_id, content="hello")
            edited = await receive(b_ws, "message_edited")
            assert edited["data"]["content"] == "hello" and edited["data"]["edited_at"]
            await send(b_ws, type="delete_message", message_id=message_id)
            assert (await receive(b_ws, "error"))["data"]["code"] == "forbidden"
            await send(a_ws, type="delete_message", message_id=message_id)
            deleted = await receive(b_ws, "message_deleted")
            assert deleted["data"]["is_deleted"] is True and deleted["data"]["content"] == ""
        page = (await bob.http.get(f"/api/chat/rooms/{room['id']}/messages")).json()
        assert [(m["seq"], m["content"], m["is_deleted"]) for m in page["messages"]] == [
            (1, "", True)]


async def test_reading_on_one_tab_updates_the_others_and_counts_do_not_drift(
        tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice = await sign_up(replica)
        bob = await sign_up(replica)
        room = await alice.create_room()
        assert (await bob.http.post(f"/api/chat/rooms/{room['id']}/join")).status_code == 200
        for n in range(5):
            await alice.post(room["id"], f"hey @{bob.username} {n}" if n < 2 else f"m{n}")
        unread = (await bob.http.get("/api/chat/unread")).json()
        assert unread == [{"room_id": room["id"], "count": 5, "mentions": 2, "last_seq": 5,
                           "read_seq": 0}]
        async with bob.socket("/ws") as tab1, bob.socket("/ws") as tab2:
            await receive(tab1, "hello")
            await receive(tab2, "hello")
            await send(tab1, type="read", room_id=room["id"], seq=3)
            mine = await receive(tab1, "unread")
            other = await receive(tab2, "unread")
            assert mine["data"] == other["data"] == {
                "room_id": room["id"], "count": 2, "mentions": 0, "last_seq": 5, "read_seq": 3}
            # Markers never move back, nor past the end.
            await send(tab2, type="read", room_id=room["id"], seq=1)
            assert (await receive(tab2, "unread"))["data"]["read_seq"] == 3
            await send(tab2, type="read", room_id=room["id"], seq=99)
            assert (await receive(tab2, "unread"))["data"]["read_seq"] == 5
        assert (await bob.http.get("/api/chat/unread")).json()[0]["count"] == 0


async def test_live_connections_reports_open_close_and_heartbeats(
        tmp_path: Path, nats_url: str) -> None:
    settings = chat_settings(tmp_path, nats_url, replica_id="chat-conn-test",
                             connections_heartbeat_secs=0.3)
    nc = await nats.connect(nats_url)
    seen: asyncio.Queue = asyncio.Queue()

    async def on_msg(msg) -> None:  # type: ignore[no-untyped-def]
        parsed = parse_connections_message(msg.data)
        if parsed.replica_id == "chat-conn-test":
            await seen.put(parsed)

    await nc.subscribe(LIVE_CONNECTIONS, cb=on_msg)
    try:
        async with replicas([settings]) as (replica,):
            alice = await sign_up(replica)
            room = await alice.create_room()

            async def next_kind(kind: str, pred=lambda m: True):  # type: ignore[no-untyped-def]
                async with asyncio.timeout(10):
                    while True:
                        m = await seen.get()
                        if m.kind == kind and pred(m):
                            return m

            async with alice.socket(f"/ws/chat/{room['id']}") as ws:
                hello = await receive(ws, "hello")
                conn_id = hello["data"]["connection_id"]
                opened = await next_kind("opened", lambda m: m.connection.connection_id == conn_id)
                assert opened.connection.user_id == alice.id
                beat = await next_kind("heartbeat", lambda m: any(
                    c.connection_id == conn_id and c.rooms == [room["id"]]
                    for c in m.connections))
                assert beat.interval_secs == 0.3
            closed = await next_kind("closed", lambda m: m.connection_id == conn_id)
            assert closed.user_id == alice.id
            empty = await next_kind("heartbeat", lambda m: not m.connections)
            assert empty.connections == []
    finally:
        await nc.close()


async def test_health_and_metrics(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice = await sign_up(replica)
        assert (await alice.http.get("/livez")).json() == {"status": "ok"}
        ready = (await alice.http.get("/readyz")).json()
        assert ready == {"status": "ok", "checks": {"database": True, "nats": True,
                                                    "accepting": True}}
        room = await alice.create_room()
        await alice.post(room["id"], "counted")
        metrics = (await alice.http.get("/metrics")).text
        assert "tertulia_chat_messages_posted_total 1.0" in metrics
        jwks = (await alice.http.get("/.well-known/jwks.json")).json()
        assert jwks["keys"][0]["kty"] == "OKP" and jwks["keys"][0]["alg"] == "EdDSA"
        body = orjson.loads((await alice.http.get("/openapi.json")).content)
        assert "/api/chat/rooms/{room_id}/messages" in body["paths"]


async def test_a_room_turned_private_stops_reaching_outsiders_at_once(
        tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice = await sign_up(replica)
        bob = await sign_up(replica)
        room = await alice.create_room()
        # Mentioning only yourself is not an error (and mentions nobody).
        assert (await alice.post(room["id"], f"note to self @{alice.username}")).status_code == 201
        async with bob.socket(f"/ws/chat/{room['id']}") as outsider, \
                connect(f"{replica.ws_url}/ws/chat/{room['id']}") as guest:
            await receive(outsider, "joined")
            await receive(guest, "joined")
            patched = await alice.http.patch(f"/api/chat/rooms/{room['id']}",
                                             json={"is_private": True})
            assert patched.status_code == 200 and patched.json()["is_private"] is True
            await receive(outsider, "room_updated")
            await receive(guest, "room_updated")
            await alice.post(room["id"], "members only now")
            for ws in (outsider, guest):
                await send(ws, type="ping")
                assert all(f["type"] != "message" for f in await frames_until(ws, "pong"))


async def test_a_broadcast_reaches_every_socket_and_each_replica_reports_it(
        tmp_path: Path, nats_url: str) -> None:
    from shared.contracts import LIVE_BROADCAST, LIVE_BROADCAST_RECEIPTS, BroadcastReceipt
    from shared.contracts.live import FrameHeaders

    key = (tmp_path / "key").as_posix()
    settings = [chat_settings(tmp_path, nats_url, signing_key_file=key,
                              replica_id=f"bcast-{n}") for n in ("a", "b")]
    nc = await nats.connect(nats_url)
    receipts: asyncio.Queue = asyncio.Queue()

    async def on_receipt(msg) -> None:  # type: ignore[no-untyped-def]
        receipt = BroadcastReceipt.model_validate_json(msg.data)
        if receipt.broadcast_id == "b-1":
            await receipts.put(receipt)

    await nc.subscribe(LIVE_BROADCAST_RECEIPTS, cb=on_receipt)
    try:
        async with replicas(settings) as (one, two):
            alice = await sign_up(one)
            bob = await sign_up(two)
            async with alice.socket("/ws") as a_ws, bob.socket("/ws") as b_ws, \
                    bob.socket("/ws") as b_ws2:
                for ws in (a_ws, b_ws, b_ws2):
                    await receive(ws, "hello")
                frame = orjson.dumps({"type": "admin_broadcast", "data": {
                    "message": "maintenance at 6", "from": "Administrador",
                    "timestamp": "2026-11-29T17:00:00+00:00"}})
                await nc.publish(LIVE_BROADCAST, frame, headers={
                    FrameHeaders.TYPE: "admin_broadcast", FrameHeaders.BROADCAST_ID: "b-1"})
                for ws in (a_ws, b_ws, b_ws2):
                    got = await receive(ws, "admin_broadcast")
                    assert got["data"]["message"] == "maintenance at 6"
                async with asyncio.timeout(10):
                    first, second = await receipts.get(), await receipts.get()
        by_replica = {r.replica_id: r for r in (first, second)}
        assert by_replica["bcast-a"].sockets == 1 and by_replica["bcast-a"].user_ids == [alice.id]
        assert by_replica["bcast-b"].sockets == 2 and by_replica["bcast-b"].users == 1
    finally:
        await nc.close()
