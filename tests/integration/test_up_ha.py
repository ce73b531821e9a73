"""`tertulia up --ha`: the system as a cluster runs it, on one machine and for real: three
NATS nodes with EVENTS replicated on all of them, three chat replicas and two instances of
every other service, each service on a PostgreSQL database of its own. Last, under steady
load through the gateway, SIGKILL in turn of one chat replica, one presence instance, the
notifications instance applying events, one dashboard instance and the NATS node leading
EVENTS, each followed by the checks of `tests/support/chaos_checks.py`; the figures are
printed (`-s`) and written beside the data directory (`chaos-figures.json`)."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator

import asyncpg
import httpx
import nats
import pytest

from services.demo import DEMO_ADMIN, DEMO_PASSWORD
from tests.support import chaos_checks as chaos
from tests.support.chaos_load import Load
from tests.support.chaos_probe import Cluster, eventually
from tests.support.system import RunningSystem

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PG = "postgresql://127.0.0.1:5432/test"
SERVICES = ("chat", "presence", "notifications", "dashboard")


async def _drop(prefix: str) -> None:
    conn = await asyncpg.connect(PG)
    try:
        for service in SERVICES:
            await conn.execute(f'DROP DATABASE IF EXISTS "{prefix}_{service}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    prefix = f"tha{secrets.token_hex(3)}"
    running = RunningSystem(tmp_path_factory.mktemp("up-ha") / "data",
                            args=["--ha", "--postgres", PG, "--postgres-prefix", prefix,
                                  "--demo"],
                            # The load's 4 posters send ~4 frames/s each, typing included;
                            # a reconnect lands them on one replica: above 10 frames/s.
                            env={"CHAT_RATE_LIMIT_PER_SEC": "1000",
                                 "CHAT_RATE_LIMIT_BURST": "1000"})
    try:
        with running:
            running.wait_for_line("Demo data added", 90)
            running.prefix = prefix  # type: ignore[attr-defined]
            yield running
    finally:
        asyncio.run(_drop(prefix))


def test_every_process_of_a_cluster_is_up_once(system: RunningSystem) -> None:
    started = {name for name in
               ("nats-1", "nats-2", "nats-3", "chat-1", "chat-2", "chat-3",
                "presence-1", "presence-2", "notifications-1", "notifications-2",
                "dashboard-1", "dashboard-2", "gateway")
               if any(f"{name} " in line and "pid=" in line for line in system.lines)}
    assert len(started) == 13


def test_events_are_kept_on_all_three_nats_nodes(system: RunningSystem) -> None:
    admin = json.loads((system.data_dir / "nats-passwords.json").read_text())["admin"]
    urls = [line.split("url=")[1].split()[0] for line in system.lines
            if "nats-1 pid=" in line]

    async def info() -> tuple[int, str | None, list[str]]:
        nc = await nats.connect(urls[0], user="admin", password=admin)
        try:
            stream = await nc.jetstream().stream_info("EVENTS")
        finally:
            await nc.close()
        cluster = stream.cluster
        assert cluster is not None
        return (stream.config.num_replicas or 0, cluster.leader,
                sorted(r.name for r in cluster.replicas or []))

    replicas, leader, others = asyncio.run(info())
    assert replicas == 3
    assert sorted([leader, *others]) == ["nats-1", "nats-2", "nats-3"]


def test_the_databases_are_postgresql_and_hold_what_was_posted(system: RunningSystem) -> None:
    token = httpx.post(f"{system.url}/api/auth/token",
                       data={"username": "ana", "password": "tertulia-demo"}).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    rooms = httpx.get(f"{system.url}/api/chat/rooms", headers=auth).json()
    general = next(r for r in rooms if r["name"] == "general")
    posted = httpx.post(f"{system.url}/api/chat/rooms/{general['id']}/messages", headers=auth,
                        json={"content": "from the cluster"})
    assert posted.status_code == 201, posted.text

    async def count() -> int:
        conn = await asyncpg.connect(PG.rsplit("/", 1)[0] + f"/{system.prefix}_chat")  # type: ignore[attr-defined]
        try:
            return int(await conn.fetchval(
                "SELECT count(*) FROM chat_messages WHERE content = 'from the cluster'"))
        finally:
            await conn.close()

    assert asyncio.run(count()) == 1
    assert not (system.data_dir / "chat.db").exists()


@pytest.mark.timeout(600)
async def test_losing_any_one_process_loses_nothing(system: RunningSystem) -> None:
    urls = system.urls()
    cluster = Cluster(system.data_dir, [urls[f"nats-{n}"] for n in (1, 2, 3)])
    chat_db = PG.rsplit("/", 1)[0] + f"/{system.prefix}_chat"  # type: ignore[attr-defined]

    async def persisted() -> int:  # every message of every room, the demo's included
        conn = await asyncpg.connect(chat_db)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM chat_messages"))
        finally:
            await conn.close()

    figures = []
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as http:
        tokens, room_id = await chaos.people(http, DEMO_ADMIN, DEMO_PASSWORD)
        load = Load(system.url, room_id, tokens, posters=chaos.POSTERS,
                    observers=chaos.OBSERVERS, churn=chaos.CHURN, admin=DEMO_ADMIN,
                    mentions=chaos.MENTIONED)
        load.start()
        try:
            await load.wait_connected()
            everyone = {*chaos.POSTERS, *chaos.OBSERVERS}
            online, _ = await eventually(
                lambda: chaos.online(http, tokens[DEMO_ADMIN], everyone), 30)
            assert online, "not everyone came online"
            baseline = len(await cluster.events())  # presence is checked from here on
            for target in chaos.TARGETS:
                figures.append(await chaos.kill_and_check(system, cluster, http, load, target,
                                                          baseline, persisted))
                print(f"{target}: {figures[-1]}", flush=True)
        finally:
            await load.stop()
    report = json.dumps(figures, indent=2)
    (system.data_dir.parent / "chaos-figures.json").write_text(report)
    print(report)
