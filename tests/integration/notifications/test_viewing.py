"""With real chat replicas: "viewing the room" is what a socket shows now (the `view` frame),
combined over tabs and replicas; a mention is never dropped because of a room left behind."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.launcher import NatsServerProcess
from tests.integration.chat.harness import (
    ChatReplica,
    Client,
    chat_settings,
    receive,
    replicas,
    send,
    sign_up,
)
from tests.integration.notifications.harness import (
    Inbox,
    Keys,
    NotificationsService,
    User,
    eventually,
    feed,
    notifications_settings,
    running,
)

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def system(tmp_path: Path, nats_url: str, keys: Keys, chat_replicas: int = 1
                 ) -> AsyncIterator[tuple[list[ChatReplica], NotificationsService]]:
    settings = [chat_settings(tmp_path / "chat", nats_url, signing_key_pem=keys.private_pem,
                              replica_id=f"chat-{n}") for n in range(chat_replicas)]
    async with replicas(settings) as started, \
            running(notifications_settings(tmp_path / "ntf", nats_url, keys)) as service:
        yield started, service


async def open_rooms(ws: Any, *room_ids: int) -> None:
    """What the page does: join, then say the room is on screen in a visible tab."""
    for room_id in room_ids:
        await send(ws, type="join", room_id=room_id)
        await receive(ws, "room_presence")
        await send(ws, type="view", room_id=room_id, visible=True)


def viewed(service: NotificationsService, user: Client, rooms: set[int]) -> Any:
    board = service.svc.deps.viewing
    return lambda: board.rooms_of([user.id]).get(user.id, frozenset()) == rooms


async def decision(inbox: Inbox, posted: Any) -> tuple[str, str]:
    message_id = posted.json()["id"]

    async def found() -> Any:
        response = await inbox.decisions(message_id)
        return response.json()["decisions"] if response.status_code == 200 else None

    [why] = await eventually(found, what=f"the decision about message {message_id}")
    return why["outcome"], why["reason"]


async def test_a_mention_in_the_room_left_for_another_reaches_carmen(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    """The report: carmen opens A, then B; bruno mentions @carmen in A. Her last announced
    presence still says A; she must get the inbox entry and the live frame all the same."""
    keys = Keys()
    async with system(tmp_path, nats_server.url, keys) as ([chat], service):
        bruno, carmen = await sign_up(chat, "bruno"), await sign_up(chat, "carmen")
        room_a, room_b = (await bruno.create_room("a"))["id"], (await bruno.create_room("b"))["id"]
        for room_id in (room_a, room_b):
            assert (await carmen.http.post(f"/api/chat/rooms/{room_id}/join")).status_code == 200
        async with feed(nats_server.url) as events:  # presence's last word: she is in A
            await events.presence(User(carmen.id, carmen.username), "online", room_a)
        inbox = Inbox(service.url, keys, User(carmen.id, carmen.username))
        try:
            async with carmen.socket("/ws") as ws:
                await receive(ws, "hello")
                await open_rooms(ws, room_a, room_b)
                await eventually(viewed(service, carmen, {room_b}), what="B on screen, not A")

                posted = await bruno.post(room_a, "@carmen can you look at this?")
                assert posted.status_code == 201, posted.text
                frame = await receive(ws, "notification", timeout=10)
                assert frame["data"]["reason"] == "mention"
                assert frame["data"]["data"]["message_id"] == posted.json()["id"]
                [entry] = await inbox.list()
                assert (entry["id"], entry["read"]) == (frame["data"]["id"], False)
                assert await decision(inbox, posted) == ("notified", "mention")

                # Where she is looking, a mention is seen as it arrives: no notification.
                here = await bruno.post(room_b, "@carmen and here")
                assert await decision(inbox, here) == ("suppressed", "viewing_room")
        finally:
            await inbox.close()
            for client in (bruno, carmen):
                await client.http.aclose()


async def test_tabs_on_two_replicas_each_count_until_hidden_or_closed(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    keys = Keys()
    async with system(tmp_path, nats_server.url, keys, chat_replicas=2) as ((one, two), service):
        bruno, carmen = await sign_up(one, "bruno"), await sign_up(one, "carmen")
        room_a, room_b = (await bruno.create_room("a"))["id"], (await bruno.create_room("b"))["id"]
        for room_id in (room_a, room_b):
            assert (await carmen.http.post(f"/api/chat/rooms/{room_id}/join")).status_code == 200
        carmen_on_two = Client(two, carmen.http, carmen.user, carmen.token)
        inbox = Inbox(service.url, keys, User(carmen.id, carmen.username))
        try:
            async with carmen.socket("/ws") as tab1, carmen_on_two.socket("/ws") as tab2:
                await receive(tab1, "hello")
                await receive(tab2, "hello")
                await open_rooms(tab1, room_a)
                await open_rooms(tab2, room_b)
                await eventually(viewed(service, carmen, {room_a, room_b}),
                                 what="A (replica one) and B (replica two) both viewed")
                for room_id in (room_a, room_b):
                    posted = await bruno.post(room_id, "@carmen look")
                    assert await decision(inbox, posted) == ("suppressed", "viewing_room")

                await send(tab2, type="view", room_id=room_b, visible=False)  # tab hidden
                await eventually(viewed(service, carmen, {room_a}), what="B withdrawn")
                posted = await bruno.post(room_b, "@carmen are you there?")
                assert await decision(inbox, posted) == ("notified", "mention")
                await receive(tab2, "notification")

                await tab1.close()
                await eventually(viewed(service, carmen, set()), what="A withdrawn on close")
                posted = await bruno.post(room_a, "@carmen and now?")
                assert await decision(inbox, posted) == ("notified", "mention")
        finally:
            await inbox.close()
            for client in (bruno, carmen):
                await client.http.aclose()


async def test_a_view_frame_is_checked(tmp_path: Path, nats_server: NatsServerProcess) -> None:
    keys = Keys()
    async with system(tmp_path, nats_server.url, keys) as ([chat], service):
        alice = await sign_up(chat, "alice")
        room = (await alice.create_room("a"))["id"]
        async with alice.socket("/ws") as ws:
            await receive(ws, "hello")
            cases = [
                ({"room_id": room, "visible": True}, "not_joined"),  # not joined on this socket
                ({"room_id": str(room), "visible": True}, "invalid_frame"),
                ({"room_id": 2**63, "visible": True}, "invalid_frame"),
                ({"room_id": 0, "visible": True}, "invalid_frame"),
                ({"room_id": room, "visible": "yes"}, "invalid_frame"),
                ({"room_id": room}, "invalid_frame"),
            ]
            for fields, code in cases:
                await send(ws, type="view", **fields)
                error = await receive(ws, "error")
                assert error["data"]["code"] == code, (fields, error)
            await open_rooms(ws, room)
            await eventually(viewed(service, alice, {room}), what="a good frame still works")
            await send(ws, type="view", room_id=None, visible=True)  # no room open
            await eventually(viewed(service, alice, set()), what="no room on screen")
        await alice.http.aclose()
