"""The WebSocket endpoints `/ws` and `/ws/chat/{room_id}`: admission, the read loop, closing.

They are served at the ASGI level (`ChatWebSockets`, called by the app before FastAPI's
router): a socket lives for hours, and what it keeps alive while idle is what a replica's
memory per socket is made of.
"""

from __future__ import annotations

import contextlib
import logging
import re
import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

from services.chat.adapters.inbound.actors import actor_of
from services.chat.adapters.inbound.service import ChatService
from services.chat.adapters.inbound.ws_session import CloseSocket, Session
from services.chat.adapters.inbound.ws_socket import Disconnected, RawWebSocket, Receive, Send
from services.chat.adapters.outbound.connection import Connection
from services.chat.domain import ChatError, NotFound
from shared.auth import InvalidToken, Principal
from shared.auth.tokens import SESSION_COOKIE
from shared.contracts.bounds import fits_seq

log = logging.getLogger(__name__)

CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_RESTARTING = 1012
CLOSE_BAD_TOKEN = 4001
CLOSE_FORBIDDEN_ROOM = 4003
CLOSE_NO_ROOM = 4004
_ROOM_PATH = re.compile(r"/ws/chat/(\d{1,18})")


def origin_allowed(websocket: RawWebSocket, allowed: list[str]) -> bool:
    """CORS does not cover WebSockets: a browser page from another site must be refused here.
    No Origin at all means a non-browser client, which cookies cannot be stolen through."""
    origin = websocket.header(b"origin")
    if origin is None:
        return True
    if origin in allowed or "*" in allowed:
        return True
    host = websocket.header(b"host") or ""
    return urlsplit(origin).netloc.lower() == host.lower()


def handshake_token(websocket: RawWebSocket) -> str | None:
    """Cookie first (browsers), then `?token=` (kept for the exercise's client; never logged)."""
    return websocket.cookie(SESSION_COOKIE) or websocket.query("token")


class ChatWebSockets:
    """The ASGI callable for the chat's WebSocket paths; other paths get a refused handshake
    (403), as FastAPI's router would answer."""

    def __init__(self, chat: ChatService) -> None:
        self.chat = chat

    async def __call__(self, scope: dict[str, object], receive: Receive, send: Send) -> None:
        websocket = RawWebSocket(scope, receive, send)
        path = websocket.path
        if path == "/ws":
            await serve_socket(self.chat, websocket, None)
            return
        match = _ROOM_PATH.fullmatch(path)
        if match is not None:
            await serve_socket(self.chat, websocket, int(match.group(1)))
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1000})


def _since(websocket: RawWebSocket) -> int | None:
    """`?since_seq=` of the handshake; anything but a seq (`²`, 2^63) is no since_seq at all."""
    raw = websocket.query("since_seq")
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if fits_seq(value) else None


def _close_code_for(exc: ChatError) -> int:
    return CLOSE_NO_ROOM if isinstance(exc, NotFound) else CLOSE_FORBIDDEN_ROOM


async def _refuse(websocket: RawWebSocket, code: int, reason: str) -> None:
    """Accept, then close at once: the client sees a close code, not an HTTP error."""
    with contextlib.suppress(Disconnected):
        await websocket.accept()
        await websocket.close(code, reason)


async def serve_socket(chat: ChatService, websocket: RawWebSocket, room_id: int | None) -> None:
    settings = chat.settings
    if not origin_allowed(websocket, settings.allowed_origins):
        await _refuse(websocket, CLOSE_POLICY, "origin not allowed")
        return
    principal: Principal | None = None
    token = handshake_token(websocket)
    if token:
        try:
            principal = chat.token_verifier.verify(token)
        except InvalidToken as exc:
            await _refuse(websocket, CLOSE_BAD_TOKEN, str(exc))
            return
    if not chat.accepting:
        await _refuse(websocket, CLOSE_RESTARTING, "restarting")
        return
    try:
        await websocket.accept()
    except Disconnected:
        return
    since_seq = _since(websocket)
    websocket.forget_handshake()
    now = datetime.now(UTC)
    conn = Connection(str(uuid.uuid4()), actor_of(principal), websocket, now, now,
                      default_room=room_id,
                      # Known before the join: the `opened` report already says which room
                      # this socket shows, so presence (and notifications' "looking at this
                      # room") know it from the first event.
                      current_room=room_id,
                      session_id=principal.session_id if principal else None)
    session = Session(chat, websocket, conn)
    close_code: int | None = 1000
    await chat.hub.register(conn)
    try:
        if conn.session_id is not None and conn.session_id in chat.revoked:
            # Revoked between the check above and `register`, which would have closed it.
            raise CloseSocket(CLOSE_BAD_TOKEN, "session revoked")
        await session.hello()
        if room_id is not None:
            try:
                await session.join(room_id, since_seq)
            except ChatError as exc:
                raise CloseSocket(_close_code_for(exc), exc.message) from exc
        await _read_loop(chat, session)
    except CloseSocket as exc:
        close_code = exc.code
        # What was written before (an error frame, say) is already in the transport, ahead
        # of the close frame.
        await websocket.close(exc.code, exc.reason)
    except Disconnected as exc:
        close_code = exc.code
    except Exception:
        log.exception("socket handler failed", extra={"fields": {"connection_id": conn.id}})
        close_code = 1011
        with contextlib.suppress(Exception):
            await websocket.close(1011, "internal error")
    finally:
        # A socket the hub closed (slow consumer, shutdown) ends here as a disconnect; the
        # code the server chose is the one to report.
        await chat.hub.unregister(conn, conn.close_code or close_code)
        uid = conn.actor.user_id
        if uid is None:
            chat.limiter.forget(conn.id)
        elif not chat.hub.has_user(uid):
            chat.limiter.forget(uid)


async def _read_loop(chat: ChatService, session: Session) -> None:
    settings = chat.settings
    conn = session.conn
    ws = session.ws
    limiter = chat.limiter
    loop = session.loop
    while True:
        raw = await ws.receive_text()
        if conn.closed:
            return
        if raw is None:
            continue
        if len(raw) > settings.ws_max_frame_bytes:
            raise CloseSocket(CLOSE_TOO_BIG, "frame too large")
        key: int | str = conn.actor.user_id if conn.actor.user_id is not None else conn.id
        now = loop.time()
        bucket = limiter.bucket(key, now)
        if not bucket.take(now):
            if bucket.strikes > settings.rate_limit_strikes:
                raise CloseSocket(CLOSE_POLICY, "rate limit exceeded repeatedly")
            await session.send_error("rate_limited", "Slow down: too many frames.")
            continue
        await session.handle(raw)
