"""The SSE hub: ids, resume from Last-Event-ID, bounded queues and dropping stalled clients."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from services.dashboard.adapters.metrics import DashboardMetrics
from services.dashboard.adapters.outbound.sse_hub import KEEPALIVE, SseHub
from services.dashboard.adapters.views import Delta

FIRST_ID = 1000


def hub(queue_size: int = 8, ring_size: int = 4) -> SseHub:
    return SseHub(DashboardMetrics(), queue_size=queue_size, ring_size=ring_size,
                  retry_ms=3000, first_id=FIRST_ID)


def sid(n: int, position: int = 0) -> str:
    return f"{position}.{n}"


def local(event_id: str | None) -> int:
    assert event_id is not None
    return int(event_id.partition(".")[2])


def data(event: object) -> dict[str, object]:
    return orjson.loads(event.raw_data)  # type: ignore[attr-defined]


def deltas(n: int, start: int = 0) -> list[Delta]:
    return [Delta("connections", {"total": start + i}) for i in range(n)]


async def test_a_new_client_gets_a_snapshot_then_numbered_deltas() -> None:
    h = hub()
    client = h.open(None, lambda: {"websocket_connections": 0})
    (snapshot,) = client.backlog
    assert (snapshot.id, snapshot.retry) == (sid(FIRST_ID), 3000)
    assert data(snapshot) == {"type": "initial_data", "data": {"websocket_connections": 0}}
    h.send(deltas(2))
    first, second = client.queue.get_nowait(), client.queue.get_nowait()
    assert (first.id, second.id) == (sid(FIRST_ID + 1), sid(FIRST_ID + 2))
    assert data(second) == {"type": "connections", "data": {"total": 1}}


@pytest.mark.parametrize(("last_event_id", "expected"), [
    (sid(FIRST_ID + 3), [FIRST_ID + 4, FIRST_ID + 5]),  # missed two: exactly those
    (sid(FIRST_ID + 5), []),  # missed nothing
    (sid(FIRST_ID + 1), [FIRST_ID + 2, FIRST_ID + 3, FIRST_ID + 4, FIRST_ID + 5]),
    (str(FIRST_ID + 3), [FIRST_ID + 4, FIRST_ID + 5]),  # a bare id, as before positions
])
async def test_resume_replays_exactly_the_missed_deltas(last_event_id: str,
                                                        expected: list[int]) -> None:
    h = hub(ring_size=4)
    h.send(deltas(5))
    client = h.open(last_event_id, lambda: pytest.fail("no snapshot when resuming"))
    assert client.resumed
    assert [local(e.id) for e in client.backlog] == expected


@pytest.mark.parametrize("last_event_id", [
    sid(FIRST_ID),  # the ring (4) no longer holds delta FIRST_ID + 1
    sid(FIRST_ID + 99),  # from the future: another run
    sid(FIRST_ID + 3, position=7),  # our number, another instance's event
    "12345",  # a previous run's ids are smaller
    "not-a-number",
])
async def test_an_id_that_cannot_be_resumed_gets_a_fresh_snapshot(last_event_id: str) -> None:
    h = hub(ring_size=4)
    h.send(deltas(5))
    client = h.open(last_event_id, lambda: {"fresh": True})
    assert not client.resumed
    (snapshot,) = client.backlog
    assert data(snapshot)["type"] == "initial_data"
    assert snapshot.id == sid(FIRST_ID + 5)


async def test_a_stalled_client_is_dropped_and_the_others_keep_receiving() -> None:
    h = hub(queue_size=3)
    stalled = h.open(None, dict)
    reading = h.open(None, dict)
    for i in range(5):
        h.send(deltas(1, start=i))
        assert reading.queue.get_nowait() is not None
    # One more than its queue holds: dropped, its backlog freed, told to end.
    assert stalled.dropped and not reading.dropped
    assert stalled.queue.qsize() == 1
    assert await stalled.next(1.0) is None
    assert h.clients == 1
    metrics = h._metrics
    assert metrics.sse_clients_dropped._value.get() == 1


async def test_silence_becomes_a_keep_alive_comment() -> None:
    h = hub()
    client = h.open(None, dict)
    assert await client.next(0.01) is KEEPALIVE
    h.send(deltas(1))
    event = await client.next(0.01)
    assert event is not None and event.id == sid(FIRST_ID + 1)


async def test_closing_every_stream_ends_them() -> None:
    h = hub()
    clients = [h.open(None, dict) for _ in range(3)]
    h.close_all()
    results = await asyncio.gather(*(c.next(1.0) for c in clients))
    assert results == [None, None, None]


async def test_ending_a_session_ends_its_streams_only() -> None:
    h = hub()
    revoked = h.open(None, lambda: {}, session_id="s1")
    other = h.open(None, lambda: {}, session_id="s2")
    h.end_session("s1")
    assert await revoked.next(1.0) is None  # the stream ends
    assert h.clients == 1
    h.send(deltas(1))
    assert data(await other.next(1.0)) == {"type": "connections", "data": {"total": 0}}


async def test_a_batch_carries_the_new_position_from_its_last_delta_a_resume_would_miss(
        ) -> None:
    # Cut off before a delta a resume from the new position would not send again, a client
    # resumes elsewhere from the previous position: told some of it twice, never nothing.
    # Kinds every resume sends (connections, user and notification numbers, health) do not
    # hold the new position back.
    h = hub()
    client = h.open(None, dict)
    h.send([Delta("message_stats", {}), Delta("user_presence", {})], position=5)
    h.send([Delta("connections", {}), Delta("message_stats", {}),
            Delta("user_stats", {}), Delta("service_health", {})], position=9)
    h.send(deltas(2), position=12)
    ids = [client.queue.get_nowait().id for _ in range(8)]
    assert ids == [sid(FIRST_ID + 1, 0), sid(FIRST_ID + 2, 5),
                   sid(FIRST_ID + 3, 5), *(sid(FIRST_ID + n, 9) for n in (4, 5, 6)),
                   sid(FIRST_ID + 7, 12), sid(FIRST_ID + 8, 12)]


async def test_another_instances_id_resumes_from_its_position() -> None:
    h = hub()
    h.send(deltas(1), position=12)
    asked: list[int] = []

    def resume(position: int) -> list[Delta]:
        asked.append(position)
        return deltas(2, start=40)

    foreign = "10.987654"  # another instance's counter at stream position 10
    client = h.open(foreign, lambda: pytest.fail("no snapshot when resuming"), None, resume)
    assert client.resumed and asked == [10]
    first, last = client.backlog
    # The last one carries this instance's newest id; the others the client's own.
    assert (first.id, last.id) == (foreign, sid(FIRST_ID + 1, 12))
    assert data(last) == {"type": "connections", "data": {"total": 41}}


async def test_a_position_the_instance_cannot_resume_gets_a_snapshot() -> None:
    h = hub()
    client = h.open("10.987654", lambda: {"fresh": True}, None, lambda position: None)
    assert not client.resumed
    assert data(client.backlog[0])["type"] == "initial_data"
