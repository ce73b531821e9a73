"""What the fault-injection tier reads off a running `tertulia up --ha` besides its HTTP API:
the NATS cluster as its `admin` user sees it (the EVENTS stream's leader and contents, the
lease buckets), and the room's history and inboxes read through the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import nats
from nats.js.api import DeliverPolicy
from nats.js.errors import KeyNotFoundError

from shared.contracts.envelope import CloudEvent

T = TypeVar("T")


class Cluster:
    """An admin connection to every NATS node of the system (whichever is up)."""

    def __init__(self, data_dir: Path, urls: list[str]) -> None:
        self.password = json.loads((data_dir / "nats-passwords.json").read_text())["admin"]
        self.urls = urls

    async def _with(self, use: Callable[[Any], Awaitable[T]]) -> T:
        nc = await nats.connect(self.urls, user="admin", password=self.password,
                                connect_timeout=2, max_reconnect_attempts=1)
        try:
            return await use(nc)
        finally:
            await nc.close()

    async def events_leader(self) -> str | None:
        async def leader(nc: Any) -> str | None:
            info = await nc.jetstream().stream_info("EVENTS")
            return info.cluster.leader if info.cluster else None
        return await self._with(leader)

    async def events_replicas_current(self) -> bool:
        """EVENTS has a leader and every other node's copy is current."""
        async def current(nc: Any) -> bool:
            cluster = (await nc.jetstream().stream_info("EVENTS")).cluster
            return bool(cluster and cluster.leader and len(cluster.replicas or []) == 2
                        and all(r.current for r in cluster.replicas or []))
        return await self._with(current)

    async def kv_values(self, bucket: str) -> dict[str, tuple[str, int]]:
        """Each live key of `bucket`: (its value, its revision)."""
        async def values(nc: Any) -> dict[str, tuple[str, int]]:
            kv = await nc.jetstream().key_value(bucket)
            found = {}
            with contextlib.suppress(Exception):  # no keys at all
                for key in await kv.keys():
                    with contextlib.suppress(KeyNotFoundError):
                        entry = await kv.get(key)
                        if entry.value:
                            found[key] = (entry.value.decode(), entry.revision or 0)
            return found
        return await self._with(values)

    async def events(self) -> list[CloudEvent]:
        """Every event in EVENTS, in stream order (an ephemeral ordered consumer)."""
        async def read(nc: Any) -> list[CloudEvent]:
            js = nc.jetstream()
            total = (await js.stream_info("EVENTS")).state.messages
            sub = await js.subscribe("events.>", ordered_consumer=True,
                                     deliver_policy=DeliverPolicy.ALL)
            found = [CloudEvent.from_bytes((await sub.next_msg(timeout=5)).data)
                     for _ in range(total)]
            await sub.unsubscribe()
            return found
        return await self._with(read)


async def history(http: httpx.AsyncClient, room_id: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        page = (await http.get(f"/api/chat/rooms/{room_id}/messages",
                               params={"after_seq": after, "limit": 200})).json()
        found.extend(page["messages"])
        if not page["has_more"]:
            return found
        after = found[-1]["seq"]


async def inbox(http: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 200}
    while True:
        page = (await http.get("/api/notifications", params=params,
                               headers={"Authorization": f"Bearer {token}"})).json()
        found.extend(page["notifications"])
        if not page["has_more"]:
            return found
        params["before"] = page["next_before"]


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float,
                     every: float = 0.25) -> tuple[T | None, float]:
    """Poll `check` until it returns neither None nor False (an empty list or a count of
    nothing is an answer); (its last answer, seconds it took)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    answer: T | None = None
    while loop.time() - started < timeout:
        with contextlib.suppress(Exception):
            answer = await check()
            if answer is not None and answer is not False:
                return answer, loop.time() - started
        await asyncio.sleep(every)
    return answer, loop.time() - started
