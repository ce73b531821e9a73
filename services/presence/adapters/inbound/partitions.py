"""Time as an inbound adapter, for several instances: every `renew_secs` the lease keeper
renews this instance's partition leases, gives up what is over its fair share, wins free
partitions up to it and has the use cases adopt or release their users
(`adapters/outbound/nats_leases.py` holds the leases; `domain/partitions.py` the share)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from services.presence import use_cases
from services.presence.adapters.outbound.nats_leases import NatsKvLeases
from services.presence.domain import plan
from services.presence.ports import PresenceDeps

log = logging.getLogger(__name__)


class PartitionKeeper:
    def __init__(self, leases: NatsKvLeases, deps: PresenceDeps, *, renew_secs: float,
                 drain: Callable[[], Awaitable[object]]) -> None:
        self._leases = leases
        self._deps = deps
        self._renew_secs = renew_secs
        self._drain = drain  # publish what is queued before a partition changes hands
        self._revisions: dict[int, int] = {}
        self._renewed_at: float | None = None
        self.fenced_after: float | None = None  # seconds since the last renewal, if fenced

    @property
    def _me(self) -> str:
        return self._deps.ownership.me

    async def beat(self) -> None:
        ownership = self._deps.ownership
        table = await self._leases.read()
        await self._leases.alive()
        owners = {p: owner for p, (owner, _) in table.owners.items()}
        # A lease renewed now lasts from before the request, not from its answer.
        renewing_at = asyncio.get_running_loop().time()
        lost: dict[int, object] = {}
        for partition in sorted(ownership.mine):
            # Renewed against the revision we wrote last, not the one just read: a read
            # racing an expiry may miss a key, and only the server's refusal means lost.
            held = table.owners.get(partition)
            last = self._revisions.get(partition) or (held[1] if held else 0)
            revision = await self._leases.renew(partition, last)
            if revision is None:
                lost[partition] = held
                if owners.get(partition) == self._me:
                    owners.pop(partition)
            else:
                self._revisions[partition] = revision
                owners[partition] = self._me
        self._renewed_at = renewing_at
        if lost:
            log.warning("presence partitions lost (their leases expired or were won by "
                        "another instance): %s", lost)
            for partition in lost:
                self._revisions.pop(partition, None)
            await use_cases.release(self._deps, set(lost), store=False)
        for partition, (owner, revision) in table.owners.items():
            if owner == self._me and partition not in ownership.mine and partition not in lost:
                await self._leases.give_up(partition, revision)  # won, but never adopted
                owners.pop(partition, None)
        claim, release = plan(ownership.partitions, self._me, table.members, owners)
        if release:
            await self._give_up(set(release))
            for partition in release:
                owners.pop(partition, None)
        won = {}
        for partition in claim:
            revision = await self._leases.claim(partition)
            if revision is not None:
                won[partition] = revision
        if won:
            try:
                await use_cases.adopt(self._deps, set(won))
            except Exception:
                for partition, revision in won.items():
                    await self._leases.give_up(partition, revision)
                raise
            self._revisions.update(won)
            owners.update(dict.fromkeys(won, self._me))
        ownership.owners = owners

    async def _give_up(self, partitions: set[int]) -> None:
        """Hand partitions over on purpose: their records stored and their queued events
        published first, so the next owner starts from exactly what was announced."""
        await use_cases.release(self._deps, partitions)
        await self._drain()
        for partition in sorted(partitions):
            revision = self._revisions.pop(partition, None)
            if revision is not None:
                await self._leases.give_up(partition, revision)
        log.info("presence partitions given up", extra={"fields": {
            "partitions": sorted(partitions)}})

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._renewing())
            tasks.create_task(self._watching())

    async def _renewing(self) -> None:
        while True:
            try:
                await self.beat()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("renewing presence leases failed; trying again in %.1fs",
                              self._renew_secs)
            await asyncio.sleep(self._renew_secs)

    async def _watching(self) -> None:
        """Apart from the renewals, which may hang as long as a NATS request does."""
        while True:
            await asyncio.sleep(self._renew_secs / 2)
            try:
                await self._fence()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("releasing unrenewed presence partitions failed")

    async def _fence(self) -> None:
        # Leases not renewed for nearly their lifetime may be someone else's soon: stop
        # computing those users before two instances announce the same change.
        lease_secs = self._leases.lease_secs
        now = asyncio.get_running_loop().time()
        if self._deps.ownership.mine and self._renewed_at is not None \
                and now - self._renewed_at > lease_secs - self._renew_secs:
            self.fenced_after = now - self._renewed_at
            log.warning("presence leases not renewed for %.1fs; releasing them",
                        self.fenced_after)
            self._revisions.clear()
            await use_cases.release(self._deps, set(self._deps.ownership.mine), store=False)

    async def stop(self) -> None:
        """Leaving on purpose: every partition handed over now, not when its lease expires."""
        try:
            if self._deps.ownership.mine:
                await self._give_up(set(self._deps.ownership.mine))
        finally:
            await self._leases.leave()
