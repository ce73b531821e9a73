"""The chat side of presence: `room_presence` on join, `user_presence` when someone changes.

This test plays the presence service on real NATS (its RPC and its events), so the chat
service's half is checked on its own."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.bus.nats import NatsEventBus
from shared.contracts import (
    PRESENCE_USERS_RPC,
    PresenceChanged,
    PresenceQuery,
    PresenceSnapshot,
    UserPresence,
    new_event,
)
from tests.integration.chat.harness import chat_settings, receive, replicas, sign_up

pytestmark = pytest.mark.integration


async def test_join_lists_present_members_and_changes_arrive_as_frames(
        tmp_path: Path, nats_url: str) -> None:
    presence = NatsEventBus(nats_url, name="fake-presence")
    await presence.connect()
    asked: list[list[int]] = []
    try:
        async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
            alice = await sign_up(replica)
            bob = await sign_up(replica)
            room = await alice.create_room()
            await bob.http.post(f"/api/chat/rooms/{room['id']}/join")
            since = datetime(2026, 1, 1, tzinfo=UTC)

            async def answer(raw: bytes) -> bytes:
                query = PresenceQuery.model_validate_json(raw)
                asked.append(sorted(query.user_ids))
                users = [UserPresence(user_id=uid, status="online" if uid == alice.id
                                      else "offline", current_room=room["id"],
                                      last_active_at=since, connections=1)
                         for uid in query.user_ids]
                return PresenceSnapshot(users=users).model_dump_json().encode()

            sub = await presence.respond(PRESENCE_USERS_RPC, answer)
            async with bob.socket(f"/ws/chat/{room['id']}") as ws:
                listed = await receive(ws, "room_presence")
                assert listed["data"] == {"room_id": room["id"], "users": [{
                    "user_id": alice.id, "username": alice.username, "status": "online",
                    "room_id": room["id"], "last_active_at": since.isoformat()}]}
                assert asked == [sorted([alice.id, bob.id])]

                subject, event = new_event(PresenceChanged(
                    user_id=alice.id, username=alice.username, status="away",
                    previous="online", current_room=room["id"], last_active_at=since,
                    connections=1, reason="idle"), source="test/presence")
                await presence.publish(subject, event.to_bytes())
                frame = await receive(ws, "user_presence")
                assert frame["data"]["user_id"] == alice.id
                assert frame["data"]["status"] == "away"
                assert frame["data"]["reason"] == "idle"
                assert frame["data"]["room_id"] == room["id"]  # here: said
                # Looking at another (maybe private) room: the status, not the room.
                subject, event = new_event(PresenceChanged(
                    user_id=alice.id, username=alice.username, status="online",
                    previous="away", current_room=room["id"] + 1000, last_active_at=since,
                    connections=1, reason="active"), source="test/presence")
                await presence.publish(subject, event.to_bytes())
                frame = await receive(ws, "user_presence")
                assert frame["data"]["status"] == "online" and frame["data"]["room_id"] is None
            # The replica remembers what it was told and heard: joining again asks nothing.
            async with bob.socket(f"/ws/chat/{room['id']}") as ws:
                again = (await receive(ws, "room_presence"))["data"]["users"]
            assert asked == [sorted([alice.id, bob.id])]
            assert [(u["user_id"], u["status"], u["room_id"]) for u in again] == [
                (alice.id, "online", None)]
            await sub.unsubscribe()
            # Without a presence service, joining still works; people it knows nothing of
            # are not listed.
            carol = await sign_up(replica)
            other = await carol.create_room()
            async with carol.socket(f"/ws/chat/{other['id']}") as ws:
                assert (await receive(ws, "room_presence"))["data"]["users"] == []
    finally:
        await presence.close()
