"""Per-minute counters kept for a day: sliding-window sums, per-minute series and top keys."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

MINUTE = timedelta(minutes=1)
DAY = timedelta(hours=24)
CHART_MINUTES = 60


def minute_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def day_start(now: datetime) -> datetime:
    """The first minute inside the 24 h window that ends with the current minute."""
    return minute_of(now) - DAY + MINUTE


def chart_minutes(now: datetime, count: int = CHART_MINUTES) -> list[datetime]:
    """The last `count` minutes, oldest first, ending with the current one."""
    last = minute_of(now)
    return [last - MINUTE * (count - 1 - i) for i in range(count)]


class MinuteCounters:
    """Counts by (kind, key, minute), e.g. ("messages", "<room id>", 12:07) -> 3.

    Totals per (kind, minute) are kept alongside so a chart of every room costs one lookup
    per minute. Keys are strings so the same table holds rooms, reasons and broadcast ids.
    """

    def __init__(self) -> None:
        self._counts: dict[str, dict[str, dict[datetime, int]]] = {}
        self._totals: dict[str, dict[datetime, int]] = {}

    def add(self, kind: str, key: str, minute: datetime, n: int = 1) -> int:
        """Add `n`; returns the (kind, key, minute) count after it."""
        by_minute = self._counts.setdefault(kind, {}).setdefault(key, {})
        by_minute[minute] = by_minute.get(minute, 0) + n
        totals = self._totals.setdefault(kind, {})
        totals[minute] = totals.get(minute, 0) + n
        return by_minute[minute]

    def count(self, kind: str, key: str, minute: datetime) -> int:
        return self._counts.get(kind, {}).get(key, {}).get(minute, 0)

    def total(self, kind: str, minute: datetime) -> int:
        return self._totals.get(kind, {}).get(minute, 0)

    def window(self, kind: str, key: str | None, since: datetime) -> int:
        """Sum over minutes >= `since` for one key, or for every key when `key` is None."""
        counts = (self._totals.get(kind, {}) if key is None
                  else self._counts.get(kind, {}).get(key, {}))
        return sum(n for minute, n in counts.items() if minute >= since)

    def windows(self, kind: str, since: datetime) -> dict[str, int]:
        """Every key's sum over minutes >= `since` (keys with nothing in the window left out)."""
        sums: dict[str, int] = {}
        for key, counts in self._counts.get(kind, {}).items():
            total = sum(n for minute, n in counts.items() if minute >= since)
            if total:
                sums[key] = total
        return sums

    def series(self, kind: str, key: str | None, minutes: list[datetime]) -> list[int]:
        counts = (self._totals.get(kind, {}) if key is None
                  else self._counts.get(kind, {}).get(key, {}))
        return [counts.get(minute, 0) for minute in minutes]

    def prune(self, before: datetime) -> None:
        """Forget minutes older than `before` (and keys left with none)."""
        for keys in self._counts.values():
            for key in list(keys):
                kept = {m: n for m, n in keys[key].items() if m >= before}
                if kept:
                    keys[key] = kept
                else:
                    del keys[key]
        for kind, totals in self._totals.items():
            self._totals[kind] = {m: n for m, n in totals.items() if m >= before}

    def rows(self) -> Iterator[tuple[str, str, datetime, int]]:
        for kind, keys in self._counts.items():
            for key, counts in keys.items():
                for minute, n in counts.items():
                    yield kind, key, minute, n
