"""`NatsKvConnectionStore` against a real JetStream: entries, their TTL, the bucket's config."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from services.presence.adapters.outbound.nats_kv_store import NatsKvConnectionStore
from services.presence.domain import Connection
from shared.bus.nats import NatsEventBus
from tests.integration.presence.harness import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[NatsEventBus]:
    bus = NatsEventBus(nats_url, name="presence-kv-tests")
    await bus.connect()
    yield bus
    await bus.close()


@pytest.fixture
def bucket() -> str:
    return f"PRESENCE_T{uuid.uuid4().hex[:10]}"


def connection(cid: str, user_id: int = 1) -> Connection:
    now = datetime.now(UTC)
    return Connection(cid, user_id, f"u{user_id}", "chat-a", (1,), 1, now, now, now)


async def test_entries_are_written_read_back_deleted_and_age_out(
        bus: NatsEventBus, bucket: str) -> None:
    store = NatsKvConnectionStore(bus, bucket, ttl_secs=1.0)
    try:
        await store.ensure_bucket()
        assert await store.load_all() == []
        a, b, odd = connection("a-1"), connection("b-2", 2), connection("odd.id*", 3)
        await store.save([a, b, odd])
        assert sorted(c.connection_id for c in await store.load_all()) == [
            "a-1", "b-2", "odd.id*"]
        await store.remove([b])
        assert {c.connection_id for c in await store.load_all()} == {"a-1", "odd.id*"}
        # Nobody writes them again: the bucket forgets them after its TTL, by itself.
        await eventually(lambda: _empty(store), 5, "entries aged out")
    finally:
        await bus.jetstream.delete_key_value(bucket)


async def _empty(store: NatsKvConnectionStore) -> bool:
    return await store.load_all() == []


async def test_a_new_ttl_is_applied_to_an_existing_bucket(bus: NatsEventBus,
                                                          bucket: str) -> None:
    try:
        await NatsKvConnectionStore(bus, bucket, ttl_secs=30.0).ensure_bucket()
        kv = await NatsKvConnectionStore(bus, bucket, ttl_secs=12.0).ensure_bucket()
        assert (await kv.status()).ttl == pytest.approx(12.0)
    finally:
        await bus.jetstream.delete_key_value(bucket)


async def test_writes_after_the_bucket_vanished_make_it_again(bus: NatsEventBus,
                                                              bucket: str) -> None:
    store = NatsKvConnectionStore(bus, bucket, ttl_secs=30.0)
    try:
        await store.ensure_bucket()
        await bus.jetstream.delete_key_value(bucket)  # as after NATS lost its store
        await store.save([connection("x")])  # fails, and notes the bucket must be made
        await asyncio.sleep(0)
        await store.save([connection("y")])
        assert [c.connection_id for c in await store.load_all()] == ["y"]
    finally:
        await bus.jetstream.delete_key_value(bucket)
