"""The sweep of files: uploads never attached expire after their TTL, and deleted files
(a deleted message's, after `CHAT_FILES_RETENTION_SECS`) lose their blobs, then their row
and `FileDeleted` in one transaction. Every replica sweeps; two at once remove each file
once (the row's delete decides who tells), and a sweep cut short is finished by the next."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from services.chat.ports import ChatDeps
from services.chat.use_cases.uploads import remove_blobs
from shared.contracts import FileDeleted

log = logging.getLogger(__name__)
SWEEP_BATCH = 200


async def sweep_files(deps: ChatDeps, now: datetime | None = None) -> int:
    """One sweep; how many files this call removed."""
    if deps.blobs is None:
        return 0
    now = now or deps.clock.now()
    limits = deps.files
    async with deps.uow.write() as tx:
        await tx.file_sweep.expire_unattached(
            now - timedelta(seconds=limits.unattached_ttl_secs), now)
    removed = 0
    while True:
        async with deps.uow.read() as tx:
            due = await tx.file_sweep.removable(
                now - timedelta(seconds=limits.retention_secs), SWEEP_BATCH)
        for file in due:  # blobs first: a row never outlives its blob's removal
            await remove_blobs(deps.blobs, file)
        async with deps.uow.write() as tx:
            for file in due:
                if await tx.file_sweep.remove(file.id):
                    removed += 1
                    await tx.outbox.add(FileDeleted(
                        file_id=file.id, user_id=file.user_id, size=file.size,
                        kind=file.kind, deleted_at=now), now)
        if len(due) < SWEEP_BATCH:
            return removed


async def sweep_files_every(deps: ChatDeps, interval_secs: float) -> None:
    """At start and then every interval, until cancelled; a failed sweep is logged."""
    while True:
        try:
            removed = await sweep_files(deps)
            if removed:
                log.info("files swept", extra={"fields": {"removed": removed}})
        except Exception as exc:  # the next interval tries again
            log.warning("file sweep failed", extra={"fields": {"error": repr(exc)}})
        await asyncio.sleep(interval_secs)
