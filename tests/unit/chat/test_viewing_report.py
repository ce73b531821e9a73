"""What a replica says its users have on screen: the union of their sockets, said on change."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from services.chat.adapters.metrics import ChatMetrics
from services.chat.adapters.outbound.connection import Connection
from services.chat.adapters.outbound.connection_hub import ConnectionHub
from services.chat.adapters.outbound.connections_report import ConnectionsReporter
from services.chat.domain import Actor
from shared.bus import LiveMessage
from shared.bus.memory import InMemoryEventBus
from shared.contracts import LIVE_VIEWING, UserViewing, parse_viewing_message
from tests.unit.chat.test_connection_hub import FakeSink

NOW = datetime(2025, 1, 1, tzinfo=UTC)
A, B = 7, 8
CARMEN = 3


async def hub_and_reports() -> tuple[ConnectionHub, list[UserViewing], InMemoryEventBus]:
    bus = InMemoryEventBus()
    said: list[UserViewing] = []

    async def heard(msg: LiveMessage) -> None:
        report = parse_viewing_message(msg.data)
        assert isinstance(report, UserViewing)
        said.append(report)

    await bus.subscribe(LIVE_VIEWING, heard)
    hub = ConnectionHub(bus, ChatMetrics(), replica_id="r1", queue_frames=8,
                        send_buffer_bytes=1000,
                        reporter=ConnectionsReporter(bus, replica_id="r1", heartbeat_secs=60,
                                                     activity_secs=15))
    return hub, said, bus


async def tab(hub: ConnectionHub, *rooms: int) -> Connection:
    conn = Connection(f"c{len(hub.connections)}", Actor(CARMEN, "carmen"), FakeSink(), NOW, NOW)
    await hub.register(conn)
    for room_id in rooms:
        await hub.join(conn, room_id)
    return conn


async def test_tabs_add_up_and_each_change_is_said_once() -> None:
    hub, said, bus = await hub_and_reports()
    one, two = await tab(hub, A, B), await tab(hub, A, B)
    await hub.view(one, A)
    await hub.view(one, B)  # carmen switched rooms: A is no longer on screen
    await hub.view(two, A)  # another tab shows A
    await hub.view(two, A)  # the same again: nothing new to say
    await bus.settle()
    assert [(r.user_id, r.rooms) for r in said] == [(CARMEN, [A]), (CARMEN, [B]),
                                                    (CARMEN, [A, B])]
    await hub.view(two, None)  # that tab was hidden
    await hub.leave(one, B)  # a room left is not on screen
    await bus.settle()
    assert [r.rooms for r in said[3:]] == [[B], []]


async def test_a_closed_socket_withdraws_what_it_showed() -> None:
    hub, said, bus = await hub_and_reports()
    one, two = await tab(hub, A), await tab(hub, B)
    await hub.view(one, A)
    await hub.view(two, B)
    await hub.unregister(one, 1000)
    await hub.unregister(two, 1001)
    await bus.settle()
    assert [r.rooms for r in said] == [[A], [A, B], [B], []]
    heartbeat = orjson.loads(orjson.dumps(hub.viewing.heartbeat()))
    assert heartbeat["viewers"] == [] and heartbeat["replica_id"] == "r1"


async def test_a_room_not_joined_on_that_socket_is_not_viewed() -> None:
    hub, said, bus = await hub_and_reports()
    one = await tab(hub, A)
    await hub.view(one, B)
    await bus.settle()
    assert said == []
