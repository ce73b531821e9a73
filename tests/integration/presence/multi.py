"""Several real presence processes (`tertulia serve presence`, PRESENCE_PARTITIONS) on a
nats-server running the committed configuration (infra/nats/nats.conf and its users), on
one PostgreSQL database; the chat replicas played over NATS as the `admin` user."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nats
from nats.aio.client import Client

from services.launcher import NatsServerProcess, free_port
from services.up_nats import new_password
from shared.auth import Principal, TokenIssuer, generate_private_key_pem
from shared.contracts import PRESENCE_USERS_RPC, PresenceQuery, PresenceSnapshot
from shared.contracts.permissions import PASSWORD_VARS, PRESENCE_LEASES_BUCKET
from tests.integration.presence.harness import (
    GRACE_SECS,
    HEARTBEAT_SECS,
    EventLog,
    FakeReplica,
    eventually,
    public_pem,
)

ROOT = Path(__file__).resolve().parents[3]
PARTITIONS = 8
LEASE_SECS = 2.0
RENEW_SECS = 0.25


class PresenceProcess:
    """`tertulia serve presence` as a child process, stopped (or killed) by its PID."""

    def __init__(self, name: str, workdir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.log_path = workdir / f"{name}.log"
        (workdir / name).mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, **env, "PRESENCE_INSTANCE_ID": name,
                    "PRESENCE_DATA_DIR": str(workdir / name)}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "serve", "presence",
                 "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)

    async def start(self) -> PresenceProcess:
        self.spawn()
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as http:
            async def ready() -> bool:
                assert self.proc is not None and self.proc.poll() is None, self.log()
                try:
                    return (await http.get("/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False
            await eventually(ready, 30, f"{self.name} ready")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def wait(self, secs: float = 20) -> None:
        if self.proc is not None:
            try:
                self.proc.wait(secs)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stop(self) -> None:
        self.signal(signal.SIGTERM)
        self.wait()


@dataclass
class Fleet:
    workdir: Path
    nc: Client  # the admin user: plays the chat replicas and listens
    issuer: TokenIssuer
    env: dict[str, str]
    log: EventLog = field(default_factory=EventLog)
    instances: dict[str, PresenceProcess] = field(default_factory=dict)

    def user_in(self, partition: int) -> int:
        """A new user id in that partition (ids are `partition_of = id % PARTITIONS`)."""
        base = secrets.randbelow(10**6) * PARTITIONS * 16
        user_id = base + partition
        self.log.users.add(user_id)
        return user_id

    def admin_token(self) -> str:
        return self.issuer.issue(Principal(1, "admin", True))

    async def start(self, name: str) -> PresenceProcess:
        instance = await PresenceProcess(name, self.workdir, self.env).start()
        self.instances[name] = instance
        return instance

    def replica(self) -> FakeReplica:
        replica = FakeReplica(self.nc)
        replica.start_heartbeats()
        return replica

    async def leases(self) -> dict[int, str]:
        kv = await self.nc.jetstream().key_value(PRESENCE_LEASES_BUCKET)
        found: dict[int, str] = {}
        watcher = await kv.watchall(ignore_deletes=True)
        async for entry in watcher:
            if entry is None:
                break
            if entry.key.startswith("p.") and entry.value:
                found[int(entry.key[2:])] = entry.value.decode()
        await watcher.stop()
        return found

    async def wait_for_owners(self, names: set[str], within: float = 20.0) -> dict[int, str]:
        """Until every partition is held, each by one of `names`, none over its share."""
        share = -(-PARTITIONS // len(names))
        seen: dict[int, str] = {}

        async def settled() -> bool:
            nonlocal seen
            seen = await self.leases()
            held = [list(seen.values()).count(n) for n in names]
            return (len(seen) == PARTITIONS and set(seen.values()) == names
                    and max(held) <= share)

        await eventually(settled, within, f"partitions split over {names} (have {seen})")
        return seen

    def client(self, name: str, user_id: int) -> httpx.AsyncClient:
        token = self.issuer.issue(Principal(user_id, f"u{user_id}", False))
        return httpx.AsyncClient(base_url=self.instances[name].url, timeout=10,
                                 headers={"Authorization": f"Bearer {token}"})

    async def present(self, name: str) -> dict[int, tuple[str, int]]:
        """GET /api/presence on one instance: user -> (status, connections)."""
        headers = {"Authorization": f"Bearer {self.admin_token()}"}
        async with httpx.AsyncClient(base_url=self.instances[name].url, headers=headers,
                                     timeout=10) as http:
            response = await http.get("/api/presence", params={"limit": 200})
        assert response.status_code == 200, response.text
        return {u["user_id"]: (u["status"], u["connections"])
                for u in response.json()["users"] if u["user_id"] in self.log.users}

    async def ask(self, user_ids: list[int]) -> dict[int, tuple[str, int]]:
        """`rpc.presence.users`, answered by whichever instance the queue group picks."""
        raw = await self.nc.request(PRESENCE_USERS_RPC, PresenceQuery(
            user_ids=user_ids).model_dump_json().encode(), timeout=5)
        answer = PresenceSnapshot.model_validate_json(raw.data)
        return {u.user_id: (u.status, u.connections) for u in answer.users}


@asynccontextmanager
async def fleet(tmp_path: Path, database_url: str) -> AsyncIterator[Fleet]:
    # Passwords as `tertulia up` makes them: some random strings do not parse as `$VAR`s.
    passwords = {user: new_password() for user in PASSWORD_VARS}
    server = NatsServerProcess(
        tmp_path / "nats", jetstream=False, config=ROOT / "infra" / "nats" / "nats.conf",
        env={var: passwords[user] for user, var in PASSWORD_VARS.items()},
        extra_args=["-sd", str(tmp_path / "nats" / "jetstream")])
    await server.astart(20)
    issuer = TokenIssuer(generate_private_key_pem())
    env = {
        "PRESENCE_NATS_URL": server.url, "PRESENCE_NATS_USER": "presence",
        "PRESENCE_NATS_PASSWORD": passwords["presence"], "PRESENCE_DATABASE_URL": database_url,
        "PRESENCE_JWT_PUBLIC_KEY_PEM": public_pem(issuer),
        "PRESENCE_PARTITIONS": str(PARTITIONS), "PRESENCE_LEASE_SECS": str(LEASE_SECS),
        "PRESENCE_LEASE_RENEW_SECS": str(RENEW_SECS),
        "PRESENCE_GRACE_SECS": str(GRACE_SECS),
        "PRESENCE_CHAT_HEARTBEAT_SECS": str(HEARTBEAT_SECS), "PRESENCE_SWEEP_SECS": "0.1",
        # Entries outlive a lease several times over, as with the defaults (30 s and 5 s):
        # a dead owner's sockets are still in the store when its partitions are taken over.
        "PRESENCE_KV_TTL_SECS": str(3 * LEASE_SECS),
        "PRESENCE_PERSIST_SECS": "0.5", "PRESENCE_SERVICE_HEARTBEAT_SECS": "1",
        "PRESENCE_LOG_LEVEL": "INFO",
    }
    nc = await nats.connect(server.url, user="admin", password=passwords["admin"])
    the_fleet = Fleet(tmp_path, nc, issuer, env)
    await the_fleet.log.listen(nc)
    try:
        yield the_fleet
    finally:
        for instance in the_fleet.instances.values():
            instance.signal(signal.SIGKILL)
            instance.wait()
        await nc.close()
        await server.astop()


def since(start: float) -> float:
    return round(time.monotonic() - start, 2)


async def sleep(secs: float) -> None:
    await asyncio.sleep(secs)
