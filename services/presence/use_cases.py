"""Presence use cases: what the chat replicas report, what time does, what people ask."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from services.presence.domain import (
    Caller,
    Change,
    Connection,
    Forbidden,
    ManualStatus,
    Outcome,
    PresenceView,
    Status,
    as_seen_by,
    view_of_record,
)
from services.presence.ports import PresenceDeps
from shared.contracts import (
    ConnectionActivity,
    ConnectionClosed,
    ConnectionInfo,
    ConnectionOpened,
    ConnectionsHeartbeat,
    ConnectionStatusSet,
    LiveConnectionsMessage,
    PresenceChanged,
)

log = logging.getLogger(__name__)


def _connection(replica_id: str, info: ConnectionInfo, now: datetime) -> Connection | None:
    if info.user_id is None:
        return None  # guests have no presence
    return Connection(
        connection_id=info.connection_id, user_id=info.user_id, username=info.username or "",
        replica_id=replica_id, rooms=tuple(info.rooms), current_room=info.current_room,
        opened_at=info.opened_at, last_active_at=info.last_active_at, confirmed_at=now)


def _event(change: Change) -> PresenceChanged:
    return PresenceChanged(
        user_id=change.user_id, username=change.username, status=change.status,
        previous=change.previous, current_room=change.current_room,
        last_active_at=change.last_active_at, connections=change.connections,
        reason=change.reason)


async def _apply(deps: PresenceDeps, out: Outcome, now: datetime) -> None:
    """Write the step's entries, announce its changes, store who changed, re-arm the timer."""
    if out.removed:
        await deps.store.remove(list(out.removed.values()))
    if out.saved:
        await deps.store.save(list(out.saved.values()))
    for change in out.changes:
        await deps.events.announce(_event(change), change.at)
    if out.changes:
        await _persist(deps, {c.user_id for c in out.changes}, now)
    deps.scheduler.wake_at(deps.board.next_due())


async def _persist(deps: PresenceDeps, user_ids: Iterable[int], now: datetime) -> None:
    board = deps.board
    ids = [uid for uid in user_ids if uid in board.users]
    try:
        await deps.records.save([board.record(uid, now) for uid in ids])
    except Exception:
        # The announcement is out; the database catches up at the next flush.
        log.exception("could not store presence; retrying at the next flush")
        return
    board.dirty.difference_update(ids)


# --- what the chat replicas report ---------------------------------------------------------


async def report(deps: PresenceDeps, message: LiveConnectionsMessage) -> None:
    """Apply one `live.connections` message: an opened socket (or one re-announced when a
    guest signs in) is upserted, a closed one starts the grace period if it was the user's
    last, activity keeps them online, `set_status` sets the user's manual status, and a
    heartbeat confirms the replica's sockets and closes those it no longer lists."""
    async with deps.lock:
        board, now = deps.board, deps.clock.now()
        match message:
            case ConnectionOpened():
                conn = _connection(message.replica_id, message.connection, now)
                out = board.open(conn, now) if conn is not None else Outcome()
            case ConnectionClosed():
                out = board.close(message.connection_id, now)
            case ConnectionActivity():
                out = board.activity(message.connection_id, message.user_id,
                                     message.current_room, message.at, now)
            case ConnectionStatusSet():
                out = board.set_manual_from(message.connection_id, message.user_id,
                                            message.status, message.at, now)
            case ConnectionsHeartbeat():
                listed = [_connection(message.replica_id, info, now)
                          for info in message.connections]
                out = board.heartbeat(message.replica_id, [c for c in listed if c], now)
        await _apply(deps, out, now)


# --- time and lifecycle --------------------------------------------------------------------


async def tick(deps: PresenceDeps, *, hearing: bool = True) -> None:
    """Run the timers that are due. `hearing` is False while the bus is disconnected: then
    nothing expires, because the silence is ours and not the replicas'."""
    async with deps.lock:
        now = deps.clock.now()
        await _apply(deps, deps.board.tick(now, hearing=hearing), now)
        if not hearing:
            deps.scheduler.wake_at(None)  # overdue deadlines wait; look again a sweep later


async def restore(deps: PresenceDeps) -> None:
    """Start where the last process stopped: sockets from the store, announced statuses from
    the database. Nothing is announced unless something really changed meanwhile."""
    async with deps.lock:
        now = deps.clock.now()
        connections = await deps.store.load_all()
        records = await deps.records.not_offline()
        await _apply(deps, deps.board.restore(connections, records, now), now)
    log.info("presence restored", extra={"fields": {
        "connections": len(deps.board.connections),
        "users": sum(deps.board.counts().values())}})


async def flush(deps: PresenceDeps) -> None:
    """Store last activity and last seen of everyone who changed since the last flush."""
    async with deps.lock:
        if deps.board.dirty:
            await _persist(deps, list(deps.board.dirty), deps.clock.now())


# --- what people and services ask ----------------------------------------------------------


async def snapshot(deps: PresenceDeps, user_ids: list[int]) -> list[PresenceView]:
    """Each user asked about, in order; users unknown to the service are offline."""
    views = {uid: deps.board.view(uid) for uid in dict.fromkeys(user_ids)}
    missing = [uid for uid, view in views.items() if view is None]
    records = await deps.records.get(missing) if missing else {}
    return [view or view_of_record(records.get(uid), uid) for uid, view in views.items()]


async def present(deps: PresenceDeps, caller: Caller, *, after: int | None = None,
                  limit: int = 50, status: Status | None = None,
                  ) -> tuple[list[PresenceView], bool]:
    """Users who are not offline, by user id, a page at a time (`after` the last id seen)."""
    limit = max(1, min(limit, deps.page_max))
    viewer = deps.board.viewer(caller.user_id, caller.is_admin)
    found = [v for v in deps.board.present()
             if (after is None or v.user_id > after) and (status is None or v.status == status)]
    return [as_seen_by(v, viewer) for v in found[:limit]], len(found) > limit


async def user_presence(deps: PresenceDeps, caller: Caller, user_id: int) -> PresenceView:
    """Status and last seen of one user (offline if the service never saw them)."""
    (view,) = await snapshot(deps, [user_id])
    return as_seen_by(view, deps.board.viewer(caller.user_id, caller.is_admin))


async def room_presence(deps: PresenceDeps, caller: Caller, room_id: int) -> list[PresenceView]:
    """Who has a socket in the room now. Only admins and people in that room may ask."""
    viewer = deps.board.viewer(caller.user_id, caller.is_admin)
    if not viewer.may_see_room(room_id):
        raise Forbidden("not_in_room", "Join the room to see who is in it.")
    return [as_seen_by(v, viewer) for v in deps.board.in_room(room_id)]


async def set_my_status(deps: PresenceDeps, caller: Caller, status: ManualStatus,
                        ) -> PresenceView:
    """Away or busy wins over activity while any of your connections is open; online hands
    the status back to activity. Needs an open connection (409 `not_connected`)."""
    async with deps.lock:
        now = deps.clock.now()
        await _apply(deps, deps.board.set_manual(caller.user_id, status, now), now)
        view = deps.board.view(caller.user_id)
    assert view is not None
    return view


async def stats(deps: PresenceDeps) -> dict[str, int]:
    """Users by status (offline: users seen before and not here now) and open connections."""
    stored = await deps.records.count_by_status()
    return {**deps.board.counts(), "offline": stored.get("offline", 0),
            "connections": len(deps.board.connections)}
