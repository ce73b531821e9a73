"""The audit log on a real replica, on SQLite and on PostgreSQL: existing moderation and
administration actions write entries, administrators page and filter them, bad parameters
get problem details."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.chat.harness import Client, chat_settings, replicas, sign_up

pytestmark = pytest.mark.integration


async def _audit_scenario(admin: Client, alice: Client, bob: Client) -> None:
    room = await alice.create_room("audited")
    assert (await bob.http.post(f"/api/chat/rooms/{room['id']}/join")).status_code == 200
    said = (await bob.post(room["id"], "something to remove")).json()
    deleted = await alice.http.delete(f"/api/chat/messages/{said['id']}")
    assert deleted.status_code in (200, 204), deleted.text
    kicked = await alice.http.delete(f"/api/chat/rooms/{room['id']}/members/{bob.id}")
    assert kicked.status_code == 204, kicked.text
    done = await admin.http.post(f"/api/admin/users/{bob.id}/deactivate")
    assert done.status_code == 200, done.text

    page = await admin.http.get("/api/admin/audit", params={"limit": 2})
    assert page.status_code == 200, page.text
    body = page.json()
    assert [e["action"] for e in body["entries"]] == ["user.deactivate", "member.kick"]
    newest = body["entries"][0]
    assert newest["actor_id"] == admin.id and newest["actor_username"] == admin.username
    assert (newest["target_type"], newest["target_id"]) == ("user", str(bob.id))
    assert set(newest) == {"id", "at", "actor_id", "actor_username", "action",
                           "target_type", "target_id", "room_id", "reason", "details"}
    older = (await admin.http.get("/api/admin/audit",
                                  params={"before_id": body["next_before_id"]})).json()
    assert [e["action"] for e in older["entries"]] == ["message.delete"]
    assert older["entries"][0]["details"] == {"author_id": bob.id}
    assert older["next_before_id"] is None
    by_room = (await admin.http.get("/api/admin/audit",
                                    params={"room_id": room["id"]})).json()["entries"]
    assert [e["action"] for e in by_room] == ["member.kick", "message.delete"]
    by_alice = (await admin.http.get("/api/admin/audit", params={
        "actor_id": alice.id, "action": "member.kick"})).json()["entries"]
    assert [e["room_id"] for e in by_alice] == [room["id"]]

    refused = await alice.http.get("/api/admin/audit")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    for params in ({"limit": 0}, {"limit": "many"}, {"before_id": -1}, {"action": ""}):
        bad = await admin.http.get("/api/admin/audit", params=params)
        assert bad.status_code == 422, (params, bad.text)
        assert bad.headers["content-type"].startswith("application/problem+json")


async def test_the_audit_log_on_sqlite(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        admin = await sign_up(replica)  # the first account is the administrator
        await _audit_scenario(admin, await sign_up(replica), await sign_up(replica))


@pytest.mark.postgres
async def test_the_audit_log_on_postgres(tmp_path: Path, nats_url: str,
                                         postgres_url: str) -> None:
    settings = chat_settings(tmp_path, nats_url, database_url=postgres_url)
    async with replicas([settings]) as (replica,):
        admin = await sign_up(replica)
        await _audit_scenario(admin, await sign_up(replica), await sign_up(replica))
