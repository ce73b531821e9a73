"""Checking an export before anything of it is written: each line's shape
(`export_fields.normalize`), and across the stream (`StreamCheck`) the header, the order of
the types, that every reference points at a record earlier in the stream, and the end
line's counts. Errors name the line. What it remembers is ids, never content. No I/O."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from services.chat.domain.export_fields import normalize
from services.chat.domain.export_format import (
    FORMAT,
    IMPORTABLE,
    ORDER,
    RECORDS,
    VERSION,
    FormatError,
)
from services.chat.domain.files import is_file_id
from services.chat.domain.model import ROLES

MESSAGE_TYPES = ("text", "system")
ROOM_KINDS = ("room", "dm")
EDIT_ACTIONS = ("edited", "deleted")
FILE_KINDS = ("attachment", "avatar")


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A `file` record's bytes as an archive must hold them."""

    line: int
    id: str
    size: int
    sha256: str
    has_thumbnail: bool


@dataclass(slots=True)
class StreamSummary:
    scope: str
    files_included: bool
    counts: dict[str, int]
    files: list[FileEntry]


@dataclass(slots=True)
class StreamCheck:
    """Feed it every line in order (`feed`), then `finish`; the first problem raises
    `FormatError` with its line number."""

    scope: str | None = None
    files_included: bool = False
    last_line: int = 0
    ended: bool = False
    _order: int = -1
    _counts: Counter[str] = field(default_factory=Counter)
    _users: set[int] = field(default_factory=set)
    _usernames: set[str] = field(default_factory=set)
    _avatars: list[tuple[int, str]] = field(default_factory=list)
    _rooms: dict[int, int] = field(default_factory=dict)  # id -> last_seq
    _room_names: set[str] = field(default_factory=set)
    _members: set[tuple[int, int]] = field(default_factory=set)
    _messages: dict[int, tuple[int, bool]] = field(default_factory=dict)  # id -> room, reply
    _seqs: set[tuple[int, int]] = field(default_factory=set)
    _reactions: set[tuple[int, int, str]] = field(default_factory=set)
    _pins: set[int] = field(default_factory=set)
    _files: dict[str, FileEntry] = field(default_factory=dict)
    _audit_ids: set[int] = field(default_factory=set)

    def feed(self, number: int, record: dict[str, Any]) -> dict[str, Any]:
        """Check one line; the normalized record."""
        self.last_line = number
        if self.ended:
            raise FormatError(number, "a line after the end line")
        kind = record.get("type")
        if self.scope is None:
            self._header(number, record)
            return record
        if kind == "end":
            self._end(number, record)
            return record
        if kind == "header":
            raise FormatError(number, "a second header")
        normalized = normalize(record, number)
        order = ORDER[normalized["type"]]
        if order < self._order:
            raise FormatError(number, f"a {kind} record after the {self._kind_at()} records: "
                              f"records come in the order {', '.join(RECORDS)}")
        self._order = order
        getattr(self, f"_{kind}")(number, normalized)
        self._counts[normalized["type"]] += 1
        return normalized

    def finish(self) -> StreamSummary:
        if self.scope is None:
            raise FormatError(0, "the stream is empty")
        if not self.ended:
            raise FormatError(self.last_line, "the stream ends without its end line "
                              "(cut short?)")
        for number, file_id in self._avatars:
            if file_id not in self._files:
                raise FormatError(number, f"avatar_file_id {file_id} names no file record")
        return StreamSummary(self.scope, self.files_included, dict(self._counts),
                             list(self._files.values()))

    def _kind_at(self) -> str:
        return list(RECORDS)[self._order]

    def _header(self, number: int, record: dict[str, Any]) -> None:
        if record.get("type") != "header" or record.get("format") != FORMAT:
            raise FormatError(number, f"the first line must be the header of a {FORMAT} "
                              "stream")
        if record.get("version") != VERSION:
            raise FormatError(number, f"version {record.get('version')!r} is not one this "
                              f"Tertulia reads (version {VERSION})")
        scope = record.get("scope")
        if scope not in IMPORTABLE:
            raise FormatError(number, f"scope {scope!r} cannot be imported (only "
                              f"{' and '.join(IMPORTABLE)} exports can: a user's own export "
                              "names other people's messages it does not hold)")
        self.scope = str(scope)
        self.files_included = record.get("files") is True

    def _end(self, number: int, record: dict[str, Any]) -> None:
        counts = record.get("counts")
        if not isinstance(counts, dict):
            raise FormatError(number, "the end line has no counts")
        for kind in RECORDS:
            if counts.get(kind, 0) != self._counts[kind]:
                raise FormatError(number, f"the end line counts {counts.get(kind, 0)} {kind} "
                                  f"records; the stream has {self._counts[kind]}")
        self.ended = True

    def _user_ref(self, number: int, user_id: int | None, name: str) -> None:
        if user_id is not None and user_id not in self._users:
            raise FormatError(number, f"{name} {user_id} names no user record before it")

    def _room_ref(self, number: int, room_id: int | None, name: str = "room_id") -> None:
        if room_id is not None and room_id not in self._rooms:
            raise FormatError(number, f"{name} {room_id} names no room record before it")

    def _message_ref(self, number: int, message_id: int, room_id: int | None) -> None:
        found = self._messages.get(message_id)
        if found is None:
            raise FormatError(number, f"message_id {message_id} names no message record "
                              "before it")
        if room_id is not None and found[0] != room_id:
            raise FormatError(number, f"room_id {room_id} is not message {message_id}'s room")

    def _user(self, number: int, r: dict[str, Any]) -> None:
        if r["id"] in self._users:
            raise FormatError(number, f"user {r['id']} appears twice")
        key = r["username"].lower()
        if key in self._usernames:
            raise FormatError(number, f"username {r['username']!r} appears twice")
        self._users.add(r["id"])
        self._usernames.add(key)
        if r["avatar_file_id"] is not None:
            self._avatars.append((number, r["avatar_file_id"]))

    def _room(self, number: int, r: dict[str, Any]) -> None:
        if r["id"] in self._rooms:
            raise FormatError(number, f"room {r['id']} appears twice")
        if r["name"] in self._room_names:
            raise FormatError(number, f"room name {r['name']!r} appears twice")
        if r["kind"] not in ROOM_KINDS:
            raise FormatError(number, f"kind must be one of {', '.join(ROOM_KINDS)}")
        if r["last_seq"] < 0:
            raise FormatError(number, "last_seq must not be negative")
        self._user_ref(number, r["created_by"], "created_by")
        self._rooms[r["id"]] = r["last_seq"]
        self._room_names.add(r["name"])

    def _member(self, number: int, r: dict[str, Any]) -> None:
        self._room_ref(number, r["room_id"])
        self._user_ref(number, r["user_id"], "user_id")
        if r["role"] not in ROLES:
            raise FormatError(number, f"role must be one of {', '.join(ROLES)}")
        pair = (r["room_id"], r["user_id"])
        if pair in self._members:
            raise FormatError(number, f"user {pair[1]} is a member of room {pair[0]} twice")
        self._members.add(pair)

    def _message(self, number: int, r: dict[str, Any]) -> None:
        if r["id"] in self._messages:
            raise FormatError(number, f"message {r['id']} appears twice")
        self._room_ref(number, r["room_id"])
        self._user_ref(number, r["user_id"], "user_id")
        if r["message_type"] not in MESSAGE_TYPES:
            raise FormatError(number, "message_type must be one of "
                              f"{', '.join(MESSAGE_TYPES)}")
        if not 1 <= r["seq"] <= self._rooms[r["room_id"]]:
            raise FormatError(number, f"seq {r['seq']} is outside room {r['room_id']}'s "
                              f"1..{self._rooms[r['room_id']]} (its last_seq)")
        if (r["room_id"], r["seq"]) in self._seqs:
            raise FormatError(number, f"seq {r['seq']} of room {r['room_id']} appears twice")
        root = r["thread_root_id"]
        if root is not None:
            found = self._messages.get(root)
            if found is None:
                raise FormatError(number, f"thread_root_id {root} names no message before it")
            if found[0] != r["room_id"] or found[1]:
                raise FormatError(number, f"thread_root_id {root} is not a root message of "
                                  "the same room")
        for user_id in r["mentions"]:
            self._user_ref(number, user_id, "mentions:")
        for edit in r["edits"]:
            self._user_ref(number, edit["editor_id"], "edits: editor_id")
            if edit["action"] not in EDIT_ACTIONS:
                raise FormatError(number, f"an edit's action must be one of "
                                  f"{', '.join(EDIT_ACTIONS)}")
        self._messages[r["id"]] = (r["room_id"], root is not None)
        self._seqs.add((r["room_id"], r["seq"]))

    def _reaction(self, number: int, r: dict[str, Any]) -> None:
        self._message_ref(number, r["message_id"], r["room_id"])
        self._user_ref(number, r["user_id"], "user_id")
        key = (r["message_id"], r["user_id"], r["emoji"])
        if key in self._reactions or not r["emoji"]:
            raise FormatError(number, "the same reaction appears twice" if r["emoji"]
                              else "emoji is empty")
        self._reactions.add(key)

    def _pin(self, number: int, r: dict[str, Any]) -> None:
        self._message_ref(number, r["message_id"], r["room_id"])
        self._user_ref(number, r["pinned_by"], "pinned_by")
        if r["message_id"] in self._pins:
            raise FormatError(number, f"message {r['message_id']} is pinned twice")
        self._pins.add(r["message_id"])

    def _file(self, number: int, r: dict[str, Any]) -> None:
        if not is_file_id(r["id"]):
            raise FormatError(number, "a file id is 32 lower-case hexadecimal digits")
        if r["id"] in self._files:
            raise FormatError(number, f"file {r['id']} appears twice")
        self._user_ref(number, r["user_id"], "user_id")
        if r["message_id"] is not None:
            self._message_ref(number, r["message_id"], r["room_id"])
        self._room_ref(number, r["room_id"])
        if r["kind"] not in FILE_KINDS:
            raise FormatError(number, f"kind must be one of {', '.join(FILE_KINDS)}")
        if r["size"] < 0 or len(r["sha256"]) != 64:
            raise FormatError(number, "size must not be negative, sha256 64 hex digits")
        self._files[r["id"]] = FileEntry(number, r["id"], r["size"], r["sha256"],
                                         r["has_thumbnail"])

    def _audit(self, number: int, r: dict[str, Any]) -> None:
        # No reference is checked: the log outlives what it names (as its table does).
        if r["id"] in self._audit_ids:
            raise FormatError(number, f"audit entry {r['id']} appears twice")
        self._audit_ids.add(r["id"])
