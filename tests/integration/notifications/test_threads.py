"""With a real chat replica and NATS: a reply in a thread notifies who wrote in it
(`thread_reply`), not a member who never took part."""

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


async def test_a_participant_gets_a_thread_reply_and_an_outsider_nothing(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    keys = Keys()
    async with chat_and_notifications(tmp_path, nats_server.url, keys) as (chat, service):
        alice, bob, carol = [await sign_up(chat, n) for n in ("alice", "bob", "carol")]
        room = await alice.create_room("general")
        for member in (bob, carol):
            joined = await member.http.post(f"/api/chat/rooms/{room['id']}/join")
            assert joined.status_code == 200
        root = (await alice.post(room["id"], "lunch?")).json()
        async with alice.socket("/ws") as ws:
            await receive(ws, "hello")
            reply = await bob.post(room["id"], "yes", thread_root_id=root["id"])
            assert reply.status_code == 201, reply.text
            frame = await receive(ws, "notification", timeout=10)
        assert frame["data"]["reason"] == "thread_reply"
        assert frame["data"]["title"] == "bob replied in a thread"
        assert frame["data"]["data"]["thread_root_id"] == root["id"]

        headers = {"Authorization": f"Bearer {carol.token}"}
        async with httpx.AsyncClient(base_url=service.url, headers=headers) as inbox:
            async def carol_decided() -> list[dict[str, object]]:
                answer = await inbox.get("/api/notifications/decisions",
                                         params={"message_id": reply.json()["id"]})
                return answer.json().get("decisions", []) if answer.status_code == 200 \
                    else []
            [decision] = await eventually(carol_decided, what="carol's decision")
            assert (decision["outcome"], decision["reason"]) == (
                "suppressed", "not_in_thread")
            assert (await inbox.get("/api/notifications")).json()["notifications"] == []
        for client in (alice, bob, carol):
            await client.http.aclose()
