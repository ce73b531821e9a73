"""At restore, the EVENTS stream and the outboxes of the restored databases made to agree.

A backup copies the databases, then snapshots the stream (`services/backup/make.py`). An
event its service published between its database's copy and the snapshot is in the
snapshot but not in that database: the restored service would hand out its ids again (a
second message with the same id in EVENTS). A row a copy holds unsent whose event the
snapshot already has would be published a second time by the restored relay, once the
stream's duplicate window is over. So, after the stream is restored and before any service
starts, the messages published while the backup ran are compared with the outboxes:

- The backup records `start` (the stream's last sequence S0, and its time) before its
  first database copy. An event at seq <= S0 was published from a row committed before
  every copy, so its database has it. The walk starts after S0, or earlier when a copy
  holds unsent rows created before S0's time (published, not yet marked sent, when the
  copy was taken): from `CLOCK_MARGIN_SECS` before the oldest of them.
- An event whose id is in its owner's restored outbox is kept; if the row is unsent there,
  it is marked sent (at the event's stream time), so the relay does not publish it again.
- An event at seq > S0 of a subject an outbox-owning service publishes (`OUTBOX_OWNERS`:
  `events.<service>.*`, chat and notifications, which publish only through their outbox)
  whose id is not in that outbox is deleted from the stream: the database that owns it
  never saw it. Events of direct publishers (presence, the dashboard) are kept, and so is
  every event when its owner's database is not in the backup (PostgreSQL).

An outbox row leaves the table a retention period after it was sent
(`CHAT_OUTBOX_RETENTION_SECS`, a day; `NOTIFICATIONS_RETENTION_DAYS`); an event at seq > S0
was sent during the backup, so its row is still there.

The database edits are made in the staged copies, the stream edits after them; a failure
anywhere fails the restore, which then leaves nothing behind (`services/backup/restore.py`).
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nats.aio.client import Client
from nats.js import api
from nats.js.errors import Error as JsError
from nats.js.errors import NotFoundError

from services.chat.adapters.outbound.sqla_tables import outbox as chat_outbox
from services.notifications.adapters.outbound.sqla_tables import outbox as notifications_outbox
from shared.contracts.events import EVENT_MODELS

# Service -> its outbox table. Both services publish every event through it (they have no
# other path to JetStream; tests/unit/test_backup_reconcile.py keeps it so), so an id
# missing from it was never theirs to publish.
OUTBOX_TABLES = {"chat": chat_outbox.name, "notifications": notifications_outbox.name}
# Event subject -> the service whose outbox it comes from (`events.<service>.<...>`).
OUTBOX_OWNERS = {spec.subject: spec.subject.split(".")[1] for spec in EVENT_MODELS
                 if spec.subject.split(".")[1] in OUTBOX_TABLES}
# Outbox `created_at` is the service's clock, stream times the NATS server's.
CLOCK_MARGIN_SECS = 60.0
FETCH_BATCH = 256
FETCH_TIMEOUT_SECS = 5.0
SQLITE_VARIABLES = 500  # ids per IN (...) statement, within SQLite's limit


class ReconcileError(RuntimeError):
    """The stream could not be walked or edited."""


@dataclass(frozen=True, slots=True)
class StreamMessage:
    seq: int
    subject: str
    event_id: str | None  # Nats-Msg-Id; None for a message published without one
    time: datetime


@dataclass
class Report:
    """What the reconciliation did, as the restore prints and records it."""

    walked_from_seq: int | None = None
    kept: int = 0
    deleted: list[dict[str, Any]] = field(default_factory=list)  # seq, subject, event_id
    marked_sent: dict[str, list[str]] = field(default_factory=dict)  # service -> event ids
    not_checked: list[str] = field(default_factory=list)  # services without a database

    def summary(self) -> str:
        marked = sum(len(ids) for ids in self.marked_sent.values())
        return f"kept {self.kept}, deleted {len(self.deleted)}, marked {marked} sent"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def to_sqlite(moment: datetime) -> str:
    """SQLAlchemy's SQLite text for `UtcDateTime` (naive UTC, microseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def from_sqlite(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def oldest_unsent(db: Path, table: str) -> datetime | None:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute(f'SELECT min(created_at) FROM "{table}" '
                           "WHERE sent_at IS NULL").fetchone()
    finally:
        conn.close()
    return from_sqlite(row[0]) if row and row[0] else None


def outbox_state(db: Path, table: str, event_ids: list[str]) -> dict[str, bool]:
    """Of `event_ids`, those in the outbox, each with whether it is marked sent."""
    found: dict[str, bool] = {}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        for start in range(0, len(event_ids), SQLITE_VARIABLES):
            chunk = event_ids[start:start + SQLITE_VARIABLES]
            marks = ",".join("?" * len(chunk))
            for event_id, sent_at in conn.execute(
                    f'SELECT event_id, sent_at FROM "{table}" WHERE event_id IN ({marks})',
                    chunk):
                found[event_id] = sent_at is not None
    finally:
        conn.close()
    return found


