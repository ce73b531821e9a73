"""Attachments on real services, on SQLite and on PostgreSQL (the posting adapters differ):
attached in the post's transaction (a failed post attaches nothing, a file once), carried by
frames, history and threads, downloaded by the message's readers only, with the serving
headers; a deleted message's files are refused and swept with the retention."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.chat.harness import (
    ChatReplica,
    chat_settings,
    frames_until,
    receive,
    replicas,
    send,
    sign_up,
    stream_events,
)
from tests.integration.chat.test_files import png, upload

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


async def attached_scenario(replica: ChatReplica, nats_url: str) -> None:
    alice = await sign_up(replica)
    bob = await sign_up(replica)
    carol = await sign_up(replica)  # never in the room
    guest = httpx.AsyncClient(base_url=replica.http_url)
    room = await alice.create_room(is_private=True)
    invited = await alice.http.post(f"/api/chat/rooms/{room['id']}/members",
                                    json={"username": bob.username})
    assert invited.status_code == 201, invited.text
    image = (await upload(alice, png(), "shot.png", "image/png")).json()
    notes = (await upload(alice, b"plain notes\n", "notes.txt", "text/plain")).json()
    url = image["url"]

    # Unattached: only the uploader reads it, and only she attaches it.
    assert (await alice.http.get(url)).status_code == 200
    assert (await bob.http.get(url)).status_code == 404
    refused = [
        (await bob.post(room["id"], "mine?", attachment_ids=[image["id"]]), 404,
         "attachment_not_found"),
        (await alice.post(room["id"], "", attachment_ids=["0" * 32, notes["id"]]), 404,
         "attachment_not_found"),
        (await alice.post(room["id"], "many", attachment_ids=[f"{n:032x}" for n in range(11)]),
         422, "too_many_attachments"),
        (await alice.post(999_999, "", attachment_ids=[image["id"]]), 404, "room_not_found"),
        (await alice.post(room["id"], "", attachment_ids=["../../chat.db"]), 404,
         "attachment_not_found"),
    ]
    for response, status, code in refused:
        assert (response.status_code, response.json()["code"]) == (status, code), response.text

    async with bob.socket(f"/ws/chat/{room['id']}") as listener, \
            alice.socket(f"/ws/chat/{room['id']}") as sender:
        await receive(listener, "joined")
        await receive(sender, "joined")
        posted = await alice.post(room["id"], "", attachment_ids=[notes["id"], image["id"]])
        assert posted.status_code == 201, posted.text
        message = posted.json()
        assert message["content"] == ""
        # Upload order, whatever order the post named them in.
        assert [a["id"] for a in message["attachments"]] == [image["id"], notes["id"]]
        assert message["attachments"][0] == {k: image[k] for k in (
            "id", "name", "size", "content_type", "width", "height", "url", "thumbnail_url")}
        heard = await receive(listener, "message")
        assert heard["data"]["attachments"] == message["attachments"]
        again = await alice.post(room["id"], "twice", attachment_ids=[image["id"]])
        assert (again.status_code, again.json()["code"]) == (409, "attachment_in_use")

            # Over the socket, and in a thread.
        more = (await upload(alice, png((50, 50)), "small.png", None)).json()
        await send(sender, type="chat_message", content="see", client_msg_id="att-1",
                   attachment_ids=[more["id"]])
        await receive(sender, "ack")
        live = await receive(listener, "message")
        assert [a["id"] for a in live["data"]["attachments"]] == [more["id"]]
        reply_file = (await upload(bob, b"%PDF-1.4 tiny", "r.pdf", "application/pdf")).json()
        reply = await bob.post(room["id"], "answer", thread_root_id=message["id"],
                               attachment_ids=[reply_file["id"]])
        assert reply.status_code == 201, reply.text

    history = (await bob.http.get(f"/api/chat/rooms/{room['id']}/messages")).json()["messages"]
    by_id = {m["id"]: m for m in history}
    assert by_id[message["id"]]["attachments"] == message["attachments"]
    assert [a["id"] for a in by_id[live["data"]["id"]]["attachments"]] == [more["id"]]
    thread = (await alice.http.get(f"/api/chat/messages/{message['id']}/thread")).json()
    assert [a["name"] for a in thread["messages"][0]["attachments"]] == ["r.pdf"]
    # Two posts naming one file at once: one carries it.
    racing = (await upload(alice, b"raced", "race.txt")).json()
    raced = await asyncio.gather(*(alice.post(room["id"], f"race {n}",
                                              attachment_ids=[racing["id"]]) for n in range(2)))
    assert sorted(r.status_code for r in raced) == [201, 409]
    plain = await alice.post(room["id"], "no files")
    assert plain.json()["attachments"] == []
    async with bob.socket(f"/ws/chat/{room['id']}") as rejoined:  # the join's replay
        replay = {f["data"]["id"]: f["data"] for f in await frames_until(rejoined, "joined")
                  if f["type"] == "message"}
    assert replay[message["id"]]["attachments"] == message["attachments"]
    assert replay[plain.json()["id"]]["attachments"] == []

    # Downloads: the room's members, with the serving headers; nobody else.
    got = await bob.http.get(url)
    assert got.status_code == 200 and got.content == png()
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert got.headers["content-disposition"].startswith("inline;")
    text = await bob.http.get(notes["url"])
    assert text.headers["content-disposition"].startswith("attachment;")
    assert text.headers["content-type"] == "text/plain; charset=utf-8"
    thumb = await bob.http.get(image["thumbnail_url"])
    assert (thumb.status_code, thumb.headers["content-type"]) == (200, "image/webp")
    assert (await bob.http.get(notes["url"] + "/thumbnail")).status_code == 404
    cached = await bob.http.get(url, headers={"If-None-Match": got.headers["etag"]})
    assert cached.status_code == 304
    for outsider in (carol.http, guest):
        assert (await outsider.get(url)).status_code == 404
        assert (await outsider.get(image["thumbnail_url"])).status_code == 404
    assert (await bob.http.get("/api/chat/files/" + "f" * 32)).status_code == 404

    # Deleted: refused at once, swept after the retention; unattached uploads after the TTL.
    assert (await alice.http.delete(f"/api/chat/messages/{message['id']}")).status_code == 200
    assert (await bob.http.get(url)).status_code == 404
    history = (await bob.http.get(f"/api/chat/rooms/{room['id']}/messages")).json()["messages"]
    assert {m["id"]: m for m in history}[message["id"]]["attachments"] == []
    stray = (await upload(carol, b"never attached", "stray.txt")).json()
    deps = replica.chat.deps
    now = deps.clock.now()
    assert await _sweep(deps, now) == 0  # within the retention and the TTL
    later = now + timedelta(seconds=deps.files.retention_secs + 1)
    swept = await asyncio.gather(_sweep(deps, later), _sweep(deps, later))
    assert sum(swept) == 3  # the message's two and the stray, each removed once
    for file in (image, notes, stray):
        assert not await deps.blobs.exists(file["id"])
        async with deps.uow.read() as tx:
            assert await tx.files.get(file["id"]) is None
    assert not await deps.blobs.exists(image["id"] + "-thumb")
    assert await deps.blobs.exists(more["id"]) and await deps.blobs.exists(reply_file["id"])
    assert (await bob.http.get(more["url"])).status_code == 200
    deleted = await _file_events(nats_url, "tertulia.chat.file.deleted.v1",
                                 {image["id"], notes["id"], stray["id"]})
    assert sorted(e["file_id"] for e in deleted) == sorted([image["id"], notes["id"],
                                                            stray["id"]])
    await guest.aclose()


async def _sweep(deps: Any, now: Any) -> int:
    from services.chat import use_cases

    return await use_cases.sweep_files(deps, now)


async def _file_events(nats_url: str, event_type: str, ids: set[str]) -> list[dict[str, Any]]:
    """The events of those files once the relay has published them all."""
    for _ in range(50):
        found = [e.data for e in await stream_events(nats_url)
                 if e.type == event_type and e.data["file_id"] in ids]
        if len(found) >= len(ids):
            return found
        await asyncio.sleep(0.2)
    return found


async def test_attachments_on_sqlite(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,):
        await attached_scenario(replica, nats_url)


@pytest.mark.postgres
async def test_attachments_on_postgres(tmp_path: Path, nats_url: str,
                                       postgres_url: str) -> None:
    settings = chat_settings(tmp_path, nats_url, database_url=postgres_url)
    async with replicas([settings]) as (replica,):
        await attached_scenario(replica, nats_url)


async def test_attachments_in_a_jetstream_object_store_as_the_chat_user(tmp_path: Path) -> None:
    """CHAT_BLOBS=nats on a server with the generated permissions: the chat user may make
    the bucket, store, read, delete; nothing is written to the data directory's blobs."""
    from services.launcher import NatsServerProcess
    from services.up_nats import new_password
    from shared.contracts.permissions import ADMIN_USER, PASSWORD_VARS

    passwords = {user: new_password() for user in PASSWORD_VARS}
    server = NatsServerProcess(
        tmp_path / "nats", jetstream=False, config=ROOT / "infra" / "nats" / "nats.conf",
        env={var: passwords[user] for user, var in PASSWORD_VARS.items()},
        extra_args=["-sd", str(tmp_path / "nats" / "jetstream")])
    await server.astart(20)
    try:
        settings = chat_settings(tmp_path / "data", server.url, nats_user="chat",
                                 nats_password=passwords["chat"], blobs="nats",
                                 blobs_bucket="CHAT_FILES", throttle_kv_bucket="CHAT_THROTTLE")
        admin_url = server.url.replace("nats://", f"nats://{ADMIN_USER}:"
                                       f"{passwords[ADMIN_USER]}@")
        async with replicas([settings]) as (replica,):
            await attached_scenario(replica, admin_url)
            store = await replica.chat.deps.blobs.store()
            status = await store.status()
            assert status.replicas == 1 and status.size > 0
        assert not (tmp_path / "data" / "blobs").exists()
    finally:
        server.stop()
