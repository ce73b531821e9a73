"""A socket that never reads is closed with 1013; the room's other sockets carry on."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.integration.chat.harness import chat_settings, receive, replicas, send, sign_up

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BIG = "x" * 3900


def tiny_receive_buffer_socket(port: int) -> socket.socket:
    """A client socket whose kernel receive buffer is small, so not reading backs up fast."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


async def test_a_slow_socket_is_closed_and_never_slows_the_others(
        tmp_path: Path, nats_url: str) -> None:
    settings = chat_settings(tmp_path, nats_url, ws_send_buffer_bytes=32 * 1024,
                             rate_limit_per_sec=10_000, rate_limit_burst=10_000)
    async with replicas([settings]) as (replica,):
        alice = await sign_up(replica)
        bob = await sign_up(replica)
        carol = await sign_up(replica)
        room = await alice.create_room()
        path = f"/ws/chat/{room['id']}?token={carol.token}"
        slow_sock = tiny_receive_buffer_socket(replica.port)
        # max_queue=1: the client library stops reading its socket after one frame.
        slow = await connect(replica.ws_url + path, sock=slow_sock, max_queue=1,
                             max_size=None)
        hub = replica.chat.hub
        metrics = replica.chat.metrics
        async with bob.socket(f"/ws/chat/{room['id']}") as healthy:
            await receive(healthy, "joined")
            got: list[int] = []

            async def read_healthy() -> None:
                while True:
                    frame = orjson.loads(await healthy.recv())
                    if frame["type"] == "message":
                        got.append(frame["data"]["seq"])

            reader = asyncio.create_task(read_healthy())
            async with alice.socket("/ws") as sender:
                await send(sender, type="join", room_id=room["id"])
                await receive(sender, "joined")
                posted = 0
                # Flood until the slow socket has been dropped (bounded: 3,000 frames).
                while metrics.slow_consumers_closed._value.get() == 0 and posted < 3000:
                    for _ in range(50):
                        posted += 1
                        await send(sender, type="chat_message", room_id=room["id"],
                                   content=f"{posted} {BIG}")
                    for _ in range(50):
                        await receive(sender, "ack")
                assert metrics.slow_consumers_closed._value.get() == 1, "the slow socket was kept"
                # After the drop the room keeps flowing to the healthy socket.
                for _ in range(20):
                    posted += 1
                    await send(sender, type="chat_message", room_id=room["id"],
                               content=f"{posted} after")
                async with asyncio.timeout(30):
                    while len(got) < posted:
                        await asyncio.sleep(0.05)
            reader.cancel()
        assert got == list(range(1, posted + 1))
        assert all(c.actor.user_id != carol.id for c in hub.connections)
        # The slow client, once it reads again, finds its socket closed (1013 when the close
        # frame got through the backed-up buffers, else an abrupt end).
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(30):
                while True:
                    await slow.recv()
        rcvd = closed.value.rcvd
        assert rcvd is None or rcvd.code == 1013
        await slow.close()
