"""Dashboard use cases: count what happened, tell the clients, send operator broadcasts."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from enum import StrEnum

from services.dashboard.domain import (
    DAY,
    MINUTE,
    Broadcast,
    BroadcastAnnounced,
    Instance,
    PresenceSet,
    Receipt,
    RoomNamed,
    RoomRecord,
    Socket,
    StorageChanged,
    UserSignedUp,
    day_start,
    merged_user,
    validate_broadcast,
)
from services.dashboard.domain.event_facts import fact_of
from services.dashboard.domain.state import RECENT_BROADCASTS
from services.dashboard.ports import DashboardDeps
from shared.contracts import (
    BroadcastReceipt,
    BroadcastSent,
    CloudEvent,
    ConnectionActivity,
    ConnectionClosed,
    ConnectionOpened,
    ConnectionsHeartbeat,
    ConnectionStatusSet,
    LiveConnectionsMessage,
    ServiceHeartbeat,
)


class Outcome(StrEnum):
    COUNTED = "counted"
    DUPLICATE = "duplicate"  # a redelivery of an event already counted
    # Written by another instance sharing the database (this one only takes it into memory).
    SHARED = "shared"
    IGNORED = "ignored"  # a type the dashboard does not count (or does not know)
    UNREADABLE = "unreadable"  # a known type whose data does not fit its model


async def load(deps: DashboardDeps) -> None:
    """Bring back the last 24 h of counters, the known users and rooms, service instances
    and recent broadcasts, so a restart changes no number."""
    now = deps.clock.now()
    counts, users, rooms, position, storage = await deps.stats.load(day_start(now))
    instances = await deps.instances.load()
    broadcasts = await deps.broadcasts.recent(RECENT_BROADCASTS)
    deps.state.restore(counts=counts, users=users, rooms=rooms, instances=instances,
                       broadcasts=broadcasts, now=now, storage=storage)
    deps.state.restore_position(position)
    for instance in instances:
        deps.instance_saved_at[instance.key] = instance.last_seen


async def record_event(deps: DashboardDeps, event: CloudEvent,
                       seq: int | None = None) -> Outcome:
    """Each durable event counts once: its id is claimed in the same transaction that writes
    its counts (and moves the database's fold position to `seq`, its stream sequence), and
    memory changes only after that commit (a failure means it is tried again).

    Instances sharing the database each fold the whole stream into their memory; the first
    to claim an event writes it, the others find it claimed by the same stream message and
    take it into memory only. Claimed by another message (the same event published twice),
    it counts nothing anywhere."""
    state = deps.state
    try:
        fact = fact_of(event)
    except ValueError:
        state.folded(seq)
        return Outcome.UNREADABLE
    if fact is None:
        state.folded(seq)
        return Outcome.IGNORED
    if isinstance(fact, BroadcastAnnounced):
        await _learn_broadcast(deps, fact.broadcast_id)
        state.apply(fact, [], None, seq)
        _changed(deps)
        return Outcome.COUNTED
    now = deps.clock.now()
    rows = state.rows_for(fact, now)
    user = None
    if isinstance(fact, UserSignedUp | PresenceSet):
        user = merged_user(state.users.get(fact.user_id), fact)
    storage = state.storage.after(fact) if isinstance(fact, StorageChanged) else None
    outcome = Outcome.COUNTED
    async with deps.stats.transaction() as tx:
        if not await tx.claim(event.id, now, seq):
            if seq is None or await tx.claimed_by(event.id) != seq:
                outcome = Outcome.DUPLICATE
            else:
                outcome = Outcome.SHARED
        elif rows or user is not None or storage is not None or isinstance(fact, RoomNamed):
            for kind, key, minute in rows:
                await tx.count(kind, key, minute, 1)
            if isinstance(fact, RoomNamed):
                await tx.save_room(RoomRecord(fact.room_id, fact.name, fact.is_private))
            if user is not None:
                await tx.save_user(user)
            if storage is not None:
                await tx.save_storage(storage)
        if seq is not None:
            await tx.advance(seq)
    if seq is not None:
        deps.saved_position = max(deps.saved_position, seq)
    if outcome is Outcome.DUPLICATE:
        state.folded(seq)
        return outcome
    state.apply(fact, rows, user, seq)
    _changed(deps)
    return outcome


async def _learn_broadcast(deps: DashboardDeps, broadcast_id: str) -> Broadcast | None:
    """A broadcast another instance sent: it is in the shared database (stored before its
    event and its frame were published)."""
    b = deps.state.broadcasts.get(broadcast_id)
    if b is None:
        stored = await deps.broadcasts.get(broadcast_id)
        # Known by now (sent here meanwhile, or another receipt loaded it): keep that one,
        # or the receipts it gathered would be lost.
        b = deps.state.broadcasts.get(broadcast_id)
        if b is None and stored is not None:
            deps.state.add_broadcast(b := stored)
    return b


async def save_position(deps: DashboardDeps) -> None:
    """Events that counted nothing move the fold position too, now and then."""
    position = deps.state.position
    if position > deps.saved_position:
        await deps.stats.advance(position)
        deps.saved_position = position


def record_connections(deps: DashboardDeps, message: LiveConnectionsMessage) -> None:
    """A chat replica's socket report: sockets per replica, users and rooms with people."""
    state = deps.state
    now = deps.clock.now()
    if isinstance(message, ConnectionOpened):
        c = message.connection
        rooms = [*c.rooms, *([c.current_room] if c.current_room is not None else [])]
        state.connection_opened(message.replica_id, c.connection_id, c.user_id, rooms, now)
    elif isinstance(message, ConnectionClosed):
        state.connection_closed(message.replica_id, message.connection_id, now,
                                slow_consumer=message.slow_consumer)
    elif isinstance(message, ConnectionActivity):
        state.connection_active(message.replica_id, message.connection_id,
                                message.current_room, now)
    elif isinstance(message, ConnectionStatusSet):
        state.connection_active(message.replica_id, message.connection_id, None, now)
    elif isinstance(message, ConnectionsHeartbeat):
        sockets = {c.connection_id: Socket(c.user_id, set(c.rooms)) for c in message.connections}
        state.connections_heartbeat(message.replica_id, message.interval_secs, sockets, now)
    _changed(deps)


async def record_heartbeat(deps: DashboardDeps, beat: ServiceHeartbeat) -> None:
    """A service instance is alive. Seen-at is our clock, not the sender's: a skewed host
    must not look down (or up) for it. Written at once when it is news, else now and then."""
    now = deps.clock.now()
    instance = Instance(beat.service, beat.instance_id, beat.version, beat.started_at, now,
                        beat.interval_secs, beat.ready, dict(beat.details))
    news = deps.state.service_beat(instance)
    saved = deps.instance_saved_at.get(instance.key)
    if news or saved is None or (now - saved).total_seconds() >= deps.health_persist_secs:
        await deps.instances.save(instance)
        deps.instance_saved_at[instance.key] = now
    _changed(deps)


async def record_receipt(deps: DashboardDeps, receipt: BroadcastReceipt) -> None:
    """A chat replica handed a broadcast to its sockets; late receipts still count, and so
    do those of a broadcast another instance sent (every instance hears every receipt)."""
    if await _learn_broadcast(deps, receipt.broadcast_id) is None:
        return
    b = deps.state.add_receipt(receipt.broadcast_id, Receipt(
        receipt.replica_id, receipt.sockets, receipt.users, tuple(receipt.user_ids)))
    if b is None:
        return
    await deps.broadcasts.save(b)
    waiting = deps.receipt_waits.get(b.broadcast_id)
    if waiting is not None and b.complete:
        waiting.set()
    _changed(deps)


async def send_broadcast(deps: DashboardDeps, *, sent_by: int, content: str) -> Broadcast:
    """Every open socket gets an `admin_broadcast` frame and notifications puts it in every
    inbox. Answers once every chat replica known to be alive has reported what it reached,
    or after the receipt window (receipts arriving later still update the dashboard)."""
    text = validate_broadcast(content, deps.broadcast_max_chars)
    state = deps.state
    now = deps.clock.now()
    b = Broadcast(str(uuid.uuid4()), text, deps.broadcast_sender, sent_by, now,
                  total_connections=state.sockets.totals().total,
                  expected_replicas=frozenset(state.chat_replicas(now)))
    # Stored first, so another instance that hears of it (its event, a receipt) finds it;
    # then durable: if NATS refuses it, nothing was half-sent and the row goes again.
    await deps.broadcasts.save(b)
    try:
        await deps.channel.announce(
            BroadcastSent(broadcast_id=b.broadcast_id, content=text, sender=b.sender,
                          sent_by=sent_by, sent_at=now), b.broadcast_id)
    except BaseException:
        await deps.broadcasts.delete(b.broadcast_id)
        raise
    state.add_broadcast(b)
    answered = deps.receipt_waits[b.broadcast_id] = asyncio.Event()
    try:
        await deps.channel.send(b)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(deps.receipt_window_secs):
                await answered.wait()
    finally:
        deps.receipt_waits.pop(b.broadcast_id, None)
    _changed(deps)
    return b


def tick(deps: DashboardDeps) -> None:
    """Time passes: silent replicas and instances go down, windows slide; then flush."""
    deps.state.tick(deps.clock.now())
    flush(deps)


def flush(deps: DashboardDeps) -> None:
    now = deps.clock.now()
    changes = deps.state.drain_changes(now)
    if changes:
        deps.feed.publish(deps.state, changes, now)


def _changed(deps: DashboardDeps) -> None:
    if deps.delta_interval_secs <= 0:
        flush(deps)


async def prune(deps: DashboardDeps) -> None:
    """Forget what is older than the day the dashboard shows; instances a day unseen, or
    replaced by a newer instance of their service for `instance_replaced_secs`."""
    now = deps.clock.now()
    await deps.stats.prune(day_start(now) - MINUTE)
    gone = deps.state.forget_instances(now, replaced_secs=deps.instance_replaced_secs,
                                       max_age_secs=DAY.total_seconds())
    if gone:
        await deps.instances.forget(gone)
        for instance in gone:
            deps.instance_saved_at.pop(instance.key, None)
    _changed(deps)

