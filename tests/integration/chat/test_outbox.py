"""The outbox: messages acknowledged while NATS is down reach the stream once NATS is back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import update

from services.chat.adapters.outbound.sqla_tables import outbox
from services.launcher import NatsServerProcess
from tests.integration.chat.harness import (
    chat_settings,
    receive,
    replicas,
    send,
    sign_up,
    stream_events,
)

pytestmark = pytest.mark.integration


async def wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not await predicate():
            await asyncio.sleep(0.1)


async def test_events_posted_while_nats_is_down_reach_the_stream_exactly_once(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    settings = chat_settings(tmp_path, nats_server.url)
    async with replicas([settings]) as (replica,):
        alice = await sign_up(replica)
        room = await alice.create_room()
        relay = replica.chat.relay
        await wait_for(lambda: _drained(relay))

        await nats_server.astop()
        acked = []
        async with alice.socket("/ws") as ws:
            await send(ws, type="join", room_id=room["id"])
            await receive(ws, "joined")
            for n in range(15):
                await send(ws, type="chat_message", room_id=room["id"], content=f"offline {n}",
                           client_msg_id=f"off-{n}")
                acked.append((await receive(ws, "ack"))["data"])
            # Acknowledged from the database, even with NATS gone.
            assert [a["seq"] for a in acked] == list(range(1, 16))
            assert await relay.pending() == 15

            await nats_server.astart()
            await wait_for(lambda: _drained(relay), timeout=30)

        events = await stream_events(nats_server.url)
    created = [e for e in events if e.type == "tertulia.chat.message.created.v1"]
    assert sorted(e.data["message_id"] for e in created) == sorted(a["id"] for a in acked)
    ids = [e.id for e in events]
    assert len(ids) == len(set(ids)), "an event reached the stream twice"
    # Everything the chat wrote is there: registration, room, membership and 15 messages.
    assert {e.type for e in events} >= {"tertulia.chat.user.registered.v1",
                                        "tertulia.chat.room.created.v1",
                                        "tertulia.chat.member.joined.v1"}
    assert len(created) == 15


async def _drained(relay) -> bool:  # type: ignore[no-untyped-def]
    return await relay.pending() == 0


async def test_a_relay_that_publishes_twice_is_deduplicated_by_event_id(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    """Two replicas relaying the same outbox rows (or a crash between publish and the
    "sent" mark) must not double the stream: the event id is the Nats-Msg-Id."""
    settings = chat_settings(tmp_path, nats_server.url)
    async with replicas([settings]) as (replica,):
        alice = await sign_up(replica)
        room = await alice.create_room()
        for n in range(5):
            await alice.post(room["id"], f"m{n}")
        await wait_for(lambda: _drained(replica.chat.relay))
        before = await stream_events(nats_server.url)
        # Forget that they were sent, as if the process died before marking them.
        async with replica.chat.db.write() as conn:
            await conn.execute(update(outbox).values(sent_at=None))
        replica.chat.relay.kick()
        await wait_for(lambda: _drained(replica.chat.relay))
        after = await stream_events(nats_server.url)
    assert [e.id for e in after] == [e.id for e in before]
