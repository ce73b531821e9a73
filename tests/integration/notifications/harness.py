"""Run the notifications service in-process (uvicorn on a free port) and play the services
around it: publish chat, presence and dashboard events to JetStream, read the inbox over
HTTP with real tokens, watch `live.user.<id>` and the stream."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import BaseModel

from services.launcher import free_port
from services.notifications.adapters.inbound.subscriptions import FILTER_SUBJECTS
from services.notifications.app import create_app
from services.notifications.settings import NotificationsSettings
from shared.auth import Principal, TokenIssuer, generate_private_key_pem
from shared.bus.nats import NatsEventBus
from shared.contracts import (
    EVENTS_STREAM,
    LIVE_VIEWING,
    BroadcastSent,
    CloudEvent,
    MemberJoined,
    MemberLeft,
    MemberRead,
    MessageCreated,
    MessageDeleted,
    MessageEdited,
    PresenceChanged,
    RoomCreated,
    UserRegistered,
    UserViewing,
    new_event,
    spec_for_type,
)
from tests.support.servers import InProcessServer

NOTIFICATIONS_CREATED = "events.notifications.created"
NOTIFICATIONS_READ = "events.notifications.read"
NOTIFICATIONS_SUPPRESSED = "events.notifications.suppressed"
MENTION_RE = re.compile(r"(?<![\w@.])@([A-Za-z0-9_][A-Za-z0-9_.-]{1,30}[A-Za-z0-9_])")
_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def eventually(check: Callable[[], Any], within_secs: float = 10.0,
                     what: str = "condition") -> Any:
    """Poll `check` (sync or async) until it returns something truthy; return that."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_secs
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"{what} not met within {within_secs}s (last: {result!r})")
        await asyncio.sleep(0.05)


# --- the service ------------------------------------------------------------------------------


class Keys:
    """The chat service's signing key, as far as tests need it."""

    def __init__(self, private_pem: str | None = None) -> None:
        self.private_pem = private_pem or generate_private_key_pem()
        self.issuer = TokenIssuer(self.private_pem)

    @property
    def public_pem(self) -> str:
        from cryptography.hazmat.primitives import serialization

        return self.issuer.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def token(self, user_id: int, username: str, is_admin: bool = False) -> str:
        return self.issuer.issue(Principal(user_id, username, is_admin))


def notifications_settings(data_dir: Path, nats_url: str, keys: Keys,
                           **overrides: Any) -> NotificationsSettings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "nats_url": nats_url,
        "jwt_public_key_pem": keys.public_pem,
        "durable_name": unique("ntf-test"),
        "log_json": False,
        "log_level": "WARNING",
        "service_heartbeat_secs": 1.0,
        "outbox_poll_secs": 0.2,
    }
    values.update(overrides)
    return NotificationsSettings(**values)


async def position_at_end(bus: NatsEventBus, settings: NotificationsSettings) -> None:
    """Create the service's durable consumer at the end of the shared session stream, so it
    skips what other tests published before (it would start from the beginning otherwise).
    The service binds to it as it is: same filters, same max_deliver."""
    await bus.jetstream.add_consumer(EVENTS_STREAM, ConsumerConfig(
        name=settings.durable_name, durable_name=settings.durable_name,
        ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.NEW,
        ack_wait=settings.events_ack_wait_secs, max_deliver=settings.max_deliver,
        filter_subjects=list(FILTER_SUBJECTS)))


class NotificationsService:
    """One notifications process-equivalent: its own app, NATS client and port."""

    def __init__(self, settings: NotificationsSettings, **overrides: Any) -> None:
        self.settings = settings
        self.port = free_port()
        self.app = create_app(settings, **overrides)
        self._server = InProcessServer(self.app, port=self.port)

    @property
    def svc(self) -> Any:
        return self.app.state.notifications

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def metric(self, name: str, **labels: str) -> float:
        return self.svc.metrics.registry.get_sample_value(name, labels or None) or 0.0

    async def start(self) -> NotificationsService:
        await self._server.start()
        return self

    async def stop(self) -> None:
        await self._server.stop()


@contextlib.asynccontextmanager
async def running(settings: NotificationsSettings, **overrides: Any
                  ) -> AsyncIterator[NotificationsService]:
    service = await NotificationsService(settings, **overrides).start()
    try:
        yield service
    finally:
        await service.stop()


# --- playing chat, presence and the dashboard ------------------------------------------------


@dataclass
class User:
    id: int
    username: str


