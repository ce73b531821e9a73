"""With a real chat replica: a post reaches another member's open socket as a `notification`
frame, and the inbox answers to the token chat issued (keys fetched from chat's JWKS)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from services.launcher import NatsServerProcess
from tests.integration.chat.harness import receive, sign_up
from tests.integration.notifications.harness import (
    Keys,
    eventually,
)
from tests.integration.notifications.with_chat import chat_and_notifications

pytestmark = pytest.mark.integration


async def test_a_post_reaches_the_other_members_socket_as_a_notification_frame(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    keys = Keys()
    async with chat_and_notifications(tmp_path, nats_server.url, keys) as (chat, service):
        await eventually(lambda: _ready(service.url), what="keys fetched from chat's JWKS")
        alice, bob = await sign_up(chat, "alice"), await sign_up(chat, "bob")
        room = await alice.create_room("general")
        assert (await bob.http.post(f"/api/chat/rooms/{room['id']}/join")).status_code == 200
        async with bob.socket("/ws") as ws:
            await receive(ws, "hello")
            posted = await alice.post(room["id"], "hey @bob, lunch?")
            assert posted.status_code == 201, posted.text

            frame = await receive(ws, "notification", timeout=10)
            assert frame["data"]["title"] == "alice mentioned you"
            assert frame["data"]["content"] == "hey @bob, lunch?"
            assert frame["data"]["data"] == {"type": "chat_message", "room_id": room["id"],
                                             "message_id": posted.json()["id"],
                                             "kind": "mention"}
            assert frame["data"]["reason"] == "mention"
            assert frame["data"]["read"] is False

        # Bob's chat token opens his inbox; alice, the author, has nothing.
        async with _inbox(service.url, bob.token) as b_inbox, \
                _inbox(service.url, alice.token) as a_inbox:
            inbox = (await b_inbox.get("/api/notifications")).json()["notifications"]
            assert [n["id"] for n in inbox] == [frame["data"]["id"]]
            assert (await b_inbox.get("/api/notifications/unread-count")).json() == \
                {"count": 1}
            assert (await a_inbox.get("/api/notifications")).json()["notifications"] == []

            # Reading the room in chat reads the notification too.
            read = await bob.http.post(f"/api/chat/rooms/{room['id']}/read",
                                       json={"seq": posted.json()["seq"]})
            assert read.status_code == 200, read.text
            await eventually(lambda: _unread_is_zero(b_inbox),
                             what="read through chat's read marker")
        for client in (alice, bob):
            await client.http.aclose()


def _inbox(url: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"})


async def _unread_is_zero(http: httpx.AsyncClient) -> bool:
    response = await http.get("/api/notifications/unread-count")
    return response.json() == {"count": 0}


async def _ready(url: str) -> bool:
    async with httpx.AsyncClient(base_url=url) as http:
        return (await http.get("/readyz")).status_code == 200
