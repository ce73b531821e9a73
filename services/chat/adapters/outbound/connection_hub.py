"""The replica's local sockets, by room and by user, and delivery to them: the fan-out core.

A frame reaches a socket by one of two paths: straight from the use case that made it on
this replica (local delivery), or from NATS, which carries frames between replicas. The NATS
connection does not echo a replica's own publishes back to it, so no frame takes both paths.
A subject is subscribed while at least one local socket needs it (`live_subscriptions`).

Delivery is one encoded WebSocket frame written to each socket's transport: server frames
are unmasked, so the same bytes serve every recipient, and a socket needs no queue or task
of its own (the transport buffers what the peer has not read yet). A socket whose buffer
grows past `send_buffer_bytes` is a slow consumer: it is closed with 1013, never waited on.

Per room, `message` frames reach sockets in `seq` order, once (`room_feed.RoomFeed`; a gap
that does not fill is read from the database by `gap_fill`). Around this core, in their own
modules: the subscriptions, the broadcast receipts (`broadcast_receipts`), the reports
(`connections_report`, `viewing_report`) and the closing of revoked sessions
(`session_revocations`).

Longer than 300 lines: registering, joining, leaving and delivering all read and change the
same maps of sockets by room and by user, and the per-frame path stays one call deep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

from services.chat.adapters.frames import text_frame
from services.chat.adapters.metrics import ChatMetrics
from services.chat.adapters.outbound.broadcast_receipts import BroadcastReceipts
from services.chat.adapters.outbound.connection import Connection, RoomView
from services.chat.adapters.outbound.connections_report import ConnectionsReporter
from services.chat.adapters.outbound.gap_fill import GapFiller
from services.chat.adapters.outbound.live_subscriptions import LiveSubscriptions
from services.chat.adapters.outbound.room_feed import MissedFrames, RoomFeed, Routing
from services.chat.adapters.outbound.viewing_report import ViewingReporter
from services.chat.domain import Actor
from shared.bus import EventBus, LiveMessage
from shared.contracts import (
    LIVE_BROADCAST,
    live_room,
    live_user,
)
from shared.contracts.live import FrameHeaders, split_batch

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001
CLOSE_TRY_AGAIN_LATER = 1013
MembersOf = Callable[[int], Awaitable[set[int]]]


class ConnectionHub:
    def __init__(self, bus: EventBus, metrics: ChatMetrics, *, replica_id: str,
                 queue_frames: int, send_buffer_bytes: int, reporter: ConnectionsReporter,
                 members_of: MembersOf | None = None,
                 missed_frames: MissedFrames | None = None,
                 viewing: ViewingReporter | None = None) -> None:
        self._members_of = members_of
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
        self._live = LiveSubscriptions(bus, self._needed)
        self._broadcasts = BroadcastReceipts(bus, self.deliver_everyone, replica_id=replica_id)
        self._tasks: set[asyncio.Task[None]] = set()
        self._gaps = GapFiller(missed_frames, metrics, self._feeds, self._tasks)

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        await self._live.acquire(LIVE_BROADCAST, self._broadcasts.on_broadcast, flush=True)
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
        await self._live.close()

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
                    await self._live.release(live_user(uid))
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
            await self._live.acquire(live_user(uid), self._on_user, flush=False)

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
            feed = self._feeds[room_id] = RoomFeed(room_id, self._fan_out, self._gaps.start)
        first = not feed.sockets
        feed.sockets.add(conn)
        if first:
            await self._live.acquire(live_room(room_id), self._on_room, flush=True)
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
                await self._live.release(live_room(room_id))

    async def view(self, conn: Connection, room_id: int | None) -> None:
        """The joined room this socket shows in a visible tab now (None: none)."""
        conn.viewing = room_id if room_id in conn.rooms else None
        if conn.actor.user_id is not None:
            await self._viewing_changed(conn.actor.user_id)

    async def _viewing_changed(self, user_id: int) -> None:
        await self.viewing.sockets_changed(user_id, self._by_user.get(user_id, ()))

    def _needed(self, subject: str) -> bool:
        """Whether a local socket still needs a live subject (asked under the lock)."""
        kind, _, key = subject.rpartition(".")
        return (kind == "live.room" and int(key) in self._feeds) or (
            kind == "live.user" and int(key) in self._by_user)

    # --- delivery ----------------------------------------------------------------------

    def offer(self, conn: Connection, wire: bytes) -> None:
        """Hand one encoded frame to a socket, or close it if it stopped reading."""
        if conn.closed:
            return
        if conn.sink.buffered() > self.send_buffer_bytes:
            self._metrics.slow_consumers_closed.inc()
            log.info("closing slow consumer", extra={"fields": {"connection_id": conn.id}})
            self.drop(conn, CLOSE_TRY_AGAIN_LATER, "send buffer full; reconnect and recover")
            return
        conn.sink.write(wire)

    def sockets_of(self, user_id: int) -> list[Connection]:
        return list(self._by_user.get(user_id, ()))

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
        elif routing.members_only and self._members_of is not None:
            # A room that turned private stops reaching guests and non-members at once.
            members = await self._members_of(room_id)
            current = self._feeds.get(room_id)
            for conn in list(current.sockets if current is not None else ()):
                if conn.actor.user_id not in members:
                    await self.leave(conn, room_id)

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
            self._metrics.frames_delivered.inc(delivered)

    async def _on_room(self, msg: LiveMessage) -> None:
        room_id = int(msg.subject.rpartition(".")[2])
        # One frame, or several in one message (a batch of posts): the codec splits them.
        for routing, payload in split_batch(msg.headers, msg.data):
            await self.deliver_room(room_id, payload, routing)

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
