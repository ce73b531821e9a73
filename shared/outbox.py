"""The transactional outbox: a service writes an event in the same transaction as the change
it describes, and a relay publishes it to JetStream, marking it sent only on the server's ack.

Two ways in, one order out. A service whose transactions tell the relay what they just
committed (`committed`, in commit order) has those rows published from memory at once, with
no read of the table; `kick` (and every start) makes the relay read the unsent rows from the
table in `id` order instead, which is also how it recovers after a failed publish. Either
way a batch is published pipelined (sent together, acknowledgements awaited together), so
rows reach the stream in the order they were handed over, and each as the bytes that were
stored (the envelope `encode_event` wrote; the relay neither decodes nor re-encodes it, from
memory or from the table). Acknowledged rows are marked sent
in one statement per `MARK_EVERY_SECS` (or per batch read from the table); a row published
again after a crash is dropped by `Nats-Msg-Id` (the event id) within the stream's window.
Every `poll_secs` the relay also publishes unsent rows older than `orphan_grace_secs`, which
another replica of the service wrote and died before publishing. Acknowledged rows are kept
for a retention window, then `purge_sent` deletes them in small batches.

This module is the relay; what a transaction writes (the table, `OutboxWriter`,
`write_with_outbox`) is `shared/outbox_rows.py`, re-exported here.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter, Gauge
from sqlalchemy import Table, delete, func, select, update

from shared.bus import EventBus, PublishFailed
from shared.db import Database
from shared.outbox_rows import (
    Committed,
    OutboxRow,
    OutboxWriter,
    WritesOutbox,
    add_to_outbox,
    outbox_row,
    outbox_table,
    write_with_outbox,
)

# The writing side lives in `shared/outbox_rows.py`; its names are importable from here too.
__all__ = ["Committed", "OutboxRelay", "OutboxRow", "OutboxWriter", "WritesOutbox",
           "add_to_outbox", "outbox_row", "outbox_table", "write_with_outbox"]

log = logging.getLogger(__name__)
RETRY_MAX_SECS = 5.0
MARK_EVERY_SECS = 0.2
MARK_MAX_PENDING = 1024
PUBLISH_BATCH = 1024
# Rows one purge batch deletes, in one short write turn; the pause between batches keeps a
# first purge of a long backlog from taking the writers' turns and a core for itself.
PURGE_BATCH = 1000
PURGE_PAUSE_SECS = 0.05
# (event ids, when): mark those rows sent, in a write transaction of its own.
MarkSent = Callable[[list[str], datetime], Awaitable[None]]


class OutboxRelay:
    def __init__(self, db: Database, bus: EventBus, table: Table, *, published: Counter,
                 pending: Gauge, poll_secs: float = 1.0, batch: int = 256,
                 orphan_grace_secs: float = 5.0, mark: MarkSent | None = None) -> None:
        self._db = db
        self._bus = bus
        self._table = table
        self._published = published
        self._pending = pending
        self._poll_secs = poll_secs
        self._batch = batch
        self._orphan_grace = timedelta(seconds=orphan_grace_secs)
        # A service whose hot path owns a driver connection marks rows there (see
        # `set_mark`); otherwise through SQLAlchemy.
        self._mark = mark
        self._wake = asyncio.Event()
        # Rows handed over by `committed`, not published yet, in commit order.
        self._queue: list[OutboxRow] = []
        # True: the table is the source (start, `kick`, after a failed publish).
        self._from_table = True
        self._unmarked: list[str] = []
        self._marked_at = 0.0
        self._stopping = False

    def set_mark(self, mark: MarkSent) -> None:
        self._mark = mark

    def kick(self) -> None:
        """Called after a commit that wrote outbox rows the relay was not handed."""
        self._from_table = True
        self._wake.set()

    def committed(self, rows: Sequence[OutboxRow]) -> None:
        """Rows a transaction of this process has just committed, in commit order."""
        if rows:
            self._queue.extend(rows)
            self._wake.set()

    async def pending(self) -> int:
        """Rows not yet acknowledged by JetStream."""
        t = self._table
        async with self._db.read() as s:
            unsent = int((await s.execute(
                select(func.count()).select_from(t).where(t.c.sent_at.is_(None))
            )).scalar_one())
        return max(0, unsent - len(self._unmarked))

    def stop(self) -> None:
        """Ask `run` to return after what it is doing (what is unpublished stays unsent in
        the table: the next start publishes it)."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.0
        loop = asyncio.get_running_loop()
        orphans_checked = loop.time()
        task = asyncio.current_task()
        # A library that swallows a CancelledError (nats-py's flush does) must not keep a
        # cancelled relay going: `cancelling()` still counts the request.
        while not self._stopping and not (task is not None and task.cancelling()):
            try:
                if self._from_table:
                    await self._recover()
                elif self._queue:
                    rows = self._queue[:PUBLISH_BATCH]
                    del self._queue[:PUBLISH_BATCH]
                    await self._publish(rows)
                    if loop.time() - self._marked_at >= MARK_EVERY_SECS or \
                            len(self._unmarked) >= MARK_MAX_PENDING:
                        await self._mark_sent()
                else:
                    # Idle: mark what was acknowledged a moment later (one statement for
                    # whatever else is acknowledged meanwhile), else wait for work.
                    timeout = MARK_EVERY_SECS if self._unmarked else self._poll_secs
                    try:
                        # A timeout scope, not wait_for: no task per idle wait.
                        async with asyncio.timeout(timeout):
                            await self._wake.wait()
                    except TimeoutError:
                        await self._mark_sent()
                    self._wake.clear()
                if loop.time() - orphans_checked >= self._poll_secs:
                    orphans_checked = loop.time()
                    await self.relay_once(orphans_only=True)
                backoff = 0.0
            except PublishFailed as exc:
                self._from_table = True
                backoff = min(max(backoff * 2, 0.25), RETRY_MAX_SECS)
                log.warning("outbox relay: JetStream unavailable, retrying",
                            extra={"fields": {"error": str(exc), "retry_secs": backoff}})
                await asyncio.sleep(backoff)
            except asyncio.CancelledError:
                raise
            except Exception:
                self._from_table = True
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(1.0)

    async def _recover(self) -> None:
        """Publish the table's unsent rows in id order until none is left; rows handed over
        meanwhile are in the table too, so the queue is dropped rather than published."""
        self._from_table = False
        self._queue.clear()
        await self._mark_sent()
        while not await self.relay_once():
            pass

    async def _publish(self, rows: list[OutboxRow]) -> None:
        self._pending.set(len(rows) + len(self._queue))
        acked = await self._bus.publish_events([row.raw() for row in rows])
        done = [row.event_id for row, ok in zip(rows, acked, strict=True) if ok]
        self._unmarked.extend(done)
        self._published.inc(len(done))
        if len(done) < len(rows):
            # What follows a failed row must not overtake it: back to the table's order.
            raise PublishFailed(f"{len(rows) - len(done)} of {len(rows)} events not "
                                "acknowledged")
        self._pending.set(len(self._queue))

    async def relay_once(self, *, orphans_only: bool = False) -> bool:
        """Publish one batch of the table's unsent rows (with `orphans_only`, only rows
        older than the grace period); True when there are no more."""
        t = self._table
        query = select(t.c.id, t.c.event_id, t.c.subject, t.c.payload) \
            .where(t.c.sent_at.is_(None)).order_by(t.c.id).limit(self._batch)
        if orphans_only:
            query = query.where(t.c.created_at < datetime.now(UTC) - self._orphan_grace)
        async with self._db.read() as s:
            rows = (await s.execute(query)).all()
        if not rows:
            if not orphans_only:
                self._pending.set(len(self._queue))
            return True
        if orphans_only:
            log.info("publishing outbox rows another process left",
                     extra={"fields": {"rows": len(rows)}})
        try:
            await self._publish([OutboxRow(r.event_id, r.subject, r.payload) for r in rows])
        finally:
            await self._mark_sent()
        return len(rows) < self._batch

    async def _mark_sent(self) -> None:
        if not self._unmarked:
            return
        ids, self._unmarked = self._unmarked, []
        t = self._table
        try:
            if self._mark is not None:
                await self._mark(ids, datetime.now(UTC))
            else:
                async with self._db.write() as s:
                    await s.execute(update(t).where(t.c.event_id.in_(ids))
                                    .values(sent_at=datetime.now(UTC)))
        except BaseException:
            self._unmarked[:0] = ids
            raise
        self._marked_at = asyncio.get_running_loop().time()

    async def purge_sent(self, before: datetime, *, batch: int = PURGE_BATCH,
                         max_batches: int | None = None) -> int:
        """Delete the rows JetStream acknowledged before `before`; unsent rows stay however
        old. Returns how many went.

        Batch by batch, oldest ids first: a read (no write lock held) looks at the next
        `batch` rows by primary key, and one short write turn deletes the acknowledged ones
        among them, so a writer on the hot path waits for one small delete at most. Ids
        follow creation time, so the walk stops at the first row created after `before`
        instead of reading the whole table; rows a little out of order go at the next run.
        """
        t = self._table
        after, removed, batches = 0, 0, 0
        while max_batches is None or batches < max_batches:
            async with self._db.read() as conn:
                rows = (await conn.execute(
                    select(t.c.id, t.c.created_at).where(t.c.id > after)
                    .order_by(t.c.id).limit(batch))).all()
            old = [row.id for row in itertools.takewhile(lambda r: r.created_at < before, rows)]
            if not old:
                break
            async with self._db.write() as conn:
                removed += (await conn.execute(delete(t).where(
                    t.c.id > after, t.c.id <= old[-1],
                    t.c.sent_at.is_not(None), t.c.sent_at < before))).rowcount
            batches += 1
            if len(old) < len(rows) or len(rows) < batch:
                break
            after = old[-1]
            await asyncio.sleep(PURGE_PAUSE_SECS)
        return removed

    async def run_purge(self, *, retention_secs: float, interval_secs: float) -> None:
        """At start, then every `interval_secs`: rows acknowledged more than
        `retention_secs` ago go (`purge_sent`). Replicas may overlap: what is already gone
        is not deleted twice."""
        while True:
            try:
                before = datetime.now(UTC) - timedelta(seconds=retention_secs)
                if removed := await self.purge_sent(before):
                    log.info("outbox: removed %d rows acknowledged before %s", removed,
                             before.isoformat(), extra={"fields": {
                                 "removed_outbox_rows": removed,
                                 "cutoff": before.isoformat()}})
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox purge failed; trying again at the next interval")
            await asyncio.sleep(interval_secs)
