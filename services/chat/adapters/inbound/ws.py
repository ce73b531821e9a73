"""WebSocket endpoints `/ws` and `/ws/chat/{room_id}`: parse a frame, call a use case, reply."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from services.chat import use_cases
from services.chat.adapters import frames
from services.chat.adapters.inbound.ws_frames import (
    CLIENT_FRAMES,
    AuthIn,
    ChatMessageIn,
    DeleteMessageIn,
    EditMessageIn,
    JoinIn,
    LeaveIn,
    ReadIn,
    SetStatusIn,
    TypingIn,
)
from services.chat.adapters.outbound.connection_hub import Connection
from services.chat.domain import (
    GUEST,
    Actor,
    ChatError,
    Forbidden,
    NotFound,
    ack_data,
    message_data,
)
from shared.auth import InvalidToken, Principal
from shared.auth.fastapi import verify_websocket_token, websocket_handshake_token

if TYPE_CHECKING:
    from services.chat.bootstrap import Chat

log = logging.getLogger(__name__)

CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_BAD_TOKEN = 4001
CLOSE_FORBIDDEN_ROOM = 4003
CLOSE_NO_ROOM = 4004
CLOSE_TRY_AGAIN_LATER = 1013
DIRECT_SEND_TIMEOUT_SECS = 5.0
FLUSH_BEFORE_CLOSE_SECS = 1.0
CLOSE_HANDSHAKE_SECS = 2.0


def actor_of(principal: Principal | None) -> Actor:
    if principal is None:
        return GUEST
    return Actor(principal.user_id, principal.username, principal.is_admin)


def origin_allowed(websocket: WebSocket, allowed: list[str]) -> bool:
    """CORS does not cover WebSockets: a browser page from another site must be refused here.
    No Origin at all means a non-browser client, which cookies cannot be stolen through."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    if origin in allowed or "*" in allowed:
        return True
    host = websocket.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


@dataclass(slots=True)
class TokenBucket:
    rate: float
    burst: float
    tokens: float
    stamp: float
    strikes: int = 0

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            # Strikes fade as the sender slows down: only a sustained flood gets closed.
            self.strikes = max(0, self.strikes - 1)
            return True
        self.strikes += 1
        return False


