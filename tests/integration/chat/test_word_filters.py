"""Word filters on real replicas (SQLite and PostgreSQL): rules over HTTP, a post blocked
and one held over the WebSocket, a moderator approving and rejecting, names refused, and
a rule added on one replica reaching another."""

from __future__ import annotations

import asyncio
from pathlib import Path

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


async def _scenario(admin: Client, alice: Client, bob: Client, mod: Client) -> None:
    room = await alice.create_room()
    rid = room["id"]
    for who in (bob, mod):
        assert (await who.http.post(f"/api/chat/rooms/{rid}/join")).status_code == 200
    made = await alice.http.patch(f"/api/chat/rooms/{rid}/members/{mod.id}",
                                  json={"role": "moderator"})
    assert made.status_code == 200, made.text

    # Rules: the server's (admins), the room's (its admins); bad ones get codes.
    server = await admin.http.post("/api/admin/word-filters",
                                   json={"pattern": "Scam*", "action": "block"})
    assert server.status_code == 201, server.text
    assert server.json()["scope"] == "server"
    held_rule = await alice.http.post(f"/api/chat/rooms/{rid}/word-filters",
                                      json={"pattern": "café", "action": "hold"})
    assert held_rule.status_code == 201, held_rule.text
    for who, url, body, answer in [
            (alice, "/api/admin/word-filters", {"pattern": "x1"}, (403, "forbidden")),
            (mod, f"/api/chat/rooms/{rid}/word-filters", {"pattern": "x1"},
             (403, "not_room_admin")),
            (admin, "/api/admin/word-filters", {"pattern": "a*"}, (422, "invalid_word_filter")),
            (admin, "/api/admin/word-filters", {"pattern": "((("},
             (422, "invalid_word_filter")),
            (admin, "/api/admin/word-filters", {"pattern": "ok", "action": "mute"},
             (422, "invalid_word_filter_action")),
            (admin, "/api/admin/word-filters", {"pattern": "SCAM*"},
             (409, "word_filter_exists"))]:
        refused = await who.http.post(url, json=body)
        assert (refused.status_code, refused.json()["code"]) == answer, (body, refused.text)
    listed = (await alice.http.get(f"/api/chat/rooms/{rid}/word-filters")).json()["rules"]
    assert [(r["pattern"], r["action"], r["room_id"]) for r in listed] == [
        ("café", "hold", rid)]

    # Blocked: 422 over HTTP, an error frame over the socket; nothing stored.
    blocked = await bob.post(rid, "a scammer")
    assert blocked.status_code == 422
    assert (blocked.json()["code"], blocked.json()["scope"]) == ("content_blocked", "server")
    assert "scam" not in blocked.text.lower()
    async with bob.socket() as bob_ws, mod.socket() as mod_ws:
        await receive(bob_ws, "hello")
        await receive(mod_ws, "hello")
        for ws in (bob_ws, mod_ws):
            await send(ws, type="join", room_id=rid)
            await receive(ws, "room_presence")
        await send(bob_ws, type="chat_message", room_id=rid, content="SCAM!",
                   client_msg_id="b-1")
        error = await receive(bob_ws, "error")
        assert error["data"] == {"code": "content_blocked", "ref": "b-1", "scope": "server",
                                 "message": error["data"]["message"]}

        # Held: the sender's ack says so; the room gets nothing.
        await send(bob_ws, type="chat_message", room_id=rid, content="un CAFE?",
                   client_msg_id="b-2")
        ack = (await receive(bob_ws, "ack"))["data"]
        assert (ack["held"], ack["id"], ack["seq"], ack["scope"], ack["client_msg_id"]) == (
            True, None, None, "room", "b-2")
        await send(bob_ws, type="chat_message", room_id=rid, content="un CAFE?",
                   client_msg_id="b-2")  # a retry: the same hold, not a second one
        retried = (await receive(bob_ws, "ack"))["data"]
        assert (retried["held"], retried["held_id"]) == (True, ack["held_id"])
        await send(bob_ws, type="chat_message", room_id=rid, content="fine",
                   client_msg_id="b-3")
        shown = (await receive(mod_ws, "message"))["data"]
        assert shown["content"] == "fine"  # the held one never reached the room
        over_http = await bob.post(rid, "otro café", client_msg_id="b-4")
        assert over_http.status_code == 202 and over_http.json()["held"] is True

        queue = await mod.http.get("/api/moderation/held", params={"room_id": rid})
        assert queue.status_code == 200, queue.text
        rows = queue.json()["held"]
        assert [(h["content"], h["username"], h["status"]) for h in rows] == [
            ("otro café", bob.username, "pending"), ("un CAFE?", bob.username, "pending")]
        everywhere = (await mod.http.get("/api/moderation/held")).json()["held"]
        assert len(everywhere) == 2  # the rooms mod moderates
        nobody = await bob.http.get("/api/moderation/held", params={"room_id": rid})
        assert (nobody.status_code, nobody.json()["code"]) == (403, "not_moderator")
        paged = (await admin.http.get("/api/moderation/held", params={"limit": 1})).json()
        assert [h["held_id"] for h in paged["held"]] == [rows[0]["held_id"]]
        assert paged["next_before_id"] == rows[0]["held_id"]

        # Approved: posted as bob, delivered to the room, bob told; idempotent.
        approved = await mod.http.post(f"/api/moderation/held/{ack['held_id']}/approve")
        assert approved.status_code == 200, approved.text
        message = approved.json()["message"]
        assert (message["user_id"], message["content"]) == (bob.id, "un CAFE?")
        delivered = (await receive(mod_ws, "message"))["data"]
        assert delivered["id"] == message["id"]
        told = (await receive(bob_ws, "held_approved"))["data"]
        assert (told["held_id"], told["message_id"]) == (ack["held_id"], message["id"])
        again = await admin.http.post(f"/api/moderation/held/{ack['held_id']}/approve")
        assert again.json()["message"]["id"] == message["id"]

        # Rejected: nothing posted, bob told with the note.
        other = over_http.json()["held_id"]
        rejected = await mod.http.post(f"/api/moderation/held/{other}/reject",
                                       json={"note": "keep it on topic"})
        assert rejected.status_code == 200, rejected.text
        told = (await receive(bob_ws, "held_rejected"))["data"]
        assert (told["held_id"], told["note"]) == (other, "keep it on topic")
        late = await mod.http.post(f"/api/moderation/held/{other}/approve")
        assert (late.status_code, late.json()["code"]) == (409, "held_decided")
    history = (await bob.http.get(f"/api/chat/rooms/{rid}/messages")).json()["messages"]
    assert [m["content"] for m in history] == ["fine", "un CAFE?"]

    # Edits, room names, display names: a hold is a block there.
    fine_id = history[0]["id"]
    edit = await bob.http.patch(f"/api/chat/messages/{fine_id}", json={"content": "café"})
    assert (edit.status_code, edit.json()["code"]) == (422, "content_blocked")
    rename = await alice.http.patch(f"/api/chat/rooms/{rid}", json={"name": "Café corner"})
    assert (rename.status_code, rename.json()["scope"]) == (422, "room")
    created = await bob.http.post("/api/chat/rooms", json={"name": "scamalot"})
    assert (created.status_code, created.json()["code"]) == (422, "content_blocked")
    named = await bob.http.patch("/api/auth/me", json={"display_name": "Scammy"})
    assert (named.status_code, named.json()["code"]) == (422, "content_blocked")

    # Removed: the next post passes; the audit log has every change and decision.
    gone = await admin.http.delete(f"/api/admin/word-filters/{server.json()['id']}")
    assert gone.status_code == 204, gone.text
    assert (await bob.post(rid, "scam")).status_code == 201
    missing = await admin.http.delete(f"/api/admin/word-filters/{server.json()['id']}")
    assert (missing.status_code, missing.json()["code"]) == (404, "word_filter_not_found")
    audit = (await admin.http.get("/api/admin/audit", params={"limit": 100})).json()
    actions = [e["action"] for e in audit["entries"]
               if e["action"].split(".")[0] in ("word_filter", "held")]
    assert actions == ["word_filter.remove", "held.reject", "held.approve",
                       "word_filter.add", "word_filter.add"]


