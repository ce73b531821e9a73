"""A formatted message's notification says its plain text: in the inbox, on the live frame,
after an edit, and cut to the same preview length (real NATS and SQLite)."""

from __future__ import annotations

import pytest

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


async def test_the_preview_of_a_formatted_message_is_plain_text(
        service: NotificationsService, events: Feed, keys: Keys, nats_url: str) -> None:
    alice, bob = await events.users("alice", "bob")
    room = await events.room([(alice, "member"), (bob, "member")])
    async with watch_live(nats_url, [bob]) as live, inboxes(service, keys, bob) as (inbox,):
        await inbox.set_level(room, "all")
        formatted = await events.post(
            room, alice, "**All green** `make up` https://example.org\n> ~~red~~ _fixed_\n"
                         "```\nmake test\n```\n- one\n- two")
        long = await events.post(room, alice, "**" + "x" * 150 + "**")
        await eventually(lambda: len(live.of(bob)) == 2, what="two notification frames")

        plain = ("All green make up https://example.org\nred fixed\nmake test\n• one\n• two")
        frames = {f["data"]["data"]["message_id"]: f["data"]["content"] for f in live.of(bob)}
        assert frames == {message_id(formatted): plain, message_id(long): "x" * 100}
        stored = {e["data"]["message_id"]: e["content"] for e in await inbox.list()}
        assert stored == frames

        await events.edit(formatted, "*now* **@bob** `deploy` <https://example.org/x>")
        edited = "now @bob deploy https://example.org/x"
        await eventually(lambda: _content_is(inbox, formatted, edited), what="the edit")


async def _content_is(inbox: object, posted: object, content: str) -> bool:
    return any(e["data"]["message_id"] == message_id(posted) and e["content"] == content
               for e in await inbox.list())  # type: ignore[attr-defined]
