"""Several presence instances at once (PRESENCE_PARTITIONS): real `tertulia serve presence`
processes as the `presence` NATS user of the committed configuration, on one PostgreSQL
database. Each user's change is announced once; a SIGKILLed instance's partitions are taken
over within seconds, announcing nothing for users still here and an offline, once, for a
user who left meanwhile; every instance answers reads the same."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.integration.presence.harness import GRACE_SECS, HEARTBEAT_SECS, QUIET_SECS
from tests.integration.presence.multi import (
    LEASE_SECS,
    PARTITIONS,
    RENEW_SECS,
    eventually,
    fleet,
    since,
    sleep,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.postgres]


async def test_three_instances_split_the_partitions_announce_once_and_read_alike(
        tmp_path: Path, postgres_url: str) -> None:
    async with fleet(tmp_path, postgres_url) as the_fleet:
        for name in ("p1", "p2", "p3"):
            await the_fleet.start(name)
        owners = await the_fleet.wait_for_owners({"p1", "p2", "p3"})
        assert sorted(owners) == list(range(PARTITIONS))
        replica = the_fleet.replica()
        users = [the_fleet.user_in(p) for p in range(PARTITIONS)]
        for user_id in users:
            await replica.open(user_id, room=7)
        await the_fleet.log.wait_for(len(users))
        await the_fleet.log.stays_at(len(users), QUIET_SECS)
        assert sorted(the_fleet.log.of(u) for u in users) == [
            [("online", "connected")]] * len(users)
        expected = {u: ("online", 1) for u in users}
        for name in the_fleet.instances:
            assert await the_fleet.present(name) == expected, name
        for _ in range(6):  # the queue group spreads these over the instances
            assert await the_fleet.ask(users) == expected

        # A status set through an instance that does not compute the user is forwarded to
        # the one that does: announced once, and every instance reads it.
        busy = users[0]
        elsewhere = next(n for n in the_fleet.instances if n != owners[0])
        async with the_fleet.client(elsewhere, busy) as http:
            response = await http.put("/api/presence/me", json={"status": "busy"})
        assert response.status_code == 200 and response.json()["status"] == "busy"
        await the_fleet.log.wait_for(len(users) + 1)
        assert the_fleet.log.of(busy) == [("online", "connected"), ("busy", "manual")]
        expected[busy] = ("busy", 1)
        for name in the_fleet.instances:
            assert await the_fleet.present(name) == expected, name
        assert await the_fleet.ask(users) == expected

        # A stop on purpose hands its partitions over at once, announcing nothing.
        started = time.monotonic()
        the_fleet.instances["p3"].stop()
        owners = await the_fleet.wait_for_owners({"p1", "p2"}, within=3 * LEASE_SECS)
        print(f"graceful hand-over of p3's partitions in {since(started)} s")
        del the_fleet.instances["p3"]
        await the_fleet.log.stays_at(len(users) + 1, QUIET_SECS)
        for name in the_fleet.instances:
            assert await the_fleet.present(name) == expected, name


async def test_a_killed_instance_is_taken_over_with_no_spurious_announcement(
        tmp_path: Path, postgres_url: str) -> None:
    async with fleet(tmp_path, postgres_url) as the_fleet:
        await the_fleet.start("p1")
        await the_fleet.start("p2")
        owners = await the_fleet.wait_for_owners({"p1", "p2"})
        replica = the_fleet.replica()
        users = [the_fleet.user_in(p) for p in range(PARTITIONS)]
        conns = {u: await replica.open(u) for u in users}
        await the_fleet.log.wait_for(len(users))
        await sleep(2 * HEARTBEAT_SECS)  # beats have confirmed every socket in the store

        victim_partitions = sorted(p for p, owner in owners.items() if owner == "p2")
        leaver = users[victim_partitions[0]]
        started = time.monotonic()
        the_fleet.instances["p2"].signal(signal.SIGKILL)
        the_fleet.instances["p2"].wait()
        await replica.close(conns[leaver])  # heard by p1 only, which does not own them yet
        await the_fleet.wait_for_owners({"p1"}, within=LEASE_SECS + 10 * RENEW_SECS + 5)
        took_over = since(started)
        await eventually(lambda: ("offline", "last_connection_closed")
                         in the_fleet.log.of(leaver), 10 * GRACE_SECS + 10,
                         f"the leaver announced offline ({the_fleet.log.events})")
        print(f"SIGKILL: p2's {len(victim_partitions)} partitions taken over in "
              f"{took_over} s; leaver offline after {since(started)} s")
        await the_fleet.log.stays_at(len(users) + 1, 3 * QUIET_SECS)
        for user_id in users:
            expected = [("online", "connected")]
            if user_id == leaver:
                expected.append(("offline", "last_connection_closed"))
            assert the_fleet.log.of(user_id) == expected, user_id
        stayed = {u: ("online", 1) for u in users if u != leaver}
        assert await the_fleet.present("p1") == stayed
        assert await the_fleet.ask(users) == {**stayed, leaver: ("offline", 0)}


async def test_an_instance_starting_beside_one_takes_half_and_nobody_hears_a_thing(
        tmp_path: Path, postgres_url: str) -> None:
    async with fleet(tmp_path, postgres_url) as the_fleet:
        await the_fleet.start("p1")
        await the_fleet.wait_for_owners({"p1"})
        replica = the_fleet.replica()
        users = [the_fleet.user_in(p) for p in range(PARTITIONS)]
        for user_id in users:
            await replica.open(user_id)
        await the_fleet.log.wait_for(len(users))
        await the_fleet.start("p2")
        owners = await the_fleet.wait_for_owners({"p1", "p2"})
        assert list(owners.values()).count("p2") == PARTITIONS // 2
        await the_fleet.log.stays_at(len(users), 3 * QUIET_SECS)
        expected = {u: ("online", 1) for u in users}
        assert await the_fleet.present("p1") == expected
        assert await the_fleet.present("p2") == expected