@dataclass
class Feed:
    """Publishes the events the other services would, with ids no other test uses."""

    bus: NatsEventBus
    base: int = field(default_factory=lambda: random.randrange(10**6, 2 * 10**9, 10**4))
    seqs: dict[int, int] = field(default_factory=dict)

    def next_id(self) -> int:
        return self.base + next(_counter)

    async def publish(self, data: BaseModel, event_id: str | None = None,
                      time: datetime | None = None) -> CloudEvent:
        subject, event = new_event(data, source="tests", event_id=event_id, time=time)
        await self.bus.publish_event(subject, event)
        return event

    async def publish_again(self, event: CloudEvent) -> None:
        """The same event under another `Nats-Msg-Id`: the stream stores it a second time
        (as after a relay replayed it past the duplicate window) and the consumer gets it."""
        await self.bus.jetstream.publish(
            spec_for_type(event.type).subject, event.to_bytes(), stream=EVENTS_STREAM,
            headers={"Nats-Msg-Id": f"{event.id}:again"})

    async def user(self, name: str | None = None, *, is_admin: bool = False) -> User:
        user = User(self.next_id(), name or f"u{self.next_id()}")
        await self.publish(UserRegistered(user_id=user.id, username=user.username,
                                          is_admin=is_admin, registered_at=datetime.now(UTC)))
        return user

    async def users(self, *names: str) -> list[User]:
        return [await self.user(name) for name in names]

    async def room(self, members: list[tuple[User, str]], *, private: bool = False) -> int:
        room_id = self.next_id()
        now = datetime.now(UTC)
        await self.publish(RoomCreated(room_id=room_id, name=f"room-{room_id}",
                                       is_private=private, created_by=members[0][0].id,
                                       created_at=now))
        for user, role in members:
            await self.publish(MemberJoined(room_id=room_id, user_id=user.id,
                                            username=user.username, role=role,  # type: ignore[arg-type]
                                            joined_at=now))
        return room_id

    async def leave(self, room_id: int, user: User) -> CloudEvent:
        return await self.publish(MemberLeft(room_id=room_id, user_id=user.id,
                                             username=user.username, reason="left",
                                             left_at=datetime.now(UTC)))

    async def post(self, room_id: int, sender: User, content: str,
                   at: datetime | None = None) -> CloudEvent:
        seq = self.seqs[room_id] = self.seqs.get(room_id, 0) + 1
        mentions = list(dict.fromkeys(m.lower() for m in MENTION_RE.findall(content)))
        at = at or datetime.now(UTC)
        return await self.publish(MessageCreated(
            message_id=self.next_id(), room_id=room_id, seq=seq, user_id=sender.id,
            username=sender.username, content=content, mentions=mentions,
            created_at=at), time=at)

    async def edit(self, posted: CloudEvent, content: str) -> CloudEvent:
        d = posted.data
        return await self.publish(MessageEdited(
            message_id=d["message_id"], room_id=d["room_id"], seq=d["seq"],
            user_id=d["user_id"], content=content, edited_by=d["user_id"],
            edited_at=datetime.now(UTC)))

    async def delete(self, posted: CloudEvent) -> CloudEvent:
        d = posted.data
        return await self.publish(MessageDeleted(
            message_id=d["message_id"], room_id=d["room_id"], seq=d["seq"],
            user_id=d["user_id"], deleted_by=d["user_id"], deleted_at=datetime.now(UTC)))

    async def read(self, room_id: int, user: User, read_seq: int) -> CloudEvent:
        return await self.publish(MemberRead(room_id=room_id, user_id=user.id,
                                             read_seq=read_seq, read_at=datetime.now(UTC)))

    async def presence(self, user: User, status: str, room_id: int | None) -> CloudEvent:
        return await self.publish(PresenceChanged(
            user_id=user.id, username=user.username, status=status,  # type: ignore[arg-type]
            previous="offline", current_room=room_id, last_active_at=datetime.now(UTC),
            connections=1, reason="test"))

    async def viewing(self, service: NotificationsService, user: User, rooms: set[int],
                      replica_id: str = "chat-test") -> None:
        """What a chat replica reports on `live.viewing`, once the service has heard it."""
        await self.bus.publish(LIVE_VIEWING, orjson.dumps(UserViewing(
            replica_id=replica_id, user_id=user.id, rooms=sorted(rooms),
            at=datetime.now(UTC)).model_dump(mode="json")))
        board = service.svc.deps.viewing
        await eventually(lambda: board.rooms_of([user.id]).get(user.id, frozenset()) >= rooms,
                         what=f"user {user.id} viewing {sorted(rooms)}")

    async def broadcast(self, content: str, sender: User) -> CloudEvent:
        return await self.publish(BroadcastSent(
            broadcast_id=unique("bc"), content=content, sender=sender.username,
            sent_by=sender.id, sent_at=datetime.now(UTC)))


