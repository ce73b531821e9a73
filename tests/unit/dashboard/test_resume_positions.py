"""The position in a delta's id is what a client holding that delta has seen: resumed on
another instance from it, the client is told exactly what it missed, whatever else the
drain that delta came in held.

The race behind a rare failure of `tests/integration/dashboard/test_instances.py`: two posts
folded within one delta interval, drained together with a delta of another kind (an
instance's health changing, the minute turning), and the client cut off right after the
`message_stats` delta. Its id carried the position of the drain before, so the other
instance told it both messages again on top of the ones it had missed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson
import pytest

from services.dashboard import use_cases
from services.dashboard.adapters import views
from services.dashboard.adapters.metrics import DashboardMetrics
from services.dashboard.adapters.outbound.sse_hub import SseHub
from services.dashboard.ports import DashboardDeps
from shared.contracts import MessageCreated, PresenceChanged, ServiceHeartbeat, new_event
from tests.unit.dashboard.fakes import T0, SteppingClock, Stores, make_deps

ROOM = 7


def instance(clock: SteppingClock, stores: Stores, first_id: int) -> DashboardDeps:
    hub = SseHub(DashboardMetrics(), queue_size=64, ring_size=64, retry_ms=3000,
                 first_id=first_id)
    # A delta interval: the test drains by hand, as the ticker would.
    return make_deps(clock, stores, feed=hub, delta_interval_secs=0.5)


def hub_of(deps: DashboardDeps) -> SseHub:
    assert isinstance(deps.feed, SseHub)
    return deps.feed


class Stream:
    """The EVENTS stream: each instance folds it in order, at its own pace."""

    def __init__(self, clock: SteppingClock) -> None:
        self.clock = clock
        self.events: list[Any] = []
        self.folded: dict[int, int] = {}

    def post(self, n: int) -> None:
        for _ in range(n):
            i = len(self.events) + 1
            _, event = new_event(MessageCreated(
                message_id=i, room_id=ROOM, seq=i, user_id=2, username="alice",
                content=f"hola {i}", created_at=self.clock.now()),
                source="tertulia/chat", time=self.clock.now())
            self.events.append(event)

    def presence(self) -> None:
        _, event = new_event(PresenceChanged(
            user_id=2, username="alice", status="away", previous="online",
            current_room=None, last_active_at=self.clock.now(), connections=1,
            reason="idle"),
            source="tertulia/presence", time=self.clock.now())
        self.events.append(event)

    async def fold(self, deps: DashboardDeps) -> None:
        start = self.folded.get(id(deps), 0)
        for seq, event in enumerate(self.events[start:], start=start + 1):
            await use_cases.record_event(deps, event, seq)
        self.folded[id(deps)] = len(self.events)


def heartbeat(clock: SteppingClock, instance_id: str) -> ServiceHeartbeat:
    return ServiceHeartbeat(service="chat", instance_id=instance_id, version="1",
                            started_at=clock.now(), at=clock.now(), interval_secs=1.0,
                            ready=True)


def resume_on(deps: DashboardDeps, last_event_id: str) -> list[dict[str, Any]]:
    """What `GET /stream` with `Last-Event-ID` sends first (as `adapters/inbound/sse.py`)."""
    use_cases.flush(deps)

    def resume(position: int) -> list[views.Delta] | None:
        changes = deps.state.changes_since(position)
        return None if changes is None else views.deltas(deps.state, changes,
                                                         deps.clock.now())

    client = hub_of(deps).open(last_event_id, lambda: pytest.fail("no snapshot"), None,
                               resume)
    assert client.resumed
    return [orjson.loads(event.raw_data) for event in client.backlog]


def new_messages(events: list[dict[str, Any]]) -> int:
    return sum(room["new_message_count"] for e in events if e["type"] == "message_stats"
               for room in e["data"]["rooms"] if room["room_id"] == ROOM)


async def alongside_a_health_change(deps: DashboardDeps, clock: SteppingClock) -> None:
    await use_cases.record_heartbeat(deps, heartbeat(clock, "chat-new"))


async def at_the_turn_of_the_minute(deps: DashboardDeps, clock: SteppingClock) -> None:
    clock.advance(minutes=1)


@pytest.mark.parametrize("meanwhile", [alongside_a_health_change, at_the_turn_of_the_minute])
async def test_a_client_cut_off_after_message_stats_is_told_only_what_it_missed(
        meanwhile: Callable[[DashboardDeps, SteppingClock], Any]) -> None:
    clock = SteppingClock(T0 + timedelta(seconds=10))
    stores = Stores()
    a, b = instance(clock, stores, 1_000_000), instance(clock, stores, 2_000_000)
    stream = Stream(clock)
    stream.post(3)
    for deps in (a, b):
        await stream.fold(deps)
        use_cases.tick(deps)
    client = hub_of(a).open(None, dict)
    client.backlog.clear()  # the snapshot

    # Two posts folded within one delta interval, drained with another kind of change.
    stream.post(2)
    await stream.fold(a)
    await meanwhile(a, clock)
    use_cases.tick(a)
    batch = [client.queue.get_nowait() for _ in range(client.queue.qsize())]
    assert len(batch) > 1
    (seen,) = [e for e in batch if orjson.loads(e.raw_data)["type"] == "message_stats"]
    assert orjson.loads(seen.raw_data)["data"]["messages_24h"] == 5
    assert seen.id is not None

    # Cut off right after it; four posts meanwhile; it comes back on B.
    stream.post(4)
    await stream.fold(b)
    got = resume_on(b, seen.id)
    assert new_messages(got) == 4
    (stats,) = [e for e in got if e["type"] == "message_stats"]
    assert stats["data"]["messages_24h"] == 9


async def test_cut_off_anywhere_in_a_drain_the_client_is_never_told_less() -> None:
    # A drain of messages and a presence change: resumed from any of its ids, the client
    # hears of both (the presence change again, if its id was before it: twice, not never).
    clock = SteppingClock(T0 + timedelta(seconds=10))
    stores = Stores()
    a, b = instance(clock, stores, 1_000_000), instance(clock, stores, 2_000_000)
    stream = Stream(clock)
    stream.post(1)
    for deps in (a, b):
        await stream.fold(deps)
        use_cases.tick(deps)
    await use_cases.record_heartbeat(a, heartbeat(clock, "chat-new"))
    client = hub_of(a).open(None, dict)
    stream.post(2)
    stream.presence()
    await stream.fold(a)
    await stream.fold(b)
    use_cases.tick(a)
    batch = [client.queue.get_nowait() for _ in range(client.queue.qsize())]
    types = [orjson.loads(e.raw_data)["type"] for e in batch]
    assert {"message_stats", "user_presence"} <= set(types)
    for i, cut in enumerate(batch):
        assert cut.id is not None
        missed = set(types[i + 1:]) - {"connections", "service_health", "user_stats",
                                       "notification_stats"}
        got = [e["type"] for e in resume_on(b, cut.id)]
        assert missed <= set(got), (types[:i + 1], got)
        if "message_stats" in missed:
            assert new_messages(resume_on(b, cut.id)) == 2
