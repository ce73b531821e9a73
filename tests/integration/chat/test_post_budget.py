"""One budget per user for posts, over the WebSocket and over HTTP alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.chat.harness import chat_settings, receive, replicas, send, sign_up

pytestmark = pytest.mark.integration


async def test_websocket_and_http_posts_spend_one_budget(tmp_path: Path, nats_url: str) -> None:
    # Five tokens and (practically) no refill: the test counts, it does not time.
    settings = chat_settings(tmp_path, nats_url, rate_limit_per_sec=0.001, rate_limit_burst=5,
                             rate_limit_strikes=100)
    async with replicas([settings]) as (replica,):
        alice = await sign_up(replica)
        room = await alice.create_room()
        async with alice.socket("/ws") as ws:
            await receive(ws, "hello")
            await send(ws, type="join", room_id=room["id"])  # 1
            await receive(ws, "joined")
            for n in range(2):  # 2, 3
                await send(ws, type="chat_message", room_id=room["id"], content=f"ws {n}")
                await receive(ws, "ack")

            over_http = [await alice.post(room["id"], f"http {n}") for n in range(3)]  # 4, 5, -

            assert [r.status_code for r in over_http] == [201, 201, 429]
            refused = over_http[-1]
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["code"] == "rate_limited"
            assert int(refused.headers["Retry-After"]) >= 1
            assert refused.json()["retry_after"] == int(refused.headers["Retry-After"])

            # The socket finds the budget spent too.
            await send(ws, type="chat_message", room_id=room["id"], content="ws again")
            assert (await receive(ws, "error"))["data"]["code"] == "rate_limited"

        history = (await alice.http.get(f"/api/chat/rooms/{room['id']}/messages")).json()
        assert [m["content"] for m in history["messages"]] == ["ws 0", "ws 1", "http 0",
                                                                "http 1"]
