"""The export format: lines written and read back, the checks an import makes before it
writes anything (each naming its line), and the import's order of work with fakes: nothing
loaded from a bad stream, no blob left behind by a failed load, and the outbox events a
live system would have written for who is where (none for the history)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.chat.domain import Conflict
from services.chat.domain.export_check import StreamCheck, normalize
from services.chat.domain.export_format import (
    ExportScope,
    FormatError,
    decode,
    encode,
    end,
    header,
)
from services.chat.use_cases.importing import import_stream

AT = "2026-01-02T03:04:05+00:00"


def stream(files: bool = False) -> list[dict[str, Any]]:
    return [
        {"type": "header", "format": "tertulia-export", "version": 1, "scope": "server",
         "exported_at": AT, "files": files},
        {"type": "user", "id": 1, "username": "ana", "display_name": "Ana", "is_bot": False,
         "created_at": AT, "status_text": None, "time_zone": None, "is_admin": True},
        {"type": "user", "id": 2, "username": "bo", "display_name": None, "created_at": AT},
        {"type": "room", "id": 5, "name": "plaza", "description": None, "is_private": False,
         "kind": "room", "dm_key": None, "created_at": AT, "created_by": 1, "last_seq": 2},
        {"type": "room", "id": 6, "name": "patio", "description": None, "is_private": True,
         "kind": "room", "dm_key": None, "created_at": AT, "created_by": None, "last_seq": 0},
        {"type": "member", "room_id": 5, "user_id": 1, "role": "admin", "joined_at": AT,
         "last_seen": AT, "read_seq": 2},
        message(10, seq=1, mentions=[2]),
        message(11, seq=2, user_id=2, thread_root_id=10,
                edits=[{"editor_id": 2, "action": "edited", "previous_content": "hla",
                        "new_content": "hola", "edited_at": AT}]),
        {"type": "reaction", "message_id": 10, "room_id": 5, "user_id": 2, "emoji": "👍",
         "created_at": AT},
        {"type": "pin", "message_id": 10, "room_id": 5, "pinned_by": 1, "pinned_at": AT},
        {"type": "file", "id": "a" * 32, "user_id": 1, "name": "n.txt", "size": 5,
         "content_type": "text/plain", "sha256": hashlib.sha256(b"hello").hexdigest(),
         "width": None, "height": None, "kind": "attachment", "has_thumbnail": False,
         "message_id": 10, "room_id": 5, "created_at": AT},
        {"type": "end", "counts": {"user": 2, "room": 2, "member": 1, "message": 2,
                                   "reaction": 1, "pin": 1, "file": 1}},
    ]


def message(mid: int, seq: int, user_id: int | None = 1, room_id: int = 5,
            **extra: Any) -> dict[str, Any]:
    return {"type": "message", "id": mid, "room_id": room_id, "seq": seq, "user_id": user_id,
            "username": "ana", "content": "hola", "message_type": "text",
            "client_msg_id": None, "created_at": AT, "edited_at": None, "is_deleted": False,
            "thread_root_id": None, "also_send_to_room": False, "reply_count": 0,
            "last_reply_at": None, **extra}


def check(records: list[dict[str, Any]]) -> Any:
    checker = StreamCheck()
    for number, record in enumerate(records, start=1):
        checker.feed(number, record)
    return checker.finish()


def test_a_line_is_compact_json_and_reads_back() -> None:
    scope = ExportScope("room", room_id=5)
    first = header(scope, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert encode(first).endswith(b"\n") and b" " not in encode(first)
    assert decode(encode(first), 1) == {**first}
    assert first["room_id"] == 5 and first["scope"] == "room" and first["version"] == 1
    assert end({"user": 3})["counts"]["message"] == 0
    assert decode("{\"text\": \"ñandú 🎉\"}".encode(), 1) == {"text": "ñandú 🎉"}
    with pytest.raises(FormatError, match="line 7: not JSON"):
        decode(b'{"type": "user",', 7)
    with pytest.raises(FormatError, match="line 2: a line must be a JSON object"):
        decode(b"[1, 2]", 2)


def test_a_valid_stream_passes_with_its_counts_and_files() -> None:
    summary = check(stream())
    assert summary.scope == "server" and summary.counts["message"] == 2
    assert [f.id for f in summary.files] == ["a" * 32]


def test_normalize_fills_what_an_export_may_leave_out() -> None:
    record = normalize(stream()[2], 3)  # a public user record: no is_admin, no avatar
    assert record["is_admin"] is False and record["is_bot"] is False
    assert record["avatar_file_id"] is None and record["deactivated_at"] is None
    assert record["created_at"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    room = normalize({**stream()[3], "unknown_field": 1}, 4)
    assert room["slow_mode_secs"] == 0 and "unknown_field" not in room


def broken(at: int, change: dict[str, Any] | None = None, *, drop: str | None = None,
           replace: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    records = stream()
    record = dict(replace if replace is not None else records[at - 1])
    record.update(change or {})
    if drop:
        del record[drop]
    records[at - 1] = record
    return records


@pytest.mark.parametrize(("records", "error"), [
    (broken(1, {"format": "slack"}), "line 1: the first line must be the header"),
    (broken(1, {"version": 2}), "line 1: version 2 is not one this Tertulia reads"),
    (broken(1, {"scope": "user"}), "line 1: scope 'user' cannot be imported"),
    (broken(2, drop="username"), "line 2: username is missing"),
    (broken(2, {"created_at": "2026-01-02 03:04"}), "line 2: created_at must be an ISO 8601"),
    (broken(2, {"id": "1"}), "line 2: id must be an integer"),
    (broken(3, {"username": "ANA"}), "line 3: username 'ANA' appears twice"),
    (broken(4, {"created_by": 9}), "line 4: created_by 9 names no user record before it"),
    (broken(6, {"user_id": 3}), "line 6: user_id 3 names no user record before it"),
    (broken(6, {"role": "owner"}), "line 6: role must be one of admin, moderator, member"),
    (broken(7, {"seq": 3}), "line 7: seq 3 is outside room 5's 1..2"),
    (broken(8, {"seq": 1}), "line 8: seq 1 of room 5 appears twice"),
    (broken(8, {"thread_root_id": 12}), "line 8: thread_root_id 12 names no message"),
    (broken(7, {"mentions": [4]}), "line 7: mentions: 4 names no user record"),
    (broken(9, {"room_id": 6}), "line 9: room_id 6 is not message 10's room"),
    (broken(9, {"emoji": ""}), "line 9: emoji is empty"),
    (broken(10, {"message_id": 99}), "line 10: message_id 99 names no message record"),
    (broken(11, {"id": "../../etc"}), "line 11: a file id is 32 lower-case hexadecimal"),
    (broken(12, {"counts": {"user": 2}}), "line 12: the end line counts 0 room records"),
    (broken(7, replace=stream()[3] | {"id": 7, "name": "x"}),
     "line 7: a room record after the member records"),
    (broken(12, replace={"type": "note"}), "line 12: unknown record type 'note'"),
    (stream()[:-1], "line 11: the stream ends without its end line"),
    ([*stream(), stream()[1]], "line 13: a line after the end line"),
    ([], "the stream is empty"),
    (broken(2, {"avatar_file_id": "b" * 32}), "line 2: avatar_file_id bbbb"),
])
def test_every_problem_is_named_with_its_line(records: list[dict[str, Any]], error: str
                                               ) -> None:
    with pytest.raises(FormatError) as refused:
        check(records)
    assert str(refused.value).startswith(error), str(refused.value)


def test_a_reply_to_a_reply_or_across_rooms_is_refused() -> None:
    records = stream()
    records[4] = {**records[4], "last_seq": 1}
    records.insert(8, message(12, seq=1, room_id=6, thread_root_id=10))
    records[-1]["counts"]["message"] = 3
    with pytest.raises(FormatError, match="line 9: thread_root_id 10 is not a root message"):
        check(records)
    records[3] = {**records[3], "last_seq": 3}
    records[8] = message(12, seq=3, room_id=5, thread_root_id=11)
    with pytest.raises(FormatError, match="is not a root message"):
        check(records)


class FakeSource:
    def __init__(self, records: list[dict[str, Any]],
                 blobs: dict[str, bytes] | None = None) -> None:
        self.records, self.blobs = records, blobs or {}

    async def lines(self) -> AsyncIterator[tuple[int, dict[str, Any]]]:
        for number, record in enumerate(self.records, start=1):
            yield number, record

    async def blob(self, name: str) -> AsyncIterator[bytes] | None:
        if name not in self.blobs:
            return None
        return _once(self.blobs[name])


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


class FakeTarget:
    def __init__(self, empty: bool = True, fail: bool = False) -> None:
        self.empty, self.fail = empty, fail
        self.loaded: list[dict[str, Any]] = []
        self.events: list[Any] = []
        self.note: Any = None

    async def is_empty(self) -> bool:
        return self.empty

    async def load(self, records: AsyncIterator[dict[str, Any]], note: Any = None,
                   events: Any = None) -> None:
        written: list[Any] = []
        async for record in records:
            self.loaded.append(record)
            written += events(record) if events else []
        if self.fail:
            raise RuntimeError("the disk is full")
        self.note, self.events = note, written  # in the transaction: none when it fails


class FakeBlobs:
    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}

    async def put_chunks(self, key: str, chunks: AsyncIterator[bytes]) -> None:
        self.stored[key] = b"".join([c async for c in chunks])

    async def delete(self, key: str) -> None:
        self.stored.pop(key, None)

    async def put_file(self, key: str, path: Path) -> None:
        raise NotImplementedError

    async def open(self, key: str) -> AsyncIterator[bytes] | None:
        return _once(self.stored[key]) if key in self.stored else None

    async def exists(self, key: str) -> bool:
        return key in self.stored


NOW = datetime(2026, 2, 1, tzinfo=UTC)


async def test_import_writes_the_checked_records_and_audits_itself() -> None:
    target, blobs = FakeTarget(), FakeBlobs()
    report = await import_stream(FakeSource(stream(files=True), {"files/" + "a" * 32: b"hello"}),
                                 target, blobs, NOW)  # type: ignore[arg-type]
    assert [r["type"] for r in target.loaded][:3] == ["user", "user", "room"]
    assert target.loaded[1]["is_admin"] is False  # normalized
    assert blobs.stored == {"a" * 32: b"hello"}
    assert report.files_with_bytes == 1 and report.counts["pin"] == 1
    assert (target.note.action, target.note.actor_id, target.note.at) == ("import.run", None,
                                                                          NOW)


async def test_nothing_is_written_from_a_bad_stream_or_into_a_used_system() -> None:
    target, blobs = FakeTarget(), FakeBlobs()
    with pytest.raises(FormatError, match=r"line 11: files/a+ is not the file"):
        await import_stream(FakeSource(stream(files=True), {"files/" + "a" * 32: b"HELLO"}),
                            target, blobs, NOW)  # type: ignore[arg-type]
    with pytest.raises(FormatError, match="line 11: the archive has no files/"):
        await import_stream(FakeSource(stream(files=True)), target, blobs,
                            NOW)  # type: ignore[arg-type]
    with pytest.raises(FormatError, match="line 6"):
        await import_stream(FakeSource(broken(6, {"user_id": 3})), target, blobs,
                            NOW)  # type: ignore[arg-type]
    assert target.loaded == [] and blobs.stored == {}
    with pytest.raises(Conflict, match="empty system"):
        await import_stream(FakeSource(stream()), FakeTarget(empty=False), blobs,
                            NOW)  # type: ignore[arg-type]


async def test_a_failed_load_takes_its_blobs_back() -> None:
    blobs = FakeBlobs()
    with pytest.raises(RuntimeError, match="disk is full"):
        await import_stream(FakeSource(stream(files=True), {"files/" + "a" * 32: b"hello"}),
                            FakeTarget(fail=True), blobs, NOW)  # type: ignore[arg-type]
    assert blobs.stored == {}


async def test_a_plain_stream_imports_file_records_without_bytes() -> None:
    report = await import_stream(FakeSource(stream()), FakeTarget(), FakeBlobs(),
                                 NOW)  # type: ignore[arg-type]
    assert (report.files_with_bytes, report.files_without_bytes) == (0, 1)


async def test_the_import_writes_who_is_where_to_the_outbox_not_the_history() -> None:
    records = stream(files=True)
    records[2] = {**records[2], "deleted_at": AT, "is_admin": False, "deactivated_at": None,
                  "avatar_file_id": None}
    target = FakeTarget()
    await import_stream(FakeSource(records, {"files/" + "a" * 32: b"hello"}), target,
                        FakeBlobs(), NOW)  # type: ignore[arg-type]
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert [type(e).__name__ for e in target.events] == [
        "UserRegistered", "UserRegistered", "UserDeleted", "RoomCreated", "RoomCreated",
        "MemberJoined", "MemberRead", "FileStored"]
    ana, bo, gone, plaza, patio, joined, read, stored = target.events
    assert (ana.user_id, ana.username, ana.is_admin, ana.registered_at) == (1, "ana", True, at)
    assert (bo.user_id, bo.display_name, gone.user_id, gone.deleted_at) == (2, None, 2, at)
    assert (plaza.room_id, plaza.name, plaza.created_by, plaza.kind) == (5, "plaza", 1, "room")
    assert (patio.is_private, patio.created_by) == (True, None)
    assert (joined.room_id, joined.user_id, joined.username, joined.role,
            joined.joined_at) == (5, 1, "ana", "admin", at)
    assert (read.room_id, read.user_id, read.read_seq, read.read_at) == (5, 1, 2, at)
    assert (stored.file_id, stored.size, stored.room_id) == ("a" * 32, 5, 5)


async def test_a_deleted_account_joins_nothing_and_files_without_bytes_are_not_stored(
        ) -> None:
    records = stream()
    records[1] = {**records[1], "deleted_at": AT}
    target = FakeTarget()
    await import_stream(FakeSource(records), target, FakeBlobs(), NOW)  # type: ignore[arg-type]
    names = [type(e).__name__ for e in target.events]
    assert not {"MemberJoined", "MemberRead", "FileStored"} & set(names)
    assert names.count("UserDeleted") == 1


async def test_a_failed_load_leaves_no_events() -> None:
    target = FakeTarget(fail=True)
    with pytest.raises(RuntimeError, match="disk is full"):
        await import_stream(FakeSource(stream()), target, FakeBlobs(),
                            NOW)  # type: ignore[arg-type]
    assert target.events == []
