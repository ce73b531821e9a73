"""Run the dashboard in-process (uvicorn on a free port), feed it events over real NATS and
read its Server-Sent Events as a browser would."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel

from services.dashboard.app import create_app
from services.dashboard.settings import DashboardSettings
from shared.auth import Principal, TokenIssuer, generate_private_key_pem
from shared.bus.nats import NatsEventBus
from shared.contracts import CloudEvent, new_event
from tests.support.servers import InProcessServer


@dataclass(frozen=True)
class Keys:
    """One signing key for the test: chat replicas sign with it, the dashboard verifies."""

    private_pem: str
    issuer: TokenIssuer

    @classmethod
    def generate(cls) -> Keys:
        pem = generate_private_key_pem()
        return cls(pem, TokenIssuer(pem))

    @property
    def public_pem(self) -> str:
        return self.issuer.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def token(self, user_id: int = 1, *, admin: bool = True) -> str:
        return self.issuer.issue(Principal(user_id, f"user{user_id}", is_admin=admin))

    def headers(self, user_id: int = 1, *, admin: bool = True) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, admin=admin)}"}


def dashboard_settings(data_dir: Path, nats_url: str, keys: Keys,
                       **overrides: Any) -> DashboardSettings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "nats_url": nats_url,
        "jwt_public_key_pem": keys.public_pem,
        "log_json": False,
        "log_level": "WARNING",
        "service_heartbeat_secs": 1.0,
        "delta_interval_secs": 0.05,
        "chat_heartbeat_secs": 1.0,
    }
    values.update(overrides)
    return DashboardSettings(**values)


class DashboardServer:
    """One dashboard process-equivalent. `sndbuf` shrinks the kernel send buffer of its
    sockets (accepted sockets inherit it from the listener), standing in for a slow link so
    a client that stops reading fills it after kilobytes rather than megabytes."""

    def __init__(self, settings: DashboardSettings, *, sndbuf: int | None = None,
                 **overrides: Any) -> None:
        self.settings = settings
        self.app = create_app(settings, **overrides)
        self._sndbuf = sndbuf
        self._sock: socket.socket | None = None
        self._server: InProcessServer | None = None
        self.port = 0

    @property
    def dashboard(self) -> Any:
        return self.app.state.dashboard

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=headers or {}, timeout=30)

    async def start(self) -> DashboardServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self._sndbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._sndbuf)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        self._sock = sock
        self.port = sock.getsockname()[1]
        self._server = InProcessServer(self.app, sock=sock, graceful_secs=2)
        await self._server.start()
        return self

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()
        if self._sock is not None:
            self._sock.close()


@contextlib.asynccontextmanager
async def running(settings: DashboardSettings, **kwargs: Any) -> AsyncIterator[DashboardServer]:
    server = await DashboardServer(settings, **kwargs).start()
    try:
        yield server
    finally:
        await server.stop()


@contextlib.asynccontextmanager
async def feeder(nats_url: str) -> AsyncIterator[NatsEventBus]:
    """A NATS client that plays the other services."""
    bus = NatsEventBus(nats_url, name=f"test-feeder-{time.monotonic_ns()}")
    await bus.connect()
    try:
        yield bus
    finally:
        await bus.close()


async def publish(bus: NatsEventBus, *models: BaseModel, event_id: str | None = None,
                  time_: datetime | None = None) -> list[CloudEvent]:
    events = []
    for model in models:
        subject, event = new_event(model, source="tests/dashboard", event_id=event_id,
                                   time=time_)
        await bus.publish_event(subject, event)
        events.append(event)
    return events


async def live(bus: NatsEventBus, subject: str, *models: BaseModel) -> None:
    for model in models:
        await bus.publish(subject, model.model_dump_json().encode())


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SseEvent:
    id: str | None
    data: dict[str, Any]
    retry: int | None = None

    @property
    def type(self) -> str:
        return str(self.data["type"])

    @property
    def body(self) -> dict[str, Any]:
        return self.data["data"]


class SseStream:
    """An open `/api/dashboard/stream`, parsed as the HTML spec says. A reader task owns the
    response, so a caller's timeout never cancels the read half-way through a line."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.comments: list[str] = []
        self._events: asyncio.Queue[SseEvent | None] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        fields: dict[str, list[str]] = {}
        try:
            async for line in self.response.aiter_lines():
                if line == "":
                    if "data" in fields:
                        retry = fields.get("retry")
                        self._events.put_nowait(SseEvent(
                            fields.get("id", [None])[-1], orjson.loads("\n".join(fields["data"])),
                            int(retry[-1]) if retry else None))
                    fields.clear()
                elif line.startswith(":"):
                    self.comments.append(line[1:].strip())
                else:
                    name, _, value = line.partition(":")
                    fields.setdefault(name, []).append(value[1:] if value.startswith(" ")
                                                       else value)
        finally:
            self._events.put_nowait(None)

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await self._reader

    async def next(self, timeout: float = 10.0) -> SseEvent:
        async with asyncio.timeout(timeout):
            event = await self._events.get()
        if event is None:
            self._events.put_nowait(None)
            raise EOFError("stream ended")
        return event

    async def until(self, predicate: Callable[[SseEvent], bool],
                    timeout: float = 10.0) -> list[SseEvent]:
        """Every event up to and including the first that satisfies `predicate`."""
        seen = []
        async with asyncio.timeout(timeout):
            while True:
                event = await self.next(timeout)
                seen.append(event)
                if predicate(event):
                    return seen

    async def quiet_for(self, secs: float) -> list[SseEvent]:
        """What arrives within `secs` (the bounded window for "nothing more arrives")."""
        seen = []
        deadline = asyncio.get_running_loop().time() + secs
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                seen.append(await self.next(left))
            except TimeoutError:
                break
        return seen


@contextlib.asynccontextmanager
async def sse(server: DashboardServer, headers: dict[str, str],
              path: str = "/api/dashboard/stream") -> AsyncIterator[SseStream]:
    async with server.client(headers) as client, client.stream("GET", path) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        stream = SseStream(response)
        try:
            yield stream
        finally:
            await stream.close()


async def eventually(check: Callable[[], Any], timeout: float = 10.0,
                     interval: float = 0.05) -> Any:
    """Poll `check` (sync or async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(interval)
