"""A webhook receiver for the tests: a bare ASGI app served by uvicorn on a free local port,
answering each path with a scripted status (the last one repeated), or, under `/hang`,
not at all until released; it records every request it got."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from services.launcher import free_port
from tests.support.servers import InProcessServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int = 0
    requests: list[Received] = field(default_factory=list)
    statuses: dict[str, list[int]] = field(default_factory=dict)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    answered: dict[str, int] = field(default_factory=dict)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def to(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        self.requests.append(Received(path, {k.decode().lower(): v.decode()
                                             for k, v in scope["headers"]}, body))
        if path.startswith("/hang"):
            await self.release.wait()
        script = self.statuses.get(path, [200])
        status = script.pop(0) if len(script) > 1 else script[0]
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"" if status in (204, 304) else b"ok"})
        self.answered[path] = self.answered.get(path, 0) + 1


@contextlib.asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    receiver = Receiver(port=free_port())
    server = InProcessServer(receiver, port=receiver.port, graceful_secs=1)
    await server.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        await server.stop()
