"""A chat process killed (SIGKILL) while batches of posts are being committed: every post it
acknowledged is stored with the seq it acknowledged, nothing it did not store was
acknowledged, seq stays gapless, and every stored message reaches the event stream once."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import signal
import sys
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from services.launcher import NatsServerProcess, free_port
from tests.integration.chat.harness import stream_events
from tests.support.chaos_probe import history

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
SENDERS = 24
USERS = 4


class ChatProcess:
    """`tertulia serve chat` as production runs it, in a process this test may kill."""

    def __init__(self, data_dir: Path, nats_url: str) -> None:
        self.data_dir = data_dir
        self.nats_url = nats_url
        self.port = 0
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> ChatProcess:
        self.port = free_port()
        env = {**os.environ, "NATS_URL": self.nats_url, "DATA_DIR": str(self.data_dir),
               "CHAT_LOG_LEVEL": "WARNING", "CHAT_RATE_LIMIT_PER_SEC": "100000",
               "CHAT_RATE_LIMIT_BURST": "100000", "CHAT_REPLICA_ID": "crashy"}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.cli", "serve", "chat", "--port", str(self.port),
            cwd=ROOT, env=env, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        async with httpx.AsyncClient() as http, asyncio.timeout(30):
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/readyz")).status_code == 200:
                        return self
                await asyncio.sleep(0.1)

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def batch_sizes(url: str) -> tuple[float, float]:
    """(batches, posts) of `tertulia_chat_post_batch_posts` so far."""
    async with httpx.AsyncClient() as http:
        text = (await http.get(f"{url}/metrics")).text
    count = float(re.search(r"^tertulia_chat_post_batch_posts_count (\S+)$", text, re.M)[1])  # type: ignore[index]
    total = float(re.search(r"^tertulia_chat_post_batch_posts_sum (\S+)$", text, re.M)[1])  # type: ignore[index]
    return count, total


async def test_a_replica_killed_mid_batch_loses_no_acked_post_and_acks_nothing_unstored(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    chat = await ChatProcess(tmp_path / "data", nats_server.url).start()
    try:
        async with httpx.AsyncClient(base_url=chat.url, timeout=30) as http:
            tokens = []
            for n in range(USERS):
                body = {"username": f"poster{n}", "password": "crash-test-pw"}
                assert (await http.post("/api/auth/register", json=body)).status_code == 201
                tokens.append((await http.post("/api/auth/login", json=body)).json()
                              ["access_token"])
            http.headers["Authorization"] = f"Bearer {tokens[0]}"
            room = (await http.post("/api/chat/rooms", json={"name": "crash"})).json()["id"]

        sent: set[str] = set()
        acked: dict[str, tuple[int, int]] = {}
        ids = itertools.count()

        async def post_until_closed(token: str) -> None:
            url = chat.url.replace("http", "ws") + f"/ws/chat/{room}?token={token}"
            with contextlib.suppress(ConnectionClosed, OSError):
                async with connect(url, max_size=None) as ws:
                    while orjson.loads(await ws.recv())["type"] != "joined":
                        pass
                    while True:
                        cmid = f"p{next(ids)}"
                        sent.add(cmid)
                        await ws.send(orjson.dumps({"type": "chat_message", "content": cmid,
                                                    "client_msg_id": cmid}).decode())
                        while True:
                            frame = orjson.loads(await ws.recv())
                            if frame["type"] == "ack":
                                data = frame["data"]
                                acked[data["client_msg_id"]] = (data["id"], data["seq"])
                                break

        posters = [asyncio.create_task(post_until_closed(tokens[n % USERS]))
                   for n in range(SENDERS)]
        async with asyncio.timeout(60):
            while len(acked) < 400:
                await asyncio.sleep(0.05)
        batches, posts = await batch_sizes(chat.url)
        await chat.kill()
        await asyncio.gather(*posters)
        # Posts were in fact committed together: the kill lands amid batches of several.
        assert posts / batches > 1.5, (batches, posts)

        await chat.start()
        async with httpx.AsyncClient(base_url=chat.url, timeout=30,
                                     headers={"Authorization": f"Bearer {tokens[0]}"}) as http:
            stored = await history(http, room)
        by_cmid = {m["client_msg_id"]: m for m in stored}
        assert len(by_cmid) == len(stored), "a post was stored twice"
        assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))
        # Every acknowledged post is there, as acknowledged...
        for cmid, (message_id, seq) in acked.items():
            assert cmid in by_cmid, f"acked {cmid} was lost"
            assert (by_cmid[cmid]["id"], by_cmid[cmid]["seq"]) == (message_id, seq)
        # ...and what is there was sent (posts in flight at the kill may or may not be).
        assert set(by_cmid) <= sent
        in_flight = len(stored) - len(acked)
        assert 0 <= in_flight <= SENDERS

        # The restarted relay publishes what the killed one had not: each message once.
        async def created() -> list[int]:
            events = await stream_events(nats_server.url)
            return [e.data["message_id"] for e in events
                    if e.type == "tertulia.chat.message.created.v1"]

        async with asyncio.timeout(30):
            while len(await created()) < len(stored):
                await asyncio.sleep(0.2)
        published = await created()
        assert sorted(published) == sorted(m["id"] for m in stored)
    finally:
        await chat.stop()
