"""Presence flows on fakes and a fake clock: what gets announced, when, and what is answered."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.presence import use_cases
from services.presence.domain import Caller, Forbidden, NotConnected
from tests.unit.presence.fakes import T0, PresenceWorld

ANA, BEA, CAL = 1, 2, 3


@pytest.fixture
def world() -> PresenceWorld:
    return PresenceWorld()


# --- connections and the grace period ------------------------------------------------------


async def test_two_tabs_make_one_online_and_closing_one_says_nothing(
        world: PresenceWorld) -> None:
    await world.open("t1", ANA, room=10)
    await world.open("t2", ANA, room=10)
    assert world.changes() == [(ANA, "online", "connected")]
    await world.close("t1", ANA)
    await world.advance(60, heartbeats_every=10)
    assert world.changes() == [(ANA, "online", "connected")]
    assert world.deps.board.view(ANA).connections == 1  # type: ignore[union-attr]


async def test_closing_the_last_tab_goes_offline_exactly_when_the_grace_period_ends(
        world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    await world.open("t2", ANA)
    await world.close("t1", ANA)
    await world.close("t2", ANA)
    await world.advance(4.99)
    assert world.changes() == [(ANA, "online", "connected")]
    await world.advance(0.01)
    assert world.changes() == [(ANA, "online", "connected"),
                               (ANA, "offline", "last_connection_closed")]
    offline = world.events.announced[-1]
    assert offline.previous == "online" and offline.connections == 0
    assert offline.current_room is None and offline.last_active_at == T0
    await world.advance(600, heartbeats_every=10)
    assert len(world.changes()) == 2


async def test_a_reconnect_inside_the_grace_period_announces_nothing(
        world: PresenceWorld) -> None:
    await world.open("t1", ANA, room=10)
    world.events.announced.clear()
    await world.close("t1", ANA)
    await world.advance(4.9)
    await world.open("t2", ANA)
    await world.activity("t2", ANA, room=10)
    await world.advance(60, heartbeats_every=10)
    assert world.changes() == []
    assert world.status(ANA) == "online"


async def test_during_the_grace_period_the_user_still_looks_as_announced(
        world: PresenceWorld) -> None:
    await world.open("t1", ANA, room=10)
    await world.close("t1", ANA)
    (view,) = await use_cases.snapshot(world.deps, [ANA])
    assert (view.status, view.connections, view.current_room) == ("online", 0, 10)


async def test_guests_have_no_presence_until_they_sign_in(world: PresenceWorld) -> None:
    await world.open("g1", None)
    await world.heartbeat()
    await world.close("g1", None)
    assert world.changes() == [] and world.deps.board.connections == {}
    # A guest socket that authenticates is announced again, with its user.
    await world.open("g2", None)
    await world.open("g2", ANA)
    assert world.changes() == [(ANA, "online", "connected")]
    await world.open("g2", ANA)  # re-sent: an upsert, not a second socket
    assert world.deps.board.view(ANA).connections == 1  # type: ignore[union-attr]


# --- heartbeats and expiry -----------------------------------------------------------------


async def test_heartbeats_keep_sockets_open_indefinitely(world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    await world.advance(250, heartbeats_every=10)
    assert world.changes() == [(ANA, "online", "connected")]


async def test_the_sockets_of_a_replica_that_stopped_beating_expire(
        world: PresenceWorld) -> None:
    await world.open("a1", ANA, replica="chat-a")
    await world.open("b1", BEA, replica="chat-b")
    await world.open("b2", ANA, replica="chat-b")
    await world.advance(10, heartbeats_every=10, replicas=["chat-a", "chat-b"])
    # chat-b dies: only chat-a keeps beating.
    await world.advance(30 + 5 - 0.01, heartbeats_every=10, replicas=["chat-a"])
    assert world.changes(BEA) == [(BEA, "online", "connected")]
    await world.advance(0.01, heartbeats_every=10, replicas=["chat-a"])
    assert world.changes(BEA) == [(BEA, "online", "connected"), (BEA, "offline", "expired")]
    # Ana still has her chat-a socket.
    assert world.changes(ANA) == [(ANA, "online", "connected")]
    view = world.deps.board.view(BEA)
    assert view is not None and view.last_seen_at == T0 + timedelta(seconds=10)
    assert set(world.store.entries) == {"a1"}


async def test_a_heartbeat_closes_the_sockets_it_no_longer_lists(world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    world.sockets["chat-a"].clear()  # the closed message was lost
    await world.heartbeat()
    await world.advance(5)
    assert world.changes() == [(ANA, "online", "connected"),
                               (ANA, "offline", "last_connection_closed")]


async def test_a_heartbeat_brings_back_sockets_presence_never_heard_of(
        world: PresenceWorld) -> None:
    world.sockets["chat-a"] = {"t1": world.info("t1", ANA, room=4)}
    await world.heartbeat()
    assert world.changes() == [(ANA, "online", "connected")]
    assert world.deps.board.view(ANA).current_room == 4  # type: ignore[union-attr]


async def test_nothing_expires_while_presence_cannot_hear_the_replicas(
        world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    await world.advance(120, hearing=False)
    assert world.changes() == [(ANA, "online", "connected")]
    # Hearing again, the replicas get a full TTL to confirm their sockets.
    await world.advance(29)
    await world.heartbeat()
    await world.advance(60, heartbeats_every=10)
    assert world.changes() == [(ANA, "online", "connected")]


# --- manual status -------------------------------------------------------------------------


async def test_manual_busy_survives_a_second_connection_and_activity(
        world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    await world.set_status("t1", ANA, "busy")
    await world.open("t2", ANA)
    await world.activity("t2", ANA, room=3)
    await world.advance(1000, heartbeats_every=10)
    assert world.changes() == [(ANA, "online", "connected"), (ANA, "busy", "manual")]
    assert world.events.announced[-1].previous == "online"


async def test_a_manual_status_outlives_the_tab_that_set_it_and_a_reload(
        world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    await world.open("t2", ANA)
    await world.set_status("t1", ANA, "away")
    await world.close("t1", ANA)
    await world.close("t2", ANA)
    await world.advance(2)
    await world.open("t3", ANA)  # the page reloaded
    await world.advance(60, heartbeats_every=10)
    assert world.changes() == [(ANA, "online", "connected"), (ANA, "away", "manual")]


async def test_a_manual_status_ends_with_the_last_connection(world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    await world.set_status("t1", ANA, "busy")
    await world.close("t1", ANA)
    await world.advance(5)
    await world.open("t2", ANA)
    assert world.changes()[-2:] == [(ANA, "offline", "last_connection_closed"),
                                    (ANA, "online", "connected")]


async def test_manual_online_hands_the_status_back_to_activity(world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    await world.set_status("t1", ANA, "busy")
    await world.set_status("t1", ANA, "online")
    await world.advance(300, heartbeats_every=10)
    assert world.changes() == [(ANA, "online", "connected"), (ANA, "busy", "manual"),
                               (ANA, "online", "manual"), (ANA, "away", "idle")]


async def test_setting_my_status_needs_an_open_connection(world: PresenceWorld) -> None:
    with pytest.raises(NotConnected):
        await use_cases.set_my_status(world.deps, Caller(ANA), "busy")
    await world.open("t1", ANA)
    await world.advance(400, heartbeats_every=10)  # idle: away
    view = await use_cases.set_my_status(world.deps, Caller(ANA), "online")
    assert view.status == "online"
    view = await use_cases.set_my_status(world.deps, Caller(ANA), "busy")
    assert view.status == "busy"
    assert world.changes() == [(ANA, "online", "connected"), (ANA, "away", "idle"),
                               (ANA, "online", "manual"), (ANA, "busy", "manual")]


async def test_a_status_from_a_socket_presence_does_not_know_is_ignored(
        world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    await world.set_status("nope", ANA, "busy")
    await world.set_status("t1", BEA, "busy")  # not Bea's socket
    assert world.changes() == [(ANA, "online", "connected")]


# --- idle and rooms ------------------------------------------------------------------------


async def test_idle_turns_online_into_away_and_activity_brings_it_back(
        world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    await world.advance(299.99, heartbeats_every=10)
    assert world.status(ANA) == "online"
    await world.advance(0.01, heartbeats_every=10)
    assert world.status(ANA) == "away"
    await world.activity("t1", ANA, room=2)
    assert world.changes() == [(ANA, "online", "connected"), (ANA, "away", "idle"),
                               (ANA, "online", "active")]
    assert world.events.announced[-1].last_active_at == T0 + timedelta(seconds=300)


async def test_activity_on_any_tab_keeps_the_user_online(world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    await world.open("t2", ANA)
    for _ in range(10):
        await world.advance(100, heartbeats_every=10)
        await world.activity("t2", ANA)
    assert world.changes() == [(ANA, "online", "connected")]


async def test_heartbeat_activity_counts_too(world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    await world.advance(290, heartbeats_every=10)
    # Activity the throttled report left out reaches presence with the full list.
    world.sockets["chat-a"]["t1"] = world.info("t1", ANA, active=world.clock.now())
    await world.advance(20, heartbeats_every=10)
    assert world.status(ANA) == "online"


async def test_the_current_room_follows_the_most_recently_active_tab(
        world: PresenceWorld) -> None:
    await world.open("t1", ANA, room=1)
    await world.advance(1)
    await world.open("t2", ANA, room=2)
    assert world.deps.board.view(ANA).current_room == 2  # type: ignore[union-attr]
    await world.advance(1)
    await world.activity("t1", ANA, room=1)
    assert world.deps.board.view(ANA).current_room == 1  # type: ignore[union-attr]
    # Moving between rooms is not a status change: nothing announced.
    assert world.changes() == [(ANA, "online", "connected")]


async def test_who_is_in_a_room_is_for_people_in_it_and_admins(world: PresenceWorld) -> None:
    await world.open("a", ANA, rooms=[1, 2], room=1)
    await world.open("b", BEA, room=1)
    await world.open("c", CAL, room=3)
    in_one = await use_cases.room_presence(world.deps, Caller(ANA), 1)
    assert [v.user_id for v in in_one] == [ANA, BEA]
    # Cal may see who is in room 1 only as an admin.
    with pytest.raises(Forbidden):
        await use_cases.room_presence(world.deps, Caller(CAL), 1)
    assert [v.user_id for v in await use_cases.room_presence(
        world.deps, Caller(CAL, is_admin=True), 2)] == [ANA]
    # And where Ana is stays hidden from him.
    seen = await use_cases.user_presence(world.deps, Caller(CAL), ANA)
    assert (seen.status, seen.current_room) == ("online", None)
    assert (await use_cases.user_presence(world.deps, Caller(BEA), ANA)).current_room == 1


# --- restarts ------------------------------------------------------------------------------


async def test_a_restart_announces_nothing_and_answers_the_same(world: PresenceWorld) -> None:
    await world.open("t1", ANA, room=1)
    await world.open("t2", ANA, room=2)
    await world.open("t3", BEA)
    await world.set_status("t3", BEA, "busy")
    await world.open("t4", CAL)
    await world.close("t4", CAL)
    await world.advance(6, heartbeats_every=10)
    before = await use_cases.snapshot(world.deps, [ANA, BEA, CAL])
    announced = world.changes()
    await world.advance(1)
    await world.restart()
    await world.advance(120, heartbeats_every=10)
    assert world.changes() == announced
    assert await use_cases.snapshot(world.deps, [ANA, BEA, CAL]) == before


async def test_a_restart_inside_a_grace_period_still_ends_it(world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    await world.close("t1", ANA)
    await world.restart()
    await world.advance(15, heartbeats_every=10)
    assert world.changes() == [(ANA, "online", "connected"), (ANA, "offline", "expired")]


async def test_after_a_long_outage_the_replicas_get_a_heartbeat_to_confirm(
        world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    await world.open("t2", BEA)
    await world.close("t2", BEA)
    world.sockets["chat-a"]["t2"] = world.info("t2", BEA)  # Bea reconnected meanwhile
    # Presence is down longer than the TTL: the bucket forgets every entry.
    world.clock.set(world.clock.now() + timedelta(seconds=45))
    await world.restart()
    assert world.deps.board.connections == {}
    await world.advance(9)
    await world.heartbeat()
    await world.advance(60, heartbeats_every=10)
    assert world.changes() == [(ANA, "online", "connected"), (BEA, "online", "connected")]


async def test_a_user_whose_socket_is_gone_after_a_restart_goes_offline_once(
        world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    world.sockets["chat-a"].clear()
    world.clock.set(world.clock.now() + timedelta(seconds=45))
    await world.restart()
    await world.advance(14.9, heartbeats_every=10)
    assert world.status(ANA) == "online"
    await world.advance(0.1, heartbeats_every=10)
    assert world.changes() == [(ANA, "online", "connected"), (ANA, "offline", "expired")]
    view = world.deps.board.view(ANA)
    assert view is not None and view.last_seen_at == T0


async def test_an_idle_user_restored_later_is_announced_away(world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    await world.advance(20, heartbeats_every=10)
    await world.restart()
    await world.advance(400, heartbeats_every=10)
    assert world.changes() == [(ANA, "online", "connected"), (ANA, "away", "idle")]


# --- storage failures ----------------------------------------------------------------------


async def test_a_database_failure_does_not_stop_announcements(world: PresenceWorld) -> None:
    world.records.fail = True
    await world.open("t1", ANA)
    assert world.changes() == [(ANA, "online", "connected")]
    assert world.records.rows == {}
    world.records.fail = False
    await use_cases.flush(world.deps)
    assert world.records.rows[ANA].status == "online"


async def test_flush_keeps_last_activity_and_last_seen(world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    await world.advance(30, heartbeats_every=10)
    await world.activity("t1", ANA, room=8)
    await use_cases.flush(world.deps)
    row = world.records.rows[ANA]
    assert (row.last_active_at, row.current_room) == (T0 + timedelta(seconds=30), 8)
    assert row.last_seen_at == T0 + timedelta(seconds=30)


# --- questions -----------------------------------------------------------------------------


async def test_unknown_users_are_offline_and_known_ones_keep_their_last_seen(
        world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    await world.advance(20, heartbeats_every=10)
    await world.close("t1", ANA)
    await world.advance(10)
    await world.restart()  # Ana is now known only to the database
    ana, nobody = await use_cases.snapshot(world.deps, [ANA, 99])
    assert (ana.status, ana.last_seen_at, ana.last_active_at) == (
        "offline", T0 + timedelta(seconds=20), T0)
    assert (nobody.status, nobody.last_seen_at, nobody.username) == ("offline", None, None)


async def test_who_is_here_comes_a_page_at_a_time(world: PresenceWorld) -> None:
    for uid in range(1, 8):
        await world.open(f"t{uid}", uid)
    await world.set_status("t3", 3, "busy")
    page, more = await use_cases.present(world.deps, Caller(ANA), limit=3)
    assert [v.user_id for v in page] == [1, 2, 3] and more
    page, more = await use_cases.present(world.deps, Caller(ANA), after=3, limit=3)
    assert [v.user_id for v in page] == [4, 5, 6] and more
    page, more = await use_cases.present(world.deps, Caller(ANA), after=6, limit=3)
    assert [v.user_id for v in page] == [7] and not more
    busy, _ = await use_cases.present(world.deps, Caller(ANA), status="busy")
    assert [v.user_id for v in busy] == [3]


async def test_stats_count_users_by_status(world: PresenceWorld) -> None:
    await world.open("t1", ANA)
    await world.open("t2", ANA)
    await world.open("t3", BEA)
    await world.set_status("t3", BEA, "busy")
    await world.open("t4", CAL)
    await world.close("t4", CAL)
    await world.advance(5)
    assert await use_cases.stats(world.deps) == {
        "online": 1, "away": 0, "busy": 1, "offline": 1, "connections": 3}
