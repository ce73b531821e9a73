"""A 3-node JetStream cluster from infra/nats/cluster with EVENTS at three replicas: killing
the stream's leader while chat takes posts loses no message chat acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from services.launcher import NatsServerProcess, free_port
from services.up_nats import new_password
from shared.contracts import EVENTS_STREAM, CloudEvent, MessageCreated, spec_for
from shared.contracts.permissions import CHAT_THROTTLE_BUCKET, PASSWORD_VARS
from tests.conftest import _require_nats_server
from tests.integration.chat.harness import ChatReplica, chat_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "infra" / "nats" / "cluster"
PASSWORD = "a long enough password 1"
CREATED = spec_for(MessageCreated).subject
RECOVER_SECS = 60.0


class Cluster:
    """Three nats-server processes from the committed cluster configs, on free ports."""

    def __init__(self, workdir: Path) -> None:
        # As `tertulia up` makes them: a token_urlsafe starting with a digit or '-' can stop
        # nats-server parsing the `$VAR` (seen once in a full run).
        self.passwords = {user: new_password() for user in PASSWORD_VARS}
        env = {var: self.passwords[user] for user, var in PASSWORD_VARS.items()}
        route_ports = [free_port() for _ in range(3)]
        routes = ",".join(f"nats://127.0.0.1:{port}" for port in route_ports)
        self.nodes = {
            f"nats-{i}": NatsServerProcess(
                workdir / f"nats-{i}", jetstream=False, config=CLUSTER / f"nats-{i}.conf",
                env=env, extra_args=["-sd", str(workdir / f"nats-{i}" / "jetstream"),
                                     "--cluster", f"nats://127.0.0.1:{route_ports[i - 1]}",
                                     "--routes", routes])
            for i in (1, 2, 3)}

    @property
    def urls(self) -> str:
        return ",".join(node.url for node in self.nodes.values())

    async def start(self) -> None:
        await asyncio.gather(*(node.astart(20) for node in self.nodes.values()))
        # Accepting clients is not serving JetStream: that waits for a meta leader, which a
        # fresh cluster takes a few seconds (sometimes more than chat's connect timeout) to
        # elect.
        admin = await self.admin()
        try:
            deadline = time.monotonic() + RECOVER_SECS
            while True:
                try:
                    await admin.jetstream(timeout=1).account_info()
                    return
                except nats.errors.Error:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.25)
        finally:
            await admin.close()

    async def stop(self) -> None:
        await asyncio.gather(*(node.astop() for node in self.nodes.values()))

    def admin(self) -> Any:
        return nats.connect(self.urls.split(","), user="admin",
                            password=self.passwords["admin"], max_reconnect_attempts=-1)


@contextlib.asynccontextmanager
async def _cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    _require_nats_server()
    cluster = Cluster(tmp_path)
    await cluster.start()
    try:
        yield cluster
    finally:
        await cluster.stop()


async def _stream_message_ids(js: Any) -> set[int]:
    """Every message id in EVENTS' `message.created` events, read by an ephemeral consumer."""
    sub = await js.pull_subscribe(CREATED, stream=EVENTS_STREAM, config=ConsumerConfig(
        deliver_policy=DeliverPolicy.ALL, num_replicas=1, mem_storage=True))
    ids: set[int] = set()
    try:
        while True:
            try:
                batch = await sub.fetch(500, timeout=2)
            except TimeoutError:  # nats-py raises its own or asyncio's: nothing more to read
                return ids
            for msg in batch:
                ids.add(MessageCreated.model_validate(
                    CloudEvent.model_validate_json(msg.data).data).message_id)
                await msg.ack()
    finally:
        await sub.unsubscribe()


async def _eventually(check: Any, within: float) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.5)


