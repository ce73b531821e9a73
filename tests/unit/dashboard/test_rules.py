"""Rules the recording does not exercise: event time, late presence, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.dashboard import use_cases
from services.dashboard.domain import DashboardError, validate_broadcast
from shared.contracts import CloudEvent, MessageCreated, PresenceChanged, new_event
from tests.unit.dashboard.fakes import (
    RecordingFeed,
    SteppingClock,
    make_deps,
    shown_stats,
)


def message(room_id: int, at: object) -> CloudEvent:
    return new_event(MessageCreated(message_id=1, room_id=room_id, seq=1, user_id=1,
                                    username="ana", content="hola", created_at=at),
                     source="test")[1]


def presence(status: str, previous: str, at: object) -> CloudEvent:
    return new_event(PresenceChanged(user_id=5, username="ana", status=status,
                                     previous=previous, connections=1, reason="test"),
                     source="test", time=at)[1]


async def test_the_message_time_decides_its_minute_not_its_arrival() -> None:
    clock = SteppingClock()
    deps = make_deps(clock)
    now = clock.now()
    for room_id, at in ((1, now - timedelta(hours=2)), (2, now - timedelta(hours=25)),
                        (3, now + timedelta(minutes=5)), (4, now - timedelta(seconds=30))):
        await use_cases.record_event(deps, message(room_id, at))
    stats = shown_stats(deps)
    # Two hours ago: in the day, not in the hour's chart. 25 h ago: nowhere. A producer
    # clock five minutes fast: counted now.
    assert stats["messages_24h"] == 3
    assert {r["id"] for r in stats["active_rooms"]} == {1, 3, 4}
    assert sum(stats["messages_per_minute"]["counts"]) == 2


async def test_an_older_presence_change_arriving_late_does_not_win() -> None:
    clock = SteppingClock()
    deps = make_deps(clock)
    now = clock.now()
    await use_cases.record_event(deps, presence("away", "online", now))
    await use_cases.record_event(deps, presence("online", "offline", now - timedelta(seconds=5)))
    assert shown_stats(deps)["presence"]["away"] == 1


async def test_unknown_and_malformed_events_are_skipped_not_retried() -> None:
    deps = make_deps()
    unknown = CloudEvent(id="u1", source="future", type="tertulia.chat.thing.v9",
                         time=deps.clock.now(), data={})
    malformed = CloudEvent(id="m1", source="test", type="tertulia.chat.message.created.v1",
                           time=deps.clock.now(), data={"room_id": "not a number"})
    assert await use_cases.record_event(deps, unknown) is use_cases.Outcome.IGNORED
    assert await use_cases.record_event(deps, malformed) is use_cases.Outcome.UNREADABLE
    assert isinstance(deps.feed, RecordingFeed)
    assert deps.feed.deltas == []


@pytest.mark.parametrize("content", ["", "   \n ", "x" * 4001])
def test_a_broadcast_needs_some_text_and_not_too_much(content: str) -> None:
    with pytest.raises(DashboardError):
        validate_broadcast(content)


def test_a_broadcast_is_trimmed() -> None:
    assert validate_broadcast("  hola \n") == "hola"
