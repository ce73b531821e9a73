"""The presence service on real NATS (JetStream KV) and SQLite, with the chat replicas played
by the tests: what is announced on `events.presence.changed`, exactly, and when."""

from __future__ import annotations

import asyncio

import pytest

from shared.contracts import PRESENCE_USERS_RPC, PresenceQuery, PresenceSnapshot
from tests.integration.presence.harness import GRACE_SECS, QUIET_SECS, TTL_SECS, Scene

pytestmark = pytest.mark.integration


async def test_two_tabs_one_online_then_one_offline_after_the_grace_period(
        world: Scene) -> None:
    await world.presence()
    chat = world.replica()
    ana = world.user()
    tab1 = await chat.open(ana, room=1)
    tab2 = await chat.open(ana, room=1)
    await world.log.wait_for(1)
    assert world.log.of(ana) == [("online", "connected")]

    await chat.close(tab1)
    # Closing one of two tabs changes no status: nothing within three grace periods.
    await world.log.stays_at(1)

    loop = asyncio.get_running_loop()
    closed_at = loop.time()
    await chat.close(tab2)
    await world.log.wait_for(2)
    waited = loop.time() - closed_at
    assert world.log.of(ana) == [("online", "connected"), ("offline", "last_connection_closed")]
    assert GRACE_SECS * 0.9 <= waited < GRACE_SECS + 1.0
    offline = world.log.events[-1]
    assert (offline.previous, offline.connections, offline.current_room) == ("online", 0, None)
    # Exactly one offline: nothing follows.
    await world.log.stays_at(2)


async def test_a_reconnect_inside_the_grace_period_announces_nothing_at_all(
        world: Scene) -> None:
    await world.presence()
    chat = world.replica()
    ana = world.user()
    await chat.open(ana, room=1)
    await world.log.wait_for(1)

    tab = next(iter(chat.sockets))
    await chat.close(tab)
    await asyncio.sleep(GRACE_SECS / 3)
    await chat.open(ana)  # the page reloaded
    # Neither offline nor a second online within three grace periods.
    await world.log.stays_at(1)
    assert world.log.of(ana) == [("online", "connected")]


async def test_the_users_of_a_killed_chat_replica_go_offline_when_their_entries_expire(
        world: Scene) -> None:
    await world.presence()
    alive, doomed = world.replica(), world.replica()
    ana, bea = world.user(), world.user()
    await alive.open(ana)
    await doomed.open(bea)
    await doomed.open(ana)  # Ana has a tab on each
    await world.log.wait_for(2)

    loop = asyncio.get_running_loop()
    await doomed.crash()
    crashed_at = loop.time()
    await world.log.wait_for(3, within_secs=TTL_SECS + GRACE_SECS + 3)
    waited = loop.time() - crashed_at
    assert world.log.of(bea) == [("online", "connected"), ("offline", "expired")]
    # Not before its last heartbeat's entry aged out (TTL minus one beat) and the grace.
    assert waited >= TTL_SECS - doomed.interval_secs + GRACE_SECS - 0.1
    # Ana keeps her other tab: no event for her, now or later.
    await world.log.stays_at(3)
    assert world.log.of(ana) == [("online", "connected")]
    async with world.instances[0].client(world.token(ana)) as http:
        me = (await http.get("/api/presence/me")).json()
    assert (me["status"], me["connections"]) == ("online", 1)


async def test_a_presence_restart_mid_session_changes_nothing_anyone_can_see(
        world: Scene) -> None:
    first = await world.presence()
    chat = world.replica()
    ana, bea, cal = world.user(), world.user(), world.user()
    await chat.open(ana, room=1)
    await chat.open(ana, room=2)
    busy_tab = await chat.open(bea, room=1)
    await chat.set_status(busy_tab, "busy")
    cal_tab = await chat.open(cal)
    await world.log.wait_for(4)
    await chat.close(cal_tab)
    await world.log.wait_for(5)  # Cal offline

    admin = world.token(1, admin=True)

    async def answers(instance: object) -> list[object]:
        async with instance.client(admin) as http:  # type: ignore[attr-defined]
            users = [(await http.get(f"/api/presence/users/{u}")).json()
                     for u in (ana, bea, cal)]
            room = (await http.get("/api/presence/rooms/1")).json()
        return [users, room]

    before = await answers(first)
    await first.stop()
    await asyncio.sleep(GRACE_SECS)  # a moment down: heartbeats keep coming meanwhile
    second = await world.presence()
    # No spurious offline/online pair, no re-announcement: nothing over a TTL and a grace.
    await world.log.stays_at(5, TTL_SECS + QUIET_SECS)
    assert await answers(second) == before
    assert [s for s, _ in world.log.of(bea)] == ["online", "busy"]
    assert [s for s, _ in world.log.of(cal)] == ["online", "offline"]
    # And the new instance is fully in charge: Ana's tabs closing still ends in one offline.
    for tab in [t for t, info in chat.sockets.items() if info.user_id == ana]:
        await chat.close(tab)
    await world.log.wait_for(6)
    assert world.log.of(ana) == [("online", "connected"), ("offline", "last_connection_closed")]


async def test_manual_busy_survives_a_second_connection(world: Scene) -> None:
    instance = await world.presence()
    chat = world.replica()
    ana, bea = world.user(), world.user()
    tab = await chat.open(ana)
    await world.log.wait_for(1)
    await chat.set_status(tab, "busy")
    await world.log.wait_for(2)
    second = await chat.open(ana)
    await chat.activity(second, room=3)
    await world.log.stays_at(2)
    assert world.log.of(ana) == [("online", "connected"), ("busy", "manual")]

    # The same through HTTP.
    await chat.open(bea)
    async with instance.client(world.token(bea)) as http:
        response = await http.put("/api/presence/me", json={"status": "busy"})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "busy"
        await chat.open(bea)
        await world.log.wait_for(4)
        await world.log.stays_at(4)
        assert world.log.of(bea) == [("online", "connected"), ("busy", "manual")]
        assert (await http.get("/api/presence/me")).json()["connections"] == 2


async def test_idle_turns_online_into_away_and_activity_brings_it_back(world: Scene) -> None:
    await world.presence(idle_away_secs=1.0)
    chat = world.replica()
    ana = world.user()
    tab = await chat.open(ana)
    await world.log.wait_for(2, within_secs=4)
    assert world.log.of(ana) == [("online", "connected"), ("away", "idle")]
    await chat.activity(tab, room=5)
    await world.log.wait_for(3)
    assert world.log.of(ana)[-1] == ("online", "active")
    assert world.log.events[-1].current_room == 5


async def test_other_services_ask_over_request_reply(world: Scene) -> None:
    await world.presence()
    chat = world.replica()
    ana, gone = world.user(), world.user()
    await chat.open(ana, room=4)
    tab = await chat.open(gone)
    await world.log.wait_for(2)
    await chat.close(tab)
    await world.log.wait_for(3)

    query = PresenceQuery(user_ids=[ana, gone, 424242]).model_dump_json().encode()
    reply = await world.nc.request(PRESENCE_USERS_RPC, query, timeout=2)
    users = {u.user_id: u for u in PresenceSnapshot.model_validate_json(reply.data).users}
    assert (users[ana].status, users[ana].current_room, users[ana].connections) == (
        "online", 4, 1)
    assert users[gone].status == "offline" and users[gone].last_active_at is not None
    assert users[424242].status == "offline" and users[424242].last_active_at is None
