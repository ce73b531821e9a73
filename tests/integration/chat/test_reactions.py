"""Reactions, pins and editing history on real services: two replicas on one NATS, on
SQLite and on PostgreSQL. A reaction and a pin reach a socket on the other replica live;
history carries the counts, `me` and the pins; the bound, the permissions, the events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.integration.chat.harness import (
    ChatReplica,
    Client,
    chat_settings,
    receive,
    replicas,
    sign_up,
    stream_events,
)

pytestmark = pytest.mark.integration

THUMBS, PARTY = "👍", "🎉"


def reaction_path(message_id: int, emoji: str) -> str:
    return f"/api/chat/messages/{message_id}/reactions/{quote(emoji)}"


async def history(client: Client, room_id: int) -> list[dict[str, Any]]:
    response = await client.http.get(f"/api/chat/rooms/{room_id}/messages")
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


async def scenario(one: ChatReplica, two: ChatReplica, nats_url: str) -> None:
    started = datetime.now(UTC)
    alice = await sign_up(one)  # the room's admin
    bob = await sign_up(two)
    carol = await sign_up(one)
    room = await alice.create_room()
    for member in (bob, carol):
        assert (await member.http.post(f"/api/chat/rooms/{room['id']}/join")).status_code == 200
    posted = (await bob.post(room["id"], "ship it?")).json()
    assert "reactions" not in posted  # a new message's answer and frame are unchanged
    mid = posted["id"]

    async with bob.socket(f"/ws/chat/{room['id']}") as on_two, \
            alice.socket(f"/ws/chat/{room['id']}") as on_one:
        await receive(on_two, "joined")
        await receive(on_one, "joined")

        # carol reacts on replica one; bob's socket on replica two hears it, alice's too.
        first = await carol.http.put(reaction_path(mid, THUMBS))
        again = await carol.http.put(reaction_path(mid, THUMBS))
        assert first.status_code == again.status_code == 200
        assert first.json() == again.json() == {
            "message_id": mid, "room_id": room["id"], "reactions": [
                {"emoji": THUMBS, "count": 1, "me": True, "user_ids": [carol.id],
                 "usernames": [carol.username]}]}
        for ws in (on_two, on_one):
            frame = await receive(ws, "reaction")
            assert frame["data"] == {"message_id": mid, "room_id": room["id"],
                                     "emoji": THUMBS, "user_id": carol.id,
                                     "username": carol.username, "action": "added",
                                     "count": 1}
        assert (await bob.http.put(reaction_path(mid, THUMBS))).json()["reactions"][0][
            "count"] == 2
        for ws in (on_one, on_two):  # the reactor's own sockets hear it too
            assert (await receive(ws, "reaction"))["data"]["count"] == 2

        # History: the counts for everyone, `me` for the caller.
        for viewer, me in ((bob, True), (alice, False)):
            [message] = await history(viewer, room["id"])
            assert [(r["emoji"], r["count"], r["me"]) for r in message["reactions"]] == [
                (THUMBS, 2, me)]
            assert message["pinned"] is False and message["pinned_at"] is None

        removed = await carol.http.delete(reaction_path(mid, THUMBS))
        assert removed.status_code == 200
        assert (await receive(on_two, "reaction"))["data"]["action"] == "removed"
        absent = await carol.http.delete(reaction_path(mid, PARTY))
        assert absent.status_code == 200

        # Refusals: not one emoji, a guest, a word.
        for bad in ("thumbsup", "👍👍", ":+1:"):
            refused = await carol.http.put(reaction_path(mid, bad))
            assert (refused.status_code, refused.json()["code"]) == (422, "invalid_emoji")
        guest = await carol.http.put(reaction_path(mid, THUMBS), headers={"Authorization": ""})
        assert guest.status_code == 401

        # Pins: moderators only; the frame reaches the other replica; the pins list.
        denied = await bob.http.put(f"/api/chat/messages/{mid}/pin")
        assert (denied.status_code, denied.json()["code"]) == (403, "not_moderator")
        pinned = await alice.http.put(f"/api/chat/messages/{mid}/pin")
        assert pinned.status_code == 200 and pinned.json()["pinned_by"] == alice.id
        assert (await alice.http.put(f"/api/chat/messages/{mid}/pin")).status_code == 200
        frame = await receive(on_two, "message_pinned")
        assert frame["data"]["message_id"] == mid and frame["data"]["pinned_by"] == alice.id
        pins = (await bob.http.get(f"/api/chat/rooms/{room['id']}/pins")).json()["messages"]
        assert [(p["id"], p["pinned_by_username"]) for p in pins] == [(mid, alice.username)]
        assert (await history(bob, room["id"]))[0]["pinned"] is True
        assert (await alice.http.delete(f"/api/chat/messages/{mid}/pin")).status_code == 200
        assert (await receive(on_two, "message_unpinned"))["data"]["message_id"] == mid
        assert (await bob.http.get(f"/api/chat/rooms/{room['id']}/pins")).json() == {
            "messages": []}

        # Editing history: every edit and the deletion, for moderators only.
        for text in ("ship it!", "ship it now"):
            assert (await bob.http.patch(f"/api/chat/messages/{mid}",
                                         json={"content": text})).status_code == 200
        assert (await alice.http.delete(f"/api/chat/messages/{mid}")).status_code == 200
        for outsider in (bob, carol):
            refused = await outsider.http.get(f"/api/chat/messages/{mid}/history")
            assert (refused.status_code, refused.json()["code"]) == (403, "not_moderator")
        edits = (await alice.http.get(f"/api/chat/messages/{mid}/history")).json()
        assert [(e["action"], e["editor_id"], e["previous_content"], e["new_content"])
                for e in edits["edits"]] == [
            ("deleted", alice.id, "ship it now", None),
            ("edited", bob.id, "ship it!", "ship it now"),
            ("edited", bob.id, "ship it?", "ship it!")]
        gone = await carol.http.put(reaction_path(mid, PARTY))
        assert (gone.status_code, gone.json()["code"]) == (409, "message_deleted")

    await _events_reach_the_stream(nats_url, mid, started)


async def _events_reach_the_stream(nats_url: str, message_id: int, since: datetime) -> None:
    # The session's stream holds other tests' events, about messages with the same ids.
    wanted = ["tertulia.chat.reaction.added.v1", "tertulia.chat.reaction.added.v1",
              "tertulia.chat.reaction.removed.v1", "tertulia.chat.message.pinned.v1",
              "tertulia.chat.message.unpinned.v1"]
    async with asyncio.timeout(20):
        while True:
            seen = [e.type for e in await stream_events(nats_url)
                    if e.data.get("message_id") == message_id and e.type in wanted
                    and e.time >= since]
            if sorted(seen) == sorted(wanted):
                return
            await asyncio.sleep(0.2)


def _two(tmp_path: Path, nats_url: str, **overrides: Any) -> list[Any]:
    key = (tmp_path / "key").as_posix()
    return [chat_settings(tmp_path, nats_url, signing_key_file=key, replica_id=f"rx-{n}",
                          **overrides) for n in ("a", "b")]


async def test_reactions_pins_and_edits_on_sqlite(tmp_path: Path, nats_url: str) -> None:
    async with replicas(_two(tmp_path, nats_url)) as (one, two):
        await scenario(one, two, nats_url)


@pytest.mark.postgres
async def test_reactions_pins_and_edits_on_postgres(tmp_path: Path, nats_url: str,
                                                    postgres_url: str) -> None:
    async with replicas(_two(tmp_path, nats_url, database_url=postgres_url)) as (one, two):
        await scenario(one, two, nats_url)


async def test_the_bound_on_distinct_emojis(tmp_path: Path, nats_url: str) -> None:
    settings = chat_settings(tmp_path, nats_url, reactions_max_per_message=2)
    async with replicas([settings]) as (replica,):
        alice = await sign_up(replica)
        bob = await sign_up(replica)
        room = await alice.create_room()
        mid = (await alice.post(room["id"], "vote")).json()["id"]
        for emoji in (THUMBS, PARTY):
            assert (await alice.http.put(reaction_path(mid, emoji))).status_code == 200
        refused = await bob.http.put(reaction_path(mid, "🚀"))
        assert (refused.status_code, refused.json()["code"]) == (409, "too_many_reactions")
        # bob may add his to one already there: a public room lets any signed-in user react.
        ok = await bob.http.put(reaction_path(mid, PARTY))
        assert ok.status_code == 200
        assert {r["emoji"]: r["count"] for r in ok.json()["reactions"]} == {THUMBS: 1, PARTY: 2}


async def test_concurrent_reactions_count_once_each(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice = await sign_up(replica)
        room = await alice.create_room()
        mid = (await alice.post(room["id"], "again and again")).json()["id"]
        answers = await asyncio.gather(*(alice.http.put(reaction_path(mid, THUMBS))
                                         for _ in range(8)))
        assert {a.status_code for a in answers} == {200}
        [message] = await history(alice, room["id"])
        assert message["reactions"] == [{"emoji": THUMBS, "count": 1, "me": True,
                                         "user_ids": [alice.id],
                                         "usernames": [alice.username]}]


async def test_reactions_spend_the_post_budget(tmp_path: Path, nats_url: str) -> None:
    settings = chat_settings(tmp_path, nats_url, rate_limit_burst=3, rate_limit_per_sec=0.1)
    async with replicas([settings]) as (replica,):
        alice = await sign_up(replica)
        room = await alice.create_room()
        mid = (await alice.post(room["id"], "toggle me")).json()["id"]  # one token
        codes = []
        for _ in range(3):
            codes.append((await alice.http.put(reaction_path(mid, THUMBS))).status_code)
        assert codes == [200, 200, 429]


async def test_a_history_page_reads_its_reactions_in_one_query(tmp_path: Path,
                                                              nats_url: str) -> None:
    """However many messages a page has, and however many reactions they carry, it costs
    the same statements: the page, and one for its reactions and pins."""
    from sqlalchemy import event

    async with replicas([chat_settings(tmp_path, nats_url, rate_limit_burst=200)]) as (replica,):
        alice = await sign_up(replica)
        room = await alice.create_room()
        ids = [(await alice.post(room["id"], f"m{n}")).json()["id"] for n in range(12)]
        statements: list[str] = []
        engine = replica.chat.db._read_engine.sync_engine

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            # The page's own reads only: background checks share the engine.
            if any(table in statement for table in ("chat_messages", "message_reactions")):
                statements.append(statement)

        async def statements_of_a_page(limit: int) -> int:
            statements.clear()
            event.listen(engine, "before_cursor_execute", count)
            try:
                page = await alice.http.get(f"/api/chat/rooms/{room['id']}/messages",
                                            params={"limit": limit})
            finally:
                event.remove(engine, "before_cursor_execute", count)
            assert page.status_code == 200
            return len(statements)

        bare = await statements_of_a_page(2)
        for mid in ids:
            for emoji in (THUMBS, PARTY):
                assert (await alice.http.put(reaction_path(mid, emoji))).status_code == 200
        await alice.http.put(f"/api/chat/messages/{ids[-1]}/pin")
        assert await statements_of_a_page(12) == bare
        assert any("UNION ALL" in s for s in statements)


HOSTILE_PATHS = ("%00", "%FF", "%E2%80%8D", "a" * 65, "%F0%9F%91%8D" * 17, "%20", "%3Cb%3E")


async def test_hostile_emoji_paths_are_refused_not_failed(tmp_path: Path,
                                                          nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        alice = await sign_up(replica)
        room = await alice.create_room()
        mid = (await alice.post(room["id"], "poke")).json()["id"]
        for raw in HOSTILE_PATHS:
            answer = await alice.http.put(f"/api/chat/messages/{mid}/reactions/{raw}")
            assert answer.status_code == 422, (raw, answer.text)
            assert answer.json()["code"] in ("invalid_emoji", "validation_error")
        [message] = await history(alice, room["id"])
        assert message["reactions"] == []
