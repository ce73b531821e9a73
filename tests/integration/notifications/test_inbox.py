"""The inbox over HTTP: edits and deletions, read state, paging, and bad requests."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.integration.notifications.harness import (
    NOTIFICATIONS_READ,
    Feed,
    Keys,
    NotificationsService,
    eventually,
    inboxes,
    message_id,
    stream_events,
)

pytestmark = pytest.mark.integration


async def test_an_edit_changes_the_pending_text_and_a_delete_removes_it(
        service: NotificationsService, events: Feed, keys: Keys) -> None:
    alice, bob = await events.users("alice", "bob")
    room = await events.room([(alice, "member"), (bob, "member")])
    async with inboxes(service, keys, bob) as (inbox,):
        await inbox.set_level(room, "all")
        first = await events.post(room, alice, "meet at 5")
        second = await events.post(room, alice, "bring snacks")
        await eventually(lambda: _count_is(inbox, 2), what="two notifications")

        await events.edit(first, "meet at 6, not 5 " + "!" * 120)
        edited = await eventually(lambda: _content_of(inbox, first, "meet at 6"),
                                  what="the edit in the inbox")
        assert edited["content"] == ("meet at 6, not 5 " + "!" * 120)[:100]
        assert edited["title"] == "New message from alice" and edited["read"] is False

        await events.delete(second)
        await eventually(lambda: _count_is(inbox, 1), what="the deleted one gone")
        [left] = await inbox.list()
        assert left["data"]["message_id"] == message_id(first)
        # The decision stays answerable after the deletion (it holds no text).
        why = await inbox.decisions(message_id(second))
        assert why.json()["decisions"][0]["outcome"] == "notified"


async def _count_is(inbox: object, count: int) -> bool:
    return len(await inbox.list()) == count  # type: ignore[attr-defined]


async def _content_of(inbox: object, posted: object, prefix: str) -> object:
    for entry in await inbox.list():  # type: ignore[attr-defined]
        if entry["data"]["message_id"] == message_id(posted) and \
                entry["content"].startswith(prefix):  # type: ignore[arg-type]
            return entry
    return None


async def test_read_all_clears_the_count_and_one_read_marks_one(
        service: NotificationsService, events: Feed, keys: Keys, nats_url: str) -> None:
    alice, bob = await events.users("alice", "bob")
    room = await events.room([(alice, "member"), (bob, "member")])
    async with inboxes(service, keys, bob) as (inbox,):
        await inbox.set_level(room, "all")
        for n in range(4):
            await events.post(room, alice, f"ping {n}")
        await eventually(lambda: _unread_is(inbox, 4), what="four unread")

        newest = (await inbox.list())[0]
        response = await inbox.http.post(f"/api/notifications/{newest['id']}/read")
        assert response.status_code == 200
        assert response.json()["read"] is True and response.json()["read_at"]
        again = await inbox.http.post(f"/api/notifications/{newest['id']}/read")
        assert again.status_code == 200 and again.json()["read_at"] == response.json()["read_at"]
        assert await inbox.count() == 3
        assert [e["id"] for e in await inbox.list(unread="true")] == \
            [e["id"] for e in (await inbox.list())[1:]]

        response = await inbox.http.post("/api/notifications/read-all")
        assert response.status_code == 200
        assert response.json() == {"marked_read": 3, "count": 0}
        assert await inbox.count() == 0
        assert await inbox.list(unread="true") == []
        assert len(await inbox.list()) == 4  # read, not gone
        again = await inbox.http.post("/api/notifications/read-all")
        assert again.json() == {"marked_read": 0, "count": 0}
        ids = sorted(e["id"] for e in await inbox.list())

    # One NotificationRead per notification that went from unread to read: the single read
    # (once, though asked twice) and the three of read-all.
    await eventually(lambda: _events(nats_url, NOTIFICATIONS_READ, bob.id, 4),
                     what="four NotificationRead events")
    await asyncio.sleep(0.5)  # and no more
    read = await stream_events(nats_url, NOTIFICATIONS_READ, {bob.id})
    assert read[0].data["notification_id"] == newest["id"]
    assert sorted(e.data["notification_id"] for e in read) == ids
    assert all(e.data["reason"] == "message" and e.data["room_id"] == room
               and e.data["broadcast_id"] is None and e.data["read_at"] for e in read)


async def _events(nats_url: str, subject: str, user_id: int, count: int) -> object:
    found = await stream_events(nats_url, subject, {user_id})
    return found if len(found) >= count else None


async def _unread_is(inbox: object, count: int) -> bool:
    return await inbox.count() == count  # type: ignore[attr-defined]


async def test_reading_the_room_in_chat_marks_its_notifications_and_suppresses_older_ones(
        service: NotificationsService, events: Feed, keys: Keys, nats_url: str) -> None:
    alice, bob = await events.users("alice", "bob")
    room = await events.room([(alice, "member"), (bob, "member")])
    other = await events.room([(alice, "member"), (bob, "member")])
    async with inboxes(service, keys, bob) as (inbox,):
        await inbox.set_level(room, "all")
        await inbox.set_level(other, "all")
        await events.post(room, alice, "one")  # seq 1
        await events.post(room, alice, "two")  # seq 2
        await events.post(other, alice, "elsewhere")
        await eventually(lambda: _unread_is(inbox, 3), what="three unread")

        await events.read(room, bob, 2)  # bob read the room up to seq 2 in chat
        await eventually(lambda: _unread_is(inbox, 1), what="the room's two marked read")
        [still] = await inbox.list(unread="true")
        assert still["data"]["room_id"] == other
        read = await eventually(lambda: _events(nats_url, NOTIFICATIONS_READ, bob.id, 2),
                                what="two NotificationRead events")
        assert [e.data["room_id"] for e in read] == [room, room]

        # A message at or below the read marker (a late copy) is not news to bob.
        late = await events.post(room, alice, "three")  # seq 3
        await events.read(room, bob, 5)
        stale = await events.post(room, alice, "four")  # seq 4 <= 5: already read
        await eventually(lambda: _decided(inbox, stale), what="decision on seq 4")
        why = (await inbox.decisions(message_id(stale))).json()["decisions"]
        assert [(d["outcome"], d["reason"]) for d in why] == [("suppressed", "already_read")]
        seen = [e for e in await inbox.list() if e["data"]["message_id"] == message_id(late)]
        assert [e["read"] for e in seen] == [True]

        # Posting in a room means having read it: bob's reply clears what he had there.
        await events.post(other, bob, "on it")
        await eventually(lambda: _unread_is(inbox, 0), what="bob's reply marks the room read")


async def _decided(inbox: object, posted: object) -> bool:
    response = await inbox.decisions(message_id(posted))  # type: ignore[attr-defined, arg-type]
    return response.status_code == 200


async def test_paging_with_a_cursor_goes_from_newest_to_oldest(
        service: NotificationsService, events: Feed, keys: Keys) -> None:
    alice, bob = await events.users("alice", "bob")
    room = await events.room([(alice, "member"), (bob, "member")])
    async with inboxes(service, keys, bob) as (inbox,):
        await inbox.set_level(room, "all")
        posted = [await events.post(room, alice, f"m{n}") for n in range(5)]
        await eventually(lambda: _unread_is(inbox, 5), what="five unread")
        seen, before = [], None
        while True:
            params = {"limit": 2, **({"before": before} if before else {})}
            page = (await inbox.http.get("/api/notifications", params=params)).json()
            seen += [e["data"]["message_id"] for e in page["notifications"]]
            before = page["next_before"]
            if not page["has_more"]:
                assert before is None
                break
        assert seen == [message_id(p) for p in reversed(posted)]


async def test_bad_requests_get_problem_details(
        service: NotificationsService, events: Feed, keys: Keys) -> None:
    alice, bob = await events.users("alice", "bob")
    room = await events.room([(alice, "member"), (bob, "member")])
    async with inboxes(service, keys, alice, bob) as (a_inbox, b_inbox):
        await events.post(room, alice, "@bob for bob only")
        [entry] = await eventually(b_inbox.list, what="bob's notification")

        async with httpx.AsyncClient(base_url=service.url) as anonymous:
            response = await anonymous.get("/api/notifications")
            assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
            response = await anonymous.get("/api/notifications",
                                           headers={"Authorization": "Bearer nonsense"})
            assert (response.status_code, response.json()["code"]) == (401, "invalid_token")
            forged = Keys().token(bob.id, bob.username)  # signed with another key
            response = await anonymous.get("/api/notifications",
                                            headers={"Authorization": f"Bearer {forged}"})
            assert response.status_code == 401

        checks = [
            (a_inbox.http.post(f"/api/notifications/{entry['id']}/read"), 404,
             "notification_not_found"),  # someone else's
            (a_inbox.http.post("/api/notifications/ntf_x/read"), 404, "notification_not_found"),
            (a_inbox.http.get("/api/notifications", params={"limit": 0}), 422,
             "validation_error"),
            (a_inbox.http.get("/api/notifications", params={"before": "42"}), 422,
             "invalid_cursor"),
            (a_inbox.decisions(entry["data"]["message_id"]), 404, "decision_not_found"),
            (a_inbox.http.put("/api/notifications/preferences",
                              json={"rooms": [{"room_id": room, "level": "loud"}]}), 422,
             "validation_error"),
            (a_inbox.http.put("/api/notifications/preferences", json={"room_id": room}), 422,
             "validation_error"),
        ]
        for request, status, code in checks:
            response = await request
            assert (response.status_code, response.json()["code"]) == (status, code), \
                response.text
            assert response.headers["content-type"] == "application/problem+json"
        assert (await b_inbox.list())[0]["read"] is False
