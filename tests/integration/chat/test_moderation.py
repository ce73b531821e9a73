"""Moderation on a real replica, on SQLite and PostgreSQL (the post path's own adapters:
`sqlite_posts`, `asyncpg_posts`): mutes refuse posts over HTTP (403 problem) and the socket
(`error` frame), with their end compared with the clock; bans remove and refuse; slow mode;
reports live to the moderators and resolved with their action."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.chat.harness import (
    Client,
    chat_settings,
    receive,
    replicas,
    send,
    sign_up,
)

pytestmark = pytest.mark.integration


def soon(secs: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=secs)).isoformat()


def problem(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json().get("code")


async def until_posted(client: Client, room_id: int, content: str,
                       timeout: float = 10.0) -> None:
    """Poll until the post goes in (a mute's end passing by the clock)."""
    async with asyncio.timeout(timeout):
        while (await client.post(room_id, content)).status_code != 201:
            await asyncio.sleep(0.1)


async def _scenario(root: Client, alice: Client, bob: Client, carol: Client,
                    dave: Client) -> None:
    room = (await alice.create_room())["id"]
    for who in (bob, carol):
        assert (await who.http.post(f"/api/chat/rooms/{room}/join")).status_code == 200

    # A room mute: the post is refused over HTTP and over the socket, with its end.
    async with bob.socket("/ws") as ws:
        await receive(ws, "hello")
        until = soon(1.0)
        muted = await alice.http.post(f"/api/chat/rooms/{room}/mutes",
                                      json={"user_id": bob.id, "until": until,
                                            "reason": "flooding"})
        assert muted.status_code == 201, muted.text
        assert muted.json()["until"] is not None and muted.json()["scope"] == "room"
        update = await receive(ws, "moderation_updated")
        assert (update["data"]["kind"], update["data"]["active"]) == ("mute", True)
        refused = await bob.post(room, "hello?")
        assert problem(refused) == (403, "muted")
        assert refused.json()["until"] == muted.json()["until"]
        await send(ws, type="chat_message", room_id=room, content="hello?",
                   client_msg_id="m-1")
        error = await receive(ws, "error")
        assert (error["data"]["code"], error["data"]["ref"]) == ("muted", "m-1")
        assert error["data"]["until"] == muted.json()["until"]
        listed = (await alice.http.get(f"/api/chat/rooms/{room}/mutes")).json()["items"]
        assert [(m["user_id"], m["username"]) for m in listed] == [(bob.id, bob.username)]
    # Nothing lifts it but the clock (stored and compared in UTC).
    await until_posted(bob, room, "back")

    # A mute of someone never in the (public) room: their first post is refused too.
    assert (await alice.http.post(f"/api/chat/rooms/{room}/mutes",
                                  json={"user_id": dave.id})).status_code == 201
    assert problem(await dave.post(room, "first words")) == (403, "muted")
    lifted = await alice.http.delete(f"/api/chat/rooms/{room}/mutes/{dave.id}")
    assert lifted.status_code == 204
    assert (await dave.post(room, "first words")).status_code == 201
    assert problem(await alice.http.delete(f"/api/chat/rooms/{room}/mutes/{dave.id}")) == (
        404, "not_sanctioned")

    # Server-wide: administrators only; every room.
    assert problem(await alice.http.post("/api/moderation/mutes",
                                         json={"user_id": bob.id})) == (403, "forbidden")
    assert (await root.http.post("/api/moderation/mutes",
                                 json={"user_id": bob.id})).status_code == 201
    refused = await bob.post(room, "anyone?")
    assert problem(refused) == (403, "muted") and refused.json()["scope"] == "server"
    assert (await root.http.delete(f"/api/moderation/mutes/{bob.id}")).status_code == 204
    assert (await bob.post(room, "thanks")).status_code == 201

    # A room ban: removed, and neither joining nor a first post gets them back.
    banned = await alice.http.post(f"/api/chat/rooms/{room}/bans",
                                   json={"user_id": carol.id, "reason": "spam"})
    assert banned.status_code == 201, banned.text
    members = (await alice.http.get(f"/api/chat/rooms/{room}/members")).json()
    assert carol.id not in {m["user_id"] for m in members}
    assert problem(await carol.http.post(f"/api/chat/rooms/{room}/join")) == (403, "banned")
    assert problem(await carol.post(room, "let me in")) == (403, "banned")
    assert (await alice.http.delete(f"/api/chat/rooms/{room}/bans/{carol.id}")).status_code == 204
    assert (await carol.http.post(f"/api/chat/rooms/{room}/join")).status_code == 200

    # A server ban: sessions revoked, sign-in refused until lifted.
    assert (await root.http.post("/api/moderation/bans",
                                 json={"user_id": dave.id})).status_code == 201
    assert (await dave.http.get("/api/auth/me")).status_code == 401
    login = {"username": dave.username, "password": "correct horse battery"}
    assert problem(await dave.http.post("/api/auth/login", json=login,
                                        headers={"Authorization": ""})) == (403, "banned")
    assert [b["user_id"] for b in (await root.http.get("/api/moderation/bans")).json()[
        "items"]] == [dave.id]
    assert (await root.http.delete(f"/api/moderation/bans/{dave.id}")).status_code == 204
    assert (await dave.http.post("/api/auth/login", json=login,
                                 headers={"Authorization": ""})).status_code == 200

    # Slow mode: set by the room's admin; the second post of a member within it is refused,
    # whether the two share a batch or not.
    patched = await alice.http.patch(f"/api/chat/rooms/{room}", json={"slow_mode_secs": 60})
    assert patched.status_code == 200 and patched.json()["slow_mode_secs"] == 60
    answers = await asyncio.gather(bob.post(room, "one"), bob.post(room, "two"))
    codes = sorted(r.status_code for r in answers)
    assert codes == [201, 429], [r.text for r in answers]
    slow = next(r for r in answers if r.status_code == 429)
    assert slow.json()["code"] == "slow_mode" and 59 <= slow.json()["retry_after_secs"] <= 60
    assert slow.headers["Retry-After"] == str(slow.json()["retry_after_secs"])
    async with bob.socket("/ws") as ws:  # and over the socket: the frame says how long
        await receive(ws, "hello")
        await send(ws, type="chat_message", room_id=room, content="three",
                   client_msg_id="slow-1")
        error = await receive(ws, "error")
        assert (error["data"]["code"], error["data"]["ref"]) == ("slow_mode", "slow-1")
        assert 1 <= error["data"]["retry_after_secs"] <= 60
    assert (await alice.post(room, "the room's admin is exempt")).status_code == 201
    assert (await alice.post(room, "twice")).status_code == 201
    assert (await alice.http.patch(f"/api/chat/rooms/{room}",
                                   json={"slow_mode_secs": 0})).status_code == 200
    assert (await bob.post(room, "off again")).status_code == 201

    # Reports: live to the room's moderators; resolved with a mute in one go.
    said = (await bob.post(room, "something rude")).json()
    async with alice.socket("/ws") as ws:
        await receive(ws, "hello")
        reported = await carol.http.post(f"/api/chat/messages/{said['id']}/reports",
                                         json={"reason": "rude"})
        assert reported.status_code == 201, reported.text
        created = await receive(ws, "report_created")
        assert created["data"]["id"] == reported.json()["id"]
        assert created["data"]["message"]["content"] == "something rude"
        assert problem(await carol.http.post(f"/api/chat/messages/{said['id']}/reports",
                                             json={"reason": "rude"})) == (
            409, "already_reported")
        queue = (await alice.http.get("/api/moderation/reports")).json()
        assert [r["id"] for r in queue["reports"]] == [created["data"]["id"]]
        resolved = await alice.http.post(
            f"/api/moderation/reports/{created['data']['id']}/resolve",
            json={"action": "mute", "until": soon(300), "note": "cool off"})
        assert resolved.status_code == 200, resolved.text
        assert (resolved.json()["status"], resolved.json()["resolution"]) == (
            "resolved", "mute")
        assert (await receive(ws, "report_resolved"))["data"]["status"] == "resolved"
    assert problem(await bob.post(room, "more")) == (403, "muted")
    assert (await alice.http.get("/api/moderation/reports")).json()["reports"] == []
    audit = (await root.http.get("/api/admin/audit", params={"room_id": room})).json()
    actions: list[Any] = [e["action"] for e in audit["entries"]]
    assert actions[:2] == ["report.resolve", "mute.add"]
    assert {"room.slow_mode", "ban.add", "ban.lift", "mute.lift"} <= set(actions)


async def _cast(replica: Any) -> list[Client]:
    return [await sign_up(replica) for _ in range(5)]  # the first is the administrator


async def test_moderation_on_sqlite(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        await _scenario(*await _cast(replica))


@pytest.mark.postgres
async def test_moderation_on_postgres(tmp_path: Path, nats_url: str,
                                      postgres_url: str) -> None:
    settings = chat_settings(tmp_path, nats_url, database_url=postgres_url)
    async with replicas([settings]) as (replica,):
        await _scenario(*await _cast(replica))
