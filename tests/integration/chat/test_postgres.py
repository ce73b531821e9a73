"""The multi-node setup: two chat replicas on one PostgreSQL database and one NATS."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.integration.chat.harness import (
    chat_settings,
    collect,
    frames_until,
    receive,
    replicas,
    send,
    sign_up,
)

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


async def test_two_replicas_on_postgres_behave_as_one(
        tmp_path: Path, nats_url: str, postgres_url: str) -> None:
    settings = [chat_settings(tmp_path, nats_url, database_url=postgres_url,
                              replica_id=f"pg-{n}") for n in ("a", "b")]
    async with replicas(settings) as (one, two):
        alice = await sign_up(one)
        bob = await sign_up(two)
        room = await alice.create_room()
        async with bob.socket(f"/ws/chat/{room['id']}") as listener, \
                alice.socket(f"/ws/chat/{room['id']}") as sender:
            await receive(listener, "joined")
            await receive(sender, "joined")
            # Both replicas post into the room at once: seq stays gapless and unique.
            posts = [alice.post(room["id"], f"a{n}") for n in range(20)]
            posts += [bob.post(room["id"], f"b{n}") for n in range(20)]
            results = await asyncio.gather(*posts)
            assert [r.status_code for r in results] == [201] * 40
            got = await collect(listener, "message", 40)
        assert sorted(f["data"]["seq"] for f in got) == list(range(1, 41))

        # Idempotent retries race across replicas to one row.
        same = await asyncio.gather(alice.post(room["id"], "once", client_msg_id="pg-1"),
                                    *(_client_on(two, alice).post(room["id"], "once",
                                                                  client_msg_id="pg-1")
                                      for _ in range(3)))
        assert len({r.json()["id"] for r in same}) == 1

        # Recovery reads the same database from either replica.
        async with bob.socket("/ws") as ws:
            await send(ws, type="join", room_id=room["id"], since_seq=30)
            frames = await frames_until(ws, "joined")
        assert [f["data"]["seq"] for f in frames if f["type"] == "message"] == list(
            range(31, 42))
        assert frames[-1]["data"]["recovered"] is True

        unread = (await bob.http.get("/api/chat/unread")).json()
        # bob joined by posting; alice's messages after his read marker count.
        assert unread[0]["room_id"] == room["id"] and unread[0]["last_seq"] == 41


def _client_on(replica, client):  # type: ignore[no-untyped-def]
    """The same user talking to another replica (a retry that landed elsewhere)."""
    import httpx

    from tests.integration.chat.harness import Client

    http = httpx.AsyncClient(base_url=replica.http_url, timeout=30,
                             headers={"Authorization": f"Bearer {client.token}"})
    return Client(replica, http, client.user, client.token)
