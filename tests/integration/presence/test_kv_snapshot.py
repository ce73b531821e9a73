"""Reading a presence bucket through nats-py's watcher, in the two races behind rare
failures of `test_an_entry_not_written_again_is_forgotten_after_the_ttl`
(`tests/integration/presence/test_fakes.py`), each made deterministic against a real
nats-server (`services/presence/adapters/outbound/kv_snapshot.py`):

- the only entry ages out after the watcher's consumer counted it but before the server
  delivered it: nothing is delivered, nats-py never sends its "no more" marker, and the read
  waited out its timeout (30 s for `load_all`). Here the entry ages out (for real) just
  before the consumer is made, and the consumer's info answers as just before (pending);
- the consumer's info says nothing is pending (the server has sent everything) before any
  of it has reached the client: nats-py sends the marker first, and the read found the
  bucket empty. Here the subscription answers that way."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.presence.adapters.outbound import nats_kv_store, nats_leases
from services.presence.adapters.outbound.nats_kv_store import NatsKvConnectionStore
from services.presence.adapters.outbound.nats_leases import NatsKvLeases
from services.presence.domain import Connection
from shared.bus.nats import NatsEventBus
from tests.unit.presence.store_contract import TTL_SECS

pytestmark = pytest.mark.integration
# Unfixed, the read waits this long and raises TimeoutError (30 s and 5 s in production).
READ_TIMEOUT_SECS = 5.0


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[NatsEventBus]:
    bus = NatsEventBus(nats_url, name="presence-kv-snapshot-tests")
    await bus.connect()
    try:
        yield bus
    finally:
        await bus.close()


def expire_before_delivery(monkeypatch: pytest.MonkeyPatch, bus: NatsEventBus,
                           stream: str) -> list[int]:
    """The next watcher sees the race: its consumer is told of the bucket's entries, which
    age out (for real, by the bucket's max age) before any is delivered. Returns how many
    entries the bucket held when the watcher was asked for."""
    js = bus.jetstream
    subscribe = js.subscribe
    held: list[int] = []

    async def racing_subscribe(*args: Any, **kwargs: Any) -> Any:
        pending = (await js.stream_info(stream)).state.messages
        held.append(pending)
        async with asyncio.timeout(10 * TTL_SECS):
            while (await js.stream_info(stream)).state.messages:
                await asyncio.sleep(TTL_SECS / 20)  # until they have aged out
        sub = await subscribe(*args, **kwargs)
        consumer_info = sub.consumer_info

        async def counted_before_the_expiry() -> Any:
            answer = await consumer_info()
            answer.num_pending = pending
            return answer

        sub.consumer_info = counted_before_the_expiry
        return sub

    monkeypatch.setattr(js, "subscribe", racing_subscribe)
    return held


class ArrivingLate:
    """A watcher's subscription whose messages are all sent and none yet arrived."""

    delivered = 0

    def __init__(self, sub: Any) -> None:
        self._sub = sub

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sub, name)

    async def consumer_info(self) -> Any:
        answer = await self._sub.consumer_info()
        answer.num_pending = 0  # the server has sent them all
        return answer


def marker_before_entries(monkeypatch: pytest.MonkeyPatch, bus: NatsEventBus) -> None:
    js = bus.jetstream
    subscribe = js.subscribe

    async def late_subscribe(*args: Any, **kwargs: Any) -> Any:
        return ArrivingLate(await subscribe(*args, **kwargs))

    monkeypatch.setattr(js, "subscribe", late_subscribe)


def connection(connection_id: str) -> Connection:
    now = datetime.now(UTC)
    return Connection(connection_id=connection_id, user_id=1, username="alice",
                      replica_id="chat-1", rooms=(3,), current_room=None, opened_at=now,
                      last_active_at=now, confirmed_at=now)


async def test_the_only_connection_aging_out_while_it_is_read_does_not_stall_the_read(
        bus: NatsEventBus, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = f"PRESENCE_T{uuid.uuid4().hex[:10]}"
    store = NatsKvConnectionStore(bus, bucket, ttl_secs=TTL_SECS)
    await store.ensure_bucket()
    try:
        monkeypatch.setattr(nats_kv_store, "LOAD_TIMEOUT_SECS", READ_TIMEOUT_SECS)
        held = expire_before_delivery(monkeypatch, bus, f"KV_{bucket}")
        await store.save([connection("c1")])
        assert await store.load_all() == []
        assert held == [1]  # the race did happen: there when the read began
    finally:
        await bus.jetstream.delete_key_value(bucket)


async def test_the_only_lease_aging_out_while_it_is_read_does_not_stall_the_read(
        bus: NatsEventBus, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = f"LEASES_T{uuid.uuid4().hex[:10]}"
    leases = NatsKvLeases(bus, bucket, lease_secs=TTL_SECS, me="presence-a")
    try:
        await leases.alive()
        monkeypatch.setattr(nats_leases, "READ_TIMEOUT_SECS", READ_TIMEOUT_SECS)
        held = expire_before_delivery(monkeypatch, bus, f"KV_{bucket}")
        table = await leases.read()
        assert (table.members, table.owners) == (set(), {})
        assert held == [1]
    finally:
        await bus.jetstream.delete_key_value(bucket)


async def test_entries_still_there_are_all_read_with_the_ones_written_meanwhile(
        bus: NatsEventBus) -> None:
    bucket = f"PRESENCE_T{uuid.uuid4().hex[:10]}"
    store = NatsKvConnectionStore(bus, bucket, ttl_secs=60)
    await store.ensure_bucket()
    try:
        await store.save([connection(f"c{i}") for i in range(300)])  # more than a queue
        await store.remove([connection("c7")])
        await store.save([connection("c3")])  # written again: a later sequence
        got = sorted(c.connection_id for c in await store.load_all())
        assert got == sorted(f"c{i}" for i in range(300) if i != 7)
    finally:
        await bus.jetstream.delete_key_value(bucket)


async def test_connections_are_read_when_the_watcher_says_no_more_before_they_arrive(
        bus: NatsEventBus, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = f"PRESENCE_T{uuid.uuid4().hex[:10]}"
    store = NatsKvConnectionStore(bus, bucket, ttl_secs=60)
    await store.ensure_bucket()
    try:
        await store.save([connection("c1"), connection("c2")])
        marker_before_entries(monkeypatch, bus)
        assert sorted(c.connection_id for c in await store.load_all()) == ["c1", "c2"]
    finally:
        await bus.jetstream.delete_key_value(bucket)


async def test_leases_are_read_when_the_watcher_says_no_more_before_they_arrive(
        bus: NatsEventBus, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = f"LEASES_T{uuid.uuid4().hex[:10]}"
    leases = NatsKvLeases(bus, bucket, lease_secs=60, me="presence-a")
    try:
        await leases.alive()
        assert await leases.claim(3) is not None
        marker_before_entries(monkeypatch, bus)
        table = await leases.read()
        assert table.members == {"presence-a"}
        assert [(p, owner) for p, (owner, _) in table.owners.items()] == [(3, "presence-a")]
    finally:
        await bus.jetstream.delete_key_value(bucket)
