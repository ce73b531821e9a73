"""Preferences over HTTP: set only on the caller's own rooms; nothing names anyone else's."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.notifications.harness import (
    Feed,
    Keys,
    NotificationsService,
    eventually,
    inboxes,
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
