"""The lease keeper on a real JetStream KV bucket, around presence use cases on fakes: the
split, a silent instance's partitions taken over once its leases expire, and an instance
that was away too long finding its leases gone and dropping those users unwritten."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.launcher import NatsServerProcess
from services.presence import use_cases
from services.presence.adapters.inbound.partitions import PartitionKeeper
from services.presence.adapters.outbound.nats_leases import NatsKvLeases
from services.presence.domain import Board, Ownership
from services.presence.ports import PresenceDeps
from shared.bus.nats import NatsEventBus
from shared.contracts import ConnectionOpened
from tests.conftest import _require_nats_server
from tests.unit.presence.fakes import TIMING, FakeScheduler, PresenceWorld

pytestmark = pytest.mark.integration
P = 6
LEASE_SECS = 1.0


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[NatsEventBus]:
    the_bus = NatsEventBus(nats_url, name="lease-test")
    await the_bus.connect()
    yield the_bus
    await the_bus.close()


class Node:
    """One instance's keeper over deps on shared fakes, beaten by the test (no timer)."""

    def __init__(self, bus: NatsEventBus, bucket: str, name: str, world: PresenceWorld):
        self.deps = PresenceDeps(board=Board(TIMING), store=world.store,
                                 records=world.records, events=world.events,
                                 clock=world.clock, scheduler=FakeScheduler(),
                                 ownership=Ownership(P, name))
        self.leases = NatsKvLeases(bus, bucket, LEASE_SECS, name)
        self.keeper = PartitionKeeper(self.leases, self.deps, renew_secs=0.1,
                                      drain=_nothing)

    @property
    def mine(self) -> set[int]:
        return self.deps.ownership.mine


async def _nothing() -> None:
    return None


@pytest.fixture
def bucket() -> str:
    return f"LEASES_T{uuid.uuid4().hex[:10]}"


async def test_two_keepers_split_the_partitions_and_rebalance(
        bus: NatsEventBus, bucket: str) -> None:
    world = PresenceWorld()
    a, b = Node(bus, bucket, "a", world), Node(bus, bucket, "b", world)
    await a.keeper.beat()
    assert a.mine == set(range(P))  # alone: everything
    await b.keeper.beat()  # b is alive now, but a holds everything
    assert b.mine == set()
    await a.keeper.beat()  # a sees two instances: gives up its highest half
    assert a.mine == {0, 1, 2}
    await b.keeper.beat()
    assert b.mine == {3, 4, 5}
    for _ in range(3):
        await a.keeper.beat()
        await b.keeper.beat()
    assert (a.mine, b.mine) == ({0, 1, 2}, {3, 4, 5})
    assert a.deps.ownership.owners == b.deps.ownership.owners == {
        0: "a", 1: "a", 2: "a", 3: "b", 4: "b", 5: "b"}
    await b.keeper.stop()  # on purpose: handed over at once
    await a.keeper.beat()
    assert a.mine == set(range(P))


async def test_a_silent_instance_loses_its_partitions_and_its_users_unwritten(
        bus: NatsEventBus, bucket: str) -> None:
    world = PresenceWorld()
    a, b = Node(bus, bucket, "a", world), Node(bus, bucket, "b", world)
    await a.keeper.beat()
    await b.keeper.beat()
    await a.keeper.beat()
    await b.keeper.beat()
    assert b.mine == {3, 4, 5}
    await use_cases.report(b.deps, ConnectionOpened(
        replica_id="chat-a", connection=world.info("t3", 3)))  # user 3: partition 3, b's
    assert 3 in b.deps.board.users
    await a.keeper.beat()
    # b falls silent (frozen or killed): a can only take over once b's keys expire.
    assert a.mine == {0, 1, 2}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10 * LEASE_SECS
    while a.mine != set(range(P)):
        assert loop.time() < deadline, a.mine
        await asyncio.sleep(0.1)
        await a.keeper.beat()
    # b wakes up: its renewals are refused, and it stops computing those users.
    assert 3 in a.deps.board.users  # adopted from the store
    await b.keeper.beat()
    assert b.mine == set() and 3 not in b.deps.board.users
    assert b.deps.ownership.owners == dict.fromkeys(range(P), "a")


async def test_an_instance_cut_off_from_nats_stops_computing_before_its_leases_expire(
        tmp_path: Path, bucket: str) -> None:
    """Renewals failing for nearly a lease: the users are dropped, since by the time the
    leases expire another instance may compute them."""
    _require_nats_server()
    server = await NatsServerProcess(tmp_path / "nats").astart(10)
    own = NatsEventBus(server.url, name="lease-cut-off")
    await own.connect()
    node = Node(own, bucket, "a", PresenceWorld())
    running = asyncio.create_task(node.keeper.run())
    loop = asyncio.get_running_loop()
    try:
        deadline = loop.time() + 10
        while node.mine != set(range(P)):
            assert loop.time() < deadline
            await asyncio.sleep(0.05)
        await server.astop()
        cut_at = loop.time()
        while node.mine:
            assert loop.time() < cut_at + 10 * LEASE_SECS, node.mine
            await asyncio.sleep(0.05)
        # Released by the watch beside the (hanging) renewals, counted from the last
        # renewal: before its leases could expire on the server and be won by another.
        assert node.keeper.fenced_after is not None
        assert node.keeper.fenced_after < LEASE_SECS
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        # Closing a client that is still reconnecting to a stopped server may raise; what is
        # tested is above.
        with contextlib.suppress(Exception):
            await own.close()
        await server.astop()
