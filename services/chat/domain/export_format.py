"""The export format (docs/protocol.md, Export format): NDJSON, one record a line, each with
a `type`; a `header` first and an `end` with the counts last, so a cut stream shows. What
each record type holds, in the order they come, and what an export covers. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson

FORMAT = "tertulia-export"
VERSION = 1
# An archive (`?files=1`, `--files`): a tar of the NDJSON and each file's bytes.
ARCHIVE_DATA = "data.ndjson"
ARCHIVE_FILES_DIR = "files/"
ARCHIVE_THUMBNAILS_DIR = "thumbnails/"
CHUNK_BYTES = 64 * 1024  # lines are sent in chunks of about this much

Scope = Literal["server", "room", "user"]
SCOPES: tuple[Scope, ...] = ("server", "room", "user")
# Scopes `tertulia import` takes: a user's export names rooms' other messages and people by
# id without holding them (a reply's thread root, a reaction's message), so it is a copy
# for that person, not a system to rebuild.
IMPORTABLE: tuple[Scope, ...] = ("server", "room")

# How a field is checked on import: "int", "str", "bool", "time" (ISO 8601 with an offset),
# "ints" (a list of ints), "edits" (a message's editing history); "?" allows null.
FieldSpec = Mapping[str, str]

USER_PUBLIC: FieldSpec = {
    "id": "int", "username": "str", "display_name": "str?", "is_bot": "bool",
    "created_at": "time", "status_text": "str?", "time_zone": "str?",
}
USER: FieldSpec = {
    **USER_PUBLIC, "is_admin": "bool", "deactivated_at": "time?", "deleted_at": "time?",
    "avatar_file_id": "str?",
}
ROOM: FieldSpec = {
    "id": "int", "name": "str", "description": "str?", "is_private": "bool", "kind": "str",
    "dm_key": "str?", "created_at": "time", "created_by": "int?", "last_seq": "int",
    "slow_mode_secs": "int", "archived_at": "time?",
}
MEMBER: FieldSpec = {
    "room_id": "int", "user_id": "int", "role": "str", "joined_at": "time",
    "last_seen": "time", "read_seq": "int",
}
MESSAGE: FieldSpec = {
    "id": "int", "room_id": "int", "seq": "int", "user_id": "int?", "username": "str",
    "content": "str", "message_type": "str", "client_msg_id": "str?", "created_at": "time",
    "edited_at": "time?", "is_deleted": "bool", "thread_root_id": "int?",
    "also_send_to_room": "bool", "reply_count": "int", "last_reply_at": "time?",
    "mentions": "ints", "edits": "edits", "author_label": "str?",
}
EDIT: FieldSpec = {
    "editor_id": "int?", "action": "str", "previous_content": "str", "new_content": "str?",
    "edited_at": "time",
}
REACTION: FieldSpec = {
    "message_id": "int", "room_id": "int", "user_id": "int", "emoji": "str",
    "created_at": "time",
}
PIN: FieldSpec = {
    "message_id": "int", "room_id": "int", "pinned_by": "int?", "pinned_at": "time",
}
FILE: FieldSpec = {
    "id": "str", "user_id": "int", "name": "str", "size": "int", "content_type": "str",
    "sha256": "str", "width": "int?", "height": "int?", "kind": "str",
    "has_thumbnail": "bool", "message_id": "int?", "room_id": "int?", "created_at": "time",
}
AUDIT: FieldSpec = {
    "id": "int", "at": "time", "actor_id": "int?", "action": "str", "target_type": "str",
    "target_id": "str?", "room_id": "int?", "reason": "str?", "details": "object",
}

# The record types between the header and the end, in the order an export writes them
# (each one's references come earlier in the stream).
RECORDS: dict[str, FieldSpec] = {
    "user": USER, "room": ROOM, "member": MEMBER, "message": MESSAGE, "reaction": REACTION,
    "pin": PIN, "file": FILE, "audit": AUDIT,
}
ORDER = {kind: n for n, kind in enumerate(RECORDS)}


@dataclass(frozen=True, slots=True)
class ExportScope:
    """What one export covers: the whole server, one room, or one person's own data."""

    kind: Scope
    room_id: int | None = None
    user_id: int | None = None
    files: bool = False  # an archive with the files' bytes
    # Only the server scope carries the audit log (it says what administrators did).
    audit: bool = False


class FormatError(ValueError):
    """A stream that is not a valid export; `line` is 1-based (0: the stream as a whole)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line
        self.message = message


def header(scope: ExportScope, exported_at: datetime) -> dict[str, Any]:
    record: dict[str, Any] = {"type": "header", "format": FORMAT, "version": VERSION,
                              "scope": scope.kind, "exported_at": exported_at.isoformat(),
                              "files": scope.files}
    if scope.room_id is not None:
        record["room_id"] = scope.room_id
    if scope.user_id is not None:
        record["user_id"] = scope.user_id
    return record


def end(counts: Mapping[str, int]) -> dict[str, Any]:
    return {"type": "end", "counts": {kind: counts.get(kind, 0) for kind in RECORDS}}


def encode(record: Mapping[str, Any]) -> bytes:
    """One line: compact JSON (UTF-8, not ASCII-escaped) and a newline."""
    return orjson.dumps(record) + b"\n"


def decode(line: bytes, number: int) -> dict[str, Any]:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise FormatError(number, f"not JSON ({exc})") from None
    if not isinstance(record, dict):
        raise FormatError(number, "a line must be a JSON object")
    return record
