"""Sockets each chat replica closed for being slow consumers (1013), over the last hour."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.dashboard.domain.counters import minute_of

SLOW_CONSUMER_WINDOW = timedelta(hours=1)


class SlowConsumerCloses:
    """Counted by (replica, minute), so a flood that closes thousands of sockets costs one
    entry per minute; the last hour is the current minute and the 59 before it."""

    def __init__(self, window: timedelta = SLOW_CONSUMER_WINDOW) -> None:
        self._window = window
        self._counts: dict[str, dict[datetime, int]] = {}

    def add(self, replica_id: str, now: datetime) -> None:
        minutes = self._counts.setdefault(replica_id, {})
        minute = minute_of(now)
        minutes[minute] = minutes.get(minute, 0) + 1

    def last_hour(self, now: datetime) -> dict[str, int]:
        """Each replica with a slow close in the window, and how many."""
        first = self._first(now)
        counts = {}
        for replica_id, minutes in sorted(self._counts.items()):
            n = sum(count for minute, count in minutes.items() if minute >= first)
            if n:
                counts[replica_id] = n
        return counts

    def prune(self, now: datetime) -> bool:
        """Forget the minutes that left the window; True if any count shown changed."""
        first = self._first(now)
        changed = False
        for replica_id in list(self._counts):
            minutes = self._counts[replica_id]
            kept = {minute: n for minute, n in minutes.items() if minute >= first}
            if len(kept) != len(minutes):
                changed = True
                if kept:
                    self._counts[replica_id] = kept
                else:
                    del self._counts[replica_id]
        return changed

    def _first(self, now: datetime) -> datetime:
        return minute_of(now) - self._window + timedelta(minutes=1)
