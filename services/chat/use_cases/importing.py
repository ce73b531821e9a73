"""Importing an export into an empty system (`tertulia import`): first the whole stream is
checked (every line, every reference, the end line's counts, an archive's bytes against
each file's size and SHA-256) without writing anything; then the files' bytes go into the
blob store and the records into the database in one transaction. If that fails, the blobs
written are removed again: the system is left as empty as it was.

The same transaction writes to chat's outbox the events a live system would have published
for the state imported (`ImportEvents`), so the other services, which know people, rooms
and memberships only from chat's events, learn them when chat's relay next runs: for each
user `user.registered` (then `user.deleted` for a deleted account), for each room
`room.created`, for each membership `member.joined` with its role (and `member.read` with
its read marker, when it has read anything), and for each file whose bytes were imported
`file.stored`. Not one event per historic message, reaction or pin:
history is chat's (it serves it from its own tables); what the others keep from those
events is per-message news (a notification, a day's count) that happened on the system the
export came from, and replaying it would notify everyone of years of old mentions.
`user.deactivated` is not written: it names the administrator who deactivated the account,
which an export does not hold, no service reads it, and an imported account has no session
to revoke."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel

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
from shared.contracts import (
    FileStored,
    MemberJoined,
    MemberRead,
    RoomCreated,
    UserDeleted,
    UserRegistered,
)


@dataclass(frozen=True, slots=True)
class ImportReport:
    scope: str
    counts: dict[str, int]
    files_with_bytes: int
    files_without_bytes: int  # a plain NDJSON stream carries no bytes


@dataclass
class ImportEvents:
    """The events a live system would have written for each imported record, asked of the
    records in the stream's order (users come before the members naming them). Times are
    the records' own."""

    with_bytes: bool = False
    _usernames: dict[int, str] = field(default_factory=dict)
    _deleted: set[int] = field(default_factory=set)

    def __call__(self, r: dict[str, Any]) -> list[BaseModel]:
        kind = r["type"]
        if kind == "user":
            return self._user(r)
        if kind == "room":
            return [RoomCreated(room_id=r["id"], name=r["name"], description=r["description"],
                                is_private=r["is_private"], created_by=r["created_by"],
                                created_at=r["created_at"], kind=r["kind"])]
        if kind == "member":
            # A deleted account left its rooms before it went (`delete_account`).
            if r["user_id"] in self._deleted:
                return []
            joined: list[BaseModel] = [MemberJoined(
                room_id=r["room_id"], user_id=r["user_id"],
                username=self._usernames.get(r["user_id"], ""), role=r["role"],
                joined_at=r["joined_at"])]
            if r["read_seq"] > 0:  # what they had read is never news (an edit's mention)
                joined.append(MemberRead(room_id=r["room_id"], user_id=r["user_id"],
                                         read_seq=r["read_seq"], read_at=r["last_seen"]))
            return joined
        if kind == "file" and self.with_bytes:
            return [FileStored(file_id=r["id"], user_id=r["user_id"], size=r["size"],
                               kind=r["kind"], room_id=r["room_id"],
                               stored_at=r["created_at"])]
        return []

    def _user(self, r: dict[str, Any]) -> list[BaseModel]:
        self._usernames[r["id"]] = r["username"]
        events: list[BaseModel] = [UserRegistered(
            user_id=r["id"], username=r["username"], display_name=r["display_name"],
            is_admin=r["is_admin"], registered_at=r["created_at"])]
        if r["deleted_at"] is not None:
            self._deleted.add(r["id"])
            events.append(UserDeleted(user_id=r["id"], username=r["username"],
                                      deleted_at=r["deleted_at"]))
        return events


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
        await target.load(_normalized(source), note, ImportEvents(with_bytes))
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
