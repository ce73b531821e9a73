"""Suppressed notifications and broadcast reads, from `events.notifications.suppressed` and
`events.notifications.read` played after the recorded session: counted once, shown in the
stats, the snapshot and the deltas, and kept across a restart."""

from __future__ import annotations

from datetime import timedelta

import orjson
from pydantic import BaseModel

from services.dashboard import use_cases
from shared.contracts import NotificationRead, NotificationSuppressed, new_event
from tests.unit.dashboard.fakes import (
    Line,
    RecordingFeed,
    SteppingClock,
    Stores,
    make_deps,
    play,
    session,
    shown_snapshot,
    shown_stats,
)
from tests.unit.dashboard.test_aggregation import (
    ALICE,
    BOB,
    CAROL,
    GENERAL,
    RECORDED_BROADCAST,
    the_broadcast,
)


def recorded(lines: list[Line], *events: BaseModel) -> list[Line]:
    """The events as the recorder would have written them, a second apart after the end."""
    end = lines[-1].at
    out = []
    for n, data in enumerate(events, start=1):
        at = end + timedelta(seconds=n)
        subject, event = new_event(data, source="tertulia/notifications", time=at)
        out.append(Line(at, subject, orjson.loads(event.to_bytes())))
    return out


def outcomes_after(lines: list[Line]) -> list[Line]:
    at = lines[-1].at
    return recorded(
        lines,
        NotificationSuppressed(user_id=BOB, room_id=GENERAL, message_id=101,
                               reason="viewing_room", decided_at=at),
        NotificationSuppressed(user_id=CAROL, room_id=GENERAL, message_id=101,
                               reason="muted", decided_at=at),
        NotificationSuppressed(user_id=CAROL, room_id=GENERAL, message_id=102,
                               reason="viewing_room", decided_at=at),
        NotificationRead(notification_id="ntf_7", user_id=BOB, reason="broadcast",
                         broadcast_id=RECORDED_BROADCAST, read_at=at),
        NotificationRead(notification_id="ntf_8", user_id=CAROL, reason="broadcast",
                         broadcast_id=RECORDED_BROADCAST, read_at=at),
        # A message notification read: nothing the dashboard counts.
        NotificationRead(notification_id="ntf_9", user_id=ALICE, reason="message",
                         room_id=GENERAL, message_id=101, read_at=at),
    )


async def test_suppressions_and_broadcast_reads_are_counted_and_pushed() -> None:
    lines = session()
    extra = outcomes_after(lines)
    clock = SteppingClock()
    deps = make_deps(clock)
    deps.state.add_broadcast(the_broadcast(lines))
    await play(deps, lines, clock)
    feed = deps.feed
    assert isinstance(feed, RecordingFeed)
    feed.deltas.clear()

    outcomes = await play(deps, extra, clock)
    assert outcomes == [use_cases.Outcome.COUNTED] * 5 + [use_cases.Outcome.IGNORED]

    notifications = shown_stats(deps)["notifications"]
    assert notifications["suppressed_24h"] == 3
    assert notifications["suppressed_by_reason"] == {"muted": 1, "viewing_room": 2}
    assert notifications["sent_24h"] == 6  # suppressions are not sent notifications
    snap = shown_snapshot(deps)
    assert snap["notifications"] == notifications
    (broadcast,) = snap["broadcasts"]
    assert (broadcast["inboxes"], broadcast["read"]) == (3, 2)

    # Deltas carry the numbers after each change.
    assert [d["suppressed_24h"] for d in feed.of("notification_stats")] == [1, 2, 3]
    assert [d["read"] for d in feed.of("broadcast")] == [1, 2]

    # A redelivery counts nothing.
    again = await play(deps, extra, clock)
    assert again == [use_cases.Outcome.DUPLICATE] * 5 + [use_cases.Outcome.IGNORED]
    assert shown_stats(deps)["notifications"] == notifications


async def test_suppressions_and_reads_survive_a_restart_and_slide_out_after_a_day() -> None:
    lines = session()
    clock = SteppingClock()
    stores = Stores()
    deps = make_deps(clock, stores)
    deps.state.add_broadcast(the_broadcast(lines))
    # The recorded receipts save it (as `send_broadcast` would have).
    await play(deps, [*lines, *outcomes_after(lines)], clock)
    before = shown_snapshot(deps)

    clock.advance(seconds=1)
    restarted = make_deps(clock, stores)
    await use_cases.load(restarted)
    after = shown_snapshot(restarted)
    assert after["notifications"] == before["notifications"]
    assert after["notifications"]["suppressed_24h"] == 3
    recorded_after = next(b for b in after["broadcasts"]
                          if b["broadcast_id"] == RECORDED_BROADCAST)
    assert recorded_after["read"] == 2

    clock.advance(hours=24, minutes=1)
    use_cases.tick(restarted)
    assert shown_stats(restarted)["notifications"]["suppressed_24h"] == 0
    assert isinstance(restarted.feed, RecordingFeed)
    assert restarted.feed.of("notification_stats")[-1]["suppressed_by_reason"] == {}
