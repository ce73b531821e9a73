"""Preferences over HTTP: set only on the caller's own rooms; nothing names anyone else's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert

from services.notifications.adapters.outbound.sqla_tables import preferences
from tests.integration.notifications.harness import (
    Feed,
    Keys,
    NotificationsService,
    eventually,
    inboxes,
    message_id,
    watch_live,
)

pytestmark = pytest.mark.integration


async def test_a_foreign_room_is_answered_like_a_missing_one_and_never_named(
        service: NotificationsService, events: Feed, keys: Keys) -> None:
    """The leak as reported: a signed-in user walks room ids and sets a preference on each;
    the answers (and GET afterwards) used to name every room, private ones included."""
    alice, bob, carol = await events.users("alice", "bob", "carol")
    mine = await events.room([(bob, "member"), (alice, "member")])
    private = await events.room([(alice, "admin"), (carol, "member")], private=True)
    public = await events.room([(carol, "admin")])  # public, but bob never joined it
    left = await events.room([(carol, "admin"), (bob, "member")])
    await events.leave(left, bob)
    probe = [mine, private, public, left]
    ids = range(min(probe) - 2, max(probe) + 3)  # "1..N": ids that exist and ids that do not
    missing = max(probe) + 2

    async with inboxes(service, keys, bob, carol) as (b_inbox, c_inbox):
        # Carol, a member, sees her rooms once the projection has them: the events are in.
        await eventually(lambda: _sets(c_inbox, left), what="the projection caught up")

        answers: dict[int, tuple[int, Any]] = {}
        for room_id in ids:
            response = await b_inbox.http.put(
                "/api/notifications/preferences",
                json={"rooms": [{"room_id": room_id, "level": "all"}]})
            answers[room_id] = (response.status_code, response.json())

        assert answers[mine][0] == 200
        assert [r["room_id"] for r in answers[mine][1]["rooms"]] == [mine]
        unknown = answers[missing]
        assert unknown[0] == 404 and unknown[1]["code"] == "room_not_found"
        for room_id in ids:
            if room_id == mine:
                continue
            status, body = answers[room_id]
            # Byte for byte the answer to a room that does not exist, but for the id itself.
            assert (status, _without_id(body, room_id)) == (404, _without_id(unknown[1],
                                                                             missing)), room_id

        # One foreign room in a list refuses the whole list: nothing else changes either.
        response = await b_inbox.http.put("/api/notifications/preferences", json={"rooms": [
            {"room_id": mine, "level": "mentions"}, {"room_id": private, "level": "all"}]})
        assert response.status_code == 404

        prefs = (await b_inbox.http.get("/api/notifications/preferences")).json()
        assert [(r["room_id"], r["level"]) for r in prefs["rooms"]] == [(mine, "all")]
        assert f"room-{private}" not in str(prefs) and f"room-{public}" not in str(prefs)


async def test_a_room_left_drops_out_of_the_preferences(
        service: NotificationsService, events: Feed, keys: Keys) -> None:
    alice, bob = await events.users("alice", "bob")
    room = await events.room([(alice, "admin"), (bob, "member")], private=True)
    async with inboxes(service, keys, bob) as (b_inbox,):
        await eventually(lambda: _sets(b_inbox, room), what="bob's membership known")
        await events.leave(room, bob)

        async def gone() -> bool:
            prefs = (await b_inbox.http.get("/api/notifications/preferences")).json()
            return prefs["rooms"] == []

        await eventually(gone, what="the preference of a room bob left hidden")


async def _sets(inbox: Any, room_id: int) -> bool:
    response = await inbox.http.put("/api/notifications/preferences",
                                    json={"rooms": [{"room_id": room_id, "level": "all"}]})
    return response.status_code == 200


def _without_id(body: dict[str, Any], room_id: int) -> dict[str, Any]:
    return {k: str(v).replace(str(room_id), "<id>") for k, v in body.items()}


async def test_rooms_notify_on_mentions_by_default_and_all_or_nothing_on_request(
        service: NotificationsService, events: Feed, keys: Keys, nats_url: str) -> None:
    """The demo's 74 notifications for 29 messages: plain messages made an entry (and a
    toast) each. By default now only `@you` and `@room` do."""
    mod, bob, carol, dave = await events.users("mod", "bob", "carol", "dave")
    room = await events.room([(mod, "moderator"), (bob, "member"), (carol, "member"),
                              (dave, "member")])
    async with watch_live(nats_url, [bob, carol, dave]) as live, \
            inboxes(service, keys, bob, carol, dave) as (b_inbox, c_inbox, d_inbox):
        prefs = (await b_inbox.http.get("/api/notifications/preferences")).json()
        assert prefs["default"] == "mentions"
        await c_inbox.set_level(room, "all")
        await d_inbox.set_level(room, "nothing")

        plain = await events.post(room, mod, "lunch?")
        named = await events.post(room, mod, "@bob @dave can you review?")
        called = await events.post(room, mod, "@room deploy at 5")
        await eventually(lambda: _decided(d_inbox, called), what="the last decision")

        assert [(e["reason"], e["data"]["message_id"]) for e in await b_inbox.list()] == [
            ("room_mention", message_id(called)), ("mention", message_id(named))]
        assert [f["data"]["reason"] for f in live.of(bob)] == ["mention", "room_mention"]
        assert [e["data"]["message_id"] for e in await c_inbox.list()] == [
            message_id(called), message_id(named), message_id(plain)]
        assert await d_inbox.list() == [] and live.of(dave) == []
        why = (await b_inbox.decisions(message_id(plain))).json()["decisions"]
        assert [(d["outcome"], d["reason"]) for d in why] == [("suppressed", "mentions_only")]
        why = (await d_inbox.decisions(message_id(named))).json()["decisions"]
        assert [(d["kind"], d["reason"]) for d in why] == [("mention", "muted")]
        levels = (await d_inbox.http.get("/api/notifications/preferences")).json()["rooms"]
        assert [(r["room_id"], r["level"]) for r in levels] == [(room, "nothing")]


async def test_a_room_muted_before_issue_11_is_set_to_nothing(
        service: NotificationsService, events: Feed, keys: Keys) -> None:
    alice, bob = await events.users("alice", "bob")
    room = await events.room([(alice, "member"), (bob, "member")])
    async with inboxes(service, keys, bob) as (b_inbox,):
        await b_inbox.set_level(room, "mentions")  # waits for the membership
        async with service.svc.db.write() as conn:  # a row as the old code wrote it
            await conn.execute(insert(preferences).values(
                user_id=bob.id, room_id=room, level="none", updated_at=datetime.now(UTC)))
        levels = (await b_inbox.http.get("/api/notifications/preferences")).json()["rooms"]
        assert [(r["room_id"], r["level"]) for r in levels] == [(room, "nothing")]
        named = await events.post(room, alice, "@bob hello")
        await eventually(lambda: _decided(b_inbox, named), what="bob's decision")
        why = (await b_inbox.decisions(message_id(named))).json()["decisions"]
        assert [d["reason"] for d in why] == ["muted"]


async def test_reading_the_room_past_an_entry_marks_it_read(
        service: NotificationsService, events: Feed, keys: Keys) -> None:
    alice, bob = await events.users("alice", "bob")
    room = await events.room([(alice, "member"), (bob, "member")])
    async with inboxes(service, keys, bob) as (b_inbox,):
        first = await events.post(room, alice, "@bob one")
        second = await events.post(room, alice, "@bob two")
        await eventually(lambda: _count_is(b_inbox, 2), what="two entries")
        await events.read(room, bob, int(first.data["seq"]))
        await eventually(lambda: _count_is(b_inbox, 1), what="the first one read")
        entries = {e["data"]["message_id"]: e["read"] for e in await b_inbox.list()}
        assert entries == {message_id(first): True, message_id(second): False}


async def _decided(inbox: Any, posted: Any) -> bool:
    return (await inbox.decisions(message_id(posted))).status_code == 200


async def _count_is(inbox: Any, count: int) -> bool:
    return await inbox.count() == count
