"""A restarted notifications service resumes from its durable consumer: nothing lost, nothing
repeated. On a private nats-server, with the production durable name."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.launcher import NatsServerProcess
from shared.contracts import EVENTS_STREAM
from tests.integration.notifications.harness import (
    Keys,
    created_events,
    eventually,
    feed,
    inboxes,
    message_id,
    notifications_settings,
    running,
    watch_live,
)

pytestmark = pytest.mark.integration


async def test_a_restart_resumes_from_the_durable_consumer_without_losing_or_repeating(
        tmp_path: Path, nats_server: NatsServerProcess, keys: Keys) -> None:
    url = nats_server.url
    settings = notifications_settings(tmp_path, url, keys, durable_name="notifications")
    async with feed(url) as events:
        alice, bob, carol = await events.users("alice", "bob", "carol")
        room = await events.room([(alice, "admin"), (bob, "member"), (carol, "member")])
        posted = []
        async with watch_live(url, [bob, carol]) as live:
            async with running(settings) as first, \
                    inboxes(first, keys, bob, carol) as (inbox, c_first):
                for each in (inbox, c_first):
                    await each.set_level(room, "all")  # every message, kept across restarts
                posted.append(await events.post(room, alice, "before the restart"))
                await eventually(lambda: _messages_in(inbox, 1), what="first notification")

            # Down: chat keeps publishing.
            posted.append(await events.post(room, alice, "while down 1"))
            posted.append(await events.post(room, alice, "while down 2 @carol"))
            await events.edit(posted[0], "before the restart (edited)")

            async with running(settings) as second, \
                    inboxes(second, keys, bob, carol) as (b_inbox, c_inbox):
                await eventually(lambda: _messages_in(b_inbox, 3), what="missed ones caught up")
                posted.append(await events.post(room, alice, "after the restart"))
                for inbox in (b_inbox, c_inbox):
                    entries = await eventually(lambda i=inbox: _messages_in(i, 4),
                                               what="all four")
                    assert [e["data"]["message_id"] for e in entries] == \
                        [message_id(p) for p in reversed(posted)]
                    assert entries[-1]["content"] == "before the restart (edited)"
                assert [e["reason"] for e in await c_inbox.list()] == [
                    "message", "mention", "message", "message"]
                consumer = await events.bus.jetstream.consumer_info(EVENTS_STREAM,
                                                                    "notifications")
                assert (consumer.num_pending, consumer.num_ack_pending) == (0, 0)
                assert second.metric("tertulia_notifications_events_duplicate_total") == 0

            for user in (bob, carol):
                frames = [f["data"]["data"]["message_id"] for f in live.of(user)]
                assert frames == [message_id(p) for p in posted]  # each once, in order

        stored = await created_events(url, {bob.id, carol.id})
        assert len(stored) == 8
        assert len({e.data["notification_id"] for e in stored}) == 8
        per_user = {(e.data["user_id"], e.data["data"]["message_id"]) for e in stored}
        assert per_user == {(u.id, message_id(p)) for u in (bob, carol) for p in posted}


async def _messages_in(inbox: object, count: int) -> object:
    found = await inbox.list()  # type: ignore[attr-defined]
    return found if len(found) == count else None
