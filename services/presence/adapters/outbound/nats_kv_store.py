"""`ConnectionStore` in a JetStream key-value bucket: one key per connection, bucket TTL.

The bucket's max age is the connection TTL, so the entries of a chat replica that died
(no heartbeat re-writes them) disappear by themselves and a restarted presence service never
loads them. The bucket does not tell anyone when an entry ages out (NATS KV expiry
notifies no watcher unless limit markers are enabled), so expiry is not detected here: the
board keeps each connection's `confirmed_at`, which is exactly when this adapter last wrote
it, and its timer expires the connection at `confirmed_at + TTL` — the instant the bucket
forgets the entry too. We are the only writer, so the two views cannot drift apart by more
than a failed write, and the next heartbeat re-writes that.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import nats.errors
import nats.js.errors
import orjson
from nats.js.kv import KeyValue

from services.presence.adapters.outbound.kv_snapshot import live_entries
from services.presence.domain import MANUAL_STATUSES, Connection
from shared.bus.nats import NatsEventBus
from shared.bus.nats_kv import ensure_kv_bucket

log = logging.getLogger(__name__)

LOAD_TIMEOUT_SECS = 30.0
# Writes in flight at once: a heartbeat re-writes every socket of its replica.
WRITE_CONCURRENCY = 128
_SAFE_KEY = re.compile(r"[-_=A-Za-z0-9]+")
# Everything nats-py raises when the server did not do it.
_NATS_FAILURES = (nats.errors.Error, TimeoutError, OSError)


def entry_key(connection_id: str) -> str:
    """Chat uses UUIDs; anything else is base64url-encoded into the KV key alphabet."""
    if _SAFE_KEY.fullmatch(connection_id):
        return connection_id
    return "b64_" + base64.urlsafe_b64encode(connection_id.encode()).decode()


def encode(conn: Connection) -> bytes:
    return orjson.dumps({
        "connection_id": conn.connection_id, "user_id": conn.user_id,
        "username": conn.username, "replica_id": conn.replica_id, "rooms": list(conn.rooms),
        "current_room": conn.current_room, "opened_at": conn.opened_at,
        "last_active_at": conn.last_active_at, "confirmed_at": conn.confirmed_at,
        "manual": conn.manual,
    })


def decode(raw: bytes) -> Connection:
    data = orjson.loads(raw)
    manual = data.get("manual")
    return Connection(
        connection_id=str(data["connection_id"]), user_id=int(data["user_id"]),
        username=str(data.get("username") or ""), replica_id=str(data["replica_id"]),
        rooms=tuple(int(r) for r in data.get("rooms") or ()),
        current_room=data.get("current_room"),
        opened_at=datetime.fromisoformat(data["opened_at"]),
        last_active_at=datetime.fromisoformat(data["last_active_at"]),
        confirmed_at=datetime.fromisoformat(data["confirmed_at"]),
        manual=manual if manual in MANUAL_STATUSES else None)


class NatsKvConnectionStore:
    def __init__(self, bus: NatsEventBus, bucket: str, ttl_secs: float) -> None:
        self._bus = bus
        self.bucket = bucket
        self.ttl_secs = ttl_secs
        self._kv: KeyValue | None = None
        self._gate = asyncio.Semaphore(WRITE_CONCURRENCY)

    @property
    def ready(self) -> bool:
        return self._kv is not None

    async def prepare(self) -> None:
        await self.ensure_bucket()

    async def ensure_bucket(self) -> KeyValue:
        """The bucket, its max age our TTL (`shared/bus/nats_kv.py`)."""
        self._kv = await ensure_kv_bucket(
            self._bus.jetstream, self.bucket, self.ttl_secs,
            "Tertulia presence: one entry per open connection",
            replicas=self._bus.kv_replicas)
        return self._kv

    async def save(self, connections: Sequence[Connection]) -> None:
        failed = await self._each(connections, lambda kv, c: kv.put(
            entry_key(c.connection_id), encode(c)))
        if failed:
            log.warning("could not write %d of %d presence entries; the next heartbeat will",
                        failed, len(connections))

    async def remove(self, connections: Sequence[Connection]) -> None:
        failed = await self._each(connections, lambda kv, c: kv.delete(
            entry_key(c.connection_id)))
        if failed:
            log.warning("could not delete %d presence entries; they expire after %.1fs",
                        failed, self.ttl_secs)

    async def load_all(self) -> list[Connection]:
        """Every entry the bucket holds (`kv_snapshot.py`: an entry aging out while it is
        read does not hold the read up)."""
        kv = self._kv or await self.ensure_bucket()
        found: list[Connection] = []
        for entry in await live_entries(kv, self._bus.jetstream, LOAD_TIMEOUT_SECS):
            try:
                found.append(decode(entry.value or b""))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("skipping unreadable presence entry %s: %r", entry.key, exc)
        return found

    async def _each(self, connections: Sequence[Connection],
                    op: Callable[[KeyValue, Connection], Awaitable[object]]) -> int:
        if not connections:
            return 0
        kv = self._kv
        if kv is None:
            try:
                kv = await self.ensure_bucket()
            except _NATS_FAILURES:
                return len(connections)

        async def one(conn: Connection) -> bool:
            async with self._gate:
                try:
                    await op(kv, conn)
                    return True
                except nats.js.errors.NoStreamResponseError:
                    # NATS came back without its store: make the bucket again, once.
                    self._kv = None
                    return False
                except _NATS_FAILURES as exc:
                    log.debug("presence entry %s: %r", conn.connection_id, exc)
                    return False

        results = await asyncio.gather(*(one(c) for c in connections))
        return results.count(False)
