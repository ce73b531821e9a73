"""The live wire codec between replicas: what a replica needs is in the headers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import orjson
import pytest
from websockets.asyncio.client import connect

from shared.contracts import live_room
from tests.integration.chat.harness import (
    chat_settings,
    frames_until,
    receive,
    replicas,
    send,
    sign_up,
)

pytestmark = pytest.mark.integration


async def test_a_room_turned_private_says_so_in_a_header_the_other_replicas_act_on(
        tmp_path: Path, nats_url: str) -> None:
    key = (tmp_path / "key").as_posix()
    settings = [chat_settings(tmp_path, nats_url, signing_key_file=key,
                              replica_id=f"codec-{n}") for n in ("a", "b")]
    nc = await nats.connect(nats_url)
    try:
        async with replicas(settings) as (one, two):
            alice = await sign_up(one)
            bob = await sign_up(two)
            room = await alice.create_room()
            async with bob.socket(f"/ws/chat/{room['id']}") as outsider, \
                    connect(f"{two.ws_url}/ws/chat/{room['id']}") as guest:
                await receive(outsider, "joined")
                await receive(guest, "joined")
                # A `room_updated` that still calls the room public in its body, but whose
                # header says members only: replica two acts on the header, not the body.
                body = orjson.dumps({"type": "room_updated",
                                     "data": {**room, "is_private": False}})
                await nc.publish(live_room(room["id"]), body, headers={
                    "Tertulia-Frame-Type": "room_updated", "Tertulia-Members-Only": "1"})
                await receive(outsider, "room_updated")
                await receive(guest, "room_updated")
                await alice.post(room["id"], "members only now")
                for ws in (outsider, guest):
                    await send(ws, type="ping")
                    assert all(f["type"] != "message" for f in await frames_until(ws, "pong"))
            # The real changes on replica one: private says members only, public does not.
            seen: asyncio.Queue = asyncio.Queue()

            async def on_room(msg) -> None:  # type: ignore[no-untyped-def]
                if msg.headers and msg.headers.get("Tertulia-Frame-Type") == "room_updated":
                    await seen.put(msg)

            await nc.subscribe(live_room(room["id"]), cb=on_room)
            await nc.flush()
            for private in (True, False):
                patched = await alice.http.patch(f"/api/chat/rooms/{room['id']}",
                                                 json={"is_private": private})
                assert patched.status_code == 200
                async with asyncio.timeout(10):
                    msg = await seen.get()
                assert orjson.loads(msg.data)["data"]["is_private"] is private
                assert msg.headers.get("Tertulia-Members-Only") == ("1" if private else None)
    finally:
        await nc.close()
