"""`BodyLimit`: request bodies above a size are refused with 413 problem details, unread."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import orjson

from shared.problems import PROBLEM_JSON, Problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class BodyLimit:
    """ASGI middleware for HTTP requests. A Content-Length above `max_bytes` is answered at
    once, before a byte of the body is read; a body without one (chunked) is read up to the
    limit and answered as soon as it passes it. Bodies within the limit reach the app as
    they came (a chunked one in one piece).

    The connection stays open: uvicorn discards the rest of a body whose response is
    complete without buffering it, and closing instead would reset a connection the client
    is still writing to, so it would never read the 413 (uvicorn has no lingering close).
    The gateway, in front, closes such connections itself.

    `streamed` paths (uploads) have limits of their own: a Content-Length above it is
    refused the same way, and any other body reaches the route unread and unbuffered (the
    route counts it as it streams, and stops at the limit itself)."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 streamed: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streamed = streamed or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        streamed = self.streamed.get(scope.get("path", ""))
        if streamed is not None:
            if length is not None and length > streamed:
                await self._refuse(scope, send, streamed)
            else:
                await self.app(scope, receive, send)
            return
        if length is not None:
            # The server delivers no more than the Content-Length it parsed.
            if length > self.max_bytes:
                await self._refuse(scope, send)
            else:
                await self.app(scope, receive, send)
            return
        if not _has_body(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([whole], receive), send)

    async def _refuse(self, scope: Scope, send: Send, max_bytes: int | None = None) -> None:
        max_bytes = self.max_bytes if max_bytes is None else max_bytes
        problem = Problem(413, "body_too_large", "Request body too large",
                          f"Request bodies are limited to {max_bytes} bytes.",
                          max_bytes=max_bytes)
        body = orjson.dumps(problem.body(scope.get("path")))
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
        ]})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _has_body(scope: Scope) -> bool:
    return any(name == b"transfer-encoding" for name, _ in scope.get("headers", ()))


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
