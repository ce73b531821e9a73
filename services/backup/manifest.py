"""`manifest.json`, the table of contents of a backup: every file with its size and sha256,
what was left out and why, and what a restore needs to know (the stream's config and state,
the durable consumers' positions). Written last: a directory without it is no backup."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from services.backup.files import sha256_of

MANIFEST = "manifest.json"
FORMAT = 1


class BackupError(RuntimeError):
    """What the backup or restore command says in one line before exiting non-zero."""


@dataclass
class Entry:
    path: str  # relative to the backup directory
    # "sqlite" | "signing_key" | "jetstream_snapshot" | "blob" | "object_store_snapshot"
    kind: str
    size: int
    sha256: str
    service: str | None = None
    schema_revision: str | None = None
    mode: str | None = None  # "0600" for secrets, restored as is


@dataclass
class Manifest:
    started_at: str
    tertulia_version: str
    data_dir: str
    finished_at: str | None = None
    format: int = FORMAT
    files: list[Entry] = field(default_factory=list)
    # What is not in the backup, each with the reason (PostgreSQL, ephemeral KV buckets, ...).
    not_included: list[dict[str, str]] = field(default_factory=list)
    # EVENTS: the config and state the snapshot answered with, and the durable consumers'
    # infos as read before the databases were copied.
    stream: dict[str, Any] | None = None
    # Uploaded files' Object Store bucket streams (name, path, config, state): `blobs.py`.
    object_stores: list[dict[str, Any]] = field(default_factory=list)

    def add(self, root: Path, relative: str, kind: str, **extra: Any) -> Entry:
        path = root / relative
        entry = Entry(path=relative, kind=kind, size=path.stat().st_size,
                      sha256=sha256_of(path), **extra)
        self.files.append(entry)
        return entry

    def leave_out(self, what: str, why: str) -> None:
        self.not_included.append({"what": what, "why": why})

    def write(self, root: Path) -> None:
        self.finished_at = now_iso()
        temporary = root / (MANIFEST + ".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, root / MANIFEST)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def tertulia_version() -> str:
    try:
        return version("tertulia")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def read_verified(root: Path) -> Manifest:
    """The manifest of the backup in `root`, once every file it lists has its size and sha256."""
    path = root / MANIFEST
    if not path.is_file():
        raise BackupError(f"{root} holds no {MANIFEST}: not a (finished) Tertulia backup")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format") != FORMAT:
            raise BackupError(f"{path}: format {raw.get('format')!r}, this version reads "
                              f"{FORMAT}")
        manifest = Manifest(**{k: v for k, v in raw.items() if k != "files"})
        manifest.files = [Entry(**entry) for entry in raw.get("files", [])]
    except (ValueError, TypeError, AttributeError) as exc:
        raise BackupError(f"{path} is not a readable manifest: {exc}") from exc
    for entry in manifest.files:
        file = (root / entry.path).resolve()
        if not file.is_relative_to(root.resolve()):
            raise BackupError(f"{MANIFEST} names {entry.path!r}, outside the backup")
        if not file.is_file():
            raise BackupError(f"{entry.path} is missing from the backup")
        size = file.stat().st_size
        if size != entry.size:
            raise BackupError(f"{entry.path}: {size} bytes, the manifest says {entry.size}: "
                              "the backup is damaged")
        if sha256_of(file) != entry.sha256:
            raise BackupError(f"{entry.path}: sha256 does not match the manifest: "
                              "the backup is damaged")
    return manifest
