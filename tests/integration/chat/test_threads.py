"""Threads on real replicas (SQLite, NATS): a reply's root count in history and live, the
thread endpoint, `since_seq` recovery across replies, unread counts, error frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.chat.harness import (
    chat_settings,
    frames_until,
    receive,
    replicas,
    send,
    sign_up,
)

pytestmark = pytest.mark.integration


async def test_a_reply_counts_on_its_root_in_history_and_live(
        tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url),
                         chat_settings(tmp_path, nats_url)]) as (one, two):
        alice = await sign_up(one)
        bob = await sign_up(two)
        room = await alice.create_room()
        assert (await bob.http.post(f"/api/chat/rooms/{room['id']}/join")).status_code == 200
        root = (await alice.post(room["id"], "lunch?")).json()
        assert (root["thread_root_id"], root["reply_count"], root["last_reply_at"]) == (
            None, 0, None)
        async with alice.socket("/ws") as ws:
            await send(ws, type="join", room_id=room["id"])
            await frames_until(ws, "joined")
            # Bob replies on the other replica, over the WebSocket.
            async with bob.socket("/ws") as bws:
                await send(bws, type="chat_message", room_id=room["id"], content="yes!",
                           client_msg_id="b-1", thread_root_id=root["id"])
                ack = await receive(bws, "ack")
                refused = {"type": "chat_message", "room_id": room["id"], "content": "no",
                           "client_msg_id": "b-2", "thread_root_id": 999_999}
                await send(bws, **refused)
                error = await receive(bws, "error")
            live = await receive(ws, "message")
            update = await receive(ws, "thread_updated")
        assert error["data"]["code"] == "thread_root_not_found"
        assert error["data"]["ref"] == "b-2"
        assert live["data"]["thread_root_id"] == root["id"]
        assert live["data"]["seq"] == ack["data"]["seq"] == root["seq"] + 1
        assert update["data"] == {"room_id": room["id"], "root_id": root["id"],
                                  "reply_count": 1,
                                  "last_reply_at": live["data"]["created_at"]}

        history = (await alice.http.get(f"/api/chat/rooms/{room['id']}/messages")).json()
        assert [(m["content"], m["reply_count"]) for m in history["messages"]] == [
            ("lunch?", 1)]
        assert history["thread_seqs"] == [live["data"]["seq"]]
        thread = (await alice.http.get(f"/api/chat/messages/{live['data']['id']}/thread")).json()
        assert thread["root"]["id"] == root["id"]
        assert [m["content"] for m in thread["messages"]] == ["yes!"]
        assert thread["has_more"] is False

        # HTTP replies: a reply to the reply joins the root's thread; errors are problems.
        nested = await bob.post(room["id"], "me too", thread_root_id=live["data"]["id"],
                                also_send_to_room=True)
        assert nested.status_code == 201, nested.text
        assert (nested.json()["thread_root_id"], nested.json()["also_send_to_room"]) == (
            root["id"], True)
        missing = await bob.post(room["id"], "x", thread_root_id=999_999)
        assert (missing.status_code, missing.json()["code"]) == (404, "thread_root_not_found")
        assert (await alice.http.delete(f"/api/chat/messages/{root['id']}")).status_code == 200
        deleted = await bob.post(room["id"], "x", thread_root_id=root["id"])
        assert (deleted.status_code, deleted.json()["code"]) == (422, "thread_root_deleted")
        page = (await alice.http.get(f"/api/chat/messages/{root['id']}/thread",
                                     params={"after_seq": live["data"]["seq"]})).json()
        assert [m["content"] for m in page["messages"]] == ["me too"]
        assert page["root"]["reply_count"] == 2


async def test_recovery_across_replies_is_exact_and_unread_leaves_thread_only_out(
        tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice = await sign_up(replica)
        bob = await sign_up(replica)
        room = await alice.create_room()
        assert (await bob.http.post(f"/api/chat/rooms/{room['id']}/join")).status_code == 200
        root = (await alice.post(room["id"], "root")).json()
        async with bob.socket("/ws") as ws:
            await send(ws, type="join", room_id=room["id"])
            await frames_until(ws, "joined")
        await alice.post(room["id"], f"thread only @{bob.username}", thread_root_id=root["id"])
        await alice.post(room["id"], "both", thread_root_id=root["id"], also_send_to_room=True)
        await alice.post(room["id"], "plain")
        async with bob.socket("/ws") as ws:
            await send(ws, type="join", room_id=room["id"], since_seq=root["seq"])
            frames = await frames_until(ws, "joined")
        replayed = [f["data"] for f in frames if f["type"] == "message"]
        assert [(m["seq"], m["thread_root_id"]) for m in replayed] == [
            (2, root["id"]), (3, root["id"]), (4, None)]
        assert frames[-1]["data"]["recovered"] is True
        [unread] = [u for u in (await bob.http.get("/api/chat/unread")).json()
                    if u["room_id"] == room["id"]]
        # Two of the room's timeline (the reply also sent to it, the plain one) and the
        # root; the thread-only mention is not unread in the room.
        assert (unread["count"], unread["mentions"], unread["last_seq"]) == (3, 0, 4)
        read = await bob.http.post(f"/api/chat/rooms/{room['id']}/read", json={"seq": 4})
        assert read.json()["count"] == 0


@pytest.mark.postgres
async def test_replies_from_two_replicas_on_postgres_count_exactly(
        tmp_path: Path, nats_url: str, postgres_url: str) -> None:
    import asyncio
    settings = [chat_settings(tmp_path, nats_url, database_url=postgres_url,
                              replica_id=f"pg-thread-{n}") for n in ("a", "b")]
    async with replicas(settings) as (one, two):
        alice = await sign_up(one)
        bob = await sign_up(two)
        room = await alice.create_room()
        assert (await bob.http.post(f"/api/chat/rooms/{room['id']}/join")).status_code == 200
        root = (await alice.post(room["id"], "root")).json()
        replies = [alice.post(room["id"], f"a{n}", thread_root_id=root["id"]) for n in range(10)]
        replies += [bob.post(room["id"], f"b{n}", thread_root_id=root["id"],
                             also_send_to_room=n == 0) for n in range(10)]
        results = await asyncio.gather(*replies)
        assert [r.status_code for r in results] == [201] * 20
        thread = (await bob.http.get(f"/api/chat/messages/{root['id']}/thread",
                                     params={"limit": 50})).json()
        assert thread["root"]["reply_count"] == 20
        assert sorted(m["seq"] for m in thread["messages"]) == list(range(2, 22))
        history = (await bob.http.get(f"/api/chat/rooms/{room['id']}/messages")).json()
        assert [m["content"] for m in history["messages"]] == ["root", "b0"]
        assert len(history["thread_seqs"]) == 19
