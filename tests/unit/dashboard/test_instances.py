"""Several dashboard instances on one database: each folds the whole stream into its own
memory, the database gets each event once, and a position means the same everywhere."""

from __future__ import annotations

from services.dashboard import use_cases
from services.dashboard.adapters import views
from services.dashboard.domain import DashboardState
from services.dashboard.domain.facts import MESSAGES
from shared.contracts import CloudEvent
from tests.unit.dashboard.fakes import Line, SteppingClock, Stores, make_deps, session

Outcome = use_cases.Outcome


def stream(lines: list[Line]) -> list[CloudEvent]:
    return [CloudEvent.model_validate(x.data) for x in lines if x.subject.startswith("events.")]


async def fold(deps, events: list[CloudEvent], clock: SteppingClock,  # type: ignore[no-untyped-def]
               first_seq: int = 1) -> list[Outcome]:
    outcomes = []
    for seq, event in enumerate(events, start=first_seq):
        clock.at = event.time
        outcomes.append(await use_cases.record_event(deps, event, seq))
    return outcomes


async def test_two_instances_on_one_database_show_the_numbers_of_one() -> None:
    events = stream(session())
    alone_clock, clock_a, clock_b = SteppingClock(), SteppingClock(), SteppingClock()
    alone = make_deps(alone_clock)
    alone_outcomes = await fold(alone, events, alone_clock)
    stores = Stores()
    a, b = make_deps(clock_a, stores), make_deps(clock_b, stores)
    half = len(events) // 2
    # A is ahead, B follows and then overtakes: each event is written by whoever is first.
    outcomes_a = await fold(a, events[:half], clock_a)
    outcomes_b = await fold(b, events, clock_b)
    outcomes_a += await fold(a, events[half:], clock_a, first_seq=half + 1)
    assert Outcome.SHARED in outcomes_a and Outcome.SHARED in outcomes_b
    # The recording has a redelivered event: a duplicate for both, as for one alone.
    for outcomes in (outcomes_a, outcomes_b):
        assert [o is Outcome.DUPLICATE for o in outcomes] == [
            o is Outcome.DUPLICATE for o in alone_outcomes]
    for deps in (a, b):
        assert views.stats(deps.state, deps.clock.now())["messages_24h"] == views.stats(
            alone.state, alone.clock.now())["messages_24h"] > 0
    # The database holds each count once, as one instance alone writes it.
    assert stores.stats.tables.counts == alone.stats.tables.counts  # type: ignore[attr-defined]
    assert stores.stats.tables.position == len(events)  # type: ignore[attr-defined]


async def test_the_same_event_published_twice_counts_once_on_every_instance() -> None:
    events = stream(session())
    message = next(e for e in events if ".message.created." in e.type)
    stores = Stores()
    clock_a, clock_b = SteppingClock(), SteppingClock()
    a, b = make_deps(clock_a, stores), make_deps(clock_b, stores)
    # Stream messages 1 and 2 carry the same event id (a publish repeated after the
    # de-duplication window): the second counts nowhere.
    assert await fold(a, [message, message], clock_a) == [Outcome.COUNTED, Outcome.DUPLICATE]
    assert await fold(b, [message, message], clock_b) == [Outcome.SHARED, Outcome.DUPLICATE]
    for deps in (a, b):
        assert deps.state.counters.window(MESSAGES, None, message.time.replace(year=2000)) == 1
        assert deps.state.position == 2


async def test_a_restarted_instance_starts_where_the_database_is() -> None:
    events = stream(session())
    stores = Stores()
    clock = SteppingClock()
    a = make_deps(clock, stores)
    await fold(a, events, clock)
    restarted = make_deps(clock, stores)
    await use_cases.load(restarted)
    assert restarted.state.position == len(events)
    assert (views.stats(restarted.state, clock.now())["messages_24h"]
            == views.stats(a.state, clock.now())["messages_24h"])


async def test_changes_since_a_position_are_exactly_the_facts_after_it() -> None:
    events = stream(session())
    messages = [i for i, e in enumerate(events, 1) if ".message.created." in e.type]
    assert len(messages) >= 3
    clock = SteppingClock()
    deps = make_deps(clock)
    await fold(deps, events, clock)
    cut = messages[-3]  # the client saw everything up to the third message from the end
    changes = deps.state.changes_since(cut)
    assert changes is not None
    assert sum(changes.room_news.values()) == 2
    assert deps.state.changes_since(len(events)) is not None  # nothing missed: live only
    assert deps.state.changes_since(len(events) + 1) is None  # ahead of this instance


async def test_a_position_older_than_the_log_cannot_be_resumed() -> None:
    events = stream(session())
    clock = SteppingClock()
    deps = make_deps(clock, state=DashboardState(  # a short memory
        started_at=clock.now(), stale_factor=3.0, chat_heartbeat_secs=10.0, fact_log_size=2))
    await fold(deps, events, clock)
    assert deps.state.changes_since(0) is None


async def test_after_an_upgrade_the_refold_counts_nothing_twice() -> None:
    # A database of the release before: ids claimed without a stream sequence and no fold
    # position. The first start folds the stream from its first event again.
    events = stream(session())
    stores = Stores()
    clock = SteppingClock()
    before = make_deps(clock, stores)
    for event in events:
        clock.at = event.time
        await use_cases.record_event(before, event)  # no sequence, as the durable consumer did
    upgraded = make_deps(clock, stores)
    await use_cases.load(upgraded)
    assert upgraded.state.position == 0
    shown = views.stats(upgraded.state, clock.now())["messages_24h"]
    outcomes = await fold(upgraded, events, clock)
    assert Outcome.COUNTED not in [o for o, e in zip(outcomes, events, strict=True)
                                   if ".message.created." in e.type]
    assert views.stats(upgraded.state, clock.now())["messages_24h"] == shown > 0
    assert stores.stats.tables.position == len(events)  # type: ignore[attr-defined]


async def test_a_broadcast_known_while_its_row_was_read_keeps_its_receipts() -> None:
    import asyncio
    from datetime import UTC, datetime

    from services.dashboard.domain import Broadcast, Receipt
    from shared.contracts import BroadcastReceipt
    from tests.unit.dashboard.fakes import InMemoryBroadcastStore

    class SlowStore(InMemoryBroadcastStore):
        def __init__(self) -> None:
            super().__init__()
            self.reading = asyncio.Event()
            self.answer = asyncio.Event()

        async def get(self, broadcast_id: str) -> Broadcast | None:
            self.reading.set()
            await self.answer.wait()
            return await super().get(broadcast_id)

    store = SlowStore()
    deps = make_deps(broadcasts=store)
    b = Broadcast("b1", "hola", "Administrador", 1, datetime.now(UTC), 1,
                  frozenset({"chat-a"}))
    await store.save(b)
    # A receipt for a broadcast this instance does not know yet: it reads the row ...
    first = asyncio.create_task(use_cases.record_receipt(deps, BroadcastReceipt(
        broadcast_id="b1", replica_id="chat-a", sockets=2, users=1, user_ids=[7],
        at=datetime.now(UTC))))
    await store.reading.wait()
    # ... while the broadcast becomes known with a receipt already on it.
    deps.state.add_broadcast(b)
    b.add(Receipt("chat-b", 3, 1, (8,)))
    store.answer.set()
    await first
    kept = deps.state.broadcasts["b1"]
    assert kept is b and kept.sent_to == 5
