"""The chat's presence directory: asks presence once, then remembers; heard changes win."""

from __future__ import annotations

import asyncio

from services.chat.adapters.outbound.bus_presence import BusPresenceDirectory
from shared.bus.memory import InMemoryEventBus
from shared.contracts import (
    PRESENCE_USERS_RPC,
    PresenceChanged,
    PresenceQuery,
    PresenceSnapshot,
    UserPresence,
)


class Presence:
    """Plays the presence service: everyone online, or as told."""

    def __init__(self) -> None:
        self.asked: list[list[int]] = []
        self.hold: asyncio.Event | None = None

    async def answer(self, raw: bytes) -> bytes:
        ids = PresenceQuery.model_validate_json(raw).user_ids
        self.asked.append(ids)
        if self.hold is not None:
            await self.hold.wait()
        return PresenceSnapshot(users=[UserPresence(user_id=u, status="online")
                                       for u in ids]).model_dump_json().encode()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def change(user_id: int, status: str) -> PresenceChanged:
    return PresenceChanged(user_id=user_id, username=f"u{user_id}", status=status,  # type: ignore[arg-type]
                           previous="online", connections=0, reason="last_connection_closed")


async def directory_with(presence: Presence | None, clock: Clock) -> BusPresenceDirectory:
    bus = InMemoryEventBus()
    if presence is not None:
        await bus.respond(PRESENCE_USERS_RPC, presence.answer)
    return BusPresenceDirectory(bus, monotonic=clock, cache_secs=30)


async def test_it_asks_only_about_people_it_knows_nothing_recent_of() -> None:
    presence, clock = Presence(), Clock()
    directory = await directory_with(presence, clock)
    assert {p.user_id for p in await directory.lookup([1, 2])} == {1, 2}
    assert {p.user_id for p in await directory.lookup([1, 2, 3])} == {1, 2, 3}
    assert presence.asked == [[1, 2], [3]]
    clock.now += 31  # stale: asked again
    await directory.lookup([1])
    assert presence.asked[-1] == [1]


async def test_a_heard_change_replaces_what_it_was_told() -> None:
    presence, clock = Presence(), Clock()
    directory = await directory_with(presence, clock)
    await directory.lookup([1])
    directory.heard(change(1, "offline"))
    assert [p.status for p in await directory.lookup([1])] == ["offline"]
    assert presence.asked == [[1]]


async def test_an_answer_older_than_a_heard_change_does_not_overwrite_it() -> None:
    presence, clock = Presence(), Clock()
    presence.hold = asyncio.Event()
    directory = await directory_with(presence, clock)
    asking = asyncio.create_task(directory.lookup([1]))
    await asyncio.sleep(0.01)  # the question is out; the answer waits
    directory.heard(change(1, "offline"))
    presence.hold.set()
    await asking
    assert [p.status for p in await directory.lookup([1])] == ["offline"]


async def test_without_presence_joins_stop_asking_for_a_while() -> None:
    clock = Clock()
    bus = InMemoryEventBus()
    directory = BusPresenceDirectory(bus, monotonic=clock)
    assert await directory.lookup([1]) == []
    presence = Presence()
    await bus.respond(PRESENCE_USERS_RPC, presence.answer)
    assert await directory.lookup([1]) == []  # within the quiet period: not asked
    assert presence.asked == []
    clock.now += 3
    assert [p.user_id for p in await directory.lookup([1])] == [1]