@contextlib.asynccontextmanager
async def feed(nats_url: str) -> AsyncIterator[Feed]:
    bus = NatsEventBus(nats_url, name="tests-feed")
    await bus.connect()
    try:
        yield Feed(bus)
    finally:
        await bus.close()


# --- watching what comes out ------------------------------------------------------------------


@dataclass
class LiveFrames:
    """Every `live.user.<id>` frame for the watched users, with its headers."""

    frames: dict[int, list[tuple[dict[str, str], dict[str, Any]]]]

    def of(self, user: User) -> list[dict[str, Any]]:
        return [body for _, body in self.frames.get(user.id, [])]

    def headers_of(self, user: User) -> list[dict[str, str]]:
        return [headers for headers, _ in self.frames.get(user.id, [])]


@contextlib.asynccontextmanager
async def watch_live(nats_url: str, users: list[User]) -> AsyncIterator[LiveFrames]:
    nc: Client = await nats.connect(nats_url)
    seen = LiveFrames({u.id: [] for u in users})

    async def on_frame(msg: Msg) -> None:
        user_id = int(msg.subject.rsplit(".", 1)[1])
        seen.frames[user_id].append((dict(msg.headers or {}), orjson.loads(msg.data)))

    try:
        for user in users:
            await nc.subscribe(f"live.user.{user.id}", cb=on_frame)
        await nc.flush()
        yield seen
    finally:
        await nc.close()


async def created_events(nats_url: str, user_ids: set[int]) -> list[CloudEvent]:
    """`events.notifications.created` in the stream (each stored once), for these users."""
    return await stream_events(nats_url, NOTIFICATIONS_CREATED, user_ids)


async def stream_events(nats_url: str, subject: str, user_ids: set[int]) -> list[CloudEvent]:
    """The events on `subject` in the stream (each stored once), for these users."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(EVENTS_STREAM, subjects_filter=subject)
        total = (info.state.subjects or {}).get(subject, 0)
        found = []
        if total:
            sub = await js.subscribe(subject, ordered_consumer=True,
                                     deliver_policy=DeliverPolicy.ALL)
            for _ in range(total):
                event = CloudEvent.from_bytes((await sub.next_msg(timeout=5)).data)
                if event.data["user_id"] in user_ids:
                    found.append(event)
            await sub.unsubscribe()
        return found
    finally:
        await nc.close()


# --- the inbox, as a user ---------------------------------------------------------------------


class Inbox:
    def __init__(self, service_url: str, keys: Keys, user: User) -> None:
        self.user = user
        self.http = httpx.AsyncClient(
            base_url=service_url, timeout=10,
            headers={"Authorization": f"Bearer {keys.token(user.id, user.username)}"})

    async def list(self, **params: Any) -> list[dict[str, Any]]:
        response = await self.http.get("/api/notifications", params=params)
        assert response.status_code == 200, response.text
        return response.json()["notifications"]

    async def count(self) -> int:
        response = await self.http.get("/api/notifications/unread-count")
        assert response.status_code == 200, response.text
        return int(response.json()["count"])

    async def decisions(self, message_id: int) -> httpx.Response:
        return await self.http.get("/api/notifications/decisions",
                                   params={"message_id": message_id})

    async def set_level(self, room_id: int, level: str) -> dict[str, Any]:
        """Once the service has the membership from the stream (a room that is not yet the
        user's is `room_not_found`, like any other)."""
        async def put() -> httpx.Response | None:
            response = await self.http.put(
                "/api/notifications/preferences",
                json={"rooms": [{"room_id": room_id, "level": level}]})
            if response.status_code == 404:
                return None
            assert response.status_code == 200, response.text
            return response

        response = await eventually(put, what=f"a level set on room {room_id}")
        return response.json()

    async def close(self) -> None:
        await self.http.aclose()


@contextlib.asynccontextmanager
async def inboxes(service: NotificationsService, keys: Keys, *users: User
                  ) -> AsyncIterator[list[Inbox]]:
    opened = [Inbox(service.url, keys, u) for u in users]
    try:
        yield opened
    finally:
        for inbox in opened:
            await inbox.close()


def message_id(event: CloudEvent) -> int:
    return int(event.data["message_id"])

