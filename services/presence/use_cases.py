"""Presence use cases: what the chat replicas report, what time does, what people ask.

Longer than 300 lines: with several instances (PRESENCE_PARTITIONS) each question is the
same question put to the local board and to the instances owning the other partitions, and
a hand-over is a restore of some users; keeping those beside the one-instance versions they
extend shows in one place that one instance still does exactly what it did."""

from __future__ import annotations

import asyncio
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
    Unavailable,
    Viewer,
    as_seen_by,
    view_of_announced,
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
                # Another instance computes users outside our partitions. Close, activity
                # and status name sockets the board knows only if it owns their user.
                out = (board.open(conn, now) if conn is not None
                       and deps.ownership.owns(conn.user_id) else Outcome())
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
                out = board.heartbeat(message.replica_id, [
                    c for c in listed if c and deps.ownership.owns(c.user_id)], now)
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
    if deps.ownership.partitioned:
        return  # each partition is restored when its lease is won (`adopt`)
    async with deps.lock:
        now = deps.clock.now()
        connections = await deps.store.load_all()
        records = await deps.records.not_offline()
        await _apply(deps, deps.board.restore(connections, records, now), now)
    log.info("presence restored", extra={"fields": {
        "connections": len(deps.board.connections),
        "users": sum(deps.board.counts().values())}})


async def adopt(deps: PresenceDeps, partitions: set[int]) -> None:
    """Partitions whose leases this instance just won: their sockets from the store, their
    announced statuses from the shared database, then only real differences announced (a
    hand-over where nothing changed announces nothing). Reports wait on the lock meanwhile,
    and apply to these users from then on."""
    ownership = deps.ownership

    def ours(user_id: int) -> bool:
        return ownership.partition(user_id) in partitions

    async with deps.lock:
        now = deps.clock.now()
        connections = [c for c in await deps.store.load_all() if ours(c.user_id)]
        records = [r for r in await deps.records.not_offline() if ours(r.user_id)]
        ownership.mine |= partitions
        await _apply(deps, deps.board.adopt(connections, records, now), now)
    log.info("presence partitions adopted", extra={"fields": {
        "partitions": sorted(partitions), "connections": len(connections),
        "announced": len(records)}})


async def release(deps: PresenceDeps, partitions: set[int], *, store: bool = True) -> None:
    """Stop computing these partitions' users. `store`: write their records first (a lease
    given up on purpose, so its next owner starts from them); not when the lease was lost,
    because the next owner may be writing them already."""
    ownership = deps.ownership
    async with deps.lock:
        users = {uid for uid in deps.board.users if ownership.partition(uid) in partitions}
        ownership.mine -= partitions
        if store:
            await _persist(deps, users, deps.clock.now())
        deps.board.forget(users)


async def flush(deps: PresenceDeps) -> None:
    """Store last activity and last seen of everyone who changed since the last flush."""
    async with deps.lock:
        if deps.board.dirty:
            await _persist(deps, list(deps.board.dirty), deps.clock.now())


# --- what people and services ask ----------------------------------------------------------


async def snapshot(deps: PresenceDeps, user_ids: list[int]) -> list[PresenceView]:
    """Each user asked about, in order; users unknown to the service are offline. Users
    another instance computes are asked of it; while nobody answers for them (a hand-over)
    their last announced status stands."""
    wanted = list(dict.fromkeys(user_ids))
    views = {uid: deps.board.view(uid) for uid in wanted if deps.ownership.owns(uid)}
    asked: dict[str, list[int]] = {}
    for uid in wanted:
        owner = deps.ownership.owner_of(uid)
        if owner is not None and owner != deps.ownership.me and deps.peers is not None:
            asked.setdefault(owner, []).append(uid)
    peers = deps.peers
    if peers is not None and asked:
        answers = await asyncio.gather(*(peers.views(o, ids) for o, ids in asked.items()))
        for ids, answer in zip(asked.values(), answers, strict=True):
            views.update((v.user_id, v) for v in answer or () if v.user_id in ids)
    missing = [uid for uid in wanted if views.get(uid) is None]
    records = await deps.records.get(missing) if missing else {}

    def unknown(uid: int) -> PresenceView:
        record = records.get(uid)
        if record is not None and not deps.ownership.owns(uid):
            return view_of_announced(record)  # its owner did not answer
        return view_of_record(record, uid)

    return [views.get(uid) or unknown(uid) for uid in wanted]


