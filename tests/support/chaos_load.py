"""Steady load through the gateway for the fault-injection tier (`tests/integration/
test_ha_chaos.py`): posters that retry with their `client_msg_id`, observers whose sockets
should stay up, a user whose socket opens and closes, typing, and dashboard streams that
resume with `Last-Event-ID`. Every client reconnects at once when its connection drops and
records how long it was away, what it had in flight and what the server replayed."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

ACK_TIMEOUT_SECS = 10.0
RETRY_SECS = 0.1
# Each poster's pause between posts: 4 posters, ~8 posts/s in all, which one notifications
# instance applies as they come while 13 processes share two cores.
POST_EVERY_SECS = 0.5


@dataclass
class Drop:
    """One lost connection of one client: when it went, when the client was back."""

    client: str
    at: float
    back: float | None = None
    in_flight: int = 0   # a post sent and not acknowledged when the connection went
    replayed: int = 0    # `message` frames the rejoin replayed (`joined.replayed`)
    resumed: bool | None = None  # dashboard streams: resumed without a new snapshot

    @property
    def away(self) -> float | None:
        return None if self.back is None else self.back - self.at


@dataclass
class Client:
    """A socket's view of the room: seqs in arrival order, and the drops it lived through."""

    name: str
    user: str
    token: str
    seqs: list[int] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)
    replica: str | None = None
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def last_seq(self) -> int:
        return self.seqs[-1] if self.seqs else 0


