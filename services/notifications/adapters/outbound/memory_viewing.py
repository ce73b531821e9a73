"""`MemoryViewingBoard`: the rooms on screen now, in this process, on a monotonic clock."""

from __future__ import annotations

import time
from collections.abc import Callable

from services.notifications.domain import Viewing


class MemoryViewingBoard:
    def __init__(self, *, default_interval_secs: float, expiry_factor: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._viewing = Viewing(default_interval_secs=default_interval_secs,
                                expiry_factor=expiry_factor)
        self._now = monotonic

    def user(self, replica_id: str, user_id: int, rooms: list[int]) -> None:
        self._viewing.user(replica_id, user_id, rooms, self._now())

    def heartbeat(self, replica_id: str, viewers: dict[int, list[int]],
                  interval_secs: float) -> None:
        self._viewing.heartbeat(replica_id, dict(viewers), interval_secs, self._now())

    def rooms_of(self, user_ids: list[int]) -> dict[int, frozenset[int]]:
        return self._viewing.rooms_of(user_ids, self._now())