async def _everyone_present(deps: PresenceDeps) -> list[PresenceView]:
    """Every user not offline, by user id: this board's, each other owner's, and for
    partitions nobody answers for, the last announced statuses."""
    found = {v.user_id: v for v in deps.board.present()}
    silent = set(deps.ownership.unowned())
    others = deps.ownership.others()
    peers = deps.peers
    answers = (await asyncio.gather(*(peers.present(o) for o in others)) if peers
               else [None] * len(others))
    for partitions, answer in zip(others.values(), answers, strict=True):
        if answer is None:
            silent |= partitions
        found.update((v.user_id, v) for v in answer or ())
    if silent:
        for record in await deps.records.not_offline():
            if deps.ownership.partition(record.user_id) in silent:
                found.setdefault(record.user_id, view_of_announced(record))
    return [found[uid] for uid in sorted(found)]


async def _viewer(deps: PresenceDeps, caller: Caller) -> Viewer:
    if deps.ownership.owns(caller.user_id):
        return deps.board.viewer(caller.user_id, caller.is_admin)
    (view,) = await snapshot(deps, [caller.user_id])
    return Viewer(caller.user_id, caller.is_admin, view.rooms)


async def present(deps: PresenceDeps, caller: Caller, *, after: int | None = None,
                  limit: int = 50, status: Status | None = None,
                  ) -> tuple[list[PresenceView], bool]:
    """Users who are not offline, by user id, a page at a time (`after` the last id seen)."""
    limit = max(1, min(limit, deps.page_max))
    viewer = await _viewer(deps, caller)
    everyone = (deps.board.present() if not deps.ownership.partitioned
                else await _everyone_present(deps))
    found = [v for v in everyone
             if (after is None or v.user_id > after) and (status is None or v.status == status)]
    return [as_seen_by(v, viewer) for v in found[:limit]], len(found) > limit


async def user_presence(deps: PresenceDeps, caller: Caller, user_id: int) -> PresenceView:
    """Status and last seen of one user (offline if the service never saw them)."""
    (view,) = await snapshot(deps, [user_id])
    return as_seen_by(view, await _viewer(deps, caller))


async def room_presence(deps: PresenceDeps, caller: Caller, room_id: int) -> list[PresenceView]:
    """Who has a socket in the room now. Only admins and people in that room may ask."""
    viewer = await _viewer(deps, caller)
    if not viewer.may_see_room(room_id):
        raise Forbidden("not_in_room", "Join the room to see who is in it.")
    found = {v.user_id: v for v in deps.board.in_room(room_id)}
    if deps.peers is not None:
        peers = deps.peers
        for answer in await asyncio.gather(*(peers.in_room(o, room_id)
                                             for o in deps.ownership.others())):
            found.update((v.user_id, v) for v in answer or ())
    return [as_seen_by(found[uid], viewer) for uid in sorted(found)]


async def set_my_status(deps: PresenceDeps, caller: Caller, status: ManualStatus,
                        ) -> PresenceView:
    """Away or busy wins over activity while any of your connections is open; online hands
    the status back to activity. Needs an open connection (409 `not_connected`)."""
    owner = deps.ownership.owner_of(caller.user_id)
    if owner != deps.ownership.me:
        view = (await deps.peers.set_status(owner, caller.user_id, status)
                if owner is not None and deps.peers is not None else None)
        if view is None:
            raise Unavailable("presence_moving",
                              "Your presence is moving between instances; try again.")
        return view
    return await set_status_here(deps, caller.user_id, status)


async def set_status_here(deps: PresenceDeps, user_id: int, status: ManualStatus,
                          ) -> PresenceView:
    """`set_my_status` on this board (the owner's side of a forwarded one too)."""
    async with deps.lock:
        now = deps.clock.now()
        await _apply(deps, deps.board.set_manual(user_id, status, now), now)
        view = deps.board.view(user_id)
    assert view is not None
    return view


def local_counts(deps: PresenceDeps) -> dict[str, int]:
    return {**deps.board.counts(), "connections": len(deps.board.connections)}


async def stats(deps: PresenceDeps) -> dict[str, int]:
    """Users by status (offline: users seen before and not here now) and open connections."""
    stored = await deps.records.count_by_status()
    counts = local_counts(deps)
    if deps.peers is not None:
        peers = deps.peers
        for answer in await asyncio.gather(*(peers.counts(o)
                                             for o in deps.ownership.others())):
            for key, value in (answer or {}).items():
                counts[key] = counts.get(key, 0) + value
    return {**counts, "offline": stored.get("offline", 0)}
