"""NatsEventBus against a real nats-server with JetStream."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest

from services.launcher import NatsServerProcess
from shared.bus import LiveMessage, PublishFailed
from shared.bus.nats import NatsEventBus
from shared.contracts import EVENTS_STREAM, CloudEvent

pytestmark = pytest.mark.integration


def make_event(n: object = 0) -> CloudEvent:
    return CloudEvent(
        id=str(uuid.uuid4()),
        source="tests",
        type="tertulia.test.happened.v1",
        time=datetime.now(UTC),
        data={"n": n},
    )


def unique(prefix: str) -> str:
    # The session server is shared: each test uses its own subjects and durable names.
    return f"{prefix}{uuid.uuid4().hex[:12]}"


async def eventually(check: Callable[[], bool | Awaitable[bool]], within_secs: float = 5.0) -> None:
    """Poll `check` until true; fail after `within_secs`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_secs
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within_secs}s")
        await asyncio.sleep(0.02)


def make_bus(url: str, **options: float) -> NatsEventBus:
    return NatsEventBus(url, name="tests", redelivery_base_secs=0.05, **options)


@pytest.fixture
async def bus(nats_url: str) -> AsyncIterator[NatsEventBus]:
    bus = make_bus(nats_url)
    await bus.connect()
    yield bus
    await bus.close()


async def subject_count(bus: NatsEventBus, subject: str) -> int:
    info = await bus.jetstream.stream_info(EVENTS_STREAM, subjects_filter=subject)
    return (info.state.subjects or {}).get(subject, 0)


async def ack_pending(bus: NatsEventBus, durable: str) -> tuple[int, int]:
    info = await bus.jetstream.consumer_info(EVENTS_STREAM, durable)
    return info.num_pending or 0, info.num_ack_pending or 0


async def test_connect_creates_the_events_stream(bus: NatsEventBus):
    info = await bus.jetstream.stream_info(EVENTS_STREAM)

    assert bus.is_connected
    assert info.config.subjects == ["events.>"]
    assert info.config.storage == "file"
    assert info.config.duplicate_window == 120.0


async def test_connect_updates_a_stream_with_another_duplicate_window(nats_server):
    first = make_bus(nats_server.url, duplicate_window_secs=60.0)
    await first.connect()
    await first.close()

    second = make_bus(nats_server.url)
    await second.connect()
    try:
        info = await second.jetstream.stream_info(EVENTS_STREAM)
        assert info.config.duplicate_window == 120.0
    finally:
        await second.close()


async def test_connect_waits_for_a_server_that_starts_late(nats_server: NatsServerProcess):
    await nats_server.astop()
    bus = make_bus(nats_server.url, connect_timeout_secs=10.0)
    connecting = asyncio.create_task(bus.connect())
    await asyncio.sleep(0.3)
    assert not connecting.done()

    await nats_server.astart()
    await asyncio.wait_for(connecting, 10)
    try:
        assert bus.is_connected
    finally:
        await bus.close()


async def test_connect_gives_up_after_its_timeout(nats_server: NatsServerProcess):
    await nats_server.astop()
    bus = make_bus(nats_server.url, connect_timeout_secs=0.5)

    with pytest.raises(ConnectionError):
        await bus.connect()
    assert not bus.is_connected


async def test_live_messages_reach_wildcard_subscribers_with_headers(bus: NatsEventBus):
    room = unique("r")
    received: list[LiveMessage] = []
    tail: list[str] = []

    async def collect(message: LiveMessage) -> None:
        received.append(message)

    async def collect_tail(message: LiveMessage) -> None:
        tail.append(message.subject)

    await bus.subscribe(f"live.{room}.*", collect)
    await bus.subscribe(f"live.{room}.>", collect_tail)
    await bus.publish(f"live.{room}.1", b"hello", {"trace": "abc"})
    await bus.publish(f"live.{room}.2", b"plain")
    await bus.publish(f"live.{room}.1.typing", b"deep")

    await eventually(lambda: len(received) == 2 and len(tail) == 3)
    assert [(m.subject, m.data, dict(m.headers)) for m in received] == [
        (f"live.{room}.1", b"hello", {"trace": "abc"}),
        (f"live.{room}.2", b"plain", {}),
    ]
    assert tail == [f"live.{room}.1", f"live.{room}.2", f"live.{room}.1.typing"]


