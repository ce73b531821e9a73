"""Local delivery first, NATS between replicas: every socket sees each message once and in
`seq` order, whichever replica stored it, and a replica's own sockets stay live while NATS is
frozen."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from services.launcher import NatsServerProcess
from tests.integration.chat.harness import (
    chat_settings,
    collect,
    receive,
    replicas,
    send,
    sign_up,
    stream_events,
)

pytestmark = pytest.mark.integration

PER_SENDER = 40


async def test_two_replicas_posting_into_one_room_keep_seq_gapless_and_in_order(
        tmp_path: Path, nats_url: str) -> None:
    """Both replicas write the same SQLite file; a listener on each sees all their posts."""
    shared_key = (tmp_path / "key").as_posix()
    settings = [chat_settings(tmp_path, nats_url, signing_key_file=shared_key,
                              replica_id=f"order-{n}", rate_limit_per_sec=10_000,
                              rate_limit_burst=10_000) for n in ("a", "b")]
    async with replicas(settings) as (one, two):
        alice = await sign_up(one)
        bob = await sign_up(two)
        room = await alice.create_room()
        await bob.http.post(f"/api/chat/rooms/{room['id']}/join")
        path = f"/ws/chat/{room['id']}"
        async with alice.socket(path) as listen_one, bob.socket(path) as listen_two, \
                alice.socket(path) as send_one, alice.socket(path) as send_one_too, \
                bob.socket(path) as send_two, bob.socket(path) as send_two_too:
            senders = [send_one, send_one_too, send_two, send_two_too]
            for ws in [listen_one, listen_two, *senders]:
                await receive(ws, "joined")

            async def post_all(ws, tag: str) -> list[int]:  # type: ignore[no-untyped-def]
                for n in range(PER_SENDER):
                    await send(ws, type="chat_message", content=f"{tag}{n}",
                               client_msg_id=f"{tag}{n}")
                return [a["data"]["seq"] for a in await collect(ws, "ack", PER_SENDER)]

            total = PER_SENDER * len(senders)
            acks, got_one, got_two = await asyncio.gather(
                asyncio.gather(*(post_all(ws, t) for ws, t in zip(senders, "wxyz",
                                                                    strict=True))),
                collect(listen_one, "message", total, timeout=30),
                collect(listen_two, "message", total, timeout=30))
        # seq is gapless and unique across both replicas' commits...
        assert sorted(seq for per_sender in acks for seq in per_sender) == list(
            range(1, total + 1))
        # ...each sender's posts are in its own order...
        assert all(per_sender == sorted(per_sender) for per_sender in acks)
        # ...and each listener saw every message once, in seq order: its own replica's
        # directly, the other's through NATS.
        for got in (got_one, got_two):
            assert [f["data"]["seq"] for f in got] == list(range(1, total + 1))


async def test_a_frozen_nats_still_delivers_to_this_replicas_sockets(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    settings = chat_settings(tmp_path, nats_server.url)
    async with replicas([settings]) as (replica,):
        alice = await sign_up(replica)
        bob = await sign_up(replica)
        room = await alice.create_room()
        path = f"/ws/chat/{room['id']}"
        async with alice.socket(path) as sender, bob.socket(path) as listener:
            await receive(sender, "joined")
            await receive(listener, "joined")
            assert nats_server.pid is not None
            os.kill(nats_server.pid, signal.SIGSTOP)  # frozen: connected, answers nothing
            try:
                for n in range(10):
                    await send(sender, type="chat_message", content=f"frozen {n}",
                               client_msg_id=f"f{n}")
                acks = await collect(sender, "ack", 10, timeout=10)
                got = await collect(listener, "message", 10, timeout=10)
            finally:
                os.kill(nats_server.pid, signal.SIGCONT)
            assert [a["data"]["seq"] for a in acks] == list(range(1, 11))
            assert [f["data"]["content"] for f in got] == [f"frozen {n}" for n in range(10)]

        # Thawed, the events that waited reach the stream, each once.
        async def created() -> list[str]:
            return [e.data["client_msg_id"] for e in await stream_events(nats_server.url)
                    if e.type == "tertulia.chat.message.created.v1"]

        async with asyncio.timeout(30):
            while len(await created()) < 10:
                await asyncio.sleep(0.2)
        assert sorted(await created()) == sorted(f"f{n}" for n in range(10))


async def test_a_replica_that_missed_a_frame_reads_it_from_the_database(
        tmp_path: Path, nats_url: str) -> None:
    """A frame from the other replica lost on the way (here: its publish dropped) leaves a
    seq gap; the next frame waits for it, then the gap is read from the database."""
    shared_key = (tmp_path / "key").as_posix()
    settings = [chat_settings(tmp_path, nats_url, signing_key_file=shared_key,
                              replica_id=f"gap-{n}") for n in ("a", "b")]
    async with replicas(settings) as (one, two):
        alice = await sign_up(one)
        bob = await sign_up(two)
        room = await alice.create_room()
        path = f"/ws/chat/{room['id']}"
        async with bob.socket(path) as listener, alice.socket(path) as sender:
            await receive(listener, "joined")
            await receive(sender, "joined")
            bus = one.chat.bus
            publish = bus.publish
            dropped: list[str] = []

            async def lose_seq_2(subject, data, headers=None):  # type: ignore[no-untyped-def]
                if headers and headers.get("Tertulia-Seq") == "2":
                    dropped.append(subject)
                    return
                await publish(subject, data, headers)

            bus.publish = lose_seq_2  # type: ignore[method-assign]
            for n in range(1, 4):
                await send(sender, type="chat_message", content=f"m{n}", client_msg_id=f"m{n}")
                await receive(sender, "ack")
            got = await collect(listener, "message", 3, timeout=10)
        assert dropped == [f"live.room.{room['id']}"]
        assert [(f["data"]["seq"], f["data"]["content"]) for f in got] == [
            (1, "m1"), (2, "m2"), (3, "m3")]
        assert two.chat.metrics.seq_gaps_filled._value.get() == 1
