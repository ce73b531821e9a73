"""One socket's conversation: parse a client frame, call a use case, reply."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from services.chat import use_cases
from services.chat.adapters import frames
from services.chat.adapters.inbound.actors import actor_of
from services.chat.adapters.inbound.service import ChatService
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
    ViewIn,
)
from services.chat.adapters.inbound.ws_socket import RawWebSocket
from services.chat.adapters.outbound.connection import Connection
from services.chat.domain import Actor, ChatError, Forbidden
from shared.auth import InvalidToken

CLOSE_BAD_TOKEN = 4001
CLOSE_TRY_AGAIN_LATER = 1013
DIRECT_SEND_TIMEOUT_SECS = 5.0
DIRECT_SEND_POLL_SECS = 0.01


class CloseSocket(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Session:
    """The frame handlers of one socket; the read loop calls `handle` one frame at a time."""

    __slots__ = ("chat", "conn", "loop", "ws")

    def __init__(self, chat: ChatService, websocket: RawWebSocket, conn: Connection) -> None:
        self.chat = chat
        self.ws = websocket
        self.conn = conn
        self.loop = asyncio.get_running_loop()

    @property
    def actor(self) -> Actor:
        return self.conn.actor

    async def send_direct(self, payload: bytes) -> None:
        """A frame for this socket only (a reply, the replay). Unlike live frames it waits
        for the peer to read, up to `DIRECT_SEND_TIMEOUT_SECS`, then the socket is closed
        like any slow consumer."""
        if self.conn.closed:
            raise CloseSocket(CLOSE_TRY_AGAIN_LATER, "connection closed")
        limit = self.chat.hub.send_buffer_bytes
        if self.ws.buffered() > limit:
            deadline = self.loop.time() + DIRECT_SEND_TIMEOUT_SECS
            while self.ws.buffered() > limit:
                if self.loop.time() > deadline or self.conn.closed:
                    raise CloseSocket(CLOSE_TRY_AGAIN_LATER, "send buffer full")
                await asyncio.sleep(DIRECT_SEND_POLL_SECS)
        self.ws.write(frames.text_frame(payload))

    async def send_error(self, code: str, message: str, ref: Any = None,
                         extra: dict[str, Any] | None = None) -> None:
        self.chat.metrics.frame_errors.labels(code).inc()
        await self.send_direct(frames.error(code, message, ref, extra))

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
            await self.send_direct(frames.encode("message", frames.message_data(message)))
        await self.send_direct(frames.encode("joined", {
            "room_id": room_id, "last_seq": recovery.last_seq,
            "recovered": recovery.recovered,
            "replayed": len(recovery.messages),
            "room": {"id": recovery.room.id, "name": recovery.room.name,
                     "is_private": recovery.room.is_private, "kind": recovery.room.kind},
            "role": recovery.member.role if recovery.member else None}))
        for payload in hub.resume(self.conn, room_id, recovery.last_seq):
            await self.send_direct(payload)
        present = await use_cases.present_members(self.chat.deps, self.actor, room_id,
                                                  recovery.members)
        await self.send_direct(frames.encode("room_presence",
                                             {"room_id": room_id, "users": present}))
        await self._activity()

    async def _activity(self) -> None:
        await self.chat.hub.reporter.activity(self.conn, datetime.now(UTC), self.loop.time())

    def _room(self, room_id: int | None) -> int:
        room = room_id if room_id is not None else self.conn.default_room
        if room is None:
            raise ChatError("room_required", "Say which room: `room_id` is required here.")
        return room

    # --- frame handlers -----------------------------------------------------------------

    async def on_auth(self, frame: AuthIn) -> None:
        try:
            principal = self.chat.token_verifier.verify(frame.token)
        except InvalidToken as exc:
            raise CloseSocket(CLOSE_BAD_TOKEN, str(exc)) from exc
        if self.actor.user_id is not None:
            if self.actor.user_id != principal.user_id:
                await self.send_error("already_authenticated",
                                      "This socket belongs to another user.", "auth")
            return
        await self.chat.hub.authenticated(self.conn, actor_of(principal), principal.session_id)
        if principal.session_id is not None and principal.session_id in self.chat.revoked:
            raise CloseSocket(CLOSE_BAD_TOKEN, "session revoked")
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
                                              frame.content, frame.client_msg_id,
                                              thread_root_id=frame.thread_root_id,
                                              also_send_to_room=frame.also_send_to_room,
                                              attachment_ids=frame.attachment_ids)
        await self.send_direct(frames.encode("ack", frames.ack_data(posted.message)))
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
        await self.chat.hub.reporter.status(self.conn, frame.status, datetime.now(UTC))

    async def on_view(self, frame: ViewIn) -> None:
        """What this tab has on screen, so nobody is notified of what they are reading and
        everybody is of what they are not."""
        if self.actor.is_guest:
            raise ChatError("not_authenticated", "Guests get no notifications.")
        if frame.room_id is not None and frame.room_id not in self.conn.rooms:
            raise Forbidden("not_joined", "Join the room before viewing it.")
        await self.chat.hub.view(self.conn, frame.room_id if frame.visible else None)
        if frame.visible:
            await self._activity()

    async def on_ping(self, _frame: Any) -> None:
        await self.send_direct(frames.pong(datetime.now(UTC)))

    # --- one frame ----------------------------------------------------------------------

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
        self.chat.metrics.frame_in(frame_type)
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
            await self.send_error(exc.code, exc.message, ref, exc.extra())
