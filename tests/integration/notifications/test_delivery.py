"""Who is told about a message, exactly once, through the inbox, the stream and `live.user`."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import select

from services.notifications.adapters.outbound.sqla_tables import dead_letters
from shared.contracts import CloudEvent, MessageCreated
from shared.contracts.live import FrameHeaders
from tests.integration.notifications.harness import (
    NOTIFICATIONS_SUPPRESSED,
    Feed,
    Keys,
    NotificationsService,
    created_events,
    eventually,
    inboxes,
    message_id,
    stream_events,
    watch_live,
)

pytestmark = pytest.mark.integration
# How long "nothing more arrives" is watched for: a bounded window, not a proof.
QUIET_SECS = 0.5


async def test_a_message_notifies_the_two_others_once_each_even_when_delivered_twice(
        service: NotificationsService, events: Feed, keys: Keys, nats_url: str) -> None:
    alice, bob, carol = await events.users("alice", "bob", "carol")
    room = await events.room([(alice, "admin"), (bob, "member"), (carol, "member")])
    content = "Hello both of you! " * 10  # 190 characters: the preview keeps 100

    async with watch_live(nats_url, [alice, bob, carol]) as live, \
            inboxes(service, keys, alice, bob, carol) as (a_inbox, b_inbox, c_inbox):
        for inbox in (b_inbox, c_inbox):
            await inbox.set_level(room, "all")  # every message, not only mentions
        posted = await events.post(room, alice, content)
        await events.bus.publish_event("events.chat.message.created", posted)  # stream dedup
        await events.publish_again(posted)  # stored twice: the consumer sees it again
        # The same message under a new event id (an outbox replayed with fresh ids).
        await events.publish(MessageCreated.model_validate(posted.data))
        await eventually(lambda: service.metric(
            "tertulia_notifications_events_duplicate_total") >= 1, what="duplicate seen")
        await eventually(lambda: service.metric(
            "tertulia_notifications_events_handled_total",
            type="tertulia.chat.message.created.v1") >= 2, what="the fresh-id copy handled")
        await eventually(lambda: len(live.of(bob)) and len(live.of(carol)), what="frames")
        await asyncio.sleep(QUIET_SECS)

        for inbox in (b_inbox, c_inbox):
            [entry] = await inbox.list()
            assert entry["title"] == "New message from alice"
            assert entry["content"] == content[:100]
            assert entry["data"] == {"type": "chat_message", "room_id": room,
                                     "message_id": message_id(posted), "kind": "message"}
            assert entry["reason"] == "message" and entry["read"] is False
            assert await inbox.count() == 1
        assert await a_inbox.list() == []

        for user, inbox in ((bob, b_inbox), (carol, c_inbox)):
            [frame] = live.of(user)
            [entry] = await inbox.list()
            assert frame == {"type": "notification", "data": {
                key: entry[key] for key in ("id", "title", "content", "data", "reason",
                                            "created_at", "read")}}
            assert live.headers_of(user)[0][FrameHeaders.TYPE] == "notification"
        assert live.of(alice) == []

    stored = await eventually(lambda: _created(nats_url, {alice.id, bob.id, carol.id}, 2),
                              what="two NotificationCreated events in the stream")
    assert sorted(e.data["user_id"] for e in stored) == [bob.id, carol.id]
    assert all(e.data["reason"] == "message" and e.data["data"]["message_id"] ==
               message_id(posted) for e in stored)


async def _created(nats_url: str, users: set[int], count: int) -> object:
    found = await created_events(nats_url, users)
    return found if len(found) >= count else None


async def test_nothing_keeps_out_even_a_mention_and_mentions_only_keeps_out_the_rest(
        service: NotificationsService, events: Feed, keys: Keys) -> None:
    alice, bob, carol = await events.users("alice", "Bob", "carol")
    room = await events.room([(alice, "member"), (bob, "member"), (carol, "member")])
    async with inboxes(service, keys, bob, carol) as (b_inbox, c_inbox):
        await b_inbox.set_level(room, "nothing")
        prefs = await c_inbox.set_level(room, "mentions")
        assert [(p["room_id"], p["level"]) for p in prefs["rooms"]] == [(room, "mentions")]

        plain = await events.post(room, alice, "lunch?")
        mention = await events.post(room, alice, "@bob can you review this?")
        room_call = await events.post(room, alice, "@room deploy at 5")  # not a moderator

        await eventually(lambda: _decided(c_inbox, room_call), what="carol's last decision")
        assert await b_inbox.list() == []
        assert await c_inbox.list() == []
        why = (await c_inbox.decisions(message_id(plain))).json()["decisions"]
        assert [(d["outcome"], d["reason"]) for d in why] == [("suppressed", "mentions_only")]
        why = (await b_inbox.decisions(message_id(plain))).json()["decisions"]
        assert [(d["outcome"], d["reason"]) for d in why] == [("suppressed", "muted")]
        why = (await b_inbox.decisions(message_id(mention))).json()["decisions"]
        assert [(d["outcome"], d["kind"], d["reason"]) for d in why] == [
            ("suppressed", "mention", "muted")]
        # `@room` from a plain member is an ordinary message, which carol's setting keeps out.
        why = (await c_inbox.decisions(message_id(room_call))).json()["decisions"]
        assert [(d["kind"], d["reason"]) for d in why] == [("message", "mentions_only")]


async def _decided(inbox: object, posted: object) -> bool:
    response = await inbox.decisions(message_id(posted))  # type: ignore[attr-defined, arg-type]
    return response.status_code == 200


async def test_room_mention_from_a_moderator_reaches_everyone_who_did_not_mute(
        service: NotificationsService, events: Feed, keys: Keys) -> None:
    mod, bob, carol, dave = await events.users("mod", "bob", "carol", "dave")
    room = await events.room([(mod, "moderator"), (bob, "member"), (carol, "member"),
                              (dave, "member")])
    async with inboxes(service, keys, bob, carol, dave) as (b_inbox, c_inbox, d_inbox):
        await c_inbox.set_level(room, "mentions")
        await d_inbox.set_level(room, "nothing")
        posted = await events.post(room, mod, "@room standup in 5")
        await eventually(lambda: _decided(d_inbox, posted), what="dave's decision")
        assert [e["reason"] for e in await b_inbox.list()] == ["room_mention"]
        assert [e["reason"] for e in await c_inbox.list()] == ["room_mention"]
        assert await d_inbox.list() == []
        why = (await d_inbox.decisions(message_id(posted))).json()["decisions"]
        assert [(d["kind"], d["reason"]) for d in why] == [("room_mention", "muted")]


async def test_a_member_viewing_the_room_gets_nothing_and_the_decision_says_why(
        service: NotificationsService, events: Feed, keys: Keys, nats_url: str) -> None:
    alice, bob, carol = await events.users("alice", "bob", "carol")
    room = await events.room([(alice, "member"), (bob, "member"), (carol, "member")])
    elsewhere = await events.room([(carol, "member")])
    await events.viewing(service, bob, {room})
    await events.viewing(service, carol, {elsewhere})  # online, but looking at another room

    async with watch_live(nats_url, [bob, carol]) as live, \
            inboxes(service, keys, bob, carol) as (b_inbox, c_inbox):
        for inbox in (b_inbox, c_inbox):
            await inbox.set_level(room, "all")
        posted = await events.post(room, alice, "anyone here?")
        await events.publish_again(posted)  # handled once: one suppressed event, not two
        await eventually(c_inbox.list, what="carol notified")
        assert await b_inbox.list() == []
        response = await b_inbox.decisions(message_id(posted))
        assert response.status_code == 200
        [why] = response.json()["decisions"]
        assert (why["outcome"], why["reason"], why["notification_id"]) == (
            "suppressed", "viewing_room", None)
        assert f"looking at room {room}" in why["explanation"]
        assert live.of(bob) == []
        await eventually(lambda: service.metric(
            "tertulia_notifications_events_duplicate_total") >= 1, what="the copy seen")
        [held] = await eventually(
            lambda: stream_events(nats_url, NOTIFICATIONS_SUPPRESSED, {bob.id, carol.id}),
            what="a NotificationSuppressed event in the stream")
        assert held.type == "tertulia.notifications.suppressed.v1"
        assert {k: held.data[k] for k in ("user_id", "room_id", "message_id", "reason")} == {
            "user_id": bob.id, "room_id": room, "message_id": message_id(posted),
            "reason": "viewing_room"}

        # Once bob's tab shows the room no more, the same room notifies him again.
        await events.bus.publish("live.viewing", orjson.dumps({
            "kind": "user", "replica_id": "chat-test", "user_id": bob.id, "rooms": [],
            "at": datetime.now(UTC).isoformat()}))
        await eventually(lambda: bob.id not in service.svc.deps.viewing.rooms_of([bob.id]),
                         what="bob's view withdrawn")
        later = await events.post(room, alice, "gone?")
        [entry] = await eventually(b_inbox.list, what="bob notified after looking away")
        assert entry["data"]["message_id"] == message_id(later)


async def test_an_admin_broadcast_reaches_every_inbox_but_no_live_frame(
        service: NotificationsService, events: Feed, keys: Keys, nats_url: str) -> None:
    admin = await events.user("root", is_admin=True)
    bob, carol = await events.user("bob"), await events.user("carol")
    async with watch_live(nats_url, [bob, carol]) as live, \
            inboxes(service, keys, bob, carol) as (b_inbox, c_inbox):
        await events.broadcast("Maintenance tonight at 22:00 UTC.", admin)
        for inbox in (b_inbox, c_inbox):
            [entry] = await eventually(inbox.list, what="broadcast in the inbox")
            assert entry["reason"] == "broadcast"
            assert entry["title"] == "Announcement from root"
            assert entry["content"] == "Maintenance tonight at 22:00 UTC."
            assert entry["data"]["type"] == "admin_broadcast"
        await asyncio.sleep(QUIET_SECS)
        assert live.of(bob) == live.of(carol) == []


async def test_an_event_that_cannot_be_read_is_kept_as_a_dead_letter_and_blocks_nothing(
        service: NotificationsService, events: Feed, keys: Keys) -> None:
    alice, bob = await events.users("alice", "bob")
    room = await events.room([(alice, "member"), (bob, "member")])
    broken = CloudEvent(id=str(uuid.uuid4()), source="tests", time=datetime.now(UTC),
                        type="tertulia.chat.message.created.v1", data={"message_id": "x"})
    await events.bus.publish_event("events.chat.message.created", broken)
    posted = await events.post(room, alice, "@bob still flowing")
    async with inboxes(service, keys, bob) as (inbox,):
        [entry] = await eventually(inbox.list, what="the next event handled")
        assert entry["data"]["message_id"] == message_id(posted)
    assert service.metric("tertulia_notifications_events_dead_lettered_total") == 1
    async with service.svc.db.read() as conn:
        rows = (await conn.execute(select(dead_letters))).all()
    assert [(r.event_id, r.event_type) for r in rows] == [(broken.id, broken.type)]
    assert "validation error" in rows[0].error


async def test_a_backlog_of_old_events_fills_the_inbox_without_popping_up_on_sockets(
        service: NotificationsService, events: Feed, keys: Keys, nats_url: str) -> None:
    alice, bob = await events.users("alice", "bob")
    room = await events.room([(alice, "member"), (bob, "member")])
    async with watch_live(nats_url, [bob]) as live, inboxes(service, keys, bob) as (inbox,):
        await inbox.set_level(room, "all")
        stale = await events.post(room, alice, "an hour ago",
                                  at=datetime.now(UTC) - timedelta(hours=1))
        fresh = await events.post(room, alice, "just now")
        entries = await eventually(lambda: _entries(inbox, 2), what="both in the inbox")
        assert [e["data"]["message_id"] for e in entries] == [message_id(fresh),
                                                              message_id(stale)]
        await eventually(lambda: live.of(bob), what="the fresh frame")
        assert [f["data"]["data"]["message_id"] for f in live.of(bob)] == [message_id(fresh)]


async def _entries(inbox: object, count: int) -> object:
    found = await inbox.list()  # type: ignore[attr-defined]
    return found if len(found) == count else None
