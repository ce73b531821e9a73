"""The hub's delivery: seq order per room, once per socket, gaps filled, slow sockets closed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import orjson
import pytest

from services.chat.adapters import frames
from services.chat.adapters.metrics import ChatMetrics
from services.chat.adapters.outbound import room_feed
from services.chat.adapters.outbound.connection import Connection
from services.chat.adapters.outbound.connection_hub import ConnectionHub
from services.chat.adapters.outbound.connections_report import ConnectionsReporter
from services.chat.adapters.outbound.room_feed import Routing
from services.chat.domain import Actor
from shared.bus.memory import InMemoryEventBus
from shared.contracts.live import FrameHeaders

NOW = datetime(2025, 1, 1, tzinfo=UTC)
ROOM = 7


class FakeSink:
    """A socket's transport: what was written, and how much the peer has not read."""

    def __init__(self) -> None:
        self.wire: list[bytes] = []
        self.backlog = 0
        self.closed_with: tuple[int, str] | None = None

    def write(self, wire: bytes) -> bool:
        self.wire.append(wire)
        return True

    def buffered(self) -> int:
        return self.backlog

    async def close(self, code: int, reason: str) -> None:
        self.closed_with = (code, reason)

    def frames(self) -> list[dict[str, object]]:
        # Strip the WebSocket header that text_frame put in front (payloads here are < 126).
        return [orjson.loads(w[2:]) for w in self.wire]

    def seqs(self) -> list[int]:
        return [f["data"]["seq"] for f in self.frames() if f["type"] == "message"]  # type: ignore[index]


class Missed:
    """The database's view of a room for gap filling: every message by seq."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, int]] = []

    async def __call__(self, room_id: int, after: int, before: int) -> list[tuple[int, bytes]]:
        self.calls.append((room_id, after, before))
        return [(seq, message(seq)) for seq in range(after + 1, before)]


def message(seq: int) -> bytes:
    return frames.encode("message", {"room_id": ROOM, "seq": seq})


def hub_with(missed: Missed | None = None) -> ConnectionHub:
    bus = InMemoryEventBus()
    return ConnectionHub(bus, ChatMetrics(), replica_id="r1", queue_frames=8,
                         send_buffer_bytes=1000,
                         reporter=ConnectionsReporter(bus, replica_id="r1", heartbeat_secs=60,
                                                      activity_secs=15),
                         missed_frames=missed)


async def joined(hub: ConnectionHub, user_id: int = 1, last_seq: int = 0,
                 ) -> tuple[Connection, FakeSink]:
    sink = FakeSink()
    conn = Connection(f"c{user_id}-{len(hub.connections)}", Actor(user_id, f"u{user_id}"), sink,
                      NOW, NOW)
    await hub.register(conn)
    await hub.join(conn, ROOM)
    for payload in hub.resume(conn, ROOM, last_seq):
        sink.write(frames.text_frame(payload))
    return conn, sink


async def deliver(hub: ConnectionHub, *seqs: int) -> None:
    for seq in seqs:
        await hub.deliver_room(ROOM, message(seq), Routing("message", seq))


async def test_frames_in_seq_order_go_straight_through() -> None:
    hub = hub_with()
    _, sink = await joined(hub)
    await deliver(hub, 1, 2, 3)
    assert sink.seqs() == [1, 2, 3]


async def test_a_frame_ahead_of_a_missing_seq_waits_for_it() -> None:
    hub = hub_with()
    _, first = await joined(hub)
    _, second = await joined(hub, user_id=2)
    await deliver(hub, 1, 3, 4)
    assert first.seqs() == [1]
    await deliver(hub, 2)
    assert first.seqs() == second.seqs() == [1, 2, 3, 4]


async def test_a_frame_twice_is_delivered_once() -> None:
    hub = hub_with()
    _, sink = await joined(hub)
    await deliver(hub, 1, 2, 1, 2, 3, 3)
    assert sink.seqs() == [1, 2, 3]


async def test_frames_without_seq_keep_their_place_behind_a_waiting_one() -> None:
    hub = hub_with()
    _, sink = await joined(hub)
    await deliver(hub, 2)  # 1 is missing
    edit = frames.encode("message_edited", {"room_id": ROOM, "seq": 2})
    await hub.deliver_room(ROOM, edit, Routing("message_edited"))
    assert sink.frames() == []
    await deliver(hub, 1)
    assert [f["type"] for f in sink.frames()] == ["message", "message", "message_edited"]


async def test_a_gap_that_does_not_fill_is_read_from_the_database(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(room_feed, "GAP_WAIT_SECS", 0.01)
    missed = Missed()
    hub = hub_with(missed)
    _, sink = await joined(hub, last_seq=4)
    await deliver(hub, 5, 8, 9)
    assert sink.seqs() == [5]
    async with asyncio.timeout(2):
        while sink.seqs() != [5, 6, 7, 8, 9]:
            await asyncio.sleep(0.005)
    assert missed.calls == [(ROOM, 5, 8)]
    # The copies from NATS that arrive late are not delivered again.
    await deliver(hub, 6, 7)
    assert sink.seqs() == [5, 6, 7, 8, 9]


async def test_the_first_join_sets_where_the_room_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until a join has read the room, frames wait; what the replay covered is dropped."""
    hub = hub_with()
    sink = FakeSink()
    conn = Connection("c1", Actor(1, "u1"), sink, NOW, NOW)
    await hub.register(conn)
    await hub.join(conn, ROOM)
    await deliver(hub, 11, 12, 13)  # live while the join reads the database
    held = hub.resume(conn, ROOM, 12)  # the replay went up to 12
    for payload in held:
        sink.write(frames.text_frame(payload))
    await deliver(hub, 14)
    assert sink.seqs() == [13, 14]


