"""The same service on PostgreSQL: upserts, the duplicate guard, paging and read state."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.notifications.harness import (
    Feed,
    Keys,
    eventually,
    inboxes,
    message_id,
    notifications_settings,
    position_at_end,
    running,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


async def test_notifications_on_postgresql(tmp_path: Path, nats_url: str, keys: Keys,
                                           events: Feed, postgres_url: str) -> None:
    settings = notifications_settings(tmp_path, nats_url, keys, database_url=postgres_url)
    await position_at_end(events.bus, settings)
    async with running(settings) as service:
        alice, bob, carol = await events.users("alice", "bob", "carol")
        room = await events.room([(alice, "moderator"), (bob, "member"), (carol, "member")])
        await events.presence(carol, "online", room)  # presence's word: not "viewing"
        async with inboxes(service, keys, bob, carol) as (b_inbox, c_inbox):
            await c_inbox.set_level(room, "all")  # bob keeps the default, mentions
            plain = await events.post(room, alice, "plain")
            called = await events.post(room, alice, "@room heads up")
            await events.publish_again(called)
            await eventually(lambda: service.metric(
                "tertulia_notifications_events_duplicate_total") >= 1, what="duplicate seen")

            [entry] = await b_inbox.list()
            assert (entry["reason"], entry["data"]["message_id"]) == (
                "room_mention", message_id(called))
            why = (await b_inbox.decisions(message_id(plain))).json()["decisions"]
            assert [d["reason"] for d in why] == ["mentions_only"]
            assert [e["data"]["message_id"] for e in await c_inbox.list()] == [
                message_id(called), message_id(plain)]

            await events.edit(plain, "plain, edited")
            await eventually(lambda: _first_content(c_inbox, "plain, edited"), what="edit")
            response = await c_inbox.http.post("/api/notifications/read-all")
            assert response.json()["marked_read"] == 2
            assert await c_inbox.count() == 0


async def _first_content(inbox: object, content: str) -> bool:
    entries = await inbox.list()  # type: ignore[attr-defined]
    return any(e["content"] == content for e in entries)
