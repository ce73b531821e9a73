"""Sockets a chat replica closed for being slow: counted per replica over the last hour."""

from __future__ import annotations

from datetime import timedelta

from services.dashboard import use_cases
from services.dashboard.domain.slow_consumers import SlowConsumerCloses
from shared.contracts import ConnectionClosed
from tests.unit.dashboard.fakes import (
    T0,
    RecordingFeed,
    SteppingClock,
    make_deps,
    shown_snapshot,
    shown_stats,
)


def test_each_replica_counts_its_slow_closes_of_the_last_hour() -> None:
    closes = SlowConsumerCloses()
    closes.add("chat-a", T0)
    closes.add("chat-a", T0 + timedelta(minutes=10))
    closes.add("chat-b", T0 + timedelta(minutes=30, seconds=5))
    assert closes.last_hour(T0 + timedelta(minutes=30, seconds=5)) == {"chat-a": 2, "chat-b": 1}
    # 59 minutes later the first close is still inside the hour; at 60 it has left it.
    assert closes.last_hour(T0 + timedelta(minutes=59, seconds=59)) == {"chat-a": 2,
                                                                        "chat-b": 1}
    assert closes.last_hour(T0 + timedelta(minutes=60)) == {"chat-a": 1, "chat-b": 1}
    assert closes.last_hour(T0 + timedelta(minutes=90, seconds=5)) == {}


def test_forgetting_the_old_minutes_says_whether_a_count_changed() -> None:
    closes = SlowConsumerCloses()
    for _ in range(1000):  # a flood: one minute's count, not a thousand entries
        closes.add("chat-a", T0)
    assert closes.last_hour(T0) == {"chat-a": 1000}
    assert closes.prune(T0 + timedelta(minutes=59)) is False
    assert closes.prune(T0 + timedelta(minutes=60)) is True
    assert closes.last_hour(T0 + timedelta(minutes=60)) == {}
    assert closes.prune(T0 + timedelta(minutes=61)) is False


def _closed(replica: str, connection: str, *, slow: bool) -> ConnectionClosed:
    return ConnectionClosed(replica_id=replica, connection_id=connection, user_id=7,
                            closed_at=T0, code=1013 if slow else 1000, slow_consumer=slow)


def test_the_dashboard_shows_slow_closes_per_replica_and_lets_them_age_out() -> None:
    clock = SteppingClock()
    deps = make_deps(clock)
    feed = deps.feed
    assert isinstance(feed, RecordingFeed)
    use_cases.record_connections(deps, _closed("chat-a", "c1", slow=True))
    use_cases.record_connections(deps, _closed("chat-a", "c2", slow=False))
    clock.advance(minutes=20)
    use_cases.record_connections(deps, _closed("chat-b", "c3", slow=True))
    use_cases.record_connections(deps, _closed("chat-a", "c4", slow=True))

    shown = shown_snapshot(deps)["connections"]["slow_consumers_1h"]
    assert shown == {"total": 3, "by_replica": {"chat-a": 2, "chat-b": 1}}
    assert shown_stats(deps)["connections"]["slow_consumers_1h"] == shown
    assert feed.of("connections")[-1]["slow_consumers_1h"] == shown

    # The hour slides on without any report: the tick tells the pages.
    clock.advance(minutes=45)
    use_cases.tick(deps)
    assert feed.of("connections")[-1]["slow_consumers_1h"] == {
        "total": 2, "by_replica": {"chat-a": 1, "chat-b": 1}}
    clock.advance(minutes=30)
    use_cases.tick(deps)
    assert feed.of("connections")[-1]["slow_consumers_1h"] == {"total": 0, "by_replica": {}}