async def test_killing_the_stream_leader_loses_no_acknowledged_message(
        tmp_path: Path) -> None:
    started = time.monotonic()
    async with _cluster(tmp_path) as cluster:
        settings = chat_settings(
            tmp_path / "chat", cluster.urls, nats_user="chat",
            nats_password=cluster.passwords["chat"], events_replicas=3, kv_replicas=3,
            rate_limit_per_sec=1000.0, rate_limit_burst=1000)
        replica = await ChatReplica(settings).start()
        admin = await cluster.admin()
        timings: dict[str, float] = {"cluster_and_chat_up": time.monotonic() - started}
        try:
            js = admin.jetstream()
            info = await js.stream_info(EVENTS_STREAM)
            assert info.config.num_replicas == 3
            throttle = await js.stream_info(f"KV_{CHAT_THROTTLE_BUCKET}")
            assert throttle.config.num_replicas == 3  # <P>KV_REPLICAS
            async with httpx.AsyncClient(base_url=replica.http_url, timeout=30) as http:
                assert (await http.post("/api/auth/register", json={
                    "username": "alice", "password": PASSWORD})).status_code == 201
                token = (await http.post("/api/auth/token", data={
                    "username": "alice", "password": PASSWORD})).json()["access_token"]
                http.headers["Authorization"] = f"Bearer {token}"
                room = (await http.post("/api/chat/rooms", json={"name": "ha"})).json()["id"]
                # Every replica holds the stream before the kill (not only the leader).
                await _eventually(lambda: _all_current(js), 30)
                acked: list[int] = []
                failed = 0
                leader = (await js.stream_info(EVENTS_STREAM)).cluster.leader
                assert leader in cluster.nodes

                async def post(n: int) -> None:
                    nonlocal failed
                    response = await http.post(f"/api/chat/rooms/{room}/messages",
                                               json={"content": f"m{n}", "client_msg_id": f"c{n}"})
                    if response.status_code == 201:
                        acked.append(response.json()["id"])
                    else:
                        failed += 1

                for n in range(60):
                    await post(n)
                kill_at = time.monotonic()
                cluster.nodes[leader].kill()  # SIGKILL, mid-stream
                for n in range(60, 160):
                    await post(n)
                    await asyncio.sleep(0.01)
                timings["posts_after_kill"] = time.monotonic() - kill_at
                new_leader = (await _eventually(lambda: _leader(js, leader), RECOVER_SECS))
                assert new_leader and new_leader != leader
                timings["new_leader_after"] = time.monotonic() - kill_at
                assert len(acked) == 160 and failed == 0

                history: set[int] = set()
                after = 0
                while True:
                    page = (await http.get(f"/api/chat/rooms/{room}/messages",
                                           params={"after_seq": after, "limit": 200})).json()
                    history |= {m["id"] for m in page["messages"]}
                    if not page["has_more"]:
                        break
                    after = page["messages"][-1]["seq"]
                assert set(acked) <= history

                async def all_in_stream() -> bool:
                    try:
                        return set(acked) <= await _stream_message_ids(js)
                    except nats.errors.Error:  # JetStream still electing: not yet
                        return False

                assert await _eventually(all_in_stream, RECOVER_SECS), (
                    sorted(set(acked) - await _stream_message_ids(js)))
                # ...with the old leader still dead: the other two replicas hold every one.
                timings["all_in_stream_after_kill"] = time.monotonic() - kill_at
                await cluster.nodes[leader].astart(20)  # the old leader rejoins and catches up
                assert await _eventually(lambda: _all_current(js), RECOVER_SECS)
                timings["old_leader_current_after_kill"] = time.monotonic() - kill_at
                assert set(acked) <= await _stream_message_ids(js)
                state = (await js.stream_info(EVENTS_STREAM)).state
                assert state.messages >= len(acked)
        finally:
            await admin.close()
            await replica.stop()
    timings["total"] = time.monotonic() - started
    print("cluster leader-kill timings (s):", {k: round(v, 2) for k, v in timings.items()})


async def _leader(js: Any, old: str) -> str | None:
    try:
        leader = (await js.stream_info(EVENTS_STREAM)).cluster.leader
    except Exception:
        return None
    return leader if leader and leader != old else None


async def _all_current(js: Any) -> bool:
    info = await js.stream_info(EVENTS_STREAM)
    replicas = info.cluster.replicas or []
    return len(replicas) == 2 and all(r.current for r in replicas)


@pytest.mark.parametrize("restarted", [True, False], ids=["node-restarted", "node-down"])
async def test_a_follower_whose_consumer_node_dies_goes_on_from_its_last_event(
        tmp_path: Path, restarted: bool) -> None:
    """A follower's consumer (ephemeral, R1, in memory) lives on one node; SIGKILL that node.
    Restarted at once (as a supervisor does), the node makes the consumer again from its
    first configuration, which sends from the start again; left down, the consumer is gone
    and fetches only time out. Either way the follower must make another consumer after the
    last event it had, neither missing nor repeating an event (the dashboard folds EVENTS
    this way)."""
    from shared.bus.nats import NatsEventBus
    from shared.bus.nats_options import NatsAuth, StreamLimits

    async with _cluster(tmp_path) as cluster:
        bus = NatsEventBus(cluster.urls, name="follower-test", events=StreamLimits(replicas=3),
                           auth=NatsAuth(user="admin", password=cluster.passwords["admin"]))
        await bus.connect()
        admin = await cluster.admin()
        seen: list[int] = []
        try:
            js = admin.jetstream()

            for n in range(5):
                assert await _published(js, n)

            async def handler(seq: int, event: CloudEvent) -> None:
                seen.append(seq)

            follower = await bus.replay("events.test.follow", handler, after_seq=0)
            assert await _eventually(lambda: _at_least(seen, 5), 10)
            consumer = follower._consumer
            assert consumer is not None
            host = (await js.consumer_info(EVENTS_STREAM, consumer)).cluster.leader
            node = cluster.nodes[host]
            node.kill()
            if restarted:
                await node.astart(20)
            for n in range(5, 15):
                await _eventually(lambda n=n: _published(js, n), 30)
            assert await _eventually(lambda: _at_least(seen, 15), 30), seen
            assert seen == sorted(set(seen)) and len(seen) == 15, seen
        finally:
            await admin.close()
            await bus.close()


async def _at_least(seen: list[int], n: int) -> bool:
    return len(seen) >= n


async def _published(js: Any, n: int) -> bool:
    try:
        event = CloudEvent(id=f"follow-{n}", source="test", type="test.follow",
                           time=datetime.now(UTC), data={"n": n})
        await js.publish("events.test.follow", event.to_bytes(), timeout=2)
        return True
    except nats.errors.Error:
        return False
