"""The replica's local sockets and their live subscriptions.

Every frame a socket receives from the rest of the system arrives on `live.room.<id>`,
`live.user.<id>` or `live.broadcast` — also the frames this replica published itself — so
two replicas behave as one. A subject is subscribed while at least one local socket needs
it. A live frame is decoded to text once and that same string is queued to every socket;
each socket has a bounded queue drained by its own writer task, and a socket whose queue is
full is closed with 1013 instead of being waited on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from services.chat.adapters.metrics import ChatMetrics
from services.chat.domain import Actor
from shared.bus import EventBus, LiveMessage, Subscription
from shared.contracts import (
    LIVE_BROADCAST,
    LIVE_BROADCAST_RECEIPTS,
    LIVE_CONNECTIONS,
    BroadcastReceipt,
    ConnectionActivity,
    ConnectionClosed,
    ConnectionInfo,
    ConnectionOpened,
    ConnectionsHeartbeat,
    ConnectionStatusSet,
    live_room,
    live_user,
)
from shared.contracts.live import FrameHeaders

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001
CLOSE_TRY_AGAIN_LATER = 1013
SendText = Callable[[str], Awaitable[None]]
CloseSocket = Callable[[int, str], Awaitable[None]]
MembersOf = Callable[[int], Awaitable[set[int]]]


@dataclass(slots=True)
class RoomView:
    """One socket's view of one room. While `recovering`, live frames wait in `held` so the
    replay from the database and the live stream join without a gap or a duplicate."""

    recovering: bool = True
    held: list[tuple[int | None, str]] = field(default_factory=list)
    replayed_upto: int = 0


@dataclass(eq=False, slots=True)
class Connection:
    id: str
    actor: Actor
    send: SendText
    close_socket: CloseSocket
    queue: asyncio.Queue[str]
    opened_at: datetime
    last_active_at: datetime
    default_room: int | None = None
    current_room: int | None = None
    rooms: dict[int, RoomView] = field(default_factory=dict)
    closed: bool = False
    last_activity_report: float = 0.0

    def info(self) -> ConnectionInfo:
        return ConnectionInfo(connection_id=self.id, user_id=self.actor.user_id,
                              username=self.actor.username, rooms=list(self.rooms),
                              current_room=self.current_room, opened_at=self.opened_at,
                              last_active_at=self.last_active_at)

    async def write_loop(self) -> None:
        while True:
            text = await self.queue.get()
            await self.send(text)


class ConnectionHub:
    def __init__(self, bus: EventBus, metrics: ChatMetrics, *, replica_id: str,
                 queue_frames: int, heartbeat_secs: float, activity_secs: float,
                 members_of: MembersOf | None = None) -> None:
        self._bus = bus
        self._members_of = members_of
        self._metrics = metrics
        self.replica_id = replica_id
        self.queue_frames = queue_frames
        self._heartbeat_secs = heartbeat_secs
        self._activity_secs = activity_secs
        self._connections: dict[str, Connection] = {}
        self._by_room: dict[int, set[Connection]] = {}
        self._by_user: dict[int, set[Connection]] = {}
        self._subs: dict[str, Subscription] = {}
        self._sub_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._heartbeat: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._subs[LIVE_BROADCAST] = await self._bus.subscribe(LIVE_BROADCAST, self._on_broadcast)
        self._heartbeat = asyncio.create_task(self._heartbeats(), name="connections-heartbeat")

    async def stop(self) -> None:
        """Close every socket with 1001 so clients reconnect to another replica."""
        if self._heartbeat:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        for conn in list(self._connections.values()):
            self.drop(conn, CLOSE_GOING_AWAY, "server shutting down")
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        for sub in list(self._subs.values()):
            await sub.unsubscribe()
        self._subs.clear()

    def new_connection(self, connection_id: str, actor: Actor, send: SendText,
                       close_socket: CloseSocket, now: datetime) -> Connection:
        return Connection(connection_id, actor, send, close_socket,
                          asyncio.Queue(self.queue_frames), now, now)

    @property
    def connections(self) -> list[Connection]:
        return list(self._connections.values())

    async def register(self, conn: Connection) -> None:
        self._connections[conn.id] = conn
        self._metrics.sockets_open.set(len(self._connections))
        self._metrics.sockets_opened.inc()
        await self._track_user(conn)
        await self._publish_connections(ConnectionOpened(replica_id=self.replica_id,
                                                         connection=conn.info()))

    async def authenticated(self, conn: Connection, actor: Actor) -> None:
        """A guest socket sent a valid `auth` frame."""
        conn.actor = actor
        await self._track_user(conn)
        await self._publish_connections(ConnectionOpened(replica_id=self.replica_id,
                                                         connection=conn.info()))

    async def unregister(self, conn: Connection, code: int | None) -> None:
        if self._connections.pop(conn.id, None) is None:
            return
        conn.closed = True
        self._metrics.sockets_open.set(len(self._connections))
        self._metrics.sockets_closed.labels(str(code or 1000)).inc()
        for room_id in list(conn.rooms):
            await self.leave(conn, room_id)
        uid = conn.actor.user_id
        if uid is not None:
            peers = self._by_user.get(uid)
            if peers is not None:
                peers.discard(conn)
                if not peers:
                    del self._by_user[uid]
                    await self._release(live_user(uid))
        await self._publish_connections(ConnectionClosed(
            replica_id=self.replica_id, connection_id=conn.id, user_id=uid,
            closed_at=datetime.now(UTC), code=code))

    async def _track_user(self, conn: Connection) -> None:
        uid = conn.actor.user_id
        if uid is None:
            return
        peers = self._by_user.setdefault(uid, set())
        first = not peers
        peers.add(conn)
        if first:
            await self._acquire(live_user(uid), self._on_user)

    # --- rooms -------------------------------------------------------------------------

    async def join(self, conn: Connection, room_id: int) -> RoomView:
        """Start holding the room's live frames for this socket; call `resume` after replay.

        The subscription is in place (and flushed to the server) before the caller reads
        the database, so nothing committed after that read can slip past both."""
        view = RoomView()
        conn.rooms[room_id] = view
        conn.current_room = room_id
        members = self._by_room.setdefault(room_id, set())
        first = not members
        members.add(conn)
        if first:
            await self._acquire(live_room(room_id), self._on_room)
        return view

    def resume(self, conn: Connection, room_id: int, replayed_upto: int) -> list[str]:
        """End recovery: the held frames the replay did not already cover, in arrival order."""
        view = conn.rooms.get(room_id)
        if view is None:
            return []
        view.recovering = False
        view.replayed_upto = replayed_upto
        held, view.held = view.held, []
        return [text for seq, text in held if seq is None or seq > replayed_upto]

    async def leave(self, conn: Connection, room_id: int) -> None:
        if conn.rooms.pop(room_id, None) is None:
            return
        if conn.current_room == room_id:
            conn.current_room = next(iter(conn.rooms), None)
        members = self._by_room.get(room_id)
        if members is not None:
            members.discard(conn)
            if not members:
                del self._by_room[room_id]
                await self._release(live_room(room_id))

    async def _acquire(self, subject: str, handler: Callable[[LiveMessage], Awaitable[None]]
                       ) -> None:
        async with self._sub_lock:
            if subject not in self._subs:
                self._subs[subject] = await self._bus.subscribe(subject, handler)

    async def _release(self, subject: str) -> None:
        async with self._sub_lock:
            still_needed = (subject.startswith("live.room.") and
                            int(subject.rsplit(".", 1)[1]) in self._by_room) or (
                subject.startswith("live.user.") and
                int(subject.rsplit(".", 1)[1]) in self._by_user)
            sub = None if still_needed else self._subs.pop(subject, None)
        if sub is not None:
            await sub.unsubscribe()

    # --- delivery ----------------------------------------------------------------------

    def offer(self, conn: Connection, text: str) -> None:
        if conn.closed:
            return
        try:
            conn.queue.put_nowait(text)
        except asyncio.QueueFull:
            self._metrics.slow_consumers.inc()
            log.info("closing slow consumer", extra={"fields": {"connection_id": conn.id}})
            self.drop(conn, CLOSE_TRY_AGAIN_LATER, "send queue full; reconnect and recover")

    def drop(self, conn: Connection, code: int, reason: str) -> None:
        """Close a socket from outside its own task, without waiting on it."""
        if conn.closed:
            return
        conn.closed = True
        for members in (self._by_room.get(r) for r in list(conn.rooms)):
            if members is not None:
                members.discard(conn)
        task = asyncio.create_task(self._close(conn, code, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close(self, conn: Connection, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.close_socket(code, reason), timeout=5)

    async def _on_room(self, msg: LiveMessage) -> None:
        room_id = int(msg.subject.rsplit(".", 1)[1])
        members = self._by_room.get(room_id)
        if not members:
            return
        text = msg.data.decode()
        headers = msg.headers
        seq_header = headers.get(FrameHeaders.SEQ)
        seq = int(seq_header) if seq_header else None
        skip_conn = headers.get(FrameHeaders.EXCLUDE_CONNECTION)
        skip_user = headers.get(FrameHeaders.EXCLUDE_USER)
        skip_uid = int(skip_user) if skip_user else None
        delivered = 0
        for conn in list(members):
            if conn.id == skip_conn or (skip_uid is not None and conn.actor.user_id == skip_uid):
                continue
            view = conn.rooms.get(room_id)
            if view is None:
                continue
            if view.recovering:
                view.held.append((seq, text))
                if len(view.held) > self.queue_frames:
                    self.drop(conn, CLOSE_TRY_AGAIN_LATER, "too far behind while recovering")
                continue
            if seq is not None and seq <= view.replayed_upto:
                continue  # already sent by the replay
            self.offer(conn, text)
            delivered += 1
        self._metrics.frames_out.inc(delivered)
        frame_type = headers.get(FrameHeaders.TYPE)
        about = headers.get(FrameHeaders.USER)
        if about and frame_type == "member_left":
            # The removed member's sockets stop receiving the room.
            for conn in list(self._by_user.get(int(about), ())):
                await self.leave(conn, room_id)
        elif frame_type == "room_updated" and self._members_of is not None and \
                orjson.loads(msg.data)["data"].get("is_private"):
            # A room that turned private stops reaching guests and non-members at once.
            members = await self._members_of(room_id)
            for conn in list(self._by_room.get(room_id, ())):
                if conn.actor.user_id not in members:
                    await self.leave(conn, room_id)

    def has_user(self, user_id: int) -> bool:
        return user_id in self._by_user

    def has_rooms(self) -> bool:
        return bool(self._by_room)

    def deliver_local(self, room_ids: list[int], text: str,
                      skip: set[Connection] | None = None) -> set[Connection]:
        """Queue one already-encoded frame to this replica's sockets in these rooms, once per
        socket even when it has joined several of them; returns the sockets reached."""
        targets: set[Connection] = set()
        for room_id in room_ids:
            for conn in self._by_room.get(room_id, ()):
                view = conn.rooms.get(room_id)
                if view is not None and not view.recovering:
                    targets.add(conn)
        if skip:
            targets -= skip
        for conn in targets:
            self.offer(conn, text)
        return targets

    async def _on_user(self, msg: LiveMessage) -> None:
        user_id = int(msg.subject.rsplit(".", 1)[1])
        skip_conn = msg.headers.get(FrameHeaders.EXCLUDE_CONNECTION)
        text = msg.data.decode()
        for conn in list(self._by_user.get(user_id, ())):
            if conn.id != skip_conn:
                self.offer(conn, text)

    async def _on_broadcast(self, msg: LiveMessage) -> None:
        text = msg.data.decode()
        reached = [c for c in self._connections.values() if not c.closed]
        for conn in reached:
            self.offer(conn, text)
        broadcast_id = msg.headers.get(FrameHeaders.BROADCAST_ID)
        if broadcast_id:
            users = sorted({c.actor.user_id for c in reached if c.actor.user_id is not None})
            receipt = BroadcastReceipt(broadcast_id=broadcast_id, replica_id=self.replica_id,
                                       sockets=len(reached), users=len(users), user_ids=users,
                                       at=datetime.now(UTC))
            await self._bus.publish(LIVE_BROADCAST_RECEIPTS, receipt.model_dump_json().encode())

    # --- live.connections --------------------------------------------------------------

    async def activity(self, conn: Connection, now: datetime, loop_time: float) -> None:
        """Report what a person did, at most once per `activity_secs` per socket."""
        conn.last_active_at = now
        if conn.actor.user_id is None:
            return
        if loop_time - conn.last_activity_report < self._activity_secs:
            return
        conn.last_activity_report = loop_time
        await self._publish_connections(ConnectionActivity(
            replica_id=self.replica_id, connection_id=conn.id, user_id=conn.actor.user_id,
            current_room=conn.current_room, at=now))

    async def status(self, conn: Connection, status: str, now: datetime) -> None:
        assert conn.actor.user_id is not None
        await self._publish_connections(ConnectionStatusSet(
            replica_id=self.replica_id, connection_id=conn.id, user_id=conn.actor.user_id,
            status=status, at=now))  # type: ignore[arg-type]

    async def _publish_connections(self, message: object) -> None:
        assert hasattr(message, "model_dump_json")
        await self._bus.publish(LIVE_CONNECTIONS, message.model_dump_json().encode())

    async def _heartbeats(self) -> None:
        while True:
            try:
                await self._publish_connections(ConnectionsHeartbeat(
                    replica_id=self.replica_id, interval_secs=self._heartbeat_secs,
                    connections=[c.info() for c in self._connections.values()],
                    at=datetime.now(UTC)))
            except Exception:
                log.exception("connections heartbeat failed")
            await asyncio.sleep(self._heartbeat_secs)
