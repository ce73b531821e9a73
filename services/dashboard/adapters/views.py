"""The JSON clients see: the snapshot, `/stats`, and the deltas made of what changed.

The domain (`domain/state.py`) keeps the numbers and marks what changed; how that looks on
the wire lives here, at the edge, for the HTTP routes and the SSE feed alike."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.dashboard.domain.broadcasts import Broadcast
from services.dashboard.domain.counters import CHART_MINUTES, chart_minutes, day_start, minute_of
from services.dashboard.domain.facts import (
    MESSAGES,
    NOTIFICATIONS,
    PRESENCE_STATUSES,
    REGISTRATIONS,
    SUPPRESSED,
    PresenceSet,
)
from services.dashboard.domain.health import Instance
from services.dashboard.domain.state import Changes, DashboardState

TOP_ROOMS = 10
ROOMS_WITH_PEOPLE_SHOWN = 20
# Rooms with a per-minute series in the snapshot (the busiest of the last hour).
ROOM_SERIES_SHOWN = 100


@dataclass(frozen=True, slots=True)
class Delta:
    type: str
    data: dict[str, Any]


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def room_name(state: DashboardState, room_id: int) -> str | None:
    room = state.rooms.get(room_id)
    return room.name if room else None


def top_rooms(state: DashboardState, now: datetime) -> list[dict[str, Any]]:
    """The most active rooms of the last 24 h, in the exercise's `active_rooms` shape."""
    sums = state.counters.windows(MESSAGES, day_start(now))
    ranked = sorted(sums.items(), key=lambda kv: (-kv[1], int(kv[0])))[:TOP_ROOMS]
    return [{"id": int(key), "name": room_name(state, int(key)), "message_count": n}
            for key, n in ranked]


def connections(state: DashboardState, now: datetime) -> dict[str, Any]:
    totals = state.sockets.totals()
    slow = state.slow_closes.last_hour(now)
    return {
        "total": totals.total,
        "users": totals.users,
        "by_replica": dict(sorted(totals.by_replica.items())),
        "rooms_with_people": len(totals.rooms),
        "rooms": [{"room_id": r.room_id, "name": room_name(state, r.room_id),
                   "sockets": r.sockets, "users": r.users}
                  for r in totals.rooms[:ROOMS_WITH_PEOPLE_SHOWN]],
        # Sockets closed with 1013 for not reading, per replica, in the last 60 minutes.
        "slow_consumers_1h": {"total": sum(slow.values()), "by_replica": slow},
    }


def presence_counts(state: DashboardState) -> dict[str, int]:
    counts = dict.fromkeys(PRESENCE_STATUSES, 0)
    for user in state.users.values():
        counts[user.status] += 1
    return counts


def presence_change(state: DashboardState, fact: PresenceSet) -> dict[str, Any]:
    return {"user_id": fact.user_id, "username": fact.username, "status": fact.status,
            "previous": fact.previous, "room_id": fact.room_id, "reason": fact.reason,
            "last_active_at": _iso(fact.last_active_at), "at": fact.at.isoformat()}


def user_stats(state: DashboardState, now: datetime) -> dict[str, Any]:
    return {"new_24h": state.counters.window(REGISTRATIONS, None, day_start(now)),
            "known": len(state.users)}


def notification_stats(state: DashboardState, now: datetime) -> dict[str, Any]:
    first = day_start(now)
    return {
        "sent_24h": state.counters.window(NOTIFICATIONS, None, first),
        "by_reason": dict(sorted(state.counters.windows(NOTIFICATIONS, first).items())),
        "suppressed_24h": state.counters.window(SUPPRESSED, None, first),
        "suppressed_by_reason": dict(sorted(state.counters.windows(SUPPRESSED, first).items())),
    }


def storage(state: DashboardState) -> dict[str, Any]:
    """Storage used by chat's files: every kind together, and each kind."""
    totals = state.storage
    return {"bytes": totals.bytes, "files": totals.files,
            "by_kind": {kind: {"bytes": totals.of(kind).bytes, "files": totals.of(kind).files}
                        for kind in totals.kinds()}}


def instance(i: Instance, now: datetime, stale_factor: float) -> dict[str, Any]:
    return {
        "service": i.service, "instance_id": i.instance_id, "version": i.version,
        "status": i.status(now, stale_factor), "ready": i.ready,
        "started_at": i.started_at.isoformat(), "last_seen": i.last_seen.isoformat(),
        "interval_secs": i.interval_secs, "details": i.details,
    }


def health_summary(state: DashboardState, now: datetime) -> dict[str, int]:
    summary = {"up": 0, "not_ready": 0, "down": 0}
    for i in state.health.instances.values():
        summary[i.status(now, state.health.stale_factor)] += 1
    return summary


def services(state: DashboardState, now: datetime) -> list[dict[str, Any]]:
    return [instance(i, now, state.health.stale_factor) for i in state.health.ordered()]


def admin_broadcast_data(b: Broadcast) -> dict[str, Any]:
    """The exercise's `admin_broadcast` frame's data, as every socket receives it."""
    return {"message": b.content, "from": b.sender, "timestamp": b.sent_at.isoformat()}


def broadcast_data(b: Broadcast, inboxes: int, read: int) -> dict[str, Any]:
    return {
        "broadcast_id": b.broadcast_id,
        "content": b.content,
        "from": b.sender,
        "sent_by": b.sent_by,
        "sent_at": b.sent_at.isoformat(),
        "sent_to": b.sent_to,
        "users_reached": b.users_reached,
        "replicas": len(b.receipts),
        "expected_replicas": len(b.expected_replicas),
        "total_connections": b.total_connections,
        "inboxes": inboxes,
        # Inbox entries read (`events.notifications.read` with this broadcast id).
        "read": read,
    }


