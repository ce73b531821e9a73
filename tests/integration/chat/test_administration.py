"""The administration console on two real replicas sharing a database, on SQLite and on
PostgreSQL: live settings (seen by the other replica within its cache), invitations (of two
sign-ups on a one-use invitation, one wins), user and room administration, problem details
for bad input, and an audit entry per action."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.chat.harness import (
    ChatReplica,
    Client,
    chat_settings,
    receive,
    replicas,
    send,
    sign_up,
)

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


def problem(response: httpx.Response, status: int, code: str) -> None:
    assert (response.status_code, response.json().get("code")) == (status, code), response.text
    assert response.headers["content-type"].startswith("application/problem+json")


async def register(replica: ChatReplica, username: str, **body: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=replica.http_url, timeout=30) as http:
        return await http.post("/api/auth/register", json={
            "username": username, "password": PASSWORD, **body})


async def _settings_and_invitations(admin: Client, alice: Client, other: ChatReplica) -> None:
    http = admin.http
    assert (await http.get("/api/admin/settings")).json() == {
        "open_signup": True, "message_max_chars": 4000}
    problem(await alice.http.get("/api/admin/settings"), 403, "forbidden")
    for body, code in (({"open_signup": "no"}, "invalid_setting"),
                       ({"open_signup": False, "message_max_chars": 0}, "invalid_setting"),
                       ({"open_signup": False, "colour": "red"}, "unknown_setting"),
                       ({}, "invalid_setting")):
        problem(await http.patch("/api/admin/settings", json=body), 422, code)
    assert (await http.get("/api/admin/settings")).json()["open_signup"] is True  # untouched
    changed = await http.patch("/api/admin/settings", json={"open_signup": False})
    assert changed.json() == {"open_signup": False, "message_max_chars": 4000}

    # Sign-up reads the setting in its own transaction: the other replica refuses at once.
    problem(await register(other, "nobody"), 403, "invitation_required")
    problem(await register(other, "nobody", invitation="inv_unknown"), 403,
            "invitation_invalid")
    for body in ({"expires_in_secs": 10}, {"max_uses": 0}, {"max_uses": "x"},
                 {"expires_in_secs": 3600, "extra": 1}):
        bad = await http.post("/api/admin/invitations", json=body)
        assert bad.status_code == 422, (body, bad.text)
        assert bad.headers["content-type"].startswith("application/problem+json")
    problem(await alice.http.post("/api/admin/invitations", json={}), 403, "forbidden")

    made = await http.post("/api/admin/invitations", json={"expires_in_secs": 3600,
                                                           "max_uses": 1})
    assert made.status_code == 201, made.text
    invitation = made.json()
    assert set(invitation) == {"id", "token", "url", "expires_at", "max_uses", "uses",
                               "created_by", "created_at", "revoked_at", "status"}
    assert invitation["url"].endswith(f"/?invite={invitation['token']}")
    assert (invitation["uses"], invitation["created_by"], invitation["status"]) == (
        0, admin.id, "active")
    # Two sign-ups at once on its one use, one per replica: exactly one account.
    results = await asyncio.gather(
        register(admin.replica, "first", invitation=invitation["token"]),
        register(other, "second", invitation=invitation["token"]))
    assert sorted(r.status_code for r in results) == [201, 403]
    problem(next(r for r in results if r.status_code == 403), 403, "invitation_used_up")
    [listed] = (await http.get("/api/admin/invitations")).json()["invitations"]
    assert (listed["uses"], listed["status"]) == (1, "used_up")

    spare = (await http.post("/api/admin/invitations", json={"max_uses": 3})).json()
    revoked = await http.delete(f"/api/admin/invitations/{spare['id']}")
    assert revoked.json()["status"] == "revoked"
    problem(await register(other, "third", invitation=spare["token"]), 403,
            "invitation_revoked")
    problem(await http.delete("/api/admin/invitations/9999"), 404, "invitation_not_found")
    await http.patch("/api/admin/settings", json={"open_signup": True})
    assert (await register(other, "third")).status_code == 201


async def _live_message_length(admin: Client, alice: Client, other: ChatReplica) -> None:
    room = await alice.create_room()
    on_other = httpx.AsyncClient(base_url=other.http_url, timeout=30,
                                 headers={"Authorization": f"Bearer {alice.token}"})
    async with on_other:
        said = await on_other.post(f"/api/chat/rooms/{room['id']}/messages",
                                   json={"content": "x" * 30})
        assert said.status_code == 201, said.text
        await admin.http.patch("/api/admin/settings", json={"message_max_chars": 20})
        problem(await alice.post(room["id"], "x" * 30), 422, "content_too_long")  # this one
        async with asyncio.timeout(10):  # the other, once its cache is older than allowed
            while (await on_other.post(f"/api/chat/rooms/{room['id']}/messages",
                                       json={"content": "x" * 30})).status_code == 201:
                await asyncio.sleep(0.05)
    async with alice.socket("/ws") as ws:
        hello = await receive(ws, "hello")
        assert hello["data"]["limits"]["message_max_chars"] == 20
    await admin.http.patch("/api/admin/settings", json={"message_max_chars": 4000})


async def _users(admin: Client, alice: Client) -> None:
    http = admin.http
    found = (await http.get("/api/admin/users", params={"q": alice.username[2:].upper()})).json()
    assert alice.id in [u["id"] for u in found["users"]]
    assert {"id", "username", "display_name", "is_admin", "deactivated_at"} <= set(
        found["users"][0])
    page = (await http.get("/api/admin/users", params={"limit": 1})).json()
    assert page["next_cursor"] == str(page["users"][0]["id"])
    for params, code in (({"status": "gone"}, "invalid_status"),
                         ({"cursor": "abc"}, "invalid_cursor")):
        problem(await http.get("/api/admin/users", params=params), 422, code)
    assert (await http.get("/api/admin/users", params={"limit": 0})).status_code == 422
    problem(await alice.http.get("/api/admin/users"), 403, "forbidden")

    problem(await http.post(f"/api/admin/users/{admin.id}/role", json={"is_admin": False}),
            422, "cannot_change_own_role")
    problem(await http.post("/api/admin/users/9999/role", json={"is_admin": True}),
            404, "user_not_found")
    bad = await http.post(f"/api/admin/users/{alice.id}/role", json={"is_admin": "yes"})
    assert bad.status_code == 422
    promoted = await http.post(f"/api/admin/users/{alice.id}/role", json={"is_admin": True})
    assert promoted.json()["is_admin"] is True
    demoted = await http.post(f"/api/admin/users/{alice.id}/role", json={"is_admin": False})
    assert demoted.json()["is_admin"] is False
    # The demotion revoked alice's sessions: her token is refused now.
    problem(await alice.http.get("/api/auth/me"), 401, "invalid_token")


async def _reset(admin: Client, bob: Client) -> None:
    assert (await bob.http.get("/api/auth/me")).status_code == 200
    reset = await admin.http.post(f"/api/admin/users/{bob.id}/sessions/revoke")
    assert reset.json() == {"revoked": 1}
    # bob is on the other replica: it hears of the revocation through the outbox's event.
    async with asyncio.timeout(10):
        while (me := await bob.http.get("/api/auth/me")).status_code == 200:
            await asyncio.sleep(0.05)
    problem(me, 401, "invalid_token")


async def _rooms(admin: Client, carol: Client, dave: Client) -> None:
    http = admin.http
    room = await carol.create_room()
    problem(await http.post(f"/api/admin/rooms/{room['id']}/owner",
                            json={"user_id": dave.id}), 422, "not_a_member")
    assert (await dave.http.post(f"/api/chat/rooms/{room['id']}/join")).status_code == 200
    archived = await http.post(f"/api/admin/rooms/{room['id']}/archive")
    assert archived.json()["archived_at"] is not None
    problem(await carol.post(room["id"], "hello?"), 409, "room_archived")
    async with carol.socket("/ws") as ws:
        await receive(ws, "hello")
        await send(ws, type="chat_message", room_id=room["id"], content="hello?")
        error = await receive(ws, "error")
        assert error["data"]["code"] == "room_archived"
    listed = (await http.get("/api/admin/rooms", params={"archived": "true"})).json()
    assert [(r["id"], r["member_count"]) for r in listed["rooms"]] == [(room["id"], 2)]
    outsider = await sign_up(admin.replica)
    public = [r["id"] for r in (await outsider.http.get("/api/chat/rooms")).json()]
    assert room["id"] not in public
    mine = [r["id"] for r in (await carol.http.get("/api/chat/rooms")).json()]
    assert room["id"] in mine
    await http.post(f"/api/admin/rooms/{room['id']}/unarchive")
    assert (await carol.post(room["id"], "back")).status_code == 201

    owned = await http.post(f"/api/admin/rooms/{room['id']}/owner", json={"user_id": dave.id})
    assert (owned.json()["created_by"], owned.json()["owner"]["role"]) == (dave.id, "admin")
    private = await http.post(f"/api/admin/rooms/{room['id']}/visibility",
                              json={"is_private": True})
    assert private.json()["is_private"] is True
    problem(await outsider.http.get(f"/api/chat/rooms/{room['id']}"), 404, "room_not_found")
    problem(await http.post("/api/admin/rooms/9999/archive"), 404, "room_not_found")
    problem(await carol.http.post(f"/api/admin/rooms/{room['id']}/archive"), 403, "forbidden")


async def _audited(admin: Client) -> None:
    entries = (await admin.http.get("/api/admin/audit", params={"limit": 100})).json()["entries"]
    actions = {e["action"] for e in entries}
    assert {"settings.update", "invite.create", "invite.revoke", "user.role",
            "user.sessions_reset", "room.archive", "room.unarchive", "room.owner",
            "room.visibility"} <= actions
    assert all(e["actor_id"] == admin.id for e in entries
               if e["action"].startswith(("settings.", "invite.", "room.")))


async def _scenario(one: ChatReplica, two: ChatReplica) -> None:
    admin = await sign_up(one)  # the first account is the administrator
    alice, bob = await sign_up(one), await sign_up(two)
    await _settings_and_invitations(admin, alice, two)
    await _live_message_length(admin, alice, two)
    await _users(admin, alice)
    await _reset(admin, bob)
    await _rooms(admin, await sign_up(one), await sign_up(two))
    await _audited(admin)


def _two(tmp_path: Path, nats_url: str, **overrides: Any) -> list[Any]:
    key = (tmp_path / "key").as_posix()
    return [chat_settings(tmp_path, nats_url, signing_key_file=key, replica_id=f"chat-{n}",
                          settings_cache_secs=0.5, **overrides) for n in ("a", "b")]


async def test_administration_on_sqlite(tmp_path: Path, nats_url: str) -> None:
    async with replicas(_two(tmp_path, nats_url)) as (one, two):
        await _scenario(one, two)


@pytest.mark.postgres
async def test_administration_on_postgres(tmp_path: Path, nats_url: str,
                                          postgres_url: str) -> None:
    async with replicas(_two(tmp_path, nats_url, database_url=postgres_url)) as (one, two):
        await _scenario(one, two)
