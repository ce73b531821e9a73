"""The open WebSockets of every chat replica, as its `live.connections` reports tell them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class Socket:
    user_id: int | None
    rooms: set[int] = field(default_factory=set)


@dataclass(slots=True)
class Replica:
    replica_id: str
    interval_secs: float
    last_seen: datetime
    sockets: dict[str, Socket] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RoomPeople:
    room_id: int
    sockets: int
    users: int


@dataclass(frozen=True, slots=True)
class SocketTotals:
    total: int
    users: int
    by_replica: dict[str, int]
    rooms: list[RoomPeople]  # rooms with at least one socket, most people first


class LiveSockets:
    """Opened/closed reports change one replica's list; its periodic heartbeat replaces it.

    A replica that has not reported for `stale_factor` heartbeat intervals has crashed or
    lost NATS: its sockets stop counting (they would be closed or moved by now anyway).
    """

    def __init__(self, *, default_interval_secs: float, stale_factor: float) -> None:
        self._default_interval = default_interval_secs
        self._stale_factor = stale_factor
        self.replicas: dict[str, Replica] = {}

    def _replica(self, replica_id: str, now: datetime) -> Replica:
        replica = self.replicas.get(replica_id)
        if replica is None:
            replica = self.replicas[replica_id] = Replica(replica_id, self._default_interval, now)
        replica.last_seen = now
        return replica

    def opened(self, replica_id: str, connection_id: str, user_id: int | None,
               rooms: list[int], now: datetime) -> None:
        self._replica(replica_id, now).sockets[connection_id] = Socket(user_id, set(rooms))

    def closed(self, replica_id: str, connection_id: str, now: datetime) -> None:
        self._replica(replica_id, now).sockets.pop(connection_id, None)

    def active(self, replica_id: str, connection_id: str, room_id: int | None,
               now: datetime) -> bool:
        """A person did something; a room they act in is a room they are in. True if new."""
        socket = self._replica(replica_id, now).sockets.get(connection_id)
        if socket is None or room_id is None or room_id in socket.rooms:
            return False
        socket.rooms.add(room_id)
        return True

    def heartbeat(self, replica_id: str, interval_secs: float,
                  sockets: dict[str, Socket], now: datetime) -> bool:
        """Replace the replica's list; True if anything that is shown changed."""
        replica = self._replica(replica_id, now)
        replica.interval_secs = interval_secs
        changed = replica.sockets != sockets
        replica.sockets = sockets
        return changed

    def expire(self, now: datetime) -> list[str]:
        """Forget replicas that stopped reporting; returns their ids."""
        gone = [r.replica_id for r in self.replicas.values() if not self._fresh(r, now)]
        for replica_id in gone:
            del self.replicas[replica_id]
        return gone

    def has_room(self, room_id: int) -> bool:
        return any(room_id in socket.rooms for replica in self.replicas.values()
                   for socket in replica.sockets.values())

    def fresh_replicas(self, now: datetime) -> set[str]:
        return {r.replica_id for r in self.replicas.values() if self._fresh(r, now)}

    def _fresh(self, replica: Replica, now: datetime) -> bool:
        age = (now - replica.last_seen).total_seconds()
        return age <= self._stale_factor * replica.interval_secs

    def totals(self) -> SocketTotals:
        users: set[int] = set()
        by_replica: dict[str, int] = {}
        room_sockets: dict[int, int] = {}
        room_users: dict[int, set[int]] = {}
        for replica in self.replicas.values():
            by_replica[replica.replica_id] = len(replica.sockets)
            for socket in replica.sockets.values():
                if socket.user_id is not None:
                    users.add(socket.user_id)
                for room_id in socket.rooms:
                    room_sockets[room_id] = room_sockets.get(room_id, 0) + 1
                    people = room_users.setdefault(room_id, set())
                    if socket.user_id is not None:
                        people.add(socket.user_id)
        rooms = [RoomPeople(room_id, n, len(room_users[room_id]))
                 for room_id, n in room_sockets.items()]
        rooms.sort(key=lambda r: (-r.users, -r.sockets, r.room_id))
        return SocketTotals(sum(by_replica.values()), len(users), by_replica, rooms)
