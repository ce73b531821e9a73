"""A client that stops reading its stream is dropped; the others never wait for it."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from pathlib import Path

import pytest

from shared.contracts import LIVE_CONNECTIONS
from tests.integration.dashboard import events as ev
from tests.integration.dashboard.harness import (
    DashboardServer,
    Keys,
    dashboard_settings,
    eventually,
    feeder,
    live,
    running,
    sse,
)

pytestmark = pytest.mark.integration

# Small kernel buffers on both ends (a slow link): the stalled reader fills them with tens of
# kilobytes of deltas instead of megabytes.
SOCKET_BUFFER_BYTES = 4096
QUEUE = 16


async def metric(server: DashboardServer, name: str) -> float:
    async with server.client() as client:
        text = (await client.get("/metrics")).text
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match, name
    return float(match.group(1))


async def open_stalled_stream(server: DashboardServer, token: str) -> socket.socket:
    """A raw client that sends the request, reads the response head, then reads no more."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", server.port))
    await loop.sock_sendall(sock, (
        f"GET /api/dashboard/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += await loop.sock_recv(sock, 1024)
    assert head.startswith(b"HTTP/1.1 200"), head
    return sock


async def read_to_end(sock: socket.socket, timeout: float) -> bytes:
    loop = asyncio.get_running_loop()
    received = b""
    async with asyncio.timeout(timeout):
        while chunk := await loop.sock_recv(sock, 65536):
            received += chunk
    return received


async def test_a_stalled_client_is_dropped_while_another_keeps_receiving(
        tmp_path: Path, nats_url: str) -> None:
    keys = Keys.generate()
    settings = dashboard_settings(tmp_path, nats_url, keys, client_queue_size=QUEUE,
                                  delta_interval_secs=0.02)
    async with running(settings, sndbuf=SOCKET_BUFFER_BYTES) as server, \
            feeder(nats_url) as bus, sse(server, keys.headers()) as reader:
        await reader.next()  # its snapshot
        stalled = await open_stalled_stream(server, keys.token())
        try:
            # Socket reports keep arriving, each tick a connections delta of a few KB
            # (50 replicas, 20 rooms), until the stalled client's queue overflows.
            async def keep_changing() -> None:
                n = 0
                while True:
                    n += 1
                    await live(bus, LIVE_CONNECTIONS, ev.opened(
                        f"slow-test-replica-{n % 50:02d}", f"conn-{n}", n, [9000 + n % 20]))
                    await asyncio.sleep(0.005)

            changer = asyncio.create_task(keep_changing())
            try:
                await eventually(
                    lambda: _dropped(server), timeout=20, interval=0.1)
            finally:
                changer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await changer
            assert await metric(server, "tertulia_dashboard_sse_clients") == 1

            # The reader was never dropped: it still gets what happens next.
            await live(bus, LIVE_CONNECTIONS, ev.opened("after-the-drop", "last", 1))
            await reader.until(lambda e: e.type == "connections"
                               and "after-the-drop" in e.body["by_replica"], timeout=10)
            assert await metric(server, "tertulia_dashboard_sse_clients_dropped_total") == 1

            # The stalled client, reading again, gets what was in flight and then the end of
            # its stream (the chunked terminator): the server closed it.
            received = await read_to_end(stalled, timeout=10)
            assert received.endswith(b"0\r\n\r\n")
            assert b"after-the-drop" not in received
        finally:
            stalled.close()


async def _dropped(server: DashboardServer) -> bool:
    return await metric(server, "tertulia_dashboard_sse_clients_dropped_total") >= 1