async def test_live_handlers_run_in_order_and_survive_their_own_errors(bus: NatsEventBus):
    subject = unique("live.order.")
    received: list[int] = []

    async def picky(message: LiveMessage) -> None:
        n = int(message.data)
        await asyncio.sleep(0.001 * (n % 3))  # uneven work must not reorder
        if n == 5:
            raise ValueError("bad frame")
        received.append(n)

    sub = await bus.subscribe(subject, picky)
    for n in range(20):
        await bus.publish(subject, str(n).encode())
    await eventually(lambda: len(received) == 19)
    assert received == [n for n in range(20) if n != 5]

    witness: list[bytes] = []

    async def watch(message: LiveMessage) -> None:
        witness.append(message.data)

    await sub.unsubscribe()
    await sub.unsubscribe()
    await bus.subscribe(subject, watch)
    await bus.publish(subject, b"99")
    await eventually(lambda: witness == [b"99"])
    assert 99 not in received


async def test_publish_event_is_deduplicated_by_event_id(bus: NatsEventBus):
    subject = unique("events.test.dedupe.")
    event = make_event()

    await bus.publish_event(subject, event)
    await bus.publish_event(subject, event)
    await bus.publish_event(subject, make_event())

    assert await subject_count(bus, subject) == 2


async def test_consume_acks_and_a_restarted_consumer_resumes_after_them(nats_url: str):
    subject, durable = unique("events.test.resume."), unique("resume_")
    first_run: list[int] = []

    async def remember(event: CloudEvent) -> None:
        first_run.append(event.data["n"])

    bus = make_bus(nats_url)
    await bus.connect()
    await bus.consume(durable, [subject], remember)
    for n in range(3):
        await bus.publish_event(subject, make_event(n))
    await eventually(lambda: len(first_run) == 3)
    await eventually(lambda: _eq(ack_pending(bus, durable), (0, 0)))
    await bus.close()
    assert first_run == [0, 1, 2]

    second_run: list[int] = []

    async def remember_again(event: CloudEvent) -> None:
        second_run.append(event.data["n"])

    bus = make_bus(nats_url)
    await bus.connect()
    try:
        await bus.publish_event(subject, make_event(3))
        await bus.consume(durable, [subject], remember_again)
        await eventually(lambda: len(second_run) >= 1)
        await eventually(lambda: _eq(ack_pending(bus, durable), (0, 0)))
        assert second_run == [3]
    finally:
        await bus.close()


async def test_a_consumer_started_mid_stream_keeps_its_start_when_its_settings_change(
        bus: NatsEventBus):
    """`tertulia restore` creates the durables to start after their backed-up position; a
    service with another max_deliver (or filters) updates them without touching that."""
    from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

    subject, durable = unique("events.test.restored."), unique("restored_")
    for n in range(2):
        await bus.publish_event(subject, make_event(n))
    start = (await bus.jetstream.stream_info(EVENTS_STREAM)).state.last_seq + 1
    for n in range(2, 4):
        await bus.publish_event(subject, make_event(n))
    await bus.jetstream.add_consumer(EVENTS_STREAM, ConsumerConfig(
        durable_name=durable, name=durable, ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start,
        filter_subject=subject, max_deliver=3))
    handled: list[int] = []

    async def handle(event: CloudEvent) -> None:
        handled.append(event.data["n"])

    await bus.consume(durable, [subject], handle, max_deliver=5)
    await eventually(lambda: len(handled) == 2)
    assert handled == [2, 3]
    config = (await bus.jetstream.consumer_info(EVENTS_STREAM, durable)).config
    assert (config.max_deliver, config.deliver_policy, config.opt_start_seq) == (
        5, DeliverPolicy.BY_START_SEQUENCE, start)


async def test_the_consumers_ack_wait_is_the_buses_and_follows_a_change(nats_url: str):
    """`<P>EVENTS_ACK_WAIT_SECS`: the durable is made with it, and a service started with
    another value sets the existing durable to it (the others' redeliveries then follow)."""
    subject, durable = unique("events.test.ackwait."), unique("ackwait_")

    async def ignore(event: CloudEvent) -> None:
        pass

    for wait in (30.0, 4.0):
        bus = NatsEventBus(nats_url, name="test-ack-wait", ack_wait_secs=wait)
        await bus.connect()
        try:
            await bus.consume(durable, [subject], ignore)
            config = (await bus.jetstream.consumer_info(EVENTS_STREAM, durable)).config
            assert config.ack_wait == wait
        finally:
            await bus.close()


async def test_consume_with_several_filter_subjects(bus: NatsEventBus):
    base = unique("events.test.multi.")
    handled: list[str] = []

    async def handle(event: CloudEvent) -> None:
        handled.append(event.data["n"])

    await bus.consume(unique("multi_"), [f"{base}.a", f"{base}.b"], handle)
    await bus.publish_event(f"{base}.a", make_event("a"))
    await bus.publish_event(f"{base}.c", make_event("c"))
    await bus.publish_event(f"{base}.b", make_event("b"))

    await eventually(lambda: len(handled) == 2)
    assert handled == ["a", "b"]


