"""Profiles end to end on real NATS and SQLite: PATCH /api/auth/me, then the new display
name in history, on a live socket of another replica, in the members list, and in the
event stream."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.integration.chat.harness import (
    chat_settings,
    frames_until,
    receive,
    replicas,
    send,
    sign_up,
    stream_events,
)

pytestmark = pytest.mark.integration


async def test_a_new_display_name_shows_in_history_on_live_sockets_and_in_members(
        tmp_path: Path, nats_url: str) -> None:
    await _a_rename_shows_everywhere(tmp_path, nats_url)


@pytest.mark.postgres
async def test_on_postgres_too(tmp_path: Path, nats_url: str, postgres_url: str) -> None:
    await _a_rename_shows_everywhere(tmp_path, nats_url, database_url=postgres_url)


async def _a_rename_shows_everywhere(tmp_path: Path, nats_url: str, **overrides: str) -> None:
    """Two replicas on one database (SQLite file or PostgreSQL)."""
    shared_key = (tmp_path / "key").as_posix()
    settings = [chat_settings(tmp_path, nats_url, signing_key_file=shared_key,
                              replica_id=f"chat-{n}", **overrides) for n in ("a", "b")]
    async with replicas(settings) as (one, two):
        ana = await sign_up(one)
        bob = await sign_up(two)
        room = await ana.create_room()
        assert (await bob.http.post(f"/api/chat/rooms/{room['id']}/join")).status_code == 200
        assert (await ana.post(room["id"], "before")).status_code == 201

        me = (await ana.http.get("/api/auth/me")).json()
        assert (me["display_name"], me["status_text"], me["time_zone"]) == (None, None, None)
        async with bob.socket(f"/ws/chat/{room['id']}") as ws:
            replay = await frames_until(ws, "joined")
            [old] = [f["data"] for f in replay if f["type"] == "message"]
            assert old["display_name"] == ana.username  # none yet: the username

            changed = await ana.http.patch("/api/auth/me", json={
                "display_name": "  Ana María ", "status_text": "Lunch",
                "time_zone": "America/Mexico_City"})
            assert changed.status_code == 200, changed.text
            assert {k: changed.json()[k] for k in ("display_name", "status_text", "time_zone")
                    } == {"display_name": "Ana María", "status_text": "Lunch",
                          "time_zone": "America/Mexico_City"}
            # Bob's socket is on the other replica: the frame crossed NATS.
            updated = await receive(ws, "user_updated")
            assert updated["data"] == {"user_id": ana.id, "username": ana.username,
                                       "display_name": "Ana María", "status_text": "Lunch",
                                       "time_zone": "America/Mexico_City", "is_bot": False}

            assert (await ana.post(room["id"], "after")).status_code == 201
            live = await receive(ws, "message")
            assert (live["data"]["content"], live["data"]["display_name"]) == (
                "after", "Ana María")
            await send(ws, type="ping")
            await receive(ws, "pong")

        page = (await bob.http.get(f"/api/chat/rooms/{room['id']}/messages")).json()
        assert [(m["content"], m["display_name"]) for m in page["messages"]] == [
            ("before", "Ana María"), ("after", "Ana María")]
        members = (await bob.http.get(f"/api/chat/rooms/{room['id']}/members")).json()
        assert {m["username"]: m["display_name"] for m in members} == {
            ana.username: "Ana María", bob.username: bob.username}
        assert (await bob.http.get("/api/auth/me")).json()["display_name"] is None

        # A first post in a public room (no membership yet) reads the poster's name too.
        carol = await sign_up(two)
        await carol.http.patch("/api/auth/me", json={"display_name": "Carolina"})
        first = await carol.post(room["id"], "hola a todos")
        assert first.status_code == 201, first.text
        assert first.json()["display_name"] == "Carolina"
        members = (await bob.http.get(f"/api/chat/rooms/{room['id']}/members")).json()
        assert members[-1]["display_name"] == "Carolina"

        # A rejoin's replay carries the current name too.
        async with bob.socket(f"/ws/chat/{room['id']}?since_seq=0") as ws:
            replay = [f["data"] for f in await frames_until(ws, "joined")
                      if f["type"] == "message"]
            assert [m["display_name"] for m in replay] == ["Ana María", "Ana María",
                                                           "Carolina"]

        async with asyncio.timeout(10):
            while True:
                # The stream outlives each test's database: find this test's user by name.
                found = [e for e in await stream_events(nats_url)
                         if e.type == "tertulia.chat.user.updated.v1"
                         and e.data["username"] == ana.username]
                if found:
                    break
                await asyncio.sleep(0.1)
        [event] = found
        assert (event.data["user_id"], event.data["display_name"], event.data["time_zone"]) == (
            ana.id, "Ana María", "America/Mexico_City")


async def test_a_profile_is_checked_with_stable_codes(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        ana = await sign_up(replica)
        for body, code in (({"display_name": "x" * 65}, "display_name_too_long"),
                           ({"display_name": "a\u0007b"}, "invalid_display_name"),
                           ({"status_text": "s" * 101}, "status_text_too_long"),
                           ({"time_zone": "Mars/Olympus"}, "invalid_time_zone"),
                           ({"nickname": "ana"}, "validation_error")):
            refused = await ana.http.patch("/api/auth/me", json=body)
            assert (refused.status_code, refused.json()["code"]) == (422, code), body
        done = await ana.http.patch("/api/auth/me", json={"display_name": "Ana"})
        assert done.json()["display_name"] == "Ana"
        cleared = await ana.http.patch("/api/auth/me", json={"display_name": ""})
        assert cleared.json()["display_name"] is None
