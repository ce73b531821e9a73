"""Accounts on real NATS and SQLite: deactivation by an administrator, self-deletion, tokens
that outlived their account, and the start-up step that adds the new columns to an older
database."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import delete, text

from services.chat.adapters.outbound.sqla_tables import metadata, users
from services.launcher import NatsServerProcess
from tests.integration.chat.harness import Client, chat_settings, receive, replicas, sign_up
from tests.integration.chat.test_sessions import closed_with, ws_close_code
from tests.integration.notifications.harness import Keys, eventually
from tests.integration.presence.harness import PresenceInstance, presence_settings

BASELINE = importlib.import_module("services.chat.migrations.versions.0001_baseline")

pytestmark = pytest.mark.integration

ADMIN = ("root", "the root password")
PASSWORD = "correct horse battery"


async def signed_in(client: Client, username: str, password: str) -> httpx.Response:
    return await client.http.post("/api/auth/login",
                                  json={"username": username, "password": password},
                                  headers={"Authorization": ""})


async def test_a_deactivated_user_is_refused_everywhere_until_reactivated(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    keys = Keys()
    settings = [chat_settings(tmp_path / "chat", nats_server.url,
                              signing_key_pem=keys.private_pem, admin_username=ADMIN[0],
                              admin_password=ADMIN[1])]
    presence = PresenceInstance(presence_settings(tmp_path / "presence", nats_server.url,
                                                  jwt_public_key_pem=keys.public_pem))
    async with replicas(settings) as (replica,):
        await presence.start()
        try:
            root = await sign_up(replica, "boss")  # not an admin: refused below
            bob = await sign_up(replica, "bob")
            admin_login = await signed_in(root, *ADMIN)
            admin = {"Authorization": f"Bearer {admin_login.json()['access_token']}"}
            room = await bob.create_room()

            refused = await root.http.post(f"/api/admin/users/{bob.id}/deactivate")
            assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")

            async with bob.socket("/ws") as ws:
                await receive(ws, "hello")
                done = await root.http.post(f"/api/admin/users/{bob.id}/deactivate",
                                            headers=admin)
                assert done.status_code == 200, done.text
                assert done.json()["deactivated_at"] is not None
                assert await closed_with(ws) == 4001

            me = await bob.http.get("/api/auth/me")
            assert (me.status_code, me.json()["code"]) == (401, "invalid_token")
            assert (await bob.post(room["id"], "hello?")).status_code == 401
            assert await ws_close_code(bob, replica, bob.token) == 4001

            async def presence_refuses() -> bool:
                async with presence.client(bob.token) as http:
                    return (await http.get("/api/presence/me")).status_code == 401

            await eventually(presence_refuses, what="presence refuses the deactivated user")

            login = await signed_in(bob, "bob", PASSWORD)
            assert (login.status_code, login.json()["code"]) == (403, "account_deactivated")
            wrong = await signed_in(bob, "bob", "not the password")
            assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credentials")

            back = await root.http.post(f"/api/admin/users/{bob.id}/reactivate", headers=admin)
            assert (back.status_code, back.json()["deactivated_at"]) == (200, None)
            again = await signed_in(bob, "bob", PASSWORD)
            assert again.status_code == 200
            # The old token stays revoked; the new one works.
            assert (await bob.http.get("/api/auth/me")).status_code == 401
            fresh = {"Authorization": f"Bearer {again.json()['access_token']}"}
            assert (await bob.http.get("/api/auth/me", headers=fresh)).status_code == 200
        finally:
            await presence.stop()


async def test_deleting_your_account_keeps_your_messages_and_your_name_taken(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    async with replicas([chat_settings(tmp_path, nats_server.url)]) as (replica,):
        alice, bob = await sign_up(replica, "alice"), await sign_up(replica, "bob")
        room = await alice.create_room()
        assert (await bob.http.post(f"/api/chat/rooms/{room['id']}/join")).status_code == 200
        assert (await alice.post(room["id"], "my last words")).status_code == 201

        async with alice.socket("/ws") as ws:
            await receive(ws, "hello")
            wrong = await alice.http.request("DELETE", "/api/auth/me",
                                             json={"password": "not it"})
            assert (wrong.status_code, wrong.json()["code"]) == (403, "wrong_password")
            deleted = await alice.http.request("DELETE", "/api/auth/me",
                                               json={"password": PASSWORD})
            assert deleted.status_code == 204, deleted.text
            assert await closed_with(ws) == 4001

        history = (await bob.http.get(f"/api/chat/rooms/{room['id']}/messages")).json()
        assert [(m["username"], m["content"]) for m in history["messages"]] == [
            ("alice", "my last words")]
        members = (await bob.http.get(f"/api/chat/rooms/{room['id']}/members")).json()
        assert [m["username"] for m in members] == ["bob"]
        assert (await alice.http.get("/api/auth/me")).status_code == 401
        login = await signed_in(alice, "alice", PASSWORD)
        assert (login.status_code, login.json()["code"]) == (401, "invalid_credentials")
        again = await bob.http.post("/api/auth/register",
                                    json={"username": "alice", "password": PASSWORD})
        assert (again.status_code, again.json()["code"]) == (409, "username_taken")


async def test_a_token_whose_user_row_is_gone_gets_401_not_409(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    async with replicas([chat_settings(tmp_path, nats_server.url)]) as (replica,):
        alice, bob = await sign_up(replica, "alice"), await sign_up(replica, "bob")
        room = await alice.create_room("general")
        async with replica.chat.db.write() as conn:  # an operator removing the row by hand
            await conn.execute(delete(users).where(users.c.id == bob.id))
        created = await bob.http.post("/api/chat/rooms", json={"name": "bobs room"})
        joined = await bob.http.post(f"/api/chat/rooms/{room['id']}/join")
        me = await bob.http.get("/api/auth/me")
        posted = await bob.post(room["id"], "a first post joins a public room")
        answers: list[tuple[int, Any]] = [(r.status_code, r.json()["code"])
                                          for r in (created, joined, me, posted)]
        assert answers == [(401, "unknown_user")] * 4
        async with bob.socket("/ws") as ws:  # and over the socket: an error frame
            await receive(ws, "hello")
            await ws.send(orjson.dumps({"type": "chat_message", "room_id": room["id"],
                                        "content": "hello?"}).decode())
            error = await receive(ws, "error")
            assert error["data"]["code"] == "unknown_user"
        assert (await alice.post(room["id"], "still fine")).status_code == 201


async def test_an_older_database_gets_the_new_columns_at_start(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    settings = chat_settings(tmp_path, nats_server.url, admin_username=ADMIN[0],
                             admin_password=ADMIN[1])
    async with replicas([settings]) as (replica,):
        bob = await sign_up(replica, "bob")
        # As a release from before these columns, and before migrations, left the database.
        async with replica.chat.db.write() as conn:
            await conn.execute(text("ALTER TABLE users DROP COLUMN deactivated_at"))
            await conn.execute(text("ALTER TABLE users DROP COLUMN deleted_at"))
            # Nor had it the profile's columns (migration 0002).
            await conn.execute(text("ALTER TABLE users DROP COLUMN status_text"))
            await conn.execute(text("ALTER TABLE users DROP COLUMN time_zone"))
            # Nor the avatar's (migration 0006).
            await conn.execute(text("ALTER TABLE users DROP COLUMN avatar_file_id"))
            # Nor moderation's (migration 0008).
            await conn.execute(text("ALTER TABLE users DROP COLUMN muted_until"))
            await conn.execute(text("ALTER TABLE chat_rooms DROP COLUMN slow_mode_secs"))
            await conn.execute(text("ALTER TABLE room_members DROP COLUMN muted_until"))
            await conn.execute(text("ALTER TABLE room_members DROP COLUMN last_post_at"))
            await conn.execute(text("DROP TABLE alembic_version_chat"))
            # Nor the search index and its triggers (migration 0007).
            for trigger in ("insert", "delete", "update"):
                await conn.execute(text(f"DROP TRIGGER chat_messages_fts_{trigger}"))
            await conn.execute(text("DROP TABLE chat_messages_fts"))
            # Nor the tables later revisions made.
            for table in reversed(metadata.sorted_tables):
                if table.name not in BASELINE.TABLES:
                    await conn.execute(text(f"DROP TABLE {table.name}"))
    async with replicas([settings]) as (replica,):
        client = Client(replica, bob.http, bob.user, bob.token)
        client.http.base_url = httpx.URL(replica.http_url)
        admin = (await signed_in(client, *ADMIN)).json()["access_token"]
        done = await client.http.post(f"/api/admin/users/{bob.id}/deactivate",
                                      headers={"Authorization": f"Bearer {admin}"})
        assert done.status_code == 200, done.text
        login = await signed_in(client, "bob", PASSWORD)
        assert (login.status_code, login.json()["code"]) == (403, "account_deactivated")
