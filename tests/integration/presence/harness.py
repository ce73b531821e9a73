"""Run the presence service in-process (uvicorn on a free port) and play the chat replicas
around it on real NATS: their `live.connections` messages, and an ear on the events."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
from cryptography.hazmat.primitives import serialization
from nats.aio.client import Client
from nats.aio.msg import Msg

from services.launcher import free_port
from services.presence.app import create_app
from services.presence.settings import PresenceSettings
from shared.auth import Principal, TokenIssuer, generate_private_key_pem
from shared.contracts import (
    LIVE_CONNECTIONS,
    CloudEvent,
    ConnectionActivity,
    ConnectionClosed,
    ConnectionInfo,
    ConnectionOpened,
    ConnectionsHeartbeat,
    ConnectionStatusSet,
    PresenceChanged,
    spec_for,
)
from tests.support.servers import InProcessServer

# The chat replicas of these tests beat every HEARTBEAT_SECS; presence expires an entry after
# 3 of them and waits GRACE_SECS before offline. "Nothing happens" is asserted over QUIET_SECS.
HEARTBEAT_SECS = 0.5
GRACE_SECS = 0.5
TTL_SECS = 3 * HEARTBEAT_SECS
QUIET_SECS = 3 * GRACE_SECS
# Each test gets users of its own: the NATS server is shared by the whole session.
_user_ids = itertools.count(random.randint(10**6, 10**9) // 1000 * 1000)


def new_user_id() -> int:
    return next(_user_ids)


def public_pem(issuer: TokenIssuer) -> str:
    return issuer.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def presence_settings(data_dir: Path, nats_url: str, **overrides: Any) -> PresenceSettings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "nats_url": nats_url,
        "log_json": False,
        "log_level": "WARNING",
        "grace_secs": GRACE_SECS,
        "chat_heartbeat_secs": HEARTBEAT_SECS,
        "sweep_secs": 0.1,
        "persist_secs": 0.5,
        "service_heartbeat_secs": 1.0,
        # A bucket per test: what one test leaves behind never reaches another.
        "kv_bucket": f"PRESENCE_T{uuid.uuid4().hex[:10]}",
    }
    values.update(overrides)
    return PresenceSettings(**values)


async def eventually(check: Callable[[], bool | Awaitable[bool]], within_secs: float = 5.0,
                     what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + within_secs
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not met within {within_secs}s")
        await asyncio.sleep(0.02)


class PresenceInstance:
    """One presence process-equivalent: its own app, NATS client and port."""

    def __init__(self, settings: PresenceSettings, **overrides: Any) -> None:
        self.settings = settings
        self.port = free_port()
        self.app = create_app(settings, **overrides)
        self._server = InProcessServer(self.app, port=self.port)

    @property
    def presence(self) -> Any:
        return self.app.state.presence

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.http_url, headers=headers, timeout=10)

    async def start(self) -> PresenceInstance:
        await self._server.start()
        return self

    async def stop(self) -> None:
        await self._server.stop()


@dataclass
class FakeReplica:
    """A chat replica as presence hears it: sockets, activity, statuses and heartbeats."""

    nc: Client
    replica_id: str = field(default_factory=lambda: f"chat-{uuid.uuid4().hex[:6]}")
    interval_secs: float = HEARTBEAT_SECS
    sockets: dict[str, ConnectionInfo] = field(default_factory=dict)
    _beating: asyncio.Task[None] | None = None

    async def _send(self, message: Any) -> None:
        await self.nc.publish(LIVE_CONNECTIONS, message.model_dump_json().encode())
        await self.nc.flush()

    async def open(self, user_id: int | None, *, room: int | None = None,
                   username: str | None = None) -> str:
        now = datetime.now(UTC)
        conn_id = str(uuid.uuid4())
        info = ConnectionInfo(connection_id=conn_id, user_id=user_id,
                              username=username or (f"u{user_id}" if user_id else None),
                              rooms=[room] if room is not None else [], current_room=room,
                              opened_at=now, last_active_at=now)
        self.sockets[conn_id] = info
        await self._send(ConnectionOpened(replica_id=self.replica_id, connection=info))
        return conn_id

    async def close(self, conn_id: str) -> None:
        info = self.sockets.pop(conn_id)
        await self._send(ConnectionClosed(replica_id=self.replica_id, connection_id=conn_id,
                                          user_id=info.user_id, closed_at=datetime.now(UTC),
                                          code=1000))

    async def activity(self, conn_id: str, room: int | None = None) -> None:
        info = self.sockets[conn_id]
        assert info.user_id is not None
        now = datetime.now(UTC)
        self.sockets[conn_id] = info.model_copy(update={"last_active_at": now,
                                                        "current_room": room})
        await self._send(ConnectionActivity(replica_id=self.replica_id, connection_id=conn_id,
                                            user_id=info.user_id, current_room=room, at=now))

    async def set_status(self, conn_id: str, status: str) -> None:
        user_id = self.sockets[conn_id].user_id
        assert user_id is not None
        await self._send(ConnectionStatusSet(
            replica_id=self.replica_id, connection_id=conn_id, user_id=user_id,
            status=status, at=datetime.now(UTC)))  # type: ignore[arg-type]

    async def heartbeat(self) -> None:
        await self._send(ConnectionsHeartbeat(
            replica_id=self.replica_id, interval_secs=self.interval_secs,
            connections=list(self.sockets.values()), at=datetime.now(UTC)))

    def start_heartbeats(self) -> None:
        async def beat() -> None:
            while True:
                await self.heartbeat()
                await asyncio.sleep(self.interval_secs)

        self._beating = asyncio.create_task(beat())

    async def crash(self) -> None:
        """Stop beating, without closing anything: what presence sees of a killed replica."""
        if self._beating is not None:
            self._beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beating
            self._beating = None


class EventLog:
    """Every `events.presence.changed` about the users of interest, as heard on core NATS."""

    def __init__(self) -> None:
        self.users: set[int] = set()
        self.events: list[PresenceChanged] = []

    async def listen(self, nc: Client) -> None:
        async def on_event(msg: Msg) -> None:
            change = CloudEvent.from_bytes(msg.data).payload()
            assert isinstance(change, PresenceChanged)
            if change.user_id in self.users:
                self.events.append(change)

        await nc.subscribe(spec_for(PresenceChanged).subject, cb=on_event)
        await nc.flush()

    def of(self, user_id: int) -> list[tuple[str, str]]:
        return [(e.status, e.reason) for e in self.events if e.user_id == user_id]

    async def wait_for(self, count: int, within_secs: float = 5.0) -> None:
        await eventually(lambda: len(self.events) >= count, within_secs,
                         f"{count} presence events (have {self.events})")

    async def stays_at(self, count: int, secs: float = QUIET_SECS) -> None:
        """Nothing more is announced for `secs` (a bounded window, never proof forever)."""
        await asyncio.sleep(secs)
        assert len(self.events) == count, self.events


@dataclass
class Scene:
    """What a presence test works with: settings, a token issuer, NATS, the events."""

    tmp_path: Path
    nats_url: str
    nc: Client
    issuer: TokenIssuer
    log: EventLog
    replicas: list[FakeReplica] = field(default_factory=list)
    instances: list[PresenceInstance] = field(default_factory=list)
    settings: PresenceSettings | None = None

    def user(self) -> int:
        user_id = new_user_id()
        self.log.users.add(user_id)
        return user_id

    def token(self, user_id: int, *, admin: bool = False) -> str:
        return self.issuer.issue(Principal(user_id, f"u{user_id}", admin))

    async def presence(self, **overrides: Any) -> PresenceInstance:
        """Start a presence instance; the first fixes the settings, later ones restart it."""
        if self.settings is None:
            self.settings = presence_settings(self.tmp_path, self.nats_url,
                                              jwt_public_key_pem=public_pem(self.issuer),
                                              **overrides)
        instance = await PresenceInstance(self.settings).start()
        self.instances.append(instance)
        return instance

    def replica(self, *, heartbeats: bool = True) -> FakeReplica:
        replica = FakeReplica(self.nc)
        if heartbeats:
            replica.start_heartbeats()
        self.replicas.append(replica)
        return replica

    async def close(self) -> None:
        for replica in self.replicas:
            await replica.crash()
        for instance in reversed(self.instances):
            await instance.stop()
        if self.settings is not None:
            with contextlib.suppress(Exception):
                await self.nc.jetstream().delete_key_value(self.settings.kv_bucket)
        await self.nc.drain()


@contextlib.asynccontextmanager
async def scene(tmp_path: Path, nats_url: str) -> Any:
    nc = await nats.connect(nats_url)
    log = EventLog()
    await log.listen(nc)
    the_scene = Scene(tmp_path, nats_url, nc, TokenIssuer(generate_private_key_pem()), log)
    try:
        yield the_scene
    finally:
        await the_scene.close()