async def test_a_handler_failing_twice_gets_the_event_a_third_time(bus: NatsEventBus):
    subject, durable = unique("events.test.flaky."), unique("flaky_")
    attempts: list[str] = []
    dead: list[CloudEvent] = []

    async def flaky(event: CloudEvent) -> None:
        attempts.append(event.id)
        if len(attempts) <= 2:
            raise RuntimeError("database busy")

    async def on_dead(event: CloudEvent, exc: BaseException) -> None:
        dead.append(event)

    await bus.consume(durable, [subject], flaky, max_deliver=5, on_dead_letter=on_dead)
    event = make_event()
    await bus.publish_event(subject, event)

    await eventually(lambda: len(attempts) == 3)
    await eventually(lambda: _eq(ack_pending(bus, durable), (0, 0)))
    assert attempts == [event.id] * 3
    assert dead == []


async def test_an_event_always_failing_is_dead_lettered_after_max_deliver(bus: NatsEventBus):
    subject, durable = unique("events.test.poison."), unique("poison_")
    attempts: list[int] = []
    dead: list[tuple[str, str]] = []

    async def broken_on_zero(event: CloudEvent) -> None:
        attempts.append(event.data["n"])
        if event.data["n"] == 0:
            raise RuntimeError("poison")

    async def on_dead(event: CloudEvent, exc: BaseException) -> None:
        dead.append((event.id, str(exc)))

    await bus.consume(durable, [subject], broken_on_zero, max_deliver=3, on_dead_letter=on_dead)
    poison = make_event(0)
    await bus.publish_event(subject, poison)
    await bus.publish_event(subject, make_event(1))

    await eventually(lambda: len(dead) == 1)
    await eventually(lambda: _eq(ack_pending(bus, durable), (0, 0)))
    assert dead == [(poison.id, "poison")]
    assert attempts.count(0) == 3
    assert attempts.count(1) == 1


async def test_unparseable_messages_are_terminated_and_the_rest_handled(bus: NatsEventBus):
    subject, durable = unique("events.test.junk."), unique("junk_")
    handled: list[int] = []

    async def handle(event: CloudEvent) -> None:
        handled.append(event.data["n"])

    await bus.jetstream.publish(subject, b"not json")
    await bus.publish_event(subject, make_event(7))
    await bus.consume(durable, [subject], handle)

    await eventually(lambda: handled == [7])
    await eventually(lambda: _eq(ack_pending(bus, durable), (0, 0)))


async def test_publish_event_fails_while_nats_is_down_and_works_after_restart(
    nats_server: NatsServerProcess,
):
    subject = "events.test.outage"
    bus = make_bus(nats_server.url, publish_timeout_secs=0.5)
    await bus.connect()
    try:
        await bus.publish_event(subject, make_event(1))
        await nats_server.astop()
        await eventually(lambda: not bus.is_connected)

        with pytest.raises(PublishFailed) as failure:
            await bus.publish_event(subject, make_event(2))
        assert failure.value.__cause__ is not None
        await bus.publish("live.anything", b"dropped quietly while reconnecting")

        await nats_server.astart()
        await eventually(lambda: bus.is_connected)
        await bus.publish_event(subject, make_event(3))
        assert await subject_count(bus, subject) == 2
    finally:
        await bus.close()


async def test_stream_and_consumer_come_back_when_nats_lost_its_store(
    nats_server: NatsServerProcess, tmp_path
):
    handled: list[int] = []

    async def handle(event: CloudEvent) -> None:
        handled.append(event.data["n"])

    bus = make_bus(nats_server.url)
    await bus.connect()
    try:
        await bus.consume("phoenix", ["events.test.>"], handle)
        await nats_server.astop()
        # Same port, empty data directory: the EVENTS stream and the consumer are gone.
        async with NatsServerProcess(tmp_path / "fresh", port=nats_server.port):
            await eventually(lambda: bus.is_connected)
            await bus.publish_event("events.test.fresh", make_event(1))
            assert await subject_count(bus, "events.test.fresh") == 1
            await eventually(lambda: handled == [1], within_secs=10)
    finally:
        await bus.close()


