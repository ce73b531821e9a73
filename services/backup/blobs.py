"""Uploaded files in a backup: the data directory's blobs (`<data dir>/blobs/`, copied after
the databases, so every file a copied row names is there), and the JetStream Object Store
bucket's stream (`OBJ_<bucket>`, under CHAT_BLOBS=nats), snapshotted after the databases
too. A blob that no copied row names (an upload made while the backup ran) is restored
too, and never served: only a row makes a file reachable."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from services.backup import jetstream
from services.backup.manifest import Manifest
from services.backup.sources import service_settings

BLOBS = "blobs"


def copy_blobs(data_dir: Path | None, staging: Path, manifest: Manifest) -> int:
    """The data directory's blobs into `staging/blobs/` (blocking: run it in a thread)."""
    source = service_settings("chat", data_dir).blobs_dir()
    if not source.is_dir():
        return 0
    copied = 0
    for blob in sorted(source.rglob("*")):
        if not blob.is_file() or blob.name.startswith("."):  # a blob being written
            continue
        relative = Path(BLOBS) / blob.relative_to(source)
        (staging / relative).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            shutil.copyfile(blob, staging / relative)
        except FileNotFoundError:  # swept meanwhile: its row is deleted in a later copy
            continue
        manifest.add(staging, str(relative), "blob", service="chat")
        copied += 1
    return copied


def restore_blobs(source: Path, manifest: Manifest, staging: Path) -> int:
    """The backup's blobs into the staged data directory (blocking)."""
    restored = 0
    for entry in manifest.files:
        if entry.kind == "blob":
            target = staging / entry.path
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copyfile(source / entry.path, target)
            restored += 1
    return restored


def object_bucket_stream() -> str:
    return f"OBJ_{service_settings('chat', None).blobs_bucket}"


async def snapshot_object_store(nc: Any, staging: Path, manifest: Manifest) -> str | None:
    """The files' bucket stream, if NATS has one, as `nats/OBJ_<bucket>.tar.s2`."""
    stream = object_bucket_stream()
    try:
        await jetstream.stream_state(nc, stream)
    except jetstream.JetStreamApiError:
        return None  # no such bucket: CHAT_BLOBS=dir, or no file stored yet
    relative = f"nats/{stream}.tar.s2"
    snap = await jetstream.snapshot_stream(nc, stream, staging / relative)
    manifest.add(staging, relative, "object_store_snapshot")
    manifest.object_stores.append({"name": stream, "path": relative, "config": snap.config,
                                   "state": snap.state})
    return f"stream {stream}: {snap.state.get('messages')} messages -> {relative}"


async def restore_object_stores(nc: Any, source: Path, manifest: Manifest,
                                made: list[str]) -> list[str]:
    said = []
    for store in manifest.object_stores:
        await jetstream.restore_stream(nc, store["name"], source / store["path"],
                                       store.get("config") or {}, store.get("state") or {})
        made.append(store["name"])
        said.append(f"stream {store['name']}: restored (uploaded files)")
    return said
