"""Bots and incoming webhooks through the real app (SQLite and PostgreSQL): a bot's token
posts and reads within its scopes, a revoked one is refused at once, a hook's post reaches
a member's socket, its budget answers 429; and the stores' contract on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from services.chat.adapters.outbound.asyncpg_posts import AsyncpgPostLog
from services.chat.migrations import SCHEMA
from shared.db import Database
from shared.migrations import upgrade
from tests.integration.chat import test_fakes as store_fakes
from tests.integration.chat.harness import (
    ChatReplica,
    Client,
    chat_settings,
    frames_until,
    receive,
    replicas,
    send,
    sign_up,
)
from tests.integration.chat.test_bad_input import closed_with

pytest.register_assert_rewrite("tests.unit.chat.bots_contract")
from tests.unit.chat.bots_contract import BotsContract  # noqa: E402

pytestmark = pytest.mark.integration


class TestSqliteBots(BotsContract):
    subject = store_fakes.TestSqliteStores.subject


class PostgresSubject(store_fakes.SqliteSubject):
    """The same real unit of work, on PostgreSQL with the hot path's asyncpg log."""


@pytest.mark.postgres
class TestPostgresBots(BotsContract):
    @pytest.fixture
    async def subject(self, postgres_url: str) -> AsyncIterator[PostgresSubject]:
        db = Database(postgres_url)
        await db.prepare()
        await upgrade(db, SCHEMA)
        posts = AsyncpgPostLog(postgres_url, source="tertulia/chat",
                               committed=lambda rows: None)
        await posts.start()
        try:
            yield PostgresSubject(db, posts)  # type: ignore[arg-type]
        finally:
            await posts.close()
            await db.dispose()


def as_bot(replica: ChatReplica, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=replica.http_url, timeout=30,
                             headers={"Authorization": f"Bearer {token}"})


