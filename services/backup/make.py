"""`tertulia backup --to DIR`: the system's state while it runs, into a new directory.

The order is what makes a backup taken under load restorable without loss or duplicates:

1. The EVENTS stream's last sequence (S0) and its time are recorded, then the durable
   consumers' positions (notifications; the dashboard keeps its own in its database) are
   read. A consumer acknowledges an
   event after its transaction commits, so every event up to its ack floor is in that
   service's database copied next; a restore starts the consumer right after the floor,
   and the events applied between the two moments come again and are skipped (both
   services keep the ids of the events they processed).
2. The databases, each before those of the services whose events it applies: the
   dashboard's (it applies every event), notifications', chat's, presence's
   (`services/backup/sources.py`). So an event a copied database applied was published
   before that copy, hence from a row committed before its owner's later copy: no copy
   reflects an event its owner's copy does not have. A message acknowledged to its sender
   is committed, with its event in the outbox, before the backup starts, so it is in the
   copy.
3. The signing key.
4. The EVENTS snapshot, last: every event whose outbox row a copied database marks as sent
   was in the stream before that copy, so it is in the snapshot.

Events published while the backup ran (after S0) are in the snapshot whether or not their
database's copy has them. The restore reconciles the two before any service starts
(`services/backup/reconcile.py`): an event of chat or notifications (which publish through
their outbox) that its service's copy does not have is deleted from the restored stream,
and a row a copy holds unsent whose event the stream has is marked sent. So after a restore
every chat or notifications event in EVENTS is in its service's database, once, and no id
the restored chat hands out is already taken in EVENTS. Nothing acknowledged before the
backup started is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

import nats
from nats.errors import Error as NatsError

from services.backup import blobs, jetstream
from services.backup import staging as staging_dir
from services.backup.files import DamagedFile, copy_private, copy_sqlite, schema_revision
from services.backup.manifest import BackupError, Manifest, now_iso, tertulia_version
from services.backup.sources import (
    databases,
    nats_options,
    redacted_servers,
    service_settings,
    signing_key,
)
from shared.contracts.events import EVENTS_STREAM

SNAPSHOT_FILE = f"nats/{EVENTS_STREAM}.tar.s2"
EPHEMERAL = (
    ("NATS KV bucket PRESENCE (PRESENCE_KV_BUCKET)",
     "who is connected now: entries expire within seconds and the chat replicas report "
     "every connection again after a restart"),
    ("NATS KV bucket CHAT_THROTTLE (CHAT_THROTTLE_KV_BUCKET)",
     "sign-in and sign-up rate-limit windows: a restored system starts with fresh budgets"),
)


def say(line: str) -> None:
    print(f"tertulia backup: {line}", flush=True)


USED = "back up into a new or empty directory"


async def _copy_databases(data_dir: Path | None, staging: Path, manifest: Manifest) -> None:
    for db in databases(data_dir):
        source = db.sqlite_path
        if source is None:
            manifest.leave_out(f"{db.service} database ({db.redacted()})",
                               "PostgreSQL: back it up with pg_dump (docs/operations.md, "
                               "Backups)")
            print(f"tertulia backup: WARNING: the {db.service} database is PostgreSQL "
                  f"({db.redacted()}); it is NOT in this backup: back it up with pg_dump "
                  "(docs/operations.md, Backups)", file=sys.stderr, flush=True)
            continue
        if not await asyncio.to_thread(source.is_file):
            manifest.leave_out(f"{db.service} database ({source})",
                               "no such file: the service never ran on this data directory")
            say(f"{db.service}: no database at {source}; skipped")
            continue
        target = staging / db.file_name
        try:
            await asyncio.to_thread(copy_sqlite, source, target)
        except (DamagedFile, OSError) as exc:
            raise BackupError(f"copying {source}: {exc}") from exc
        revision = await asyncio.to_thread(schema_revision, target, db.service)
        entry = await asyncio.to_thread(manifest.add, staging, db.file_name, "sqlite",
                                        service=db.service, schema_revision=revision)
        say(f"{db.service}: {source} -> {db.file_name} ({entry.size} bytes)")


def _copy_key(data_dir: Path | None, staging: Path, manifest: Manifest) -> None:
    key = signing_key(data_dir)
    if key.from_env:
        manifest.leave_out("chat signing key", "given as CHAT_SIGNING_KEY_PEM: it is the "
                           "deployment's secret; keep it where that secret is kept")
        say("signing key: from CHAT_SIGNING_KEY_PEM, not a file; not copied")
        return
    if not key.path.is_file():
        manifest.leave_out(f"chat signing key ({key.path})", "no such file")
        say(f"signing key: none at {key.path}; skipped")
        return
    copy_private(key.path, staging / key.path.name)
    manifest.add(staging, key.path.name, "signing_key", service="chat", mode="0600")
    say(f"signing key: {key.path} -> {key.path.name} (mode 0600)")


async def backup(target: Path, data_dir: Path | None, nats_url: str | None) -> Path:
    """The backup, written into `target` (a new or empty directory); returns it. Paths are
    absolute (the caller resolves them); the file work runs in threads."""
    await asyncio.to_thread(staging_dir.refuse_used, target, USED)
    options = nats_options(nats_url, data_dir or service_settings("chat", None).data_dir)
    servers = redacted_servers(options)
    try:
        nc = await nats.connect(**options)
    except (NatsError, OSError) as exc:
        raise BackupError(f"cannot reach NATS at {servers} ({exc!r}): pass --nats-url "
                          "(`tertulia up` prints it as `nats ... url=`)") from exc
    staging = await asyncio.to_thread(staging_dir.begin, target, "partial", USED)
    try:
        shown_dir = data_dir or service_settings("chat", None).data_dir
        manifest = Manifest(started_at=now_iso(), tertulia_version=tertulia_version(),
                            data_dir=str(shown_dir))
        try:
            # Before the first copy: an event at or before it is in its database's copy.
            at_start = await jetstream.stream_state(nc, EVENTS_STREAM)
            consumers = await jetstream.durable_consumers(nc, EVENTS_STREAM)
        except jetstream.JetStreamApiError as exc:
            raise BackupError(f"NATS at {servers}: {exc}") from exc
        await _copy_databases(data_dir, staging, manifest)
        await asyncio.to_thread(_copy_key, data_dir, staging, manifest)
        copied = await asyncio.to_thread(blobs.copy_blobs, data_dir, staging, manifest)
        say(f"files: {copied} blobs -> {blobs.BLOBS}/")
        await asyncio.to_thread((staging / "nats").mkdir, 0o700)
        try:
            if said := await blobs.snapshot_object_store(nc, staging, manifest):
                say(said)
        except jetstream.JetStreamApiError as exc:
            raise BackupError(f"NATS at {servers}: {exc}") from exc
        try:
            snap = await jetstream.snapshot_stream(nc, EVENTS_STREAM, staging / SNAPSHOT_FILE)
        except jetstream.JetStreamApiError as exc:
            raise BackupError(f"NATS at {servers}: {exc}") from exc
        await asyncio.to_thread(manifest.add, staging, SNAPSHOT_FILE, "jetstream_snapshot")
        start = {"last_seq": int(at_start.get("last_seq") or 0),
                 "last_ts": at_start.get("last_ts")}
        manifest.stream = {"name": EVENTS_STREAM, "config": snap.config, "state": snap.state,
                           "consumers": consumers, "start": start}
        say(f"stream {EVENTS_STREAM}: {snap.state.get('messages')} messages (seq "
            f"{snap.state.get('first_seq')}..{snap.state.get('last_seq')}; "
            f"{start['last_seq']} when the backup began), "
            f"{len(consumers)} durable consumers -> {SNAPSHOT_FILE} ({snap.size} bytes)")
        for what, why in EPHEMERAL:
            manifest.leave_out(what, why)
        await asyncio.to_thread(manifest.write, staging)
        await asyncio.to_thread(staging_dir.finish, staging, target, USED)
    except BaseException:
        await asyncio.to_thread(staging_dir.abandon, staging)
        raise
    finally:
        with contextlib.suppress(Exception):
            await nc.close()
    say(f"done: {target}")
    return target
