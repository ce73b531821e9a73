"""The socket's writes: one turn of the event loop, one transport write, in order."""

from __future__ import annotations

import asyncio
from typing import Any

from services.chat.adapters.inbound.ws_socket import RawWebSocket


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0

    def abort(self) -> None:
        self.closing = True


class FakeProtocol:
    """What RawWebSocket reaches through ASGI `send` (uvicorn's protocol object)."""

    def __init__(self) -> None:
        self.transport = FakeTransport()
        self.close_sent = False
        self.sent: list[dict[str, Any]] = []
        self.inbox: list[dict[str, Any]] = [{"type": "websocket.connect"}]

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        if message["type"] == "websocket.close":
            self.close_sent = True
            self.transport.write(b"<close>")

    async def receive(self) -> dict[str, Any]:
        return self.inbox.pop(0)


async def accepted() -> tuple[RawWebSocket, FakeProtocol]:
    protocol = FakeProtocol()
    ws = RawWebSocket({"path": "/ws", "headers": []}, protocol.receive, protocol.send)
    await ws.accept()
    return ws, protocol


async def test_frames_of_one_turn_go_out_in_one_write_in_order() -> None:
    ws, protocol = await accepted()
    for frame in (b"a", b"b", b"c"):
        assert ws.write(frame)
    assert protocol.transport.writes == []
    assert ws.buffered() == 3
    await asyncio.sleep(0)
    assert protocol.transport.writes == [b"abc"]
    ws.write(b"d")
    await asyncio.sleep(0)
    assert protocol.transport.writes == [b"abc", b"d"]


async def test_a_close_sends_what_was_queued_first() -> None:
    ws, protocol = await accepted()
    ws.write(b"last words")
    await ws.close(1013, "slow")
    await asyncio.sleep(0)
    assert protocol.transport.writes == [b"last words", b"<close>"]


async def test_nothing_is_written_after_the_servers_close_frame() -> None:
    ws, protocol = await accepted()
    ws.write(b"late")
    protocol.close_sent = True  # uvicorn closed it (shutdown, keepalive timeout)
    await asyncio.sleep(0)
    assert protocol.transport.writes == []
    protocol.transport.closing = True
    assert ws.write(b"later") is False
