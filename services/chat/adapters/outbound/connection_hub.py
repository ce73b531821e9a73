"""The replica's local sockets, their live subscriptions, and delivery to them.

A frame reaches a socket by one of two paths: straight from the use case that made it on
this replica (local delivery), or from NATS, which carries frames between replicas. The NATS
connection does not echo a replica's own publishes back to it, so no frame takes both paths.
A subject is subscribed while at least one local socket needs it.

Delivery is one encoded WebSocket frame written to each socket's transport: server frames
are unmasked, so the same bytes serve every recipient, and a socket needs no queue or task
of its own (the transport buffers what the peer has not read yet). A socket whose buffer
grows past `send_buffer_bytes` is a slow consumer: it is closed with 1013, never waited on.

Per room, `message` frames reach sockets in `seq` order, once (`room_feed.RoomFeed`; this
hub reads a gap that does not fill from the database). What stays in this module, the
subscriptions, the delivery and the broadcast receipts, all work on the same maps of
sockets by room and by user.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

import orjson

from services.chat.adapters.frames import text_frame
from services.chat.adapters.metrics import ChatMetrics
from services.chat.adapters.outbound.connection import Connection, RoomView
from services.chat.adapters.outbound.connections_report import ConnectionsReporter
from services.chat.adapters.outbound.room_feed import MissedFrames, RoomFeed, Routing
from services.chat.adapters.outbound.viewing_report import ViewingReporter
from services.chat.domain import Actor
from shared.bus import EventBus, LiveMessage, Subscription
from shared.contracts import (
    LIVE_BROADCAST,
    LIVE_BROADCAST_RECEIPTS,
    BroadcastReceipt,
    live_room,
    live_user,
)
from shared.contracts.live import FrameHeaders

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001
CLOSE_SESSION_REVOKED = 4001
CLOSE_TRY_AGAIN_LATER = 1013
MembersOf = Callable[[int], Awaitable[set[int]]]


class ConnectionHub:
    def __init__(self, bus: EventBus, metrics: ChatMetrics, *, replica_id: str,
                 queue_frames: int, send_buffer_bytes: int, reporter: ConnectionsReporter,
                 members_of: MembersOf | None = None,
                 missed_frames: MissedFrames | None = None,
                 viewing: ViewingReporter | None = None) -> None:
        self._bus = bus
        self._members_of = members_of
        self._missed_frames = missed_frames
        self._metrics = metrics
        self.replica_id = replica_id
        self.queue_frames = queue_frames
        self.send_buffer_bytes = send_buffer_bytes
        self.reporter = reporter
        self.viewing = viewing or ViewingReporter(bus, replica_id=replica_id,
                                                  heartbeat_secs=10.0)
        self._connections: dict[str, Connection] = {}
        self._feeds: dict[int, RoomFeed[Connection]] = {}
        self._by_user: dict[int, set[Connection]] = {}
        self._subs: dict[str, Subscription] = {}
        self._sub_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._subs[LIVE_BROADCAST] = await self._bus.subscribe(LIVE_BROADCAST, self._on_broadcast)
        self.reporter.start(self._connections)
        self.viewing.start()

    async def stop(self) -> None:
        """Close every socket with 1001 so clients reconnect to another replica."""
        await self.reporter.stop()
        await self.viewing.stop()
        for conn in list(self._connections.values()):
            self.drop(conn, CLOSE_GOING_AWAY, "server shutting down")
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        for feed in self._feeds.values():
            feed.close()
        for sub in list(self._subs.values()):
            await sub.unsubscribe()
        self._subs.clear()

    @property
    def connections(self) -> list[Connection]:
        return list(self._connections.values())

    @property
    def socket_count(self) -> int:
        return len(self._connections)

    async def register(self, conn: Connection) -> None:
        # The `opened` report is the socket's first activity: the next one is due later.
        conn.last_activity_report = asyncio.get_running_loop().time()
        self._connections[conn.id] = conn
        self._metrics.sockets_open.set(len(self._connections))
        self._metrics.sockets_opened.inc()
        await self._track_user(conn)
        await self.reporter.opened(conn)

    async def authenticated(self, conn: Connection, actor: Actor,
                            session_id: str | None = None) -> None:
        """A guest socket sent a valid `auth` frame."""
        conn.actor = actor
        conn.session_id = session_id
        conn.info_cache = None
        await self._track_user(conn)
        await self.reporter.opened(conn)

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
            await self._viewing_changed(uid)
        await self.reporter.closed(conn, code)

    async def _track_user(self, conn: Connection) -> None:
        uid = conn.actor.user_id
        if uid is None:
            return
        peers = self._by_user.setdefault(uid, set())
        first = not peers
        peers.add(conn)
        if first:
            # No flush: a user subject carries nothing a socket must recover.
            await self._acquire(live_user(uid), self._on_user, flush=False)

    # --- rooms -------------------------------------------------------------------------

    async def join(self, conn: Connection, room_id: int) -> RoomView:
        """Start holding the room's live frames for this socket; call `resume` after replay.

        The subscription is in place (and flushed to the server) before the caller reads
        the database, so nothing committed after that read can slip past both."""
        view = RoomView()
        conn.rooms[room_id] = view
        conn.current_room = room_id
        conn.info_cache = None
        feed = self._feeds.get(room_id)
        if feed is None:
            feed = self._feeds[room_id] = RoomFeed(room_id, self._fan_out, self._start_fill)
        first = not feed.sockets
        feed.sockets.add(conn)
        if first:
            await self._acquire(live_room(room_id), self._on_room, flush=True)
        return view

    def resume(self, conn: Connection, room_id: int, replayed_upto: int) -> list[bytes]:
        """End recovery: the held frames the replay did not already cover, in arrival order."""
        view = conn.rooms.get(room_id)
        if view is None:
            return []
        feed = self._feeds.get(room_id)
        if feed is not None:
            # The first read of the room on this replica: everything up to here was replayed.
            # What waited for that is released while this socket still holds, so it follows
            # the frames held before it.
            feed.start_at(replayed_upto)
        view.recovering = False
        view.replayed_upto = replayed_upto
        held, view.held = view.held, []
        return [payload for seq, payload in held if seq is None or seq > replayed_upto]

    async def leave(self, conn: Connection, room_id: int) -> None:
        if conn.rooms.pop(room_id, None) is None:
            return
        conn.info_cache = None
        if conn.current_room == room_id:
            conn.current_room = next(iter(conn.rooms), None)
        if conn.viewing == room_id:
            conn.viewing = None  # a room left is not on screen any more
            if conn.actor.user_id is not None:
                await self._viewing_changed(conn.actor.user_id)
        feed = self._feeds.get(room_id)
        if feed is not None:
            feed.sockets.discard(conn)
            if not feed.sockets:
                feed.close()
                del self._feeds[room_id]
                await self._release(live_room(room_id))

    async def view(self, conn: Connection, room_id: int | None) -> None:
        """The joined room this socket shows in a visible tab now (None: none)."""
        conn.viewing = room_id if room_id in conn.rooms else None
        if conn.actor.user_id is not None:
            await self._viewing_changed(conn.actor.user_id)

    async def _viewing_changed(self, user_id: int) -> None:
        """Each tab counts: the user views every room one of their sockets here shows."""
        rooms = frozenset(c.viewing for c in self._by_user.get(user_id, ())
                          if c.viewing is not None and not c.closed)
        await self.viewing.update(user_id, rooms)

    async def _acquire(self, subject: str, handler: Callable[[LiveMessage], Awaitable[None]],
                       *, flush: bool) -> None:
        async with self._sub_lock:
            if subject not in self._subs:
                self._subs[subject] = await self._bus.subscribe(subject, handler, flush=flush)

    async def _release(self, subject: str) -> None:
        async with self._sub_lock:
            kind, _, key = subject.rpartition(".")
            still_needed = (kind == "live.room" and int(key) in self._feeds) or (
                kind == "live.user" and int(key) in self._by_user)
            sub = None if still_needed else self._subs.pop(subject, None)
        if sub is not None:
            await sub.unsubscribe()

    # --- delivery ----------------------------------------------------------------------

    def offer(self, conn: Connection, wire: bytes) -> None:
        """Hand one encoded frame to a socket, or close it if it stopped reading."""
        if conn.closed:
            return
        if conn.sink.buffered() > self.send_buffer_bytes:
            self._metrics.slow_consumers.inc()
            log.info("closing slow consumer", extra={"fields": {"connection_id": conn.id}})
            self.drop(conn, CLOSE_TRY_AGAIN_LATER, "send buffer full; reconnect and recover")
            return
        conn.sink.write(wire)

    def close_session(self, user_id: int, session_id: str) -> None:
        """Close this replica's sockets of a revoked session (the user's others stay)."""
        for conn in list(self._by_user.get(user_id, ())):
            if conn.session_id == session_id:
                self.drop(conn, CLOSE_SESSION_REVOKED, "session revoked")

    def drop(self, conn: Connection, code: int, reason: str) -> None:
        """Close a socket from outside its own task, without waiting on it."""
        if conn.closed:
            return
        conn.closed = True
        conn.close_code = code
        for room_id in list(conn.rooms):
            feed = self._feeds.get(room_id)
            if feed is not None:
                feed.sockets.discard(conn)
        task = asyncio.create_task(self._close(conn, code, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close(self, conn: Connection, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.sink.close(code, reason), timeout=5)

    async def deliver_room(self, room_id: int, payload: bytes, routing: Routing) -> None:
        """A frame for the room's sockets on this replica, in `seq` order when it has one."""
        feed = self._feeds.get(room_id)
        if feed is None:
            return
        feed.offer(payload, routing)
        if routing.frame_type == "member_left" and routing.about_user is not None:
            # The removed member's sockets stop receiving the room.
            for conn in list(self._by_user.get(routing.about_user, ())):
                await self.leave(conn, room_id)
        elif routing.frame_type == "room_updated" and self._members_of is not None and \
                orjson.loads(payload)["data"].get("is_private"):
            # A room that turned private stops reaching guests and non-members at once.
            members = await self._members_of(room_id)
            current = self._feeds.get(room_id)
            for conn in list(current.sockets if current is not None else ()):
                if conn.actor.user_id not in members:
                    await self.leave(conn, room_id)

    def _start_fill(self, feed: RoomFeed[Connection]) -> None:
        gap = feed.waiting_for()
        if self._feeds.get(feed.room_id) is not feed or gap is None:
            return
        feed.filling()
        task = asyncio.create_task(self._fill_gap(feed, *gap))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fill_gap(self, feed: RoomFeed[Connection], after: int, before: int) -> None:
        missed: list[tuple[int, bytes]] = []
        try:
            if self._missed_frames is not None:
                missed = await self._missed_frames(feed.room_id, after, before)
        except Exception:
            log.exception("could not read missed messages",
                          extra={"fields": {"room_id": feed.room_id}})
        finally:
            self._metrics.gaps_filled.inc()
            if self._feeds.get(feed.room_id) is feed:
                feed.fill(missed, before)

    def _fan_out(self, feed: RoomFeed[Connection], payload: bytes, routing: Routing) -> None:
        wire: bytes | None = None
        delivered = 0
        seq = routing.seq
        skip_conn, skip_uid = routing.skip_connection, routing.skip_user
        for conn in list(feed.sockets):
            if conn.id == skip_conn or (skip_uid is not None and conn.actor.user_id == skip_uid):
                continue
            view = conn.rooms.get(feed.room_id)
            if view is None:
                continue
            if view.recovering:
                view.held.append((seq, payload))
                if len(view.held) > self.queue_frames:
                    self.drop(conn, CLOSE_TRY_AGAIN_LATER, "too far behind while recovering")
                continue
            if seq is not None and seq <= view.replayed_upto:
                continue  # already sent by the replay
            if wire is None:
                wire = text_frame(payload)
            self.offer(conn, wire)
            delivered += 1
        if delivered:
            self._metrics.frames_out.inc(delivered)

    async def _on_room(self, msg: LiveMessage) -> None:
        room_id = int(msg.subject.rpartition(".")[2])
        listed = msg.headers.get(FrameHeaders.FRAMES)
        if listed is None:
            await self.deliver_room(room_id, msg.data, Routing.from_headers(dict(msg.headers)))
            return
        # Several frames in one message: `type[:seq]` per frame, one frame per line.
        for entry, payload in zip(listed.split(","), msg.data.split(b"\n"), strict=True):
            frame_type, _, seq = entry.partition(":")
            await self.deliver_room(room_id, payload,
                                    Routing(frame_type, int(seq) if seq else None))

    def has_user(self, user_id: int) -> bool:
        return user_id in self._by_user

    def has_rooms(self) -> bool:
        return bool(self._feeds)

    def deliver_local(self, room_ids: Iterable[int], payload: bytes,
                      skip: set[Connection] | None = None) -> set[Connection]:
        """Queue one already-encoded frame to this replica's sockets in these rooms, once per
        socket even when it has joined several of them; returns the sockets reached."""
        targets: set[Connection] = set()
        for room_id in room_ids:
            feed = self._feeds.get(room_id)
            if feed is None:
                continue
            for conn in feed.sockets:
                view = conn.rooms.get(room_id)
                if view is not None and not view.recovering:
                    targets.add(conn)
        if skip:
            targets -= skip
        if targets:
            wire = text_frame(payload)
            for conn in targets:
                self.offer(conn, wire)
        return targets

    def deliver_user(self, user_id: int, payload: bytes, skip_connection: str | None) -> None:
        peers = self._by_user.get(user_id)
        if not peers:
            return
        wire = text_frame(payload)
        for conn in list(peers):
            if conn.id != skip_connection:
                self.offer(conn, wire)

    def deliver_everyone(self, payload: bytes) -> list[Connection]:
        reached = [c for c in self._connections.values() if not c.closed]
        if reached:
            wire = text_frame(payload)
            for conn in reached:
                self.offer(conn, wire)
        return reached

    async def _on_user(self, msg: LiveMessage) -> None:
        user_id = int(msg.subject.rpartition(".")[2])
        self.deliver_user(user_id, msg.data, msg.headers.get(FrameHeaders.EXCLUDE_CONNECTION))

    async def _on_broadcast(self, msg: LiveMessage) -> None:
        reached = self.deliver_everyone(msg.data)
        broadcast_id = msg.headers.get(FrameHeaders.BROADCAST_ID)
        if broadcast_id:
            users = sorted({c.actor.user_id for c in reached if c.actor.user_id is not None})
            receipt = BroadcastReceipt(broadcast_id=broadcast_id, replica_id=self.replica_id,
                                       sockets=len(reached), users=len(users), user_ids=users,
                                       at=datetime.now(UTC))
            await self._bus.publish(LIVE_BROADCAST_RECEIPTS, receipt.model_dump_json().encode())