class RateLimiter:
    """Per user on this replica (per connection for guests): a user's tabs share one budget."""

    def __init__(self, per_sec: float, burst: int) -> None:
        self._per_sec = per_sec
        self._burst = burst
        self._buckets: dict[int | str, TokenBucket] = {}

    def bucket(self, key: int | str, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(self._per_sec, self._burst, self._burst, now)
            self._buckets[key] = bucket
        return bucket

    def forget(self, key: int | str) -> None:
        self._buckets.pop(key, None)


class CloseSocket(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Session:
    """One socket's conversation with the server."""

    def __init__(self, chat: Chat, websocket: WebSocket, conn: Connection) -> None:
        self.chat = chat
        self.ws = websocket
        self.conn = conn
        self.loop = asyncio.get_running_loop()

    @property
    def actor(self) -> Actor:
        return self.conn.actor

    async def send_direct(self, text: str) -> None:
        """Frames for this socket only go through its queue too, keeping one writer; a socket
        that drains nothing for `DIRECT_SEND_TIMEOUT_SECS` is closed like any slow consumer."""
        if self.conn.closed:
            raise CloseSocket(CLOSE_TRY_AGAIN_LATER, "connection closed")
        try:
            await asyncio.wait_for(self.conn.queue.put(text), DIRECT_SEND_TIMEOUT_SECS)
        except TimeoutError:
            raise CloseSocket(CLOSE_TRY_AGAIN_LATER, "send queue full") from None

    async def send_error(self, code: str, message: str, ref: Any = None) -> None:
        self.chat.metrics.frame_errors.labels(code).inc()
        await self.send_direct(frames.error(code, message, ref))

    async def hello(self) -> None:
        user = None
        if self.actor.user_id is not None:
            user = {"id": self.actor.user_id, "username": self.actor.username,
                    "is_admin": self.actor.is_admin}
        await self.send_direct(frames.encode("hello", {
            "connection_id": self.conn.id, "user": user,
            "server_time": datetime.now(UTC).isoformat(),
            "replica_id": self.chat.hub.replica_id,
            "limits": {"max_frame_bytes": self.chat.settings.ws_max_frame_bytes,
                       "message_max_chars": self.chat.settings.message_max_chars}}))

    async def join(self, room_id: int, since_seq: int | None) -> None:
        hub = self.chat.hub
        await hub.join(self.conn, room_id)
        try:
            recovery = await use_cases.recover(self.chat.deps, self.actor, room_id, since_seq)
        except ChatError:
            await hub.leave(self.conn, room_id)
            raise
        for message in recovery.messages:
            await self.send_direct(frames.encode("message", message_data(message)))
        await self.send_direct(frames.encode("joined", {
            "room_id": room_id, "last_seq": recovery.last_seq,
            "recovered": recovery.recovered,
            "replayed": len(recovery.messages),
            "room": {"id": recovery.room.id, "name": recovery.room.name,
                     "is_private": recovery.room.is_private},
            "role": recovery.member.role if recovery.member else None}))
        for text in hub.resume(self.conn, room_id, recovery.last_seq):
            await self.send_direct(text)
        present = await use_cases.present_members(self.chat.deps, self.actor, room_id)
        await self.send_direct(frames.encode("room_presence",
                                             {"room_id": room_id, "users": present}))
        await self._activity()

    async def _activity(self) -> None:
        await self.chat.hub.activity(self.conn, datetime.now(UTC), self.loop.time())

    def _room(self, room_id: int | None) -> int:
        room = room_id if room_id is not None else self.conn.default_room
        if room is None:
            raise ChatError("room_required", "Say which room: `room_id` is required here.")
        return room

    # --- frame handlers -----------------------------------------------------------------

    async def on_auth(self, frame: AuthIn) -> None:
        try:
            principal = verify_websocket_token(self.ws, frame.token)
        except InvalidToken as exc:
            raise CloseSocket(CLOSE_BAD_TOKEN, str(exc)) from exc
        if self.actor.user_id is not None:
            if self.actor.user_id != principal.user_id:
                await self.send_error("already_authenticated",
                                      "This socket belongs to another user.", "auth")
            return
        await self.chat.hub.authenticated(self.conn, actor_of(principal))
        await self.hello()

    async def on_join(self, frame: JoinIn) -> None:
        await self.join(frame.room_id, frame.since_seq)

    async def on_leave(self, frame: LeaveIn) -> None:
        await self.chat.hub.leave(self.conn, frame.room_id)
        await self.send_direct(frames.encode("left", {"room_id": frame.room_id}))

    async def on_chat_message(self, frame: ChatMessageIn) -> None:
        room_id = self._room(frame.room_id)
        started = time.perf_counter()
        posted = await use_cases.post_message(self.chat.deps, self.actor, room_id,
                                              frame.content, frame.client_msg_id)
        await self.send_direct(frames.encode("ack", ack_data(posted.message)))
        if posted.created:
            self.chat.metrics.messages_posted.inc()
            self.chat.metrics.post_seconds.observe(time.perf_counter() - started)
        await self._activity()

    async def on_edit_message(self, frame: EditMessageIn) -> None:
        await use_cases.edit_message(self.chat.deps, self.actor, frame.message_id,
                                     frame.content)
        await self._activity()

    async def on_delete_message(self, frame: DeleteMessageIn) -> None:
        await use_cases.delete_message(self.chat.deps, self.actor, frame.message_id)

    async def on_typing(self, frame: TypingIn) -> None:
        room_id = self._room(frame.room_id)
        if self.actor.is_guest:
            raise ChatError("not_authenticated", "Guests cannot type.")
        if room_id not in self.conn.rooms:
            # Joining checked that this socket may see the room; typing elsewhere is refused
            # without a database round trip per keystroke.
            raise Forbidden("not_joined", "Join the room before typing in it.")
        await self.chat.deps.live.to_room(
            room_id, use_cases.typing_frame(self.actor, room_id, frame.is_typing))
        await self._activity()

    async def on_read(self, frame: ReadIn) -> None:
        unread = await use_cases.mark_read(self.chat.deps, self.actor, frame.room_id,
                                           frame.seq, self.conn.id)
        await self.send_direct(frames.encode("unread", {
            "room_id": unread.room_id, "count": unread.count, "mentions": unread.mentions,
            "last_seq": unread.last_seq, "read_seq": unread.read_seq}))

    async def on_set_status(self, frame: SetStatusIn) -> None:
        if self.actor.is_guest:
            raise ChatError("not_authenticated", "Guests have no presence.")
        await self.chat.hub.status(self.conn, frame.status, datetime.now(UTC))

    async def on_ping(self, _frame: Any) -> None:
        now = datetime.now(UTC).isoformat()
        # Top-level `timestamp` as the exercise sent it; `data` as the protocol does.
        await self.send_direct(orjson.dumps(
            {"type": "pong", "timestamp": now, "data": {"timestamp": now}}).decode())

    # --- the read loop ------------------------------------------------------------------

    async def handle(self, raw: str) -> None:
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            await self.send_error("malformed_json", "The frame is not valid JSON.")
            return
        if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
            await self.send_error("invalid_frame", "A frame is a JSON object with a `type`.")
            return
        frame_type = payload["type"]
        model = CLIENT_FRAMES.get(frame_type)
        if model is None:
            await self.send_error("unknown_type", f"Unknown frame type {frame_type[:40]!r}.",
                                  frame_type[:40])
            return
        self.chat.metrics.frames_in.labels(frame_type).inc()
        ref = payload.get("client_msg_id") or payload.get("message_id") or frame_type
        if not isinstance(ref, str | int):
            ref = frame_type
        try:
            frame = model.model_validate(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            await self.send_error("invalid_frame", f"{where}: {first.get('msg')}", ref)
            return
        try:
            await getattr(self, f"on_{frame_type}")(frame)
        except ChatError as exc:
            await self.send_error(exc.code, exc.message, ref)


def _close_code_for(exc: ChatError) -> int:
    return CLOSE_NO_ROOM if isinstance(exc, NotFound) else CLOSE_FORBIDDEN_ROOM


def websocket_router() -> APIRouter:
    router = APIRouter()

    @router.websocket("/ws")
    async def ws_main(websocket: WebSocket) -> None:
        await serve_socket(websocket, None)

    @router.websocket("/ws/chat/{room_id}")
    async def ws_room(websocket: WebSocket, room_id: int) -> None:
        await serve_socket(websocket, room_id)

    return router


async def serve_socket(websocket: WebSocket, room_id: int | None) -> None:
    chat: Chat = websocket.app.state.chat
    settings = chat.settings
    if not origin_allowed(websocket, settings.allowed_origins):
        await websocket.accept()
        await websocket.close(CLOSE_POLICY, "origin not allowed")
        return
    principal: Principal | None = None
    token = websocket_handshake_token(websocket)
    if token:
        try:
            principal = verify_websocket_token(websocket, token)
        except InvalidToken as exc:
            await websocket.accept()
            await websocket.close(CLOSE_BAD_TOKEN, str(exc))
            return
    if not chat.accepting:
        await websocket.accept()
        await websocket.close(1012, "restarting")
        return
    await websocket.accept()

    async def close_socket(code: int, reason: str) -> None:
        try:
            await asyncio.wait_for(websocket.close(code, reason), CLOSE_HANDSHAKE_SECS)
        except (TimeoutError, Exception):
            # The peer reads nothing, so not even the close frame fits in the buffers.
            abort_transport(websocket)

    now = datetime.now(UTC)
    conn = chat.hub.new_connection(str(uuid.uuid4()), actor_of(principal),
                                   websocket.send_text, close_socket, now)
    conn.default_room = room_id
    # Known before the join: the `opened` report already says which room this socket shows,
    # so presence (and notifications' "looking at this room") know it from the first event.
    conn.current_room = room_id
    session = Session(chat, websocket, conn)
    writer = asyncio.create_task(conn.write_loop(), name=f"ws-writer-{conn.id}")
    close_code: int | None = 1000
    await chat.hub.register(conn)
    try:
        await session.hello()
        if room_id is not None:
            try:
                await session.join(room_id, _since(websocket))
            except ChatError as exc:
                raise CloseSocket(_close_code_for(exc), exc.message) from exc
        await _read_loop(chat, session)
    except CloseSocket as exc:
        close_code = exc.code
        await _flush(conn, writer)
        with contextlib.suppress(Exception):
            await websocket.close(exc.code, exc.reason)
    except WebSocketDisconnect as exc:
        close_code = exc.code
    except Exception:
        log.exception("socket handler failed", extra={"fields": {"connection_id": conn.id}})
        close_code = 1011
        with contextlib.suppress(Exception):
            await websocket.close(1011, "internal error")
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer
        await chat.hub.unregister(conn, close_code)
        uid = conn.actor.user_id
        if uid is None:
            chat.limiter.forget(conn.id)
        elif not chat.hub.has_user(uid):
            chat.limiter.forget(uid)


RAW_SEND_KEY = "tertulia.raw_send"


class KeepRawSend:
    """ASGI middleware: remember the server's own `send` for WebSocket scopes, before any
    middleware wraps it, so `abort_transport` can reach the connection under it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND_KEY] = send
        await self.app(scope, receive, send)


def abort_transport(websocket: WebSocket) -> None:
    """Drop the TCP connection under a socket whose buffers are full.

    ASGI has no "abort", and a graceful close waits for the same full buffers; uvicorn's
    protocol object is reachable from the ASGI `send` callable, so use its transport."""
    send = websocket.scope.get(RAW_SEND_KEY)
    protocol = getattr(send, "__self__", None)
    transport = getattr(protocol, "transport", None)
    if transport is not None:
        transport.abort()
    else:
        log.warning("cannot abort a stuck socket: no transport behind this ASGI server")


def _since(websocket: WebSocket) -> int | None:
    raw = websocket.query_params.get("since_seq")
    return int(raw) if raw and raw.isdigit() else None


async def _flush(conn: Connection, writer: asyncio.Task[None]) -> None:
    """Let the writer send what is queued (an error frame, say) before a close."""
    deadline = asyncio.get_running_loop().time() + FLUSH_BEFORE_CLOSE_SECS
    while not conn.queue.empty() and not writer.done():
        if asyncio.get_running_loop().time() > deadline:
            return
        await asyncio.sleep(0.01)


async def _read_loop(chat: Chat, session: Session) -> None:
    settings = chat.settings
    conn = session.conn
    ws = session.ws
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        if conn.closed:
            return
        raw = message.get("text")
        if raw is None and message.get("bytes") is not None:
            raw = message["bytes"].decode("utf-8", errors="replace")
        if raw is None:
            continue
        if len(raw) > settings.ws_max_frame_bytes:
            raise CloseSocket(CLOSE_TOO_BIG, "frame too large")
        key: int | str = conn.actor.user_id if conn.actor.user_id is not None else conn.id
        bucket = chat.limiter.bucket(key, session.loop.time())
        if not bucket.take(session.loop.time()):
            if bucket.strikes > settings.rate_limit_strikes:
                raise CloseSocket(CLOSE_POLICY, "rate limit exceeded repeatedly")
            await session.send_error("rate_limited", "Slow down: too many frames.")
            continue
        await session.handle(raw)
