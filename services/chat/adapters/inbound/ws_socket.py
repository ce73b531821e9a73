"""One chat WebSocket at the ASGI level, without a framework's per-socket machinery.

Starlette's `WebSocket` and FastAPI's dependency stack keep some thirty suspended coroutines
and their exit stacks alive for every idle socket; a chat socket needs the handshake, a
receive loop and a way to write. Writes bypass ASGI's `send` (one coroutine and a message
dict per frame): the server's protocol object owns the TCP transport, and encoded
WebSocket frames are written to it directly (`FrameSink`), those of one event-loop turn in
one write. uvicorn writes its own frames (pings, close) on the same transport, one whole
frame per `write`, so frames never interleave; nothing is written after its close frame.
"""

from __future__ import annotations

import asyncio
import logging
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

log = logging.getLogger(__name__)
CLOSE_HANDSHAKE_SECS = 2.0

Scope = dict[str, Any]
Receive = Any
Send = Any


class Disconnected(Exception):
    """The peer closed the socket or the connection dropped."""

    def __init__(self, code: int) -> None:
        super().__init__(f"disconnected ({code})")
        self.code = code


class RawWebSocket:
    """The handshake's request data, the receive side, and direct writes of encoded frames."""

    __slots__ = ("_corked", "_corked_bytes", "_query", "_receive", "_send", "_transport", "path",
                 "query_string", "scope")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self.path: str = scope["path"]
        self.query_string: bytes = scope.get("query_string", b"")
        self._receive = receive
        self._send = send
        self._transport: asyncio.WriteTransport | None = None
        self._query: dict[str, list[str]] | None = None
        self._corked: list[bytes] | None = None
        self._corked_bytes = 0

    # --- the handshake's request ----------------------------------------------------------

    def header(self, name: bytes) -> str | None:
        for key, value in self.scope["headers"]:
            if key == name:
                return value.decode("latin-1")
        return None

    def query(self, name: str) -> str | None:
        if not self.query_string:
            return None
        if self._query is None:
            self._query = parse_qs(self.query_string.decode("latin-1"))
        values = self._query.get(name)
        return values[0] if values else None

    def cookie(self, name: str) -> str | None:
        raw = self.header(b"cookie")
        if not raw:
            return None
        try:
            morsel = SimpleCookie(raw).get(name)
        except CookieError:
            return None
        return morsel.value if morsel is not None else None

    def forget_handshake(self) -> None:
        """Admitted: the request headers are not needed for the connection's life."""
        self.scope["headers"] = []
        self._query = None

    # --- ASGI ---------------------------------------------------------------------------

    async def accept(self) -> None:
        message = await self._receive()
        if message["type"] != "websocket.connect":
            raise Disconnected(1006)
        await self._send({"type": "websocket.accept"})
        # uvicorn's `send` is a method of its protocol object, which holds the transport.
        protocol = getattr(self._send, "__self__", None)
        completed = getattr(protocol, "handshake_completed_event", None)
        if completed is not None:
            # uvicorn's legacy `websockets` protocol writes the 101 response in a task of
            # its own; a frame written before it would precede the handshake.
            await completed.wait()
        self._transport = getattr(protocol, "transport", None)
        if self._transport is None:
            raise RuntimeError("the chat WebSocket needs an ASGI server that exposes its "
                               "transport (uvicorn)")

    async def receive_text(self) -> str | None:
        """The next message's text (binary is decoded as UTF-8); None for other events."""
        message = await self._receive()
        kind = message["type"]
        if kind == "websocket.receive":
            text = message.get("text")
            if text is None and message.get("bytes") is not None:
                text = message["bytes"].decode("utf-8", errors="replace")
            return text
        if kind == "websocket.disconnect":
            raise Disconnected(message.get("code", 1000))
        return None

    async def close(self, code: int, reason: str = "") -> None:
        """The close handshake through the server, which then owns the transport's end; a
        peer that reads nothing cannot take even the close frame, so its TCP connection is
        dropped after `CLOSE_HANDSHAKE_SECS`. Frames queued before it go first."""
        self._uncork()
        try:
            await asyncio.wait_for(self._send({"type": "websocket.close", "code": code,
                                               "reason": reason[:120]}),
                                   CLOSE_HANDSHAKE_SECS)
        except Exception:
            self.abort()

    # --- FrameSink ----------------------------------------------------------------------

    def write(self, wire: bytes) -> bool:
        """Queue a frame; what one turn of the event loop writes to this socket goes out in
        one `transport.write` at the end of that turn (a batch of posts delivers several
        frames to each socket of a room, and each write is a system call)."""
        transport = self._transport
        if transport is None or transport.is_closing():
            return False
        corked = self._corked
        if corked is None:
            self._corked = [wire]
            self._corked_bytes = len(wire)
            asyncio.get_running_loop().call_soon(self._uncork)
        else:
            corked.append(wire)
            self._corked_bytes += len(wire)
        return True

    def buffered(self) -> int:
        transport = self._transport
        pending = transport.get_write_buffer_size() if transport is not None else 0
        return pending + self._corked_bytes

    def _uncork(self) -> None:
        corked, self._corked = self._corked, None
        self._corked_bytes = 0
        transport = self._transport
        if not corked or transport is None or transport.is_closing():
            return
        protocol = getattr(self._send, "__self__", None)
        if getattr(protocol, "close_sent", False):
            return  # the server closed the socket: nothing may follow its close frame
        transport.write(corked[0] if len(corked) == 1 else b"".join(corked))

    def abort(self) -> None:
        """Drop the TCP connection: a peer that reads nothing cannot take a close frame."""
        if self._transport is not None:
            self._transport.abort()
