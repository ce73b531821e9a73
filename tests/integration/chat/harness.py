"""Run real chat replicas in-process (uvicorn on free ports) and talk to them as clients do."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import nats
import orjson
from nats.js.api import DeliverPolicy
from websockets.asyncio.client import ClientConnection, connect

from services.chat.app import create_app
from services.chat.settings import ChatSettings
from services.launcher import free_port
from shared.contracts import CloudEvent
from shared.contracts.permissions import CHAT_AUDIT_DURABLE, CHAT_THROTTLE_BUCKET
from tests.support.servers import InProcessServer

_names = itertools.count(1)


def chat_settings(data_dir: Path, nats_url: str, **overrides: Any) -> ChatSettings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "nats_url": nats_url,
        "log_json": False,
        "log_level": "WARNING",
        "service_heartbeat_secs": 1.0,
        "connections_heartbeat_secs": 1.0,
        "outbox_poll_secs": 0.2,
        # The session's NATS outlives each test: a bucket per data directory keeps one
        # test's sign-ins (every test has an "alice") out of another's budget.
        "throttle_kv_bucket": "THROTTLE_" + hashlib.sha1(str(data_dir).encode()).hexdigest()[:16],
        # And a durable of its own for other services' audit events (created at the
        # stream's end): an earlier test's webhooks leave no entries in this one's log.
        "audit_durable_name": "chat-audit-" + hashlib.sha1(str(data_dir).encode()).hexdigest()[:12],
    }
    if overrides.get("nats_user"):
        # Under a service user, only the names its NATS permissions grant.
        values["throttle_kv_bucket"] = CHAT_THROTTLE_BUCKET
        values["audit_durable_name"] = CHAT_AUDIT_DURABLE
    values.update(overrides)
    return ChatSettings(**values)


class ChatReplica:
    """One chat process-equivalent: its own app, event loop task, NATS client and port."""

    def __init__(self, settings: ChatSettings, **overrides: Any) -> None:
        self.settings = settings
        self.port = free_port()
        self.app = create_app(settings, **overrides)
        self._server = InProcessServer(self.app, port=self.port, ws=settings.ws_protocol,
                                       ws_max_size=settings.ws_max_frame_bytes,
                                       ws_per_message_deflate=False,
                                       # as `tertulia serve chat`: the app reads X-Forwarded-*
                                       proxy_headers=False)

    @property
    def chat(self) -> Any:
        return self.app.state.chat

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> ChatReplica:
        await self._server.start()
        return self

    async def stop(self) -> None:
        await self._server.stop()


@dataclass
class Client:
    """A signed-in user with an HTTP client on one replica."""

    replica: ChatReplica
    http: httpx.AsyncClient
    user: dict[str, Any]
    token: str

    @property
    def id(self) -> int:
        return int(self.user["id"])

    @property
    def username(self) -> str:
        return str(self.user["username"])

    def socket(self, path: str = "/ws", *, token: bool = True, **kwargs: Any) -> Any:
        sep = "&" if "?" in path else "?"
        url = self.replica.ws_url + path + (f"{sep}token={self.token}" if token else "")
        return connect(url, max_size=None, **kwargs)

    async def create_room(self, name: str | None = None, **body: Any) -> dict[str, Any]:
        response = await self.http.post("/api/chat/rooms",
                                        json={"name": name or f"room-{next(_names)}", **body})
        assert response.status_code == 201, response.text
        return response.json()

    async def post(self, room_id: int, content: str, **body: Any) -> httpx.Response:
        return await self.http.post(f"/api/chat/rooms/{room_id}/messages",
                                    json={"content": content, **body})


async def sign_up(replica: ChatReplica, username: str | None = None,
                  password: str = "correct horse battery") -> Client:
    username = username or f"user{next(_names)}"
    http = httpx.AsyncClient(base_url=replica.http_url, timeout=30)
    response = await http.post("/api/auth/register",
                               json={"username": username, "password": password})
    assert response.status_code == 201, response.text
    login = await http.post("/api/auth/login", json={"username": username, "password": password})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    http.headers["Authorization"] = f"Bearer {token}"
    http.cookies.clear()
    return Client(replica, http, response.json(), token)


async def receive(ws: ClientConnection, frame_type: str, timeout: float = 10.0,
                  ) -> dict[str, Any]:
    """The next frame of `frame_type`, skipping others."""
    async with asyncio.timeout(timeout):
        while True:
            frame = orjson.loads(await ws.recv())
            if frame["type"] == frame_type:
                return frame


async def collect(ws: ClientConnection, frame_type: str, count: int,
                  timeout: float = 20.0) -> list[dict[str, Any]]:
    found = []
    async with asyncio.timeout(timeout):
        while len(found) < count:
            frame = orjson.loads(await ws.recv())
            if frame["type"] == frame_type:
                found.append(frame)
    return found


async def frames_until(ws: ClientConnection, frame_type: str,
                       timeout: float = 10.0) -> list[dict[str, Any]]:
    """Every frame up to and including the first of `frame_type`."""
    seen = []
    async with asyncio.timeout(timeout):
        while True:
            frame = orjson.loads(await ws.recv())
            seen.append(frame)
            if frame["type"] == frame_type:
                return seen


async def send(ws: ClientConnection, **frame: Any) -> None:
    await ws.send(orjson.dumps(frame).decode())


@contextlib.asynccontextmanager
async def replicas(settings: list[ChatSettings]) -> AsyncIterator[list[ChatReplica]]:
    started: list[ChatReplica] = []
    try:
        for s in settings:
            started.append(await ChatReplica(s).start())
        yield started
    finally:
        for replica in reversed(started):
            await replica.stop()


async def stream_events(url: str) -> list[CloudEvent]:
    """Every event in the EVENTS stream, read with an ephemeral ordered consumer."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        total = (await js.stream_info("EVENTS")).state.messages
        sub = await js.subscribe("events.>", ordered_consumer=True,
                                 deliver_policy=DeliverPolicy.ALL)
        events = []
        for _ in range(total):
            msg = await sub.next_msg(timeout=5)
            events.append(CloudEvent.from_bytes(msg.data))
        await sub.unsubscribe()
        return events
    finally:
        await nc.close()