async def bot_scenario(replica: ChatReplica) -> None:
    root = await sign_up(replica, "root")  # the first account: the administrator
    alice = await sign_up(replica, "alice")
    room = await alice.create_room("deploys")
    other = await alice.create_room("elsewhere")
    refused = await alice.http.post("/api/admin/bots", json={"username": "ci-bot"})
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    made = await root.http.post("/api/admin/bots",
                                json={"username": "ci-bot", "display_name": "CI"})
    assert made.status_code == 201, made.text
    bot = made.json()
    assert (bot["is_bot"], bot["is_admin"], bot["display_name"]) == (True, False, "CI")
    listed = (await root.http.get("/api/admin/bots")).json()
    assert [b["username"] for b in listed] == ["ci-bot"]
    # No password signs a bot in.
    login = await alice.http.post("/api/auth/login", headers={"Authorization": ""},
                                  json={"username": "ci-bot", "password": "!"})
    assert login.status_code == 401
    bad = await root.http.post(f"/api/admin/bots/{bot['id']}/tokens",
                               json={"name": "x", "scopes": ["admin:1"]})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_scopes")
    issued = await root.http.post(f"/api/admin/bots/{bot['id']}/tokens", json={
        "name": "deploys", "scopes": [f"post:{room['id']}", f"read:{room['id']}"]})
    assert issued.status_code == 201, issued.text
    secret = issued.json()["token"]
    assert secret.startswith("tb_")
    tokens = (await root.http.get(f"/api/admin/bots/{bot['id']}/tokens")).json()
    assert [t["name"] for t in tokens] == ["deploys"] and "token" not in tokens[0]
    async with alice.socket(f"/ws/chat/{room['id']}") as ws, as_bot(replica, secret) as ci:
        await frames_until(ws, "joined")
        posted = await ci.post(f"/api/chat/rooms/{room['id']}/messages",
                               json={"content": "deployed v1.2"})
        assert posted.status_code == 201, posted.text
        assert posted.json()["is_bot"] is True
        live = (await receive(ws, "message"))["data"]
        assert (live["content"], live["username"], live["display_name"], live["is_bot"]) == (
            "deployed v1.2", "ci-bot", "CI", True)
        page = await ci.get(f"/api/chat/rooms/{room['id']}/messages")
        assert [(m["content"], m["is_bot"]) for m in page.json()["messages"]] == [
            ("deployed v1.2", True)]
        members = (await alice.http.get(f"/api/chat/rooms/{room['id']}/members")).json()
        assert {m["username"]: m["is_bot"] for m in members} == {"alice": False,
                                                                 "ci-bot": True}
        # Sockets take no bot token: refused as any token that is not a session's.
        async with connect(f"{replica.ws_url}/ws?token={secret}") as bot_ws:
            assert await closed_with(bot_ws) == 4001
        for response in (await ci.post(f"/api/chat/rooms/{other['id']}/messages",
                                       json={"content": "no"}),
                         await ci.get(f"/api/chat/rooms/{other['id']}/messages"),
                         await ci.get("/api/chat/rooms"),
                         await ci.post("/api/chat/rooms", json={"name": "mine"})):
            assert (response.status_code, response.json()["code"]) == (403, "scope_denied")
        revoked = await root.http.delete(
            f"/api/admin/bots/{bot['id']}/tokens/{issued.json()['id']}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
        after = await ci.post(f"/api/chat/rooms/{room['id']}/messages",
                              json={"content": "after"})
        assert (after.status_code, after.json()["code"]) == (401, "invalid_token")
        # The replay of a join reads the author's row: still a bot.
        async with alice.socket(f"/ws/chat/{room['id']}") as again:
            replay = await frames_until(again, "joined")
            assert [f["data"]["is_bot"] for f in replay if f["type"] == "message"] == [True]
        deactivated = await root.http.post(f"/api/admin/bots/{bot['id']}/deactivate")
        assert deactivated.json()["deactivated_at"] is not None
    audit = (await root.http.get("/api/admin/audit")).json()["entries"]
    assert [(e["action"], e["actor_username"]) for e in reversed(audit)] == [
        ("bot.create", "root"), ("bot_token.create", "root"), ("bot_token.revoke", "root"),
        ("bot.deactivate", "root")]


async def test_a_bot_token_posts_and_reads_in_its_scopes_until_revoked(
        tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        await bot_scenario(replica)


@pytest.mark.postgres
async def test_a_bot_token_on_postgres(tmp_path: Path, nats_url: str,
                                       postgres_url: str) -> None:
    settings = chat_settings(tmp_path, nats_url, database_url=postgres_url)
    async with replicas([settings]) as (replica,):
        await bot_scenario(replica)


async def hook_post(replica: ChatReplica, url: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=replica.http_url, timeout=30) as client:
        return await client.post(url, **kwargs)


async def create_hook(client: Client, room_id: int, name: str) -> dict[str, Any]:
    made = await client.http.post(f"/api/chat/rooms/{room_id}/hooks", json={"name": name})
    assert made.status_code == 201, made.text
    return made.json()


async def test_a_hook_posts_to_the_room_live_within_its_budget(
        tmp_path: Path, nats_url: str) -> None:
    settings = chat_settings(tmp_path, nats_url, hook_rate_limit="5/minute",
                             hook_max_body_bytes=1024, message_max_chars=100)
    async with replicas([settings]) as (replica,):
        root = await sign_up(replica, "root")
        alice = await sign_up(replica, "alice")
        bob = await sign_up(replica, "bob")
        room = await alice.create_room("ops", is_private=True)
        invited = await alice.http.post(f"/api/chat/rooms/{room['id']}/members",
                                        json={"username": "bob"})
        assert invited.status_code == 201
        refused = await bob.http.post(f"/api/chat/rooms/{room['id']}/hooks",
                                      json={"name": "CI"})
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
        hook = await create_hook(alice, room["id"], "CI alerts")
        assert hook["url"].startswith("/api/hooks/th_") and hook["room_id"] == room["id"]
        listed = (await alice.http.get(f"/api/chat/rooms/{room['id']}/hooks")).json()
        assert [h["name"] for h in listed] == ["CI alerts"] and "url" not in listed[0]
        async with bob.socket("/ws") as ws:
            await receive(ws, "hello")
            await send(ws, type="join", room_id=room["id"])
            await receive(ws, "joined")
            posted = await hook_post(replica, hook["url"], json={"text": "build #7 failed",
                                                                  "username": "Jenkins"})
            assert posted.status_code == 200, posted.text
            assert posted.json()["ok"] is True
            live = (await receive(ws, "message"))["data"]
            # Slack's `username` names this one message; the hook's name shows otherwise.
            assert (live["content"], live["display_name"], live["author_label"],
                    live["is_bot"]) == ("build #7 failed", "CI alerts", "Jenkins", True)
            assert live["id"] == posted.json()["message_id"]
            # Slack's form shape: payload=<json>.
            form = await hook_post(replica, hook["url"],
                                   data={"payload": orjson.dumps({"text": "from a form"}).decode()})
            assert form.status_code == 200, form.text
            from_form = (await receive(ws, "message"))["data"]
            assert (from_form["content"], from_form["author_label"]) == ("from a form", None)
        page = (await bob.http.get(f"/api/chat/rooms/{room['id']}/messages")).json()
        assert [(m["author_label"], m["display_name"], m["is_bot"]) for m in page["messages"]
                ] == [("Jenkins", "CI alerts", True), (None, "CI alerts", True)]
        for body, code in (({"content": b"{nope"}, "invalid_payload"),
                           ({"json": {"text": "   "}}, "content_empty"),
                           ({"json": {"text": "hi", "username": "x" * 65}}, "invalid_payload")):
            bad = await hook_post(replica, hook["url"], **body)
            assert (bad.status_code, bad.json()["code"]) == (422, code)
        # Five spent: the sixth is over the hook's budget.
        over = await hook_post(replica, hook["url"], json={"text": "one too many"})
        assert (over.status_code, over.json()["code"]) == (429, "rate_limited")
        assert int(over.headers["Retry-After"]) >= 1
        # Another hook has a budget of its own; its checks come before the budget's.
        second = await create_hook(alice, room["id"], "Second")
        too_long = await hook_post(replica, second["url"], json={"text": "x" * 101})
        assert (too_long.status_code, too_long.json()["code"]) == (422, "content_too_long")
        too_big = await hook_post(replica, second["url"], json={"text": "x" * 2000})
        assert (too_big.status_code, too_big.json()["code"]) == (413, "body_too_large")
        assert too_big.json()["max_bytes"] == 1024
        for url in ("/api/hooks/th_never-made", "/api/hooks/x"):
            unknown = await hook_post(replica, url, json={"text": "hi"})
            assert (unknown.status_code, unknown.json()["code"]) == (404, "hook_not_found")
        deleted = await alice.http.delete(f"/api/chat/rooms/{room['id']}/hooks/{second['id']}")
        assert deleted.status_code == 200, deleted.text
        gone = await hook_post(replica, second["url"], json={"text": "hi"})
        assert (gone.status_code, gone.json()["code"]) == (404, "hook_not_found")
        members = (await alice.http.get(f"/api/chat/rooms/{room['id']}/members")).json()
        assert [(m["display_name"], m["is_bot"]) for m in members] == [
            ("alice", False), ("bob", False), ("CI alerts", True)]
        audit = (await root.http.get("/api/admin/audit",
                                     params={"room_id": room["id"]})).json()["entries"]
        assert [(e["action"], e["target_id"], e["actor_id"]) for e in reversed(audit)] == [
            ("hook.create", str(hook["id"]), alice.id),
            ("hook.create", str(second["id"]), alice.id),
            ("hook.delete", str(second["id"]), alice.id)]
        # A room's `hold` word filter holds a hook's post too: 202, nothing in the room.
        rule = await alice.http.post(f"/api/chat/rooms/{room['id']}/word-filters",
                                     json={"pattern": "deploy*", "action": "hold"})
        assert rule.status_code == 201, rule.text
        third = await create_hook(alice, room["id"], "Third")
        held = await hook_post(replica, third["url"], json={"text": "deploying now"})
        assert held.status_code == 202, held.text
        assert (held.json()["ok"], held.json()["held"]) == (True, True)
        assert held.json()["held_id"] > 0
        after = (await bob.http.get(f"/api/chat/rooms/{room['id']}/messages")).json()
        assert "deploying now" not in [m["content"] for m in after["messages"]]