class Load:
    """Every client of the scenario on one room; `posting` pauses and resumes the posts."""

    def __init__(self, url: str, room_id: int, tokens: dict[str, str], *,
                 posters: list[str], observers: list[str], churn: str, admin: str,
                 mentions: list[str]) -> None:
        self.url, self.room_id = url.rstrip("/"), room_id
        self.ws_url = self.url.replace("http", "ws", 1) + f"/ws/chat/{room_id}"
        self.tokens = tokens
        self.posters = [Client(f"poster-{n}", u, tokens[u]) for n, u in enumerate(posters)]
        self.observers = [Client(f"observer-{u}", u, tokens[u]) for u in observers]
        self.churn = Client(f"churn-{churn}", churn, tokens[churn])
        self.admin = admin
        self.mentions = mentions
        self.sent: set[str] = set()
        self.acked: dict[str, tuple[int, int]] = {}
        self.ack_latency: list[tuple[float, float]] = []  # (when acked, seconds)
        self.pending: dict[str, str] = {}  # poster -> client_msg_id in flight
        self.posting = asyncio.Event()
        self.stream_drops: list[Drop] = []
        self.stream_counts: dict[str, int] = {}  # stream name -> last messages_24h seen
        self.errors: list[str] = []
        self._ids = itertools.count()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # --- running --------------------------------------------------------------------

    def start(self) -> None:
        for client in self.posters:
            self._tasks.append(asyncio.create_task(self._post(client)))
        for client in self.observers:
            self._tasks.append(asyncio.create_task(self._observe(client)))
        self._tasks.append(asyncio.create_task(self._churn()))
        for n in range(2):  # two streams: the gateway's least_conn puts them on both instances
            self._tasks.append(asyncio.create_task(self._stream(f"stream-{n}")))
        self.posting.set()

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait_connected(self, timeout: float = 30) -> None:
        async with asyncio.timeout(timeout):
            for client in [*self.posters, *self.observers]:
                await client.connected.wait()
            while len(self.stream_counts) < 2:
                await asyncio.sleep(0.1)

    async def pause(self) -> None:
        """No new post; returns once nothing is in flight."""
        self.posting.clear()
        async with asyncio.timeout(2 * ACK_TIMEOUT_SECS + 30):
            while self.pending:
                await asyncio.sleep(0.05)

    def all_drops(self) -> list[Drop]:
        clients = [*self.posters, *self.observers]
        return [d for c in clients for d in c.drops] + self.stream_drops

    # --- the clients ----------------------------------------------------------------

    async def _socket(self, client: Client) -> ClientConnection:
        """Connect and join (recovering after the client's last seq); the replay's seqs
        are recorded; returns once `joined` arrived."""
        query = f"?token={client.token}"
        if client.seqs:
            query += f"&since_seq={client.last_seq}"
        while True:
            try:
                ws = await connect(self.ws_url + query, max_size=None, open_timeout=5)
                break
            except (OSError, InvalidStatus, TimeoutError):
                await asyncio.sleep(RETRY_SECS)
        while True:
            frame = orjson.loads(await ws.recv())
            if frame["type"] == "hello":
                client.replica = frame["data"]["replica_id"]
            elif frame["type"] == "message":
                self._seen(client, frame["data"])
            elif frame["type"] == "joined":
                if client.drops and client.drops[-1].back is None:
                    client.drops[-1].back = time.monotonic()
                    client.drops[-1].replayed = frame["data"]["replayed"]
                client.connected.set()
                return ws

    def _seen(self, client: Client, data: dict[str, Any]) -> None:
        if data["room_id"] == self.room_id:
            client.seqs.append(data["seq"])

    def _dropped(self, client: Client, in_flight: int = 0) -> None:
        client.connected.clear()
        client.drops.append(Drop(client.name, time.monotonic(), in_flight=in_flight))

    async def _post(self, client: Client) -> None:
        cmid: str | None = None
        while True:
            ws = await self._socket(client)
            try:
                while True:
                    if cmid is None:
                        await self._wait_for_posting(ws, client)
                        n = next(self._ids)
                        mention = (f" @{self.mentions[n // 4 % len(self.mentions)]}"
                                   if n % 4 == 0 else "")
                        cmid = f"c{n}"
                        self.sent.add(cmid)
                        self.pending[client.name] = cmid
                    await ws.send(orjson.dumps({"type": "typing", "is_typing": True}).decode())
                    sent_at = time.monotonic()
                    await ws.send(orjson.dumps({"type": "chat_message", "client_msg_id": cmid,
                                                "content": f"load {cmid}{mention}"}).decode())
                    await self._until_ack(ws, client, cmid)
                    self.ack_latency.append((time.monotonic(), time.monotonic() - sent_at))
                    cmid = None
                    self.pending.pop(client.name, None)
                    await asyncio.sleep(POST_EVERY_SECS)
            except (ConnectionClosed, OSError, TimeoutError):
                self._dropped(client, in_flight=1 if cmid else 0)
                with contextlib.suppress(Exception):
                    await ws.close()

    async def _wait_for_posting(self, ws: ClientConnection, client: Client) -> None:
        while not self.posting.is_set():  # keep reading the room while paused
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.2):
                    self._frame(client, orjson.loads(await ws.recv()))

    async def _until_ack(self, ws: ClientConnection, client: Client, cmid: str) -> None:
        async with asyncio.timeout(ACK_TIMEOUT_SECS):
            while True:
                frame = orjson.loads(await ws.recv())
                if frame["type"] == "ack" and frame["data"]["client_msg_id"] == cmid:
                    data = frame["data"]
                    self.acked[cmid] = (data["id"], data["seq"])
                    return
                self._frame(client, frame)

    def _frame(self, client: Client, frame: dict[str, Any]) -> None:
        if frame["type"] == "message":
            self._seen(client, frame["data"])
        elif frame["type"] == "error":
            self.errors.append(f"{client.name}: {frame['data']}")

    async def _observe(self, client: Client) -> None:
        while True:
            ws = await self._socket(client)
            try:
                while True:
                    self._frame(client, orjson.loads(await ws.recv()))
            except (ConnectionClosed, OSError):
                self._dropped(client)

    async def _churn(self) -> None:
        """Open for 2 s, closed for 7 s (longer than presence's 5 s grace): the churn user
        goes online and offline, each change announced once."""
        client = self.churn
        while True:
            with contextlib.suppress(ConnectionClosed, OSError, TimeoutError):
                ws = await self._socket(client)
                await asyncio.sleep(2)
                await ws.close()
            client.seqs.clear()  # a fresh join each time
            await asyncio.sleep(7)

    async def _stream(self, name: str) -> None:
        """The dashboard's SSE stream as the page reads it, resuming with Last-Event-ID."""
        last_id: str | None = None
        drop: Drop | None = None
        headers = {"Authorization": f"Bearer {self.tokens[self.admin]}"}
        async with httpx.AsyncClient(timeout=httpx.Timeout(5, read=30)) as http:
            while True:
                try:
                    with_id = {**headers, **({"Last-Event-ID": last_id} if last_id else {})}
                    async with http.stream("GET", f"{self.url}/api/dashboard/stream",
                                           headers=with_id) as response:
                        if response.status_code != 200:
                            await asyncio.sleep(RETRY_SECS)
                            continue
                        first = True
                        async for line in response.aiter_lines():
                            if line.startswith("id:"):
                                last_id = line[3:].strip()
                            if not line.startswith("data:"):
                                continue
                            event = orjson.loads(line[5:])
                            if first and drop is not None:
                                drop.back = time.monotonic()
                                drop.resumed = event["type"] != "initial_data"
                                drop = None
                            first = False
                            self._count(name, event)
                except (httpx.HTTPError, OSError):
                    pass
                if self._stopping:
                    return
                drop = Drop(name, time.monotonic())
                self.stream_drops.append(drop)
                await asyncio.sleep(RETRY_SECS)

    def _count(self, name: str, event: dict[str, Any]) -> None:
        data = event["data"]
        if event["type"] == "initial_data":
            self.stream_counts[name] = data["messages"]["messages_24h"]
        elif event["type"] == "message_stats":
            self.stream_counts[name] = data["messages_24h"]
