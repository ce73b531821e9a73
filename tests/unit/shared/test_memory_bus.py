"""The in-memory bus behaves like NATS where services can tell the difference."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from shared.bus import LiveMessage, PublishFailed
from shared.bus.memory import InMemoryEventBus, subject_matches
from shared.contracts import CloudEvent


def make_event(n: int = 0, event_id: str | None = None) -> CloudEvent:
    return CloudEvent(
        id=event_id or str(uuid.uuid4()),
        source="tests",
        type="tertulia.test.happened.v1",
        time=datetime(2025, 1, 1, tzinfo=UTC),
        data={"n": n},
    )


@pytest.fixture
async def bus():
    bus = InMemoryEventBus()
    await bus.connect()
    yield bus
    await bus.close()


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("live.room.1", "live.room.1", True),
        ("live.room.1", "live.room.2", False),
        ("live.room.*", "live.room.7", True),
        ("live.room.*", "live.room.7.typing", False),
        ("live.*.7", "live.room.7", True),
        ("live.>", "live.room.7.typing", True),
        ("live.>", "live", False),
        ("events.>", "live.room.1", False),
        ("live.room", "live.room.1", False),
    ],
)
def test_subject_matching_follows_nats_wildcards(pattern: str, subject: str, expected: bool):
    assert subject_matches(pattern, subject) is expected


async def test_live_subscriptions_receive_matching_subjects_with_headers(bus: InMemoryEventBus):
    got: dict[str, list[LiveMessage]] = {"exact": [], "star": [], "tail": []}

    async def collect(into: list[LiveMessage], message: LiveMessage) -> None:
        into.append(message)

    await bus.subscribe("live.room.1", lambda m: collect(got["exact"], m))
    await bus.subscribe("live.room.*", lambda m: collect(got["star"], m))
    await bus.subscribe("live.>", lambda m: collect(got["tail"], m))

    await bus.publish("live.room.1", b"hello", {"trace": "abc"})
    await bus.publish("live.room.2.typing", b"typing")
    await bus.publish("live.user.9", b"ding")
    await bus.settle()

    assert [(m.subject, m.data, dict(m.headers)) for m in got["exact"]] == [
        ("live.room.1", b"hello", {"trace": "abc"})
    ]
    assert [m.subject for m in got["star"]] == ["live.room.1"]
    assert [m.subject for m in got["tail"]] == ["live.room.1", "live.room.2.typing", "live.user.9"]
    assert got["tail"][1].headers == {}


async def test_a_slow_handler_keeps_order_and_never_blocks_the_publisher(bus: InMemoryEventBus):
    release = asyncio.Event()
    received: list[bytes] = []

    async def slow(message: LiveMessage) -> None:
        await release.wait()
        received.append(message.data)

    await bus.subscribe("live.room.1", slow)
    async with asyncio.timeout(1):
        for i in range(50):
            await bus.publish("live.room.1", str(i).encode())
    assert received == []

    release.set()
    await bus.settle()
    assert received == [str(i).encode() for i in range(50)]


async def test_a_failing_handler_does_not_end_its_subscription(bus: InMemoryEventBus):
    received: list[bytes] = []

    async def picky(message: LiveMessage) -> None:
        if message.data == b"bad":
            raise ValueError("cannot handle this")
        received.append(message.data)

    await bus.subscribe("live.x", picky)
    for data in (b"one", b"bad", b"two"):
        await bus.publish("live.x", data)
    await bus.settle()

    assert received == [b"one", b"two"]


async def test_unsubscribe_stops_delivery_and_is_idempotent(bus: InMemoryEventBus):
    received: list[bytes] = []

    async def collect(message: LiveMessage) -> None:
        received.append(message.data)

    sub = await bus.subscribe("live.x", collect)
    await bus.publish("live.x", b"before")
    await bus.settle()
    await sub.unsubscribe()
    await sub.unsubscribe()
    await bus.publish("live.x", b"after")
    await bus.settle()

    assert received == [b"before"]


async def test_events_are_deduplicated_by_id(bus: InMemoryEventBus):
    handled: list[CloudEvent] = []

    async def handle(event: CloudEvent) -> None:
        handled.append(event)

    await bus.consume("svc", ["events.>"], handle)
    event = make_event(1)
    await bus.publish_event("events.test.happened", event)
    await bus.publish_event("events.test.happened", event)
    await bus.settle()

    assert bus.published_events == [("events.test.happened", event)]
    assert handled == [event]


async def test_consumers_see_only_their_filter_subjects_in_stream_order(bus: InMemoryEventBus):
    handled: list[int] = []

    async def handle(event: CloudEvent) -> None:
        handled.append(event.data["n"])

    await bus.consume("svc", ["events.chat.message.*", "events.chat.room.created"], handle)
    await bus.publish_event("events.chat.message.created", make_event(1))
    await bus.publish_event("events.presence.changed", make_event(2))
    await bus.publish_event("events.chat.room.created", make_event(3))
    await bus.publish_event("events.chat.message.deleted", make_event(4))
    await bus.settle()

    assert handled == [1, 3, 4]


async def test_a_durable_position_survives_unsubscribe_and_consume_again(bus: InMemoryEventBus):
    handled: list[int] = []

    async def handle(event: CloudEvent) -> None:
        handled.append(event.data["n"])

    first = await bus.consume("svc", ["events.>"], handle)
    await bus.publish_event("events.a", make_event(1))
    await bus.publish_event("events.a", make_event(2))
    await bus.settle()
    await first.unsubscribe()
    await first.unsubscribe()

    await bus.publish_event("events.a", make_event(3))
    await bus.settle()
    assert handled == [1, 2]

    await bus.consume("svc", ["events.>"], handle)
    await bus.settle()
    assert handled == [1, 2, 3]

    # Another durable starts from the beginning of the stream.
    other: list[int] = []

    async def handle_other(event: CloudEvent) -> None:
        other.append(event.data["n"])

    await bus.consume("other", ["events.>"], handle_other)
    await bus.settle()
    assert other == [1, 2, 3]


async def test_an_event_in_flight_at_unsubscribe_is_redelivered(bus: InMemoryEventBus):
    started = asyncio.Event()
    handled: list[int] = []

    async def stuck(event: CloudEvent) -> None:
        started.set()
        await asyncio.Event().wait()

    async def handle(event: CloudEvent) -> None:
        handled.append(event.data["n"])

    first = await bus.consume("svc", ["events.>"], stuck)
    await bus.publish_event("events.a", make_event(1))
    await asyncio.wait_for(started.wait(), 1)
    await first.unsubscribe()

    await bus.consume("svc", ["events.>"], handle)
    await bus.settle()
    assert handled == [1]


async def test_a_failing_handler_gets_the_event_again_until_it_succeeds(bus: InMemoryEventBus):
    attempts: list[str] = []
    dead: list[CloudEvent] = []

    async def flaky(event: CloudEvent) -> None:
        attempts.append(event.id)
        if len(attempts) < 3:
            raise RuntimeError("database busy")

    async def on_dead(event: CloudEvent, exc: BaseException) -> None:
        dead.append(event)

    await bus.consume("svc", ["events.>"], flaky, max_deliver=5, on_dead_letter=on_dead)
    event = make_event(1)
    await bus.publish_event("events.a", event)
    await bus.settle()

    assert attempts == [event.id] * 3
    assert dead == []


async def test_an_event_failing_max_deliver_times_is_dead_lettered(bus: InMemoryEventBus):
    attempts: list[int] = []
    dead: list[tuple[CloudEvent, BaseException]] = []

    async def broken_on_one(event: CloudEvent) -> None:
        attempts.append(event.data["n"])
        if event.data["n"] == 1:
            raise RuntimeError("poison")

    async def on_dead(event: CloudEvent, exc: BaseException) -> None:
        dead.append((event, exc))

    await bus.consume("svc", ["events.>"], broken_on_one, max_deliver=3, on_dead_letter=on_dead)
    poison = make_event(1)
    await bus.publish_event("events.a", poison)
    await bus.publish_event("events.a", make_event(2))
    await bus.settle()

    assert attempts.count(1) == 3
    assert attempts.count(2) == 1
    assert [(event, str(exc)) for event, exc in dead] == [(poison, "poison")]


async def test_redelivery_waits_for_the_configured_delay():
    bus = InMemoryEventBus(redelivery_delay_secs=0.05)
    loop = asyncio.get_running_loop()
    attempt_times: list[float] = []

    async def flaky(event: CloudEvent) -> None:
        attempt_times.append(loop.time())
        if len(attempt_times) == 1:
            raise RuntimeError("once")

    await bus.consume("svc", ["events.>"], flaky)
    await bus.publish_event("events.a", make_event())
    await bus.settle()
    await bus.close()

    assert len(attempt_times) == 2
    assert attempt_times[1] - attempt_times[0] >= 0.04


async def test_fail_publishes_simulates_nats_down(bus: InMemoryEventBus):
    bus.fail_publishes = True
    event = make_event(1)
    with pytest.raises(PublishFailed):
        await bus.publish_event("events.a", event)
    assert bus.published_events == []

    bus.fail_publishes = False
    await bus.publish_event("events.a", event)
    assert bus.published_events == [("events.a", event)]


async def test_close_stops_handlers_and_refuses_durable_publishes():
    bus = InMemoryEventBus()
    received: list[bytes] = []

    async def collect(message: LiveMessage) -> None:
        received.append(message.data)

    await bus.subscribe("live.x", collect)
    await bus.close()

    await bus.publish("live.x", b"dropped")
    await bus.settle()
    assert received == []
    assert not bus.is_connected
    with pytest.raises(PublishFailed):
        await bus.publish_event("events.a", make_event())


async def test_request_reply_and_no_responder() -> None:
    from shared.bus import RequestFailed

    bus = InMemoryEventBus()

    async def double(data: bytes) -> bytes:
        return data * 2

    sub = await bus.respond("rpc.double", double)
    assert await bus.request("rpc.double", b"ab") == b"abab"
    await sub.unsubscribe()
    with pytest.raises(RequestFailed):
        await bus.request("rpc.double", b"ab")
