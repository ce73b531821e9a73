"""Several presence instances on shared fakes: each user computed by the owner of their
partition, hand-overs by `adopt` and `release` (the lease keeper's calls), and the fair
share each instance claims."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from services.presence import use_cases
from services.presence.domain import Board, Caller, Ownership, fair_share, partition_of, plan
from services.presence.ports import PresenceDeps
from shared.contracts import ConnectionClosed, ConnectionOpened, ConnectionsHeartbeat
from tests.support.clocks import FixedClock
from tests.unit.presence.fakes import TIMING, FakeScheduler, PresenceWorld

P = 4


def test_a_fair_share_is_the_ceiling_of_partitions_over_live_instances() -> None:
    assert [fair_share(16, n) for n in (0, 1, 2, 3, 16, 40)] == [16, 16, 8, 6, 1, 1]
    assert partition_of(17, 16) == 1


def test_an_instance_claims_the_lowest_free_partitions_up_to_its_share() -> None:
    claim, release = plan(8, "a", {"a", "b"}, {0: "b", 1: "b"})
    assert (claim, release) == ([2, 3, 4, 5], [])


def test_an_instance_over_its_share_releases_its_highest_partitions() -> None:
    owners = dict.fromkeys(range(8), "a")
    assert plan(8, "a", {"a", "b", "c"}, owners) == ([], [3, 4, 5, 6, 7])


def test_partitions_another_instance_holds_are_never_claimed() -> None:
    # b holds more than its share; a waits for b to release rather than taking them.
    assert plan(4, "a", {"a", "b"}, dict.fromkeys(range(4), "b")) == ([], [])


def test_without_partitions_an_instance_owns_everyone() -> None:
    alone = Ownership()
    assert alone.owns(12345) and alone.owner_of(7) == "" and alone.others() == {}


class Cluster:
    """Instances on one store, one database and one event log, each with its ownership;
    every live one hears every report, as all presence instances hear `live.connections`."""

    def __init__(self, names: list[str]) -> None:
        self.shared = PresenceWorld()
        self.instances = {name: self._deps(name) for name in names}

    def _deps(self, name: str) -> PresenceDeps:
        world = self.shared
        return PresenceDeps(board=Board(TIMING), store=world.store, records=world.records,
                            events=world.events, clock=world.clock,
                            scheduler=FakeScheduler(), ownership=Ownership(P, name))

    async def report(self, message: Any) -> None:
        for deps in self.instances.values():
            await use_cases.report(deps, message)

    async def open(self, conn_id: str, user_id: int) -> None:
        info = self.shared.info(conn_id, user_id)
        self.shared.sockets.setdefault("chat-a", {})[conn_id] = info
        await self.report(ConnectionOpened(replica_id="chat-a", connection=info))

    async def close(self, conn_id: str, user_id: int) -> None:
        self.shared.sockets["chat-a"].pop(conn_id)
        await self.report(ConnectionClosed(
            replica_id="chat-a", connection_id=conn_id, user_id=user_id,
            closed_at=self.shared.clock.now(), code=1000))

    async def advance(self, secs: float, *, heartbeats_every: float = 10.0) -> None:
        """Time in half-second steps: every instance's timers, and the replica's beats."""
        clock, beat = self.shared.clock, 0.0
        for _ in range(int(secs * 2)):
            clock.set(clock.now() + timedelta(seconds=0.5))
            beat += 0.5
            if beat >= heartbeats_every:
                beat = 0.0
                await self.report(ConnectionsHeartbeat(
                    replica_id="chat-a", interval_secs=heartbeats_every,
                    connections=list(self.shared.sockets.get("chat-a", {}).values()),
                    at=clock.now()))
            for deps in self.instances.values():
                await use_cases.tick(deps)

    def changes(self) -> list[tuple[int, str, str]]:
        return self.shared.changes()


@pytest.fixture
async def pair() -> Cluster:
    cluster = Cluster(["a", "b"])
    await use_cases.adopt(cluster.instances["a"], {0, 1})
    await use_cases.adopt(cluster.instances["b"], {2, 3})
    for name, deps in cluster.instances.items():
        deps.ownership.owners = {0: "a", 1: "a", 2: "b", 3: "b"}
        assert deps.ownership.me == name
    return cluster


async def test_each_change_is_announced_once_by_the_owner_of_the_user(pair: Cluster) -> None:
    await pair.open("t1", 1)  # partition 1: a
    await pair.open("t2", 2)  # partition 2: b
    assert pair.changes() == [(1, "online", "connected"), (2, "online", "connected")]
    assert set(pair.instances["a"].board.users) == {1}
    assert set(pair.instances["b"].board.users) == {2}
    await pair.close("t2", 2)
    await pair.advance(10)
    assert pair.changes()[2:] == [(2, "offline", "last_connection_closed")]


async def test_taking_over_a_dead_instance_announces_nothing_for_users_still_here(
        pair: Cluster) -> None:
    await pair.open("t2", 2)
    await pair.open("t6", 6)
    await pair.advance(12)  # a heartbeat or so: their entries are in the store
    before = pair.changes()
    del pair.instances["b"]  # killed: nothing stored, nothing released
    await use_cases.adopt(pair.instances["a"], {2, 3})
    await pair.advance(60)
    assert pair.changes() == before
    assert {2, 6} <= set(pair.instances["a"].board.users)


async def test_a_user_gone_while_nobody_owned_them_goes_offline_exactly_once(
        pair: Cluster) -> None:
    await pair.open("t2", 2)
    await pair.open("t6", 6)
    await pair.advance(12)
    del pair.instances["b"]
    await pair.close("t6", 6)  # heard by a only, which does not own user 6 yet
    assert pair.changes()[-1] == (6, "online", "connected")
    await use_cases.adopt(pair.instances["a"], {2, 3})
    await pair.advance(60)  # the replica's next heartbeat no longer lists t6
    assert [c for c in pair.changes() if c[0] == 6] == [
        (6, "online", "connected"), (6, "offline", "last_connection_closed")]
    assert [c for c in pair.changes() if c[0] == 2] == [(2, "online", "connected")]


async def test_a_partition_given_up_on_purpose_moves_without_a_word(pair: Cluster) -> None:
    await pair.open("t2", 2)
    before = pair.changes()
    await use_cases.release(pair.instances["b"], {2})
    assert 2 not in pair.instances["b"].board.users
    assert pair.instances["b"].ownership.mine == {3}
    await use_cases.adopt(pair.instances["a"], {2})
    await pair.advance(30)
    assert pair.changes() == before
    assert pair.instances["a"].board.view(2).connections == 1  # type: ignore[union-attr]


async def test_an_instance_without_the_user_asks_nobody_when_alone_and_reads_the_record(
        pair: Cluster) -> None:
    """No peers wired (unit tier): a user of another partition reads as last announced."""
    await pair.open("t2", 2)
    await use_cases.flush(pair.instances["b"])
    (view,) = await use_cases.snapshot(pair.instances["a"], [2])
    assert view.status == "online"
    page, _ = await use_cases.present(pair.instances["a"], Caller(1, True))
    assert [v.user_id for v in page] == [2]


def test_partitions_refuse_a_database_of_the_instance_own(tmp_path: Any) -> None:
    """SQLite is one file per instance: "last announced" would not be shared."""
    from cryptography.hazmat.primitives import serialization

    from services.presence.bootstrap import wire
    from services.presence.settings import PresenceSettings
    from shared.auth import TokenIssuer, generate_private_key_pem
    from shared.bus.memory import InMemoryEventBus
    from tests.unit.presence.fakes import InMemoryConnectionStore

    pem = TokenIssuer(generate_private_key_pem()).public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    settings = PresenceSettings(data_dir=tmp_path, partitions=4, jwt_public_key_pem=pem)
    store = InMemoryConnectionStore(FixedClock(), 30.0)
    with pytest.raises(ValueError, match="PRESENCE_PARTITIONS needs a database"):
        wire(settings, bus=InMemoryEventBus(), store=store)
    alone = wire(settings.model_copy(update={"partitions": 0}), bus=InMemoryEventBus(),
                 store=store)
    assert alone.keeper is None and not alone.deps.ownership.partitioned
