"""Export and import on real services: a populated system exported over HTTP (the server, a
room, one's own data; NDJSON and the tar archive), imported into a new, empty data directory
with `tertulia import`, exported again: the same stream. Who may export what; an import
that refuses a system with anything in it, or a stream with one bad line (nothing written).
On SQLite, and the round trip once on PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import sqlite3
import tarfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import pytest

from services import exchange
from services.chat.domain.export_format import FormatError
from tests.integration.chat.harness import (
    ChatReplica,
    Client,
    chat_settings,
    replicas,
    sign_up,
)
from tests.integration.chat.test_files import png, upload

pytestmark = pytest.mark.integration


def lines(body: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in body.splitlines()]


def comparable(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stream without the moment it was made."""
    return [{k: v for k, v in r.items() if k != "exported_at"} for r in records]


def without_audit(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in comparable(records) if r["type"] not in ("audit", "end")]


def archive_members(body: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


async def populate(alice: Client, bob: Client, carol: Client) -> dict[str, Any]:
    """Rooms (one private), members with roles, a thread, an edit, a deletion, mentions,
    reactions, a pin, an attachment with a thumbnail and an avatar."""
    room = await alice.create_room("general", description="all of us")
    secret = await alice.create_room("secret", is_private=True)
    for who in (bob, carol):
        assert (await who.http.post(f"/api/chat/rooms/{room['id']}/join")).status_code == 200
    assert (await alice.http.patch(f"/api/chat/rooms/{room['id']}/members/{bob.id}",
                                   json={"role": "moderator"})).status_code == 200
    root = (await bob.post(room["id"], f"hello @{carol.username}")).json()
    reply = (await carol.post(room["id"], "a reply", thread_root_id=root["id"])).json()
    assert (await alice.post(room["id"], "also to the room", thread_root_id=root["id"],
                             also_send_to_room=True)).status_code == 201
    edited = (await carol.post(room["id"], "tpyo")).json()
    assert (await carol.http.patch(f"/api/chat/messages/{edited['id']}",
                                   json={"content": "typo"})).status_code == 200
    gone = (await bob.post(room["id"], "oops")).json()
    assert (await bob.http.delete(f"/api/chat/messages/{gone['id']}")).status_code in (200, 204)
    for who, emoji in ((alice, "👍"), (carol, "👍"), (carol, "🎉")):
        assert (await who.http.put(f"/api/chat/messages/{root['id']}/reactions/"
                                   f"{quote(emoji)}")).status_code == 200
    assert (await alice.http.put(f"/api/chat/messages/{root['id']}/pin")).status_code == 200
    image = (await upload(alice, png((64, 48)), "teal.png", "image/png")).json()
    attached = (await alice.post(room["id"], "a picture", attachment_ids=[image["id"]])).json()
    assert (await alice.post(secret["id"], "just me")).status_code == 201
    avatar = await bob.http.put("/api/auth/me/avatar",
                                files={"file": ("me.png", png((32, 32)), "image/png")})
    assert avatar.status_code == 200, avatar.text
    return {"room": room, "secret": secret, "root": root, "reply": reply, "image": image,
            "attached": attached}


async def get(client: Client, path: str) -> bytes:
    response = await client.http.get(path)
    assert response.status_code == 200, response.text
    return response.content


async def test_export_import_export_gives_the_same_stream(tmp_path: Path, nats_url: str
                                                          ) -> None:
    await _round_trip(tmp_path, nats_url)


@pytest.mark.postgres
async def test_round_trip_on_postgresql(tmp_path: Path, nats_url: str, postgres_url: str,
                                        ) -> None:
    await _round_trip(tmp_path, nats_url, postgres_url=postgres_url)


async def _round_trip(tmp_path: Path, nats_url: str, postgres_url: str | None = None) -> None:
    first_dir, second_dir = tmp_path / "one", tmp_path / "two"
    extra = {"database_url": postgres_url} if postgres_url else {}
    async with replicas([chat_settings(first_dir, nats_url, **extra)]) as (one,):
        alice = await sign_up(one, "alice")  # the first account: an administrator
        bob = await sign_up(one, "bob")
        carol = await sign_up(one, "carol")
        made = await populate(alice, bob, carol)
        room_id = made["room"]["id"]
        server = await get(alice, "/api/admin/export")
        response = await alice.http.get("/api/admin/export?files=1")
        assert response.headers["content-type"] == "application/x-tar"
        tar_body = response.content
        room = await get(alice, f"/api/chat/rooms/{room_id}/export")
        mine = await get(carol, "/api/chat/me/export")
        # Pages of one row read the same records as pages of 500 (every key's paging).
        from services.chat.adapters.outbound.sqla_export import SqlaExportSource
        from services.chat.domain.export_format import ExportScope

        paged = SqlaExportSource(one.chat.db, page_rows=1)
        for scope, body in ((ExportScope("server", audit=True), server),
                            (ExportScope("room", room_id=room_id), room),
                            (ExportScope("user", user_id=carol.id), mine)):
            one_by_one = [r async for r in paged.records(scope)]
            assert without_audit(one_by_one) == without_audit(lines(body)[1:])
    records = lines(server)
    assert records[0]["type"] == "header" and records[0]["scope"] == "server"
    assert records[-1] == {"type": "end", "counts": records[-1]["counts"]}
    kinds = [r["type"] for r in records[1:-1]]
    assert kinds == sorted(kinds, key=["user", "room", "member", "message", "reaction", "pin",
                                       "file", "audit"].index)
    users = [r for r in records if r["type"] == "user"]
    assert {u["username"] for u in users} == {"alice", "bob", "carol"}
    assert all("password_hash" not in u and "password" not in str(u) for u in users)
    messages = {r["id"]: r for r in records if r["type"] == "message"}
    assert messages[made["reply"]["id"]]["thread_root_id"] == made["root"]["id"]
    assert messages[made["root"]["id"]]["mentions"] == [carol.id]
    edited = next(m for m in messages.values() if m["content"] == "typo")
    assert [e["previous_content"] for e in edited["edits"]] == ["tpyo"]
    assert any(m["is_deleted"] for m in messages.values())
    members = archive_members(tar_body)
    files = [r for r in lines(members["data.ndjson"]) if r["type"] == "file"]
    assert {f["kind"] for f in files} == {"attachment", "avatar"}
    image = next(f for f in files if f["id"] == made["image"]["id"])
    assert members[f"files/{image['id']}"] == png((64, 48)) and image["has_thumbnail"]
    assert f"thumbnails/{image['id']}" in members

    # A room's export: that room only, people's public records (no is_admin, no avatar).
    room_records = lines(room)
    assert {r["id"] for r in room_records if r["type"] == "room"} == {room_id}
    assert all(r["room_id"] == room_id for r in room_records if r["type"] == "message")
    assert all("is_admin" not in r for r in room_records if r["type"] == "user")
    # One's own data: their account, their messages and reactions only.
    own = lines(mine)
    assert [r["id"] for r in own if r["type"] == "user"] == [carol.id]
    assert {r["user_id"] for r in own if r["type"] in ("message", "reaction")} == {carol.id}

    # Into an empty system: the archive (bytes and all), then the same export again.
    archive_path = tmp_path / "server.tar"
    archive_path.write_bytes(tar_body)
    second_extra = {}
    if postgres_url:  # a second empty database on the same server
        second_extra = {"database_url": postgres_url + "_second"}
        await _create_database(postgres_url, postgres_url + "_second")
    try:
        await _import_into(second_dir, archive_path, second_extra)
        async with replicas([chat_settings(second_dir, nats_url, **second_extra)]) as (two,):
            # Nobody has a password yet: create-admin gives the administrator one.
            from services.chat.bootstrap import create_admin

            outcome = await create_admin(chat_settings(second_dir, nats_url, **second_extra),
                                         "alice", "another good password")
            assert outcome == "password_set"
            admin = await _sign_in(two, "alice", "another good password")
            again_tar = archive_members(await get(admin, "/api/admin/export?files=1"))
            again_plain = await get(admin, "/api/admin/export")
            again_room = await get(admin, f"/api/chat/rooms/{room_id}/export")
            found = (await admin.http.get("/api/search", params={"q": "typo"})).json()
            download = await admin.http.get(f"/api/chat/files/{image['id']}")
            posted = await admin.post(room_id, "after the import")
    finally:
        if postgres_url:
            await _drop_database(postgres_url, postgres_url + "_second")
    # The same stream, but for the audit log, which grew by the import and the exports.
    before, after = lines(members["data.ndjson"]), lines(again_tar["data.ndjson"])
    assert without_audit(after) == without_audit(before)
    assert without_audit(lines(again_plain)) == without_audit(records)
    audit_before = [r for r in before if r["type"] == "audit"]
    audit_after = [r for r in after if r["type"] == "audit"]
    assert audit_after[:len(audit_before)] == audit_before
    assert [(r["action"], r["target_type"], r["actor_id"])
            for r in audit_after[len(audit_before):]] == [
        ("import.run", "server", None), ("export.run", "server", admin.id)]
    assert [r["action"] for r in audit_before].count("export.run") == 2
    assert again_tar.keys() == members.keys()
    assert all(again_tar[name] == members[name] for name in members if name != "data.ndjson")
    assert comparable(lines(again_room)) == comparable(room_records)
    # Derived state: the search index, the file's bytes, the room's seq.
    assert [hit["message"]["content"] for hit in found["items"]] == ["typo"]
    assert download.status_code == 200 and download.content == png((64, 48))
    assert posted.status_code == 201
    room_rec = next(r for r in records if r["type"] == "room" and r["id"] == room_id)
    assert posted.json()["seq"] == room_rec["last_seq"] + 1


async def _import_into(data_dir: Path, path: Path, extra: dict[str, Any]) -> list[str]:
    if "database_url" in extra:
        import os

        os.environ["CHAT_DATABASE_URL"] = extra["database_url"]
        try:
            return await exchange.import_from(path, data_dir)
        finally:
            del os.environ["CHAT_DATABASE_URL"]
    return await exchange.import_from(path, data_dir)


async def _sign_in(replica: ChatReplica, username: str, password: str) -> Client:
    import httpx

    http = httpx.AsyncClient(base_url=replica.http_url, timeout=30)
    login = await http.post("/api/auth/login", json={"username": username,
                                                     "password": password})
    assert login.status_code == 200, login.text
    http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    http.cookies.clear()
    me = (await http.get("/api/auth/me")).json()
    return Client(replica, http, me, login.json()["access_token"])


async def _create_database(base_url: str, url: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(base_url.replace("+asyncpg", ""))
    try:
        await admin.execute(f'CREATE DATABASE "{url.rpartition("/")[2]}"')
    finally:
        await admin.close()


async def _drop_database(base_url: str, url: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(base_url.replace("+asyncpg", ""))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_who_may_export_what(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (one,):
        alice = await sign_up(one)  # the first account: an administrator
        bob = await sign_up(one)
        carol = await sign_up(one)
        room = await bob.create_room()  # bob is its admin
        secret = await bob.create_room(is_private=True)
        assert (await carol.http.post(f"/api/chat/rooms/{room['id']}/join")).status_code == 200
        assert (await carol.post(room["id"], "hi")).status_code == 201
        cases = [
            (carol, "/api/admin/export", 403),
            (bob, "/api/admin/export", 403),
            (carol, f"/api/chat/rooms/{room['id']}/export", 403),  # a member, not an admin
            (carol, f"/api/chat/rooms/{secret['id']}/export", 404),  # cannot see it
            (carol, "/api/chat/rooms/999999/export", 404),
            (bob, f"/api/chat/rooms/{room['id']}/export", 200),
            (alice, f"/api/chat/rooms/{secret['id']}/export", 200),  # server admins: any
            (carol, "/api/chat/me/export", 200),
        ]
        for client, path, status in cases:
            response = await client.http.get(path)
            assert response.status_code == status, (path, response.text)
            if status == 200:
                assert response.headers["content-type"] == "application/x-ndjson"
                assert response.headers["content-disposition"].startswith("attachment;")
            else:
                assert response.headers["content-type"] == "application/problem+json"
        import httpx

        async with httpx.AsyncClient(base_url=one.http_url) as nobody:
            assert (await nobody.get("/api/chat/me/export")).status_code == 401


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def _small_stream() -> list[dict[str, Any]]:
    at = "2026-01-02T03:04:05+00:00"
    return [
        {"type": "header", "format": "tertulia-export", "version": 1, "scope": "server",
         "exported_at": at, "files": False},
        {"type": "user", "id": 7, "username": "ana", "display_name": None, "is_bot": False,
         "created_at": at, "status_text": None, "time_zone": None, "is_admin": True},
        {"type": "room", "id": 3, "name": "plaza", "description": None, "is_private": False,
         "kind": "room", "dm_key": None, "created_at": at, "created_by": 7, "last_seq": 1},
        {"type": "member", "room_id": 3, "user_id": 7, "role": "admin", "joined_at": at,
         "last_seen": at, "read_seq": 1},
        {"type": "message", "id": 11, "room_id": 3, "seq": 1, "user_id": 7, "username": "ana",
         "content": "hola", "message_type": "text", "client_msg_id": None, "created_at": at,
         "edited_at": None, "is_deleted": False, "thread_root_id": None,
         "also_send_to_room": False, "reply_count": 0, "last_reply_at": None},
        {"type": "end", "counts": {"user": 1, "room": 1, "member": 1, "message": 1}},
    ]


def normalized(record: dict[str, Any]) -> dict[str, Any]:
    """A record as an export writes it: every field, defaults filled in."""
    from services.chat.domain.export_fields import normalize

    if record["type"] in ("header", "end"):
        return record
    out = normalize(record, 0)
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in out.items()}


def _counts(data_dir: Path) -> dict[str, int]:
    with sqlite3.connect(data_dir / "chat.db") as db:
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("users", "chat_rooms", "room_members", "chat_messages", "outbox")}


async def test_import_refuses_a_bad_line_or_a_system_in_use(tmp_path: Path) -> None:
    stream = _small_stream()
    # A corrupt line in the middle: the check finds it before anything is written.
    broken = _write(tmp_path / "broken.ndjson", stream)
    body = broken.read_bytes().splitlines(keepends=True)
    body[3] = b'{"type": "member", "room_id": 3, "user_id": 8,' + b"\n"
    broken.write_bytes(b"".join(body))
    with pytest.raises(FormatError) as refused:
        await exchange.import_from(broken, tmp_path / "a")
    assert refused.value.line == 4
    assert _counts(tmp_path / "a") == {"users": 0, "chat_rooms": 0, "room_members": 0,
                                       "chat_messages": 0, "outbox": 0}
    # A reference to nothing: the line says which.
    stream[3] = {**stream[3], "user_id": 8}
    with pytest.raises(FormatError, match="line 4: user_id 8 names no user record"):
        await exchange.import_from(_write(tmp_path / "dangling.ndjson", stream), tmp_path / "a")
    stream[3] = {**stream[3], "user_id": 7}

    good = _write(tmp_path / "good.ndjson", stream)
    report = await exchange.import_from(good, tmp_path / "a")
    assert "imported 1 user, 1 room, 1 member, 1 message" in report[0]
    # `tertulia export` reads it back from the database: the same records, and the import's
    # own audit entry.
    out = await exchange.export_to(tmp_path / "again.ndjson", tmp_path / "a")
    again = lines(out.read_bytes())
    assert without_audit(again) == without_audit(
        [normalized(r) for r in stream])
    assert [r["action"] for r in again if r["type"] == "audit"] == ["import.run", "export.run"]
    with pytest.raises(exchange.ExchangeError, match="exists"):
        await exchange.export_to(out, tmp_path / "a")
    # Who is where, for the other services (chat's relay publishes it when chat runs);
    # the history is chat's alone: no event for the message.
    assert _counts(tmp_path / "a") == {"users": 1, "chat_rooms": 1, "room_members": 1,
                                       "chat_messages": 1, "outbox": 4}
    with sqlite3.connect(tmp_path / "a" / "chat.db") as db:
        assert [r[0] for r in db.execute("SELECT subject FROM outbox ORDER BY id")] == [
            "events.chat.user.registered", "events.chat.room.created",
            "events.chat.member.joined", "events.chat.member.read"]
    # Not empty any more: refused, with the reason.
    from services.chat.domain import Conflict

    with pytest.raises(Conflict, match="empty system"):
        await exchange.import_from(good, tmp_path / "a")
    # The command says so and fails (asyncio.run: in a thread of its own).
    assert await asyncio.to_thread(exchange.run, exchange_args("import", good,
                                                               tmp_path / "a")) == 1
    assert _counts(tmp_path / "a")["users"] == 1


async def test_a_load_that_fails_in_its_transaction_leaves_no_rows_and_no_events(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The events go in the rows' transaction: the import's audit entry, written last (after
    the outbox rows), failing takes every row and every event back."""
    from services.chat.adapters.outbound.sqla_audit import SqlaAuditLog

    async def full(self: Any, entry: Any) -> None:
        raise OSError("the disk is full")

    good = _write(tmp_path / "good.ndjson", _small_stream())
    monkeypatch.setattr(SqlaAuditLog, "add", full)
    with pytest.raises(OSError, match="disk is full"):
        await exchange.import_from(good, tmp_path / "a")
    assert _counts(tmp_path / "a") == {"users": 0, "chat_rooms": 0, "room_members": 0,
                                       "chat_messages": 0, "outbox": 0}


def exchange_args(command: str, path: Path, data_dir: Path) -> Any:
    from services.cli import build_parser

    return build_parser().parse_args([command, str(path), "--data-dir", str(data_dir)])


async def test_a_slack_export_imports_its_rooms_threads_and_reactions(
        tmp_path: Path, nats_url: str) -> None:
    from services.chat.bootstrap import create_admin
    from tests.support.slack_fixture import write_slack_export

    zipped = write_slack_export(tmp_path / "slack.zip")
    said = await exchange.import_from(zipped, tmp_path / "data", slack=True)
    assert "imported 4 user, 3 room, 6 member, 8 message, 4 reaction, 1 pin" in said[0]
    settings = chat_settings(tmp_path / "data", nats_url)
    assert await create_admin(settings, "ana", "a long enough password") == "password_set"
    # The other imported accounts: `tertulia set-password`, one by one.
    assert await create_admin(settings, "_carl_", "carl's own password",
                              reset=True) == "password_set"
    from services.chat.domain import NotFound

    with pytest.raises(NotFound):
        await create_admin(settings, "nobody", "carl's own password", reset=True)
    async with replicas([settings]) as (one,):
        ana = await _sign_in(one, "ana", "a long enough password")
        carl = await _sign_in(one, "_carl_", "carl's own password")
        assert carl.user["is_admin"] is False and ana.user["is_admin"] is True
        refused = await carl.http.post("/api/auth/login", json={"username": "bo_",
                                                                "password": "anything at all"})
        assert refused.status_code in (401, 403)  # bo_ has no password (and is deactivated)
        rooms = {r["name"]: r for r in (await ana.http.get("/api/chat/rooms")).json()}
        assert {"general", "random", "secret"} <= rooms.keys()
        assert rooms["secret"]["is_private"]
        page = (await ana.http.get(f"/api/chat/rooms/{rooms['general']['id']}/messages")
                ).json()["messages"]
        root = next(m for m in page if m["content"].startswith("Hello"))
        assert root["reply_count"] == 2
        assert {r["emoji"]: r["count"] for r in root["reactions"]} == {"👍": 2,
                                                                        ":partyparrot:": 1}
        thread = (await ana.http.get(f"/api/chat/messages/{root['id']}/thread")).json()
        assert [m["content"] for m in thread["messages"]] == ["a reply", "also for everyone"]
        found = (await ana.http.get("/api/search", params={"q": "psst"})).json()["items"]
        assert [hit["room"]["name"] for hit in found] == ["secret"]