async def test_unsubscribing_mid_handler_hands_the_event_back_at_once(bus: NatsEventBus):
    subject, durable = unique("events.test.handback."), unique("handback_")
    started = asyncio.Event()
    handled: list[int] = []

    async def stuck(event: CloudEvent) -> None:
        started.set()
        await asyncio.Event().wait()

    async def handle(event: CloudEvent) -> None:
        handled.append(event.data["n"])

    first = await bus.consume(durable, [subject], stuck)
    await bus.publish_event(subject, make_event(1))
    await bus.publish_event(subject, make_event(2))
    await asyncio.wait_for(started.wait(), 5)
    await first.unsubscribe()
    await first.unsubscribe()

    # Well within the 30 s ack_wait: the stopped consumer nak'ed what it held.
    await bus.consume(durable, [subject], handle)
    await eventually(lambda: handled == [1, 2])


async def test_a_consumer_keeps_going_across_a_nats_restart(nats_server: NatsServerProcess):
    handled: list[int] = []

    async def handle(event: CloudEvent) -> None:
        handled.append(event.data["n"])

    bus = make_bus(nats_server.url)
    await bus.connect()
    try:
        await bus.consume("survivor", ["events.test.>"], handle)
        await bus.publish_event("events.test.restart", make_event(1))
        await eventually(lambda: handled == [1])

        await nats_server.arestart()
        await eventually(lambda: bus.is_connected)
        await bus.publish_event("events.test.restart", make_event(2))
        await eventually(lambda: handled == [1, 2], within_secs=10)
    finally:
        await bus.close()


async def _eq(value: Awaitable[object], expected: object) -> bool:
    return await value == expected


async def test_request_reply_on_real_nats(nats_url: str) -> None:
    from shared.bus import RequestFailed

    bus = NatsEventBus(nats_url, name="rpc-test")
    await bus.connect()
    try:
        async def upper(data: bytes) -> bytes:
            return data.upper()

        sub = await bus.respond("rpc.test.upper", upper)
        assert await bus.request("rpc.test.upper", b"hola") == b"HOLA"
        await sub.unsubscribe()
        with pytest.raises(RequestFailed):
            await bus.request("rpc.test.upper", b"hola", timeout_secs=0.3)
    finally:
        await bus.close()


async def test_follow_replays_from_a_time_then_follows_each_instance_all(bus: NatsEventBus):
    subject = unique("events.test.follow.")
    await bus.publish_event(subject, make_event("old"))
    await asyncio.sleep(0.05)
    since = datetime.now(UTC)
    await bus.publish_event(subject, make_event(1))
    first: list[object] = []
    second: list[object] = []

    async def to(seen: list[object]) -> Callable[[CloudEvent], Awaitable[None]]:
        async def handle(event: CloudEvent) -> None:
            seen.append(event.data["n"])
        return handle

    one = await bus.follow(subject, await to(first), since=since)
    assert first == [1]  # what was stored before `follow` returned is handled by then
    two = await bus.follow(subject, await to(second), since=since)
    await bus.publish_event(subject, make_event(2))
    await eventually(lambda: first == [1, 2] and second == [1, 2])
    await one.unsubscribe()
    await two.unsubscribe()


async def test_follow_resumes_after_a_nats_restart_without_repeats(
        nats_server: NatsServerProcess):
    seen: list[object] = []

    async def handle(event: CloudEvent) -> None:
        seen.append(event.data["n"])

    bus = make_bus(nats_server.url)
    await bus.connect()
    try:
        await bus.publish_event("events.test.follow", make_event(1))
        await bus.follow("events.test.follow", handle, since=datetime(2000, 1, 1, tzinfo=UTC))
        assert seen == [1]
        await nats_server.arestart()  # the ephemeral consumer (in memory) is gone
        await eventually(lambda: bus.is_connected)
        await bus.publish_event("events.test.follow", make_event(2))
        await eventually(lambda: seen == [1, 2], within_secs=10)
    finally:
        await bus.close()


async def test_follow_starts_over_when_nats_lost_its_store(
        nats_server: NatsServerProcess, tmp_path):
    seen: list[object] = []

    async def handle(event: CloudEvent) -> None:
        seen.append(event.data["n"])

    bus = make_bus(nats_server.url)
    await bus.connect()
    try:
        for n in (1, 2, 3):
            await bus.publish_event("events.test.follow", make_event(n))
        await bus.follow("events.test.follow", handle, since=datetime(2000, 1, 1, tzinfo=UTC))
        await nats_server.astop()
        # Same port, empty store: stream sequences start at 1 again, below the last one seen.
        async with NatsServerProcess(tmp_path / "fresh", port=nats_server.port):
            await eventually(lambda: bus.is_connected)
            await bus.publish_event("events.test.follow", make_event(4))
            await eventually(lambda: seen == [1, 2, 3, 4], within_secs=10)
    finally:
        await bus.close()
