"""Reconnect recovery: a client rejoining with `since_seq` gets exactly what it missed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, update

from services.chat.adapters.outbound.sqla_tables import chat_messages, chat_rooms
from tests.integration.chat.harness import (
    chat_settings,
    frames_until,
    receive,
    replicas,
    send,
    sign_up,
)

pytestmark = pytest.mark.integration


async def test_rejoin_with_since_seq_gets_exactly_the_missed_messages(
        tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice = await sign_up(replica)
        bob = await sign_up(replica)
        room = await alice.create_room()
        for n in range(5):
            assert (await alice.post(room["id"], f"before {n}")).status_code == 201
        async with bob.socket("/ws") as ws:
            await send(ws, type="join", room_id=room["id"])
            seen = await frames_until(ws, "joined")
            last_seen = max(f["data"]["seq"] for f in seen if f["type"] == "message")
        assert last_seen == 5

        for n in range(20):
            assert (await alice.post(room["id"], f"missed {n}")).status_code == 201

        async with bob.socket("/ws") as ws:
            await send(ws, type="join", room_id=room["id"], since_seq=last_seen)
            frames = await frames_until(ws, "joined")
            replayed = [f["data"] for f in frames if f["type"] == "message"]
            joined = frames[-1]["data"]
            assert [m["content"] for m in replayed] == [f"missed {n}" for n in range(20)]
            assert [m["seq"] for m in replayed] == list(range(6, 26))
            assert joined["recovered"] is True and joined["last_seq"] == 25
            # Live frames resume right after the replay, without a gap or a repeat.
            await alice.post(room["id"], "live again")
            live = await receive(ws, "message")
            assert live["data"]["seq"] == 26 and live["data"]["content"] == "live again"


async def test_messages_posted_during_the_replay_arrive_once_and_in_order(
        tmp_path: Path, nats_url: str) -> None:
    # 210 posts by one user as fast as HTTP goes: past the default per-user budget.
    settings = chat_settings(tmp_path, nats_url, rate_limit_per_sec=10_000,
                             rate_limit_burst=10_000)
    async with replicas([settings]) as (replica,):
        alice = await sign_up(replica)
        bob = await sign_up(replica)
        room = await alice.create_room()
        for n in range(200):
            await alice.post(room["id"], f"old {n}")
        async with bob.socket("/ws") as ws:
            await send(ws, type="join", room_id=room["id"], since_seq=0)
            # Posts race the replay: each must arrive exactly once, after it, by seq.
            for n in range(10):
                await alice.post(room["id"], f"racing {n}")
            seqs: list[int] = []
            while len(seqs) < 210:
                frame = await receive(ws, "message")
                seqs.append(frame["data"]["seq"])
        assert seqs == list(range(1, 211))


@pytest.mark.slow
async def test_too_much_missed_says_not_recovered_and_history_pages_the_rest(
        tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice = await sign_up(replica)
        bob = await sign_up(replica)
        room = await alice.create_room()
        await alice.post(room["id"], "seen")
        # 10,000 messages arrive while bob is away (bulk-written: the posting path is
        # covered above; this test is about what a rejoin does with them).
        now = datetime.now(UTC)
        async with replica.chat.db.write() as s:
            await s.execute(insert(chat_messages), [
                {"room_id": room["id"], "seq": seq, "user_id": alice.id,
                 "username": alice.username, "content": f"bulk {seq}",
                 "message_type": "text", "created_at": now, "is_deleted": False}
                for seq in range(2, 10_002)])
            await s.execute(update(chat_rooms).where(chat_rooms.c.id == room["id"])
                            .values(last_seq=10_001))

        async with bob.socket("/ws") as ws:
            await send(ws, type="join", room_id=room["id"], since_seq=1)
            frames = await frames_until(ws, "joined", timeout=30)
        joined = frames[-1]["data"]
        sent = [f["data"]["seq"] for f in frames if f["type"] == "message"]
        assert joined["recovered"] is False and joined["last_seq"] == 10_001
        assert sent == list(range(9_952, 10_002))  # the latest 50, as a fresh join

        # The client pages back from the oldest it has until it meets what it had.
        before, pages, collected = sent[0], 0, []
        while True:
            page = (await bob.http.get(f"/api/chat/rooms/{room['id']}/messages",
                                       params={"before_seq": before, "limit": 200})).json()
            collected = [m["seq"] for m in page["messages"]] + collected
            pages += 1
            before = page["messages"][0]["seq"]
            if before <= 2 or not page["has_more"]:
                break
        collected = [seq for seq in collected if seq > 1]  # bob had seen seq 1
        assert collected[0] == 2 and collected[-1] == 9_951
        assert collected == sorted(set(collected)) and len(collected) == 9_950
        assert pages == 50