async def test_word_filters_on_sqlite(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        admin = await sign_up(replica)  # the first account is the administrator
        await _scenario(admin, *[await sign_up(replica) for _ in range(3)])


@pytest.mark.postgres
async def test_word_filters_on_postgres(tmp_path: Path, nats_url: str,
                                        postgres_url: str) -> None:
    settings = chat_settings(tmp_path, nats_url, database_url=postgres_url)
    async with replicas([settings]) as (replica,):
        admin = await sign_up(replica)
        await _scenario(admin, *[await sign_up(replica) for _ in range(3)])


async def test_a_rule_added_on_one_replica_reaches_the_other(tmp_path: Path,
                                                             nats_url: str) -> None:
    """The other replica's cache polls the rules' stamp every refresh interval."""
    settings = [chat_settings(tmp_path, nats_url, replica_id=f"r-{n}",
                              word_filter_refresh_secs=0.1) for n in ("a", "b")]
    async with replicas(settings) as (one, two):
        admin = await sign_up(one)
        bob = await sign_up(two)
        room = await bob.create_room()
        assert (await bob.post(room["id"], "eggs")).status_code == 201
        added = await admin.http.post("/api/admin/word-filters", json={"pattern": "eggs"})
        assert added.status_code == 201, added.text
        async with asyncio.timeout(10):
            while two.chat.deps.word_filters.current().check("eggs") is None:
                await asyncio.sleep(0.05)
        refused = await bob.post(room["id"], "eggs")
        assert (refused.status_code, refused.json()["code"]) == (422, "content_blocked")