def mark_sent(db: Path, table: str, sent: dict[str, datetime]) -> None:
    """Mark these rows sent, at their events' stream times, in one transaction."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(f'UPDATE "{table}" SET sent_at = ? WHERE event_id = ? '
                             "AND sent_at IS NULL",
                             [(to_sqlite(at), event_id) for event_id, at in sent.items()])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


async def stream_messages(nc: Client, stream: str, *, after_seq: int,
                          since: datetime | None) -> list[StreamMessage]:
    """The stream's messages after `after_seq`, or from `since` when that is given, read
    with an ephemeral pull consumer (no acks, in memory, removed after)."""
    js = nc.jetstream()
    name = f"restore-{uuid.uuid4().hex[:12]}"
    config = api.ConsumerConfig(
        name=name, ack_policy=api.AckPolicy.NONE, mem_storage=True, num_replicas=1,
        inactive_threshold=60.0, max_ack_pending=-1)
    if since is not None:
        config.deliver_policy = api.DeliverPolicy.BY_START_TIME
        config.opt_start_time = since
    elif after_seq > 0:
        config.deliver_policy = api.DeliverPolicy.BY_START_SEQUENCE
        config.opt_start_seq = after_seq + 1
    else:
        config.deliver_policy = api.DeliverPolicy.ALL
    try:
        info = await js.add_consumer(stream, config=config)
        found: list[StreamMessage] = []
        left = info.num_pending or 0
        sub = await js.pull_subscribe_bind(consumer=name, stream=stream)
        try:
            while left > 0:
                for msg in await sub.fetch(min(FETCH_BATCH, left), timeout=FETCH_TIMEOUT_SECS):
                    meta = msg.metadata
                    found.append(StreamMessage(
                        meta.sequence.stream, msg.subject,
                        (msg.headers or {}).get("Nats-Msg-Id"), meta.timestamp))
                    left = meta.num_pending
        finally:
            await sub.unsubscribe()
            await js.delete_consumer(stream, name)
    except (JsError, TimeoutError) as exc:
        raise ReconcileError(f"reading {stream} after seq {after_seq}: {exc!r}") from exc
    return found


def _walk_start(start: dict[str, Any], owners: dict[str, Path]) -> tuple[int, datetime | None]:
    s0 = int(start.get("last_seq") or 0)
    s0_time = start.get("last_ts")
    oldest = [t for service, db in owners.items()
              if (t := oldest_unsent(db, OUTBOX_TABLES[service])) is not None]
    if not oldest or s0 == 0:
        return s0, None
    since = min(oldest) - timedelta(seconds=CLOCK_MARGIN_SECS)
    s0_at = datetime.fromisoformat(str(s0_time).replace("Z", "+00:00")) if s0_time else None
    if s0_at is not None and since >= s0_at:
        return s0, None  # the rows are newer than S0: walking after S0 covers them
    return s0, since


async def reconcile(nc: Client, stream: str, start: dict[str, Any],
                    databases: dict[str, Path]) -> Report:
    """Make the restored `stream` and the staged databases (service -> file) agree;
    `start` is what the backup recorded before its first copy."""
    owners = {s: db for s, db in databases.items() if s in OUTBOX_TABLES}
    report = Report(not_checked=sorted(set(OUTBOX_TABLES) - set(owners)))
    s0, since = _walk_start(start, owners)
    messages = await stream_messages(nc, stream, after_seq=s0, since=since)
    report.walked_from_seq = messages[0].seq if messages else None
    by_owner: dict[str, list[StreamMessage]] = {}
    for message in messages:
        owner = OUTBOX_OWNERS.get(message.subject)
        if owner in owners and message.event_id:
            by_owner.setdefault(owner, []).append(message)
        elif message.seq > s0:
            report.kept += 1  # a direct publisher's, or its owner's database is not here
    doomed: list[StreamMessage] = []
    for service, owned in by_owner.items():
        db, table = owners[service], OUTBOX_TABLES[service]
        state = outbox_state(db, table, [m.event_id for m in owned if m.event_id])
        unsent = {m.event_id: m.time for m in owned
                  if m.event_id in state and not state[m.event_id]}
        if unsent:
            mark_sent(db, table, unsent)
            report.marked_sent[service] = sorted(unsent)
        for m in owned:
            if m.event_id in state:
                if m.seq > s0:
                    report.kept += 1
            elif m.seq > s0:
                doomed.append(m)
            # else: at or before S0 and its row gone (purged after its retention): kept
    for m in sorted(doomed, key=lambda m: m.seq):
        await _delete(nc, stream, m.seq)
        report.deleted.append({"seq": m.seq, "subject": m.subject, "event_id": m.event_id})
    return report


async def _delete(nc: Client, stream: str, seq: int) -> None:
    """`$JS.API.STREAM.MSG.DELETE.<stream>`: the message goes from the stream's files."""
    try:
        if not await nc.jetstream().delete_msg(stream, seq):
            raise ReconcileError(f"{stream}: deleting seq {seq} was refused")
    except NotFoundError:
        return  # gone already
    except (JsError, TimeoutError) as exc:
        raise ReconcileError(f"{stream}: deleting seq {seq}: {exc!r}") from exc
