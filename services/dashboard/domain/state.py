"""Everything the dashboard shows, in memory, and what changed since clients were last told.

Changes only mark what is dirty; `drain_changes` hands the marks over at once, so a burst of
a thousand messages makes one `message_stats` delta, not a thousand. The JSON clients see
(the snapshot, `/stats`, each delta, with absolute values so a client that missed or
repeated one still ends up right) is the adapters' (`adapters/views.py`), not the domain's.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from services.dashboard.domain.broadcasts import Broadcast, Receipt
from services.dashboard.domain.counters import (
    MinuteCounters,
    day_start,
    minute_of,
)
from services.dashboard.domain.facts import (
    BROADCAST_INBOXES,
    BROADCAST_READS,
    MESSAGES,
    NOTIFICATIONS,
    REGISTRATIONS,
    SUPPRESSED,
    BroadcastAnnounced,
    CountRow,
    Fact,
    MessagePosted,
    PresenceSet,
    RoomNamed,
    RoomRecord,
    UserRecord,
    UserSignedUp,
    counted,
)
from services.dashboard.domain.health import Health, Instance
from services.dashboard.domain.slow_consumers import SlowConsumerCloses
from services.dashboard.domain.sockets import LiveSockets, Socket
from services.dashboard.domain.storage import StorageChanged, StorageRow, StorageTotals

RECENT_BROADCASTS = 20
# Folded facts kept so a stream resumed from another instance's event id gets exactly what
# it missed (`changes_since`).
FACT_LOG_SIZE = 10_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class Changes:
    """What changed since the last drain; the feed renders each kind as one delta."""

    room_news: dict[int, int] = field(default_factory=dict)  # room -> messages since last
    minutes: dict[int, set[datetime]] = field(default_factory=dict)  # room -> minutes touched
    last_activity: datetime | None = None
    slid: bool = False  # the minute turned: windows moved without any event
    presence: dict[int, PresenceSet] = field(default_factory=dict)
    forgotten: list[Instance] = field(default_factory=list)
    connections: bool = False
    users: bool = False
    notifications: bool = False
    broadcasts: set[str] = field(default_factory=set)
    storage: bool = False
    # Instances whose health changed (filled by `drain_changes`).
    instances: list[Instance] = field(default_factory=list)

    @property
    def messages(self) -> bool:
        return bool(self.room_news or self.minutes or self.slid)

    def __bool__(self) -> bool:
        return bool(self.messages or self.presence or self.forgotten or self.connections
                    or self.users or self.notifications or self.broadcasts or self.instances
                    or self.storage)


class DashboardState:
    def __init__(self, *, started_at: datetime, stale_factor: float,
                 chat_heartbeat_secs: float, fact_log_size: int = FACT_LOG_SIZE) -> None:
        self.started_at = started_at
        # The EVENTS stream sequence folded last: every instance at the same position has
        # the same durable numbers, so it is the part of an event id they all understand.
        self.position = 0
        self._log: deque[tuple[int, Fact, list[tuple[str, str, datetime]], bool]] = deque(
            maxlen=fact_log_size)
        self._log_floor = 0  # positions from here on are all in the log
        self.counters = MinuteCounters()
        self.sockets = LiveSockets(default_interval_secs=chat_heartbeat_secs,
                                   stale_factor=stale_factor)
        self.slow_closes = SlowConsumerCloses()
        self.health = Health(stale_factor)
        self.users: dict[int, UserRecord] = {}
        self.rooms: dict[int, RoomRecord] = {}
        self.broadcasts: dict[str, Broadcast] = {}
        self.storage = StorageTotals()
        self._dirty = Changes()
        self._minute: datetime | None = None

    # --- loading what the database kept ----------------------------------------------------

    def restore(self, *, counts: list[CountRow], users: list[UserRecord],
                rooms: list[RoomRecord], instances: list[Instance],
                broadcasts: list[Broadcast], now: datetime,
                storage: list[StorageRow] | None = None) -> None:
        self.storage.restore(storage or [])
        for row in counts:
            self.counters.add(row.kind, row.key, row.minute, row.count)
        self.users.update((u.user_id, u) for u in users)
        self.rooms.update((r.room_id, r) for r in rooms)
        for instance in instances:
            self.health.restore(instance)
        for b in sorted(broadcasts, key=lambda b: b.sent_at)[-RECENT_BROADCASTS:]:
            self.broadcasts[b.broadcast_id] = b
        self._minute = minute_of(now)

    def restore_position(self, position: int) -> None:
        self.position = self._log_floor = position

    # --- durable events ----------------------------------------------------------------------

    def rows_for(self, fact: Fact, now: datetime) -> list[tuple[str, str, datetime]]:
        """The counter minutes a fact adds to: inside the 24 h window, never in the future
        (a skewed producer clock counts as now)."""
        first = day_start(now)
        rows = []
        for kind, key, at in counted(fact):
            minute = minute_of(min(at, now))
            if minute >= first:
                rows.append((kind, key, minute))
        return rows

    def folded(self, seq: int | None) -> None:
        """Stream message `seq` is folded (it may have changed nothing)."""
        if seq is not None:
            self.position = seq

    def apply(self, fact: Fact, rows: list[tuple[str, str, datetime]],
              user: UserRecord | None, seq: int | None = None) -> None:
        """Apply a fact already written to the database (`rows` from `rows_for`, `user` from
        `merged_user`), folded from stream message `seq`."""
        for kind, key, minute in rows:
            self.counters.add(kind, key, minute)
        if isinstance(fact, RoomNamed):
            self.rooms[fact.room_id] = RoomRecord(fact.room_id, fact.name, fact.is_private)
        if isinstance(fact, StorageChanged):
            self.storage.set(self.storage.after(fact))
        new_user = user is not None and user.user_id not in self.users
        if user is not None:
            self.users[user.user_id] = user
        self._mark(self._dirty, fact, rows, user is not None, new_user)
        if seq is not None:
            if len(self._log) == self._log.maxlen:
                self._log_floor = self._log[0][0]
            self._log.append((seq, fact, rows, user is not None))
            self.position = seq

    def _mark(self, dirty: Changes, fact: Fact, rows: list[tuple[str, str, datetime]],
              user: bool, new_user: bool) -> None:
        for kind, key, minute in rows:
            if kind == MESSAGES:
                room_id = int(key)
                dirty.room_news[room_id] = dirty.room_news.get(room_id, 0) + 1
                dirty.minutes.setdefault(room_id, set()).add(minute)
            elif kind == REGISTRATIONS:
                dirty.users = True
            elif kind in (NOTIFICATIONS, SUPPRESSED):
                dirty.notifications = True
            elif kind in (BROADCAST_INBOXES, BROADCAST_READS) and key in self.broadcasts:
                dirty.broadcasts.add(key)
        if isinstance(fact, MessagePosted) and rows:
            last = dirty.last_activity
            dirty.last_activity = fact.at if last is None else max(last, fact.at)
        if isinstance(fact, RoomNamed):
            # Names appear in the top rooms and in rooms with people.
            if self.counters.window(MESSAGES, str(fact.room_id), EPOCH):
                dirty.slid = True
            if self.sockets.has_room(fact.room_id):
                dirty.connections = True
        if isinstance(fact, StorageChanged):
            dirty.storage = True
        if isinstance(fact, BroadcastAnnounced) and fact.broadcast_id in self.broadcasts:
            dirty.broadcasts.add(fact.broadcast_id)
        if new_user:
            dirty.users = True
        if user and isinstance(fact, PresenceSet):
            dirty.presence[fact.user_id] = fact

    def changes_since(self, seq: int) -> Changes | None:
        """What a client that saw everything up to stream message `seq` (on any instance)
        has not been told: the facts folded after it, and, as they are now, the live
        aggregates no stream orders (sockets, health) and the absolute user and
        notification numbers (always, so the feed can count on them being sent). None when
        the log no longer reaches back that far, or `seq` is ahead of this instance."""
        if seq < self._log_floor or seq > self.position:
            return None
        changes = Changes(connections=True, users=True, notifications=True,
                          instances=list(self.health.instances.values()))
        for logged_seq, fact, rows, user in self._log:
            if logged_seq > seq:
                self._mark(changes, fact, rows, user, isinstance(fact, UserSignedUp))
        return changes

    # --- live reports ------------------------------------------------------------------------

    def connection_opened(self, replica_id: str, connection_id: str, user_id: int | None,
                          rooms: list[int], now: datetime) -> None:
        self.sockets.opened(replica_id, connection_id, user_id, rooms, now)
        self._dirty.connections = True

    def connection_closed(self, replica_id: str, connection_id: str, now: datetime, *,
                          slow_consumer: bool = False) -> None:
        self.sockets.closed(replica_id, connection_id, now)
        if slow_consumer:
            self.slow_closes.add(replica_id, now)
        self._dirty.connections = True

    def connection_active(self, replica_id: str, connection_id: str, room_id: int | None,
                          now: datetime) -> None:
        if self.sockets.active(replica_id, connection_id, room_id, now):
            self._dirty.connections = True

    def connections_heartbeat(self, replica_id: str, interval_secs: float,
                              sockets: dict[str, Socket], now: datetime) -> None:
        new_replica = replica_id not in self.sockets.replicas
        if self.sockets.heartbeat(replica_id, interval_secs, sockets, now) or new_replica:
            self._dirty.connections = True

    def service_beat(self, instance: Instance) -> bool:
        """True when the beat is worth persisting at once (new instance, version, readiness)."""
        return self.health.beat(instance)

    def forget_instances(self, now: datetime, *, replaced_secs: float,
                         max_age_secs: float) -> list[Instance]:
        gone = self.health.forget(now, replaced_secs=replaced_secs, max_age_secs=max_age_secs)
        self._dirty.forgotten.extend(gone)
        return gone

    def chat_replicas(self, now: datetime) -> set[str]:
        """Chat replicas alive now, by their socket reports or their service heartbeats."""
        return self.sockets.fresh_replicas(now) | self.health.fresh("chat", now)

    # --- broadcasts ----------------------------------------------------------------------

    def add_broadcast(self, b: Broadcast) -> None:
        self.broadcasts[b.broadcast_id] = b
        while len(self.broadcasts) > RECENT_BROADCASTS:
            del self.broadcasts[next(iter(self.broadcasts))]
        self._dirty.broadcasts.add(b.broadcast_id)

    def add_receipt(self, broadcast_id: str, receipt: Receipt) -> Broadcast | None:
        b = self.broadcasts.get(broadcast_id)
        if b is None:
            return None  # sent by another dashboard replica, or long forgotten
        b.add(receipt)
        self._dirty.broadcasts.add(broadcast_id)
        return b

    def inboxes(self, broadcast_id: str) -> int:
        return self.counters.window(BROADCAST_INBOXES, broadcast_id, EPOCH)

    def reads(self, broadcast_id: str) -> int:
        return self.counters.window(BROADCAST_READS, broadcast_id, EPOCH)

    # --- time ----------------------------------------------------------------------------

    def tick(self, now: datetime) -> None:
        """Time-driven changes: silent replicas expire, windows slide each minute."""
        expired = self.sockets.expire(now)
        if self.slow_closes.prune(now) or expired:
            self._dirty.connections = True
        minute = minute_of(now)
        if minute != self._minute:
            if self._minute is not None:
                self._dirty.slid = self._dirty.users = self._dirty.notifications = True
            self._minute = minute
            self.counters.prune(day_start(now))

    # --- what clients are told ---------------------------------------------------------

    def drain_changes(self, now: datetime) -> Changes:
        changes, self._dirty = self._dirty, Changes()
        changes.instances = self.health.changed(now)
        return changes