def broadcast(state: DashboardState, b: Broadcast) -> dict[str, Any]:
    return broadcast_data(b, state.inboxes(b.broadcast_id), state.reads(b.broadcast_id))


def broadcast_result(state: DashboardState, b: Broadcast) -> dict[str, Any]:
    """The exercise's answer (`message`, `sent_to`, `total_connections`) and the rest."""
    return {"message": "Broadcast sent", **broadcast(state, b)}


def messages(state: DashboardState, now: datetime) -> dict[str, Any]:
    minutes = chart_minutes(now, CHART_MINUTES)
    first = day_start(now)
    rooms = []
    for key in state.counters.windows(MESSAGES, minutes[0]):
        series = state.counters.series(MESSAGES, key, minutes)
        rooms.append({"room_id": int(key), "name": room_name(state, int(key)),
                      "per_minute": series, "count_60m": sum(series),
                      "count_24h": state.counters.window(MESSAGES, key, first)})
    rooms.sort(key=lambda r: (-r["count_60m"], r["room_id"]))
    del rooms[ROOM_SERIES_SHOWN:]
    return {
        "minutes": [m.isoformat() for m in minutes],
        "per_minute": state.counters.series(MESSAGES, None, minutes),
        "rooms": rooms,
        "messages_24h": state.counters.window(MESSAGES, None, first),
        "top_rooms": top_rooms(state, now),
    }


def snapshot(state: DashboardState, now: datetime) -> dict[str, Any]:
    conns = connections(state, now)
    return {
        "server_time": now.isoformat(),
        # The exercise's `initial_data` fields.
        "websocket_connections": conns["total"],
        "active_users": conns["users"],
        "active_rooms": conns["rooms_with_people"],
        "server_start": state.started_at.isoformat(),
        "connections": conns,
        "presence": presence_counts(state),
        "messages": messages(state, now),
        "users": user_stats(state, now),
        "notifications": notification_stats(state, now),
        "storage": storage(state),
        "services": services(state, now),
        "health": health_summary(state, now),
        "broadcasts": [broadcast(state, b) for b in reversed(state.broadcasts.values())],
    }


def stats(state: DashboardState, now: datetime) -> dict[str, Any]:
    """The exercise's `/dashboard/stats` keys first, with real numbers; then the rest."""
    minutes = chart_minutes(now, CHART_MINUTES)
    return {
        "connections": connections(state, now),
        "presence": presence_counts(state),
        "messages_24h": state.counters.window(MESSAGES, None, day_start(now)),
        "active_rooms": top_rooms(state, now),
        "timestamp": now.isoformat(),
        "messages_per_minute": {"minutes": [m.isoformat() for m in minutes],
                                "counts": state.counters.series(MESSAGES, None, minutes)},
        "users": user_stats(state, now),
        "notifications": notification_stats(state, now),
        "storage": storage(state),
        "services": services(state, now),
        "health": health_summary(state, now),
    }


def deltas(state: DashboardState, changes: Changes, now: datetime) -> list[Delta]:
    """One delta per kind of change, each with absolute values (counts after the change)."""
    out = []
    if changes.connections:
        out.append(Delta("connections", connections(state, now)))
    if changes.messages:
        out.append(Delta("message_stats", message_stats(state, changes, now)))
    if changes.presence:
        out.append(Delta("user_presence", {
            "users": [presence_change(state, fact) for fact in changes.presence.values()],
            "counts": presence_counts(state)}))
    if changes.users:
        out.append(Delta("user_stats", user_stats(state, now)))
    if changes.notifications:
        out.append(Delta("notification_stats", notification_stats(state, now)))
    if changes.storage:
        out.append(Delta("storage_stats", storage(state)))
    if changes.instances or changes.forgotten:
        out.append(Delta("service_health", {
            "instances": [instance(i, now, state.health.stale_factor)
                          for i in changes.instances],
            "removed": [{"service": i.service, "instance_id": i.instance_id}
                        for i in changes.forgotten],
            "summary": health_summary(state, now)}))
    for broadcast_id in sorted(changes.broadcasts):
        b = state.broadcasts.get(broadcast_id)
        if b is not None:
            out.append(Delta("broadcast", broadcast(state, b)))
    return out


def message_stats(state: DashboardState, changes: Changes, now: datetime) -> dict[str, Any]:
    shown = set(chart_minutes(now, CHART_MINUTES))
    touched = sorted({m for minutes in changes.minutes.values() for m in minutes} & shown)
    first = day_start(now)
    rooms = []
    for room_id in sorted(changes.minutes):
        key = str(room_id)
        rooms.append({
            "room_id": room_id,
            "name": room_name(state, room_id),
            "new_message_count": changes.room_news.get(room_id, 0),
            "count_24h": state.counters.window(MESSAGES, key, first),
            "minutes": [{"minute": m.isoformat(),
                         "count": state.counters.count(MESSAGES, key, m)}
                        for m in sorted(changes.minutes[room_id] & shown)],
        })
    return {
        "minute": minute_of(now).isoformat(),
        "messages_24h": state.counters.window(MESSAGES, None, first),
        "top_rooms": top_rooms(state, now),
        "total": [{"minute": m.isoformat(), "count": state.counters.total(MESSAGES, m)}
                  for m in touched],
        "rooms": rooms,
        "last_activity": changes.last_activity.isoformat() if changes.last_activity else None,
    }
