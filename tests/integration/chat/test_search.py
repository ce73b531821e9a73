"""Search on a real chat replica, on SQLite FTS5 and on PostgreSQL: who finds what (a private
room's messages vanish after leaving it), edits and deletions found as they commit, accents,
prefixes, phrases, every filter (has:file on chat_files rows), paging, errors; a message in
context (`around_seq`); and the index's triggers the same on a created and a migrated
database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text, update

from services.chat.adapters.outbound.sqla_tables import chat_files
from services.migrate import schema_of
from shared.db import Database
from shared.migrations import upgrade
from tests.integration.chat.harness import Client, chat_settings, replicas, sign_up

pytestmark = pytest.mark.integration


async def found(client: Client, q: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.http.get("/api/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def contents(items: list[dict[str, Any]]) -> list[str]:
    return [item["message"]["content"] for item in items]


async def _search_scenario(alice: Client, bob: Client, carol: Client) -> None:
    general = await alice.create_room("general")
    secret = await alice.create_room("secret", is_private=True)
    invited = await alice.http.post(f"/api/chat/rooms/{secret['id']}/members",
                                    json={"username": bob.username})
    assert invited.status_code == 201, invited.text
    posted = {}
    for content in ("Vamos al CAFÉ a las 5", "The deploy failed again", "deployment done",
                    "Un niño feliz"):
        response = await alice.post(general["id"], content)
        assert response.status_code == 201, response.text
        posted[content] = response.json()
    posted["plans"] = (await alice.post(secret["id"], "secret cafe plans")).json()

    # Accents and case: "cafe" finds "CAFÉ"; newest first; the highlight is the word.
    items = await found(bob, "cafe")
    assert contents(items) == ["secret cafe plans", "Vamos al CAFÉ a las 5"]
    assert items[1]["highlights"] == [[9, 13]]
    assert items[1]["room"] == {"id": general["id"], "name": "general", "kind": "room"}
    history = (await bob.http.get(f"/api/chat/rooms/{general['id']}/messages")).json()
    assert set(items[1]["message"]) == set(history["messages"][0])  # the history shape
    # Someone who never was in the private room never finds its messages.
    assert contents(await found(carol, "café")) == ["Vamos al CAFÉ a las 5"]
    # Leaving it: gone from bob's results at once.
    left = await bob.http.post(f"/api/chat/rooms/{secret['id']}/leave")
    assert left.status_code == 204
    assert contents(await found(bob, "cafe")) == ["Vamos al CAFÉ a las 5"]

    # Prefix, phrase, a word alone.
    assert contents(await found(bob, "deplo*")) == ["deployment done",
                                                    "The deploy failed again"]
    assert contents(await found(bob, "deploy")) == ["The deploy failed again"]
    assert contents(await found(bob, '"al cafe"')) == ["Vamos al CAFÉ a las 5"]
    assert await found(bob, '"cafe al"') == []
    assert contents(await found(bob, "NIÑO")) == ["Un niño feliz"]

    # An edit is found by its new words, not its old, as soon as it commits.
    deploy = posted["The deploy failed again"]
    edited = await alice.http.patch(f"/api/chat/messages/{deploy['id']}",
                                    json={"content": "The rollout worked"})
    assert edited.status_code == 200, edited.text
    assert contents(await found(bob, "deploy")) == []
    items = await found(bob, "rollout")
    assert contents(items) == ["The rollout worked"] and items[0]["highlights"] == [[4, 11]]
    # A deleted message is never found.
    nino = posted["Un niño feliz"]
    assert (await alice.http.delete(f"/api/chat/messages/{nino['id']}")).status_code == 200
    assert await found(bob, "nino") == []
    assert await found(bob, "feliz") == []

    # Filters: from, in, is:thread (a reply is found; is:thread finds replies only), dates.
    reply = await bob.post(general["id"], "otro café, gracias",
                           thread_root_id=posted["Vamos al CAFÉ a las 5"]["id"])
    assert reply.status_code == 201, reply.text
    assert contents(await found(bob, "cafe")) == ["otro café, gracias",
                                                  "Vamos al CAFÉ a las 5"]
    assert contents(await found(bob, "cafe from:@" + bob.username.upper())) == [
        "otro café, gracias"]
    assert contents(await found(bob, "cafe is:thread")) == ["otro café, gracias"]
    assert contents(await found(alice, "cafe in:#secret")) == ["secret cafe plans"]
    assert await found(bob, "cafe in:#secret") == []  # bob left it
    assert await found(bob, "cafe in:#nowhere") == []
    today = datetime.now(UTC).date()
    assert len(await found(bob, f"cafe after:{today - timedelta(days=1)}")) == 2
    assert await found(bob, f"cafe before:{today}") == []
    assert len(await found(bob, f"cafe before:{today + timedelta(days=1)}")) == 2
    assert contents(await found(alice, "from:@" + bob.username)) == ["otro café, gracias"]

    # Paging: one at a time, newest first and by relevance, the same messages.
    for order in ("newest", "relevance"):
        seen, cursor = [], None
        while True:
            params = {"q": "cafe", "limit": 1, "order": order}
            if cursor:
                params["cursor"] = cursor
            page = (await alice.http.get("/api/search", params=params)).json()
            seen += contents(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(["otro café, gracias", "Vamos al CAFÉ a las 5",
                                       "secret cafe plans"]), order

    # Index syntax typed by a user is words; bad queries say what is wrong.
    assert await found(bob, 'NEAR(cafe "a" OR content:x) ^') == []
    refused = await bob.http.get("/api/search", params={"q": '"unclosed'})
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_query" and "never closed" in refused.json()[
        "detail"]
    bad = await bob.http.get("/api/search", params={"q": "x", "cursor": "nonsense!"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")
    too_many = await bob.http.get("/api/search", params={"q": "x", "limit": 101})
    assert too_many.status_code == 422
    bob.http.headers.pop("Authorization")
    assert (await bob.http.get("/api/search", params={"q": "cafe"})).status_code == 401


async def _around(alice: Client) -> None:
    room = await alice.create_room("context")
    seqs = [(await alice.post(room["id"], f"line {n}")).json()["seq"] for n in range(10)]
    page = (await alice.http.get(f"/api/chat/rooms/{room['id']}/messages",
                                 params={"around_seq": seqs[5], "limit": 4})).json()
    assert [m["content"] for m in page["messages"]] == ["line 4", "line 5", "line 6",
                                                        "line 7"]
    assert (page["has_more"], page["has_more_after"]) == (True, True)
    page = (await alice.http.get(f"/api/chat/rooms/{room['id']}/messages",
                                 params={"around_seq": seqs[1], "limit": 6})).json()
    assert [m["content"] for m in page["messages"]] == [f"line {n}" for n in range(5)]
    assert (page["has_more"], page["has_more_after"]) == (False, True)
    mixed = await alice.http.get(f"/api/chat/rooms/{room['id']}/messages",
                                 params={"around_seq": 3, "before_seq": 5})
    assert (mixed.status_code, mixed.json()["code"]) == (422, "invalid_paging")


async def _has_file(chat: Any, alice: Client) -> None:
    """has:file: messages with a file attached that is not deleted (chat_files); results
    carry their attachments, as history does."""
    room = await alice.create_room("files")
    ids = []
    for n in range(3):
        attach = []
        if n != 1:
            uploaded = await alice.http.post(
                "/api/chat/files", files={"file": (f"r{n}.txt", b"report", "text/plain")})
            assert uploaded.status_code == 201, uploaded.text
            attach = [uploaded.json()["id"]]
        posted = await alice.post(room["id"], f"report {n}", attachment_ids=attach)
        assert posted.status_code == 201, posted.text
        ids.append(posted.json()["id"])
    async with chat.db.write() as conn:  # as the sweep leaves a file it removed
        await conn.execute(update(chat_files).where(chat_files.c.message_id == ids[2])
                           .values(deleted_at=datetime.now(UTC)))
    items = await found(alice, "report has:file")
    assert contents(items) == ["report 0"]
    assert [a["name"] for a in items[0]["message"]["attachments"]] == ["r0.txt"]
    assert contents(await found(alice, "has:file in:#files")) == ["report 0"]
    assert len(await found(alice, "report")) == 3


async def _search_on(tmp_path: Path, nats_url: str, **extra: Any) -> None:
    async with replicas([chat_settings(tmp_path, nats_url, **extra)]) as (chat,):
        alice, bob, carol = (await sign_up(chat), await sign_up(chat), await sign_up(chat))
        await _search_scenario(alice, bob, carol)
        await _around(alice)
        await _has_file(chat.chat, alice)


async def test_search_finds_what_the_reader_may_read_on_sqlite(
        tmp_path: Path, nats_url: str) -> None:
    await _search_on(tmp_path, nats_url)


@pytest.mark.postgres
async def test_search_finds_what_the_reader_may_read_on_postgres(
        tmp_path: Path, nats_url: str, postgres_url: str) -> None:
    await _search_on(tmp_path, nats_url, database_url=postgres_url)


async def _triggers(db: Database) -> list[str]:
    sql = ("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
           if db.sqlite else
           "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname")
    async with db.read() as conn:
        return list((await conn.execute(text(sql))).scalars())


async def _same_triggers(created_url: str, replayed_url: str) -> None:
    schema = schema_of("chat")
    found_by_way = []
    for replay, url in ((False, created_url), (True, replayed_url)):
        db = Database(url)
        await db.prepare()
        try:
            if not db.sqlite and replay:  # one PostgreSQL database: made again, replayed
                async with db.write() as conn:
                    await conn.execute(text("DROP SCHEMA public CASCADE"))
                    await conn.execute(text("CREATE SCHEMA public"))
            await upgrade(db, schema, replay=replay)
            found_by_way.append(await _triggers(db))
        finally:
            await db.dispose()
    assert found_by_way[0] == found_by_way[1] != []


async def test_the_index_triggers_are_the_same_created_or_migrated_on_sqlite(
        tmp_path: Path) -> None:
    await _same_triggers(f"sqlite+aiosqlite:///{tmp_path / 'created.db'}",
                         f"sqlite+aiosqlite:///{tmp_path / 'replayed.db'}")


@pytest.mark.postgres
async def test_the_index_triggers_are_the_same_created_or_migrated_on_postgres(
        postgres_url: str) -> None:
    await _same_triggers(postgres_url, postgres_url)
