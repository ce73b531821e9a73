"""The board: every open socket and known user, and the timers (grace before offline, idle
before away, expiry of sockets nobody confirms). Pure state; callers do the I/O.

Longer than 300 lines: it is one state machine. Every step (a report, a heartbeat, a tick,
the restore) changes sockets, then settles each touched user once and pushes that user's
next deadline onto the one heap; the steps, the heap and the settle pass keep that
invariant together, and split into modules they would each hold half of it. What is not
part of it already lives elsewhere (the rules in `model.py`, the I/O in the use cases)."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime, timedelta

from services.presence.domain.model import (
    ACTIVE,
    CONNECTED,
    EXPIRED,
    LAST_CONNECTION_CLOSED,
    MANUAL,
    Change,
    Connection,
    ManualStatus,
    NotConnected,
    Outcome,
    PresenceRecord,
    PresenceView,
    Status,
    Timing,
    UserState,
    Viewer,
    aggregate,
    most_recently_active,
    reason_for,
    view_of,
)


def _clamp(at: datetime, now: datetime) -> datetime:
    # Replica clocks may run ahead of ours; activity is never in the future.
    return min(at, now)


class Board:
    """Every open connection and every user this process knows, with their deadlines.

    One instance per service process; callers serialise access (one step at a time). Each
    step returns an `Outcome`; `next_due()` says when `tick` has work.
    """

    def __init__(self, timing: Timing) -> None:
        self.timing = timing
        self.users: dict[int, UserState] = {}
        self.connections: dict[str, Connection] = {}
        # Users whose record in the database is behind (last activity, room, status).
        self.dirty: set[int] = set()
        # (when, kind, key): "c" connection expiry, "u" a user's grace or idle deadline.
        # Entries are never updated in place: a stale one only causes a re-check.
        self._due: list[tuple[datetime, str, str | int]] = []
        # Each user's latest pushed deadline, so a heartbeat does not push the same one again.
        self._user_due_at: dict[int, datetime] = {}
        self._deaf = False  # ticked while the bus was down; reconfirm when it is back

    # --- what the chat replicas report ---------------------------------------------------

    def open(self, conn: Connection, now: datetime) -> Outcome:
        """A socket opened, or was re-announced (a guest socket that authenticated)."""
        out, touched = Outcome(), {}
        self._upsert(conn, now, out, touched, hint=CONNECTED)
        self._settle(touched, now, out)
        return out

    def close(self, connection_id: str, now: datetime) -> Outcome:
        out, touched = Outcome(), {}
        conn = self.connections.get(connection_id)
        if conn is not None:
            self._drop(conn, now, LAST_CONNECTION_CLOSED, out, touched)
        self._settle(touched, now, out)
        return out

    def activity(self, connection_id: str, user_id: int, current_room: int | None,
                 at: datetime, now: datetime) -> Outcome:
        """A person did something on this socket. Unknown sockets wait for the heartbeat."""
        out, touched = Outcome(), {}
        conn = self.connections.get(connection_id)
        if conn is not None and conn.user_id == user_id:
            self._touch(conn, _clamp(at, now), now)
            conn.current_room = current_room
            if current_room is not None and current_room not in conn.rooms:
                conn.rooms = (*conn.rooms, current_room)
            self._confirm(conn, now, out)
            touched[user_id] = ACTIVE
        self._settle(touched, now, out)
        return out

    def set_manual_from(self, connection_id: str, user_id: int, status: ManualStatus,
                        at: datetime, now: datetime) -> Outcome:
        """A `set_status` frame: the user's status everywhere, and activity on that socket."""
        conn = self.connections.get(connection_id)
        if conn is None or conn.user_id != user_id:
            return Outcome()
        self._touch(conn, _clamp(at, now), now)
        return self._set_manual(self.users[user_id], status, now)

    def set_manual(self, user_id: int, status: ManualStatus, now: datetime) -> Outcome:
        """`PUT /api/presence/me`: like a `set_status` frame from the most recent socket."""
        user = self.users.get(user_id)
        latest = most_recently_active(user.connections.values()) if user else None
        if user is None or latest is None:
            raise NotConnected("not_connected",
                               "A manual status lasts while you are connected; connect first.")
        self._touch(latest, now, now)
        return self._set_manual(user, status, now)

    def heartbeat(self, replica_id: str, listed: list[Connection], now: datetime) -> Outcome:
        """A replica's full list: confirms what it lists, closes what it no longer does."""
        out, touched = Outcome(), {}
        keep = {c.connection_id for c in listed}
        for conn in [c for c in self.connections.values() if c.replica_id == replica_id]:
            if conn.connection_id not in keep:
                self._drop(conn, now, LAST_CONNECTION_CLOSED, out, touched)
        for conn in listed:
            self._upsert(conn, now, out, touched, hint=None)
        self._settle(touched, now, out)
        return out

    # --- time ---------------------------------------------------------------------------

    def tick(self, now: datetime, *, hearing: bool = True) -> Outcome:
        """Run what is due: expire unconfirmed sockets, end grace periods, idle into away.

        While this process cannot hear the replicas (NATS down) nothing expires: silence is
        ours, not theirs. When it hears again every socket gets a fresh TTL and every user
        in a grace period at least `settle_secs`, so heartbeats can confirm them first.
        """
        out, touched = Outcome(), {}
        if not hearing:
            self._deaf = True
            return out
        if self._deaf:
            self._deaf = False
            self._reconfirm(now, out, touched)
        while self._due and self._due[0][0] <= now:
            when, kind, key = heapq.heappop(self._due)
            if kind == "c":
                conn = self.connections.get(str(key))
                if conn is not None and self._expires_at(conn) <= now:
                    self._drop(conn, now, EXPIRED, out, touched)
            elif int(key) in self.users:  # not a user handed over since
                if self._user_due_at.get(int(key)) == when:
                    del self._user_due_at[int(key)]
                touched.setdefault(int(key), None)
        self._settle(touched, now, out)
        self._compact(now)
        return out

    def next_due(self) -> datetime | None:
        return self._due[0][0] if self._due else None

    def restore(self, connections: list[Connection], records: list[PresenceRecord],
                now: datetime) -> Outcome:
        """Start from the store (open sockets) and the database (announced statuses).

        Entries older than the TTL are dropped; the rest, and every user announced but with
        no socket left, get the same treatment as after an outage (see `tick`)."""
        return self.adopt(connections, records, now)

    def adopt(self, connections: list[Connection], records: list[PresenceRecord],
              now: datetime) -> Outcome:
        """`restore` for some users only (a partition this instance just took over): the
        users and sockets given are added and settled, everyone else is left alone. Their
        announced status is the one given, so only a real difference is announced."""
        adopted: dict[str, Connection] = {}
        users: set[int] = set()
        for record in records:
            if record.user_id in self.users:
                continue
            users.add(record.user_id)
            self.users[record.user_id] = UserState(
                record.user_id, record.username, record.status,
                last_active_at=record.last_active_at, current_room=record.current_room,
                last_seen_at=record.last_seen_at or record.last_active_at,
                offline_reason=EXPIRED)
        for conn in connections:
            if self._expires_at(conn) <= now or conn.connection_id in self.connections:
                continue
            user = self._user(conn.user_id, conn.username)
            users.add(conn.user_id)
            user.connections[conn.connection_id] = conn
            self.connections[conn.connection_id] = conn
            adopted[conn.connection_id] = conn
            if conn.manual is not None:
                user.manual = conn.manual
        out, touched = Outcome(), {}
        self._reconfirm(now, out, touched, adopted.values(), [self.users[u] for u in users])
        touched.update(dict.fromkeys(users))
        self._settle(touched, now, out)
        return out

    def forget(self, user_ids: set[int]) -> None:
        """Drop these users and their sockets without a word (a partition handed over: its
        new owner carries on from the store and the database)."""
        for user_id in user_ids:
            user = self.users.pop(user_id, None)
            if user is not None:
                for conn_id in user.connections:
                    self.connections.pop(conn_id, None)
            self._user_due_at.pop(user_id, None)
        self.dirty.difference_update(user_ids)

    # --- questions ----------------------------------------------------------------------

    def view(self, user_id: int) -> PresenceView | None:
        user = self.users.get(user_id)
        return view_of(user) if user is not None else None

    def present(self) -> list[PresenceView]:
        """Everyone not offline, by user id."""
        return [view_of(self.users[uid]) for uid in sorted(self.users)
                if self.users[uid].status != "offline"]

    def in_room(self, room_id: int) -> list[PresenceView]:
        """Users with a socket in that room right now, by user id."""
        found = {c.user_id for c in self.connections.values() if room_id in c.rooms}
        return [view_of(self.users[uid]) for uid in sorted(found)]

    def viewer(self, user_id: int, is_admin: bool) -> Viewer:
        user = self.users.get(user_id)
        rooms = (frozenset(r for c in user.connections.values() for r in c.rooms)
                 if user is not None else frozenset())
        return Viewer(user_id, is_admin, rooms)

    def counts(self) -> dict[Status, int]:
        counts: dict[Status, int] = {"online": 0, "away": 0, "busy": 0}
        for user in self.users.values():
            if user.status != "offline":
                counts[user.status] += 1
        return counts

    def record(self, user_id: int, now: datetime) -> PresenceRecord:
        user = self.users[user_id]
        seen = now if user.connections else user.last_seen_at
        return PresenceRecord(user.user_id, user.username, user.status, user.last_active_at,
                              user.current_room, seen)

    # --- internals ----------------------------------------------------------------------

    def _user(self, user_id: int, username: str | None) -> UserState:
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = UserState(user_id, username or "")
        elif username:
            user.username = username
        return user

    def _upsert(self, conn: Connection, now: datetime, out: Outcome,
                touched: dict[int, str | None], hint: str | None) -> None:
        known = self.connections.get(conn.connection_id)
        if known is not None and known.user_id != conn.user_id:
            self._drop(known, now, LAST_CONNECTION_CLOSED, out, touched)
            known = None
        user = self._user(conn.user_id, conn.username)
        conn.last_active_at = _clamp(conn.last_active_at, now)
        if known is not None:
            # Reports can only move activity forward; a manual status stays.
            conn.last_active_at = max(conn.last_active_at, known.last_active_at)
        conn.manual = user.manual
        user.connections[conn.connection_id] = conn
        self.connections[conn.connection_id] = conn
        user.offline_due = None
        self._confirm(conn, now, out)
        touched[user.user_id] = hint if known is None else touched.get(user.user_id)

    def _drop(self, conn: Connection, now: datetime, reason: str, out: Outcome,
              touched: dict[int, str | None]) -> None:
        self.connections.pop(conn.connection_id, None)
        user = self.users[conn.user_id]
        user.connections.pop(conn.connection_id, None)
        out.remove(conn)
        if not user.connections:
            # An expired socket was last known open when it was last confirmed.
            user.last_seen_at = conn.confirmed_at if reason == EXPIRED else now
            user.offline_due = now + timedelta(seconds=self.timing.grace_secs)
            user.offline_reason = reason
        touched.setdefault(user.user_id, None)

    def _touch(self, conn: Connection, at: datetime, now: datetime) -> None:
        conn.last_active_at = max(conn.last_active_at, at)
        conn.confirmed_at = now

    def _confirm(self, conn: Connection, now: datetime, out: Outcome) -> None:
        conn.confirmed_at = now
        out.save(conn)
        self._push(self._expires_at(conn), "c", conn.connection_id)

    def _expires_at(self, conn: Connection) -> datetime:
        return conn.confirmed_at + timedelta(seconds=self.timing.ttl_secs)

    def _set_manual(self, user: UserState, status: ManualStatus, now: datetime) -> Outcome:
        out = Outcome()
        # "online" hands the status back to activity: the person is here now.
        user.manual = None if status == "online" else status
        for conn in user.connections.values():
            conn.manual = user.manual
            self._confirm(conn, now, out)
        self._settle({user.user_id: MANUAL}, now, out)
        return out

    def _reconfirm(self, now: datetime, out: Outcome, touched: dict[int, str | None],
                   connections: Iterable[Connection] | None = None,
                   users: Iterable[UserState] | None = None) -> None:
        """Every socket (or those given) a fresh TTL; every user (or those given) announced
        but without a socket `settle_secs` before offline."""
        for conn in self.connections.values() if connections is None else connections:
            self._confirm(conn, now, out)
        settle = now + timedelta(seconds=max(self.timing.grace_secs, self.timing.settle_secs))
        for user in self.users.values() if users is None else users:
            if not user.connections and user.status != "offline":
                user.offline_due = max(user.offline_due or settle, settle)
                touched.setdefault(user.user_id, None)

    def _settle(self, touched: dict[int, str | None], now: datetime, out: Outcome) -> None:
        """Re-aggregate each touched user once, after the whole step."""
        for user_id, hint in touched.items():
            user = self.users[user_id]
            latest = most_recently_active(user.connections.values())
            if latest is not None:
                user.current_room = latest.current_room
                if user.last_active_at is None or latest.last_active_at > user.last_active_at:
                    user.last_active_at = latest.last_active_at
            status = aggregate(user, now, self.timing)
            if status != user.status:
                if status == "offline":
                    user.manual = None
                    user.current_room = None
                    user.offline_due = None
                out.changes.append(Change(
                    user.user_id, user.username, status, user.status, user.current_room,
                    user.last_active_at, len(user.connections),
                    reason_for(user, status, hint), now))
                user.status = status
            self.dirty.add(user_id)
            due = self._user_due(user, now)
            if due is not None and self._user_due_at.get(user_id) != due:
                self._user_due_at[user_id] = due
                self._push(due, "u", user_id)

    def _user_due(self, user: UserState, now: datetime) -> datetime | None:
        if not user.connections:
            return user.offline_due if user.status != "offline" else None
        if user.manual is not None:
            return None
        latest = most_recently_active(user.connections.values())
        assert latest is not None
        idle_at = latest.last_active_at + timedelta(seconds=self.timing.idle_away_secs)
        return idle_at if idle_at > now else None

    def _push(self, when: datetime, kind: str, key: str | int) -> None:
        heapq.heappush(self._due, (when, kind, key))

    def _compact(self, now: datetime) -> None:
        # Stale entries pile up (every heartbeat pushes a new expiry per socket); rebuild
        # from the live deadlines when they outnumber those several times over.
        if len(self._due) <= 4 * (len(self.connections) + len(self.users)) + 1024:
            return
        self._due = [(self._expires_at(c), "c", c.connection_id)
                     for c in self.connections.values()]
        self._user_due_at = {}
        for user in self.users.values():
            due = self._user_due(user, now)
            if due is not None:
                self._user_due_at[user.user_id] = due
                self._due.append((due, "u", user.user_id))
        heapq.heapify(self._due)