async def test_a_socket_that_stops_reading_is_closed_and_the_others_go_on() -> None:
    hub = hub_with()
    slow_conn, slow = await joined(hub)
    _, fine = await joined(hub, user_id=2)
    await deliver(hub, 1)
    slow.backlog = 5000  # more than send_buffer_bytes waits in its transport
    await deliver(hub, 2, 3)
    async with asyncio.timeout(1):  # the close runs in a task of its own
        while slow.closed_with is None:
            await asyncio.sleep(0.001)
    assert slow_conn.closed and slow.closed_with is not None and slow.closed_with[0] == 1013
    assert slow.seqs() == [1]
    assert fine.seqs() == [1, 2, 3]
    assert hub._metrics.slow_consumers_closed._value.get() == 1  # type: ignore[attr-defined]


async def test_one_encoded_frame_serves_every_socket() -> None:
    hub = hub_with()
    sinks = [(await joined(hub, user_id=n))[1] for n in range(1, 4)]
    await deliver(hub, 1)
    first = sinks[0].wire[0]
    assert all(s.wire[0] is first for s in sinks)
    assert first[0] == 0x81 and first[1] == len(message(1))


async def test_a_batch_from_another_replica_is_split_into_its_frames() -> None:
    bus = InMemoryEventBus()
    hub = ConnectionHub(bus, ChatMetrics(), replica_id="r1", queue_frames=8,
                        send_buffer_bytes=1000,
                        reporter=ConnectionsReporter(bus, replica_id="r1", heartbeat_secs=60,
                                                     activity_secs=15))
    _, sink = await joined(hub)
    joined_frame = frames.encode("member_joined", {"room_id": ROOM, "user_id": 9})
    await bus.publish(f"live.room.{ROOM}", b"\n".join([joined_frame, message(1), message(2)]),
                      {FrameHeaders.TYPE: "frames",
                       FrameHeaders.FRAMES: "member_joined,message:1,message:2"})
    await bus.settle()
    assert [f["type"] for f in sink.frames()] == ["member_joined", "message", "message"]
    assert sink.seqs() == [1, 2]
