"""Partition leases in a JetStream key-value bucket (`PRESENCE_LEASES`): which presence
instance computes which partition of the users, and which instances are alive.

`p.<n>` holds the owner's instance id; it is won with `create` (only if absent), renewed
with `update` against the revision last seen (so a lease someone else won meanwhile is not
renewed but lost), and given up with `delete` against that revision. `m.<instance_id>` is
each instance's liveness, written every renewal. The bucket's max age is the lease time:
the keys of an instance that stopped renewing (killed, frozen, cut off) expire by
themselves, and the survivors win its partitions with `create`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import nats.errors
import nats.js.errors
from nats.js.kv import KeyValue

from services.presence.adapters.outbound.kv_snapshot import live_entries
from shared.bus.nats import NatsEventBus
from shared.bus.nats_kv import ensure_kv_bucket

log = logging.getLogger(__name__)
READ_TIMEOUT_SECS = 5.0
_FAILURES = (nats.errors.Error, TimeoutError, OSError)


@dataclass
class LeaseTable:
    """One read of the bucket: live instances, and each held partition's owner and revision."""

    members: set[str] = field(default_factory=set)
    owners: dict[int, tuple[str, int]] = field(default_factory=dict)


class NatsKvLeases:
    def __init__(self, bus: NatsEventBus, bucket: str, lease_secs: float, me: str) -> None:
        self._bus = bus
        self.bucket = bucket
        self.lease_secs = lease_secs
        self.me = me
        self._kv: KeyValue | None = None

    async def _bucket(self) -> KeyValue:
        if self._kv is None:
            self._kv = await ensure_kv_bucket(
                self._bus.jetstream, self.bucket, self.lease_secs,
                "Tertulia presence: partition leases and live instances",
                replicas=self._bus.kv_replicas)
        return self._kv

    async def read(self) -> LeaseTable:
        kv = await self._bucket()
        table = LeaseTable()
        for entry in await live_entries(kv, self._bus.jetstream, READ_TIMEOUT_SECS):
            kind, _, name = entry.key.partition(".")
            if kind == "m":
                table.members.add(name)
            elif kind == "p" and name.isdigit():
                table.owners[int(name)] = ((entry.value or b"").decode(), entry.revision or 0)
        return table

    async def alive(self) -> None:
        kv = await self._bucket()
        await kv.put(f"m.{self.me}", self.me.encode())

    async def renew(self, partition: int, revision: int) -> int | None:
        """The new revision, or None: the lease is no longer ours."""
        kv = await self._bucket()
        try:
            return await kv.update(f"p.{partition}", self.me.encode(), last=revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            return None

    async def claim(self, partition: int) -> int | None:
        """The revision of the lease won, or None: another instance holds it."""
        kv = await self._bucket()
        try:
            return await kv.create(f"p.{partition}", self.me.encode())
        except nats.js.errors.KeyWrongLastSequenceError:
            return None

    async def give_up(self, partition: int, revision: int) -> None:
        kv = await self._bucket()
        try:
            await kv.delete(f"p.{partition}", last=revision)
        except nats.js.errors.KeyWrongLastSequenceError:
            pass  # not ours any more anyway
        except _FAILURES as exc:
            log.warning("could not give up presence partition %d (it expires in %.1fs): %r",
                        partition, self.lease_secs, exc)

    async def leave(self) -> None:
        try:
            kv = await self._bucket()
            await kv.delete(f"m.{self.me}")
        except _FAILURES as exc:
            log.warning("could not remove presence instance %s from %s: %r", self.me,
                        self.bucket, exc)
