"""Importing an export into an empty system (`tertulia import`): first the whole stream is
checked (every line, every reference, the end line's counts, an archive's bytes against
each file's size and SHA-256) without writing anything; then the files' bytes go into the
blob store and the records into the database in one transaction. If that fails, the blobs
written are removed again: the system is left as empty as it was."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.chat.domain import Conflict
from services.chat.domain.audit import AuditEntry
from services.chat.domain.export_check import FileEntry, StreamCheck, StreamSummary, normalize
from services.chat.domain.export_format import (
    ARCHIVE_FILES_DIR,
    ARCHIVE_THUMBNAILS_DIR,
    FormatError,
)
from services.chat.domain.files import thumbnail_key
from services.chat.ports import BlobStore, ImportSource, ImportTarget


@dataclass(frozen=True, slots=True)
class ImportReport:
    scope: str
    counts: dict[str, int]
    files_with_bytes: int
    files_without_bytes: int  # a plain NDJSON stream carries no bytes


def not_empty() -> Conflict:
    return Conflict("not_empty", "The database already has accounts, rooms or messages: "
                    "import only into an empty system (a new data directory or database).")


async def check_stream(source: ImportSource) -> StreamSummary:
    """Every line checked in order; the first problem raises `FormatError` (its line)."""
    check = StreamCheck()
    async for number, record in source.lines():
        check.feed(number, record)
    summary = check.finish()
    if summary.files_included:
        for entry in summary.files:
            await _check_bytes(source, entry)
    return summary


async def _check_bytes(source: ImportSource, entry: FileEntry) -> None:
    chunks = await source.blob(ARCHIVE_FILES_DIR + entry.id)
    if chunks is None:
        raise FormatError(entry.line, f"the archive has no {ARCHIVE_FILES_DIR}{entry.id}")
    digest, size = hashlib.sha256(), 0
    async for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    if size != entry.size or digest.hexdigest() != entry.sha256:
        raise FormatError(entry.line, f"{ARCHIVE_FILES_DIR}{entry.id} is not the file this "
                          "line describes (its size or SHA-256 differs)")
    if entry.has_thumbnail and await source.blob(ARCHIVE_THUMBNAILS_DIR + entry.id) is None:
        raise FormatError(entry.line, f"the archive has no {ARCHIVE_THUMBNAILS_DIR}{entry.id}")


async def _normalized(source: ImportSource) -> AsyncIterator[dict[str, Any]]:
    async for number, record in source.lines():
        if record.get("type") not in ("header", "end"):
            yield normalize(record, number)


async def import_stream(source: ImportSource, target: ImportTarget,
                        blobs: BlobStore | None, now: datetime) -> ImportReport:
    """Check, then write; refuses (409 `not_empty`) a system that has anything in it. The
    import is audited (`import.run`, by no account: an operator's command) in its own
    transaction."""
    if not await target.is_empty():
        raise not_empty()
    summary = await check_stream(source)
    written: list[str] = []
    with_bytes = summary.files_included and blobs is not None
    try:
        if with_bytes:
            assert blobs is not None
            for entry in summary.files:
                await _put(source, blobs, ARCHIVE_FILES_DIR + entry.id, entry.id, written)
                if entry.has_thumbnail:
                    await _put(source, blobs, ARCHIVE_THUMBNAILS_DIR + entry.id,
                               thumbnail_key(entry.id), written)
        note = AuditEntry(at=now, actor_id=None, action="import.run",
                          target_type=summary.scope, details={"counts": summary.counts})
        await target.load(_normalized(source), note)
    except BaseException:
        if blobs is not None:
            for key in written:
                await blobs.delete(key)
        raise
    files = len(summary.files)
    return ImportReport(summary.scope, summary.counts, files if with_bytes else 0,
                        0 if with_bytes else files)


async def _put(source: ImportSource, blobs: BlobStore, name: str, key: str,
               written: list[str]) -> None:
    chunks = await source.blob(name)
    if chunks is None:  # checked already; the archive changed under us
        raise FormatError(0, f"the archive lost {name} while it was imported")
    written.append(key)
    await blobs.put_chunks(key, chunks)
