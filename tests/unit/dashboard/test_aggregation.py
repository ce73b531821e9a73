"""The dashboard's numbers from a recorded session of two real chat replicas (see
`record_session.py`): counts, sockets, presence, health, restarts and sliding windows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.dashboard import use_cases
from services.dashboard.adapters import views
from services.dashboard.domain import Broadcast
from shared.bus import PublishFailed
from shared.contracts import BroadcastReceipt, CloudEvent, ServiceHeartbeat
from tests.unit.dashboard.fakes import (
    FakeBroadcastChannel,
    Line,
    RecordingFeed,
    SteppingClock,
    Stores,
    make_deps,
    play,
    session,
    shown_snapshot,
    shown_stats,
)

GENERAL, RANDOM = 1, 2
ROOT, ALICE, BOB, CAROL = 1, 2, 3, 4
RECORDED_BROADCAST = "recorded-broadcast-1"


@pytest.fixture
def lines() -> list[Line]:
    return session()


def until(lines: list[Line], predicate: object) -> list[Line]:
    """The recording up to and including the first line that matches."""
    assert callable(predicate)
    for i, line in enumerate(lines):
        if predicate(line):
            return lines[: i + 1]
    raise AssertionError("no such line in the recording")


def the_broadcast(lines: list[Line]) -> Broadcast:
    """The recorder sent its broadcast by hand; a dashboard would have known it was sent."""
    receipt = next(x for x in lines if x.subject == "live.broadcast.receipts")
    return Broadcast(RECORDED_BROADCAST, "Mantenimiento a las 22:00", "Administrador", ROOT,
                     receipt.at - timedelta(milliseconds=5), total_connections=3,
                     expected_replicas=frozenset({"chat-a", "chat-b"}))


async def test_the_recorded_session_adds_up(lines: list[Line]) -> None:
    clock = SteppingClock()
    deps = make_deps(clock)
    deps.state.add_broadcast(the_broadcast(lines))
    outcomes = await play(deps, lines, clock)

    # Both replicas relayed the shared outbox; the copies JetStream would drop count once.
    counted = [x.data["id"] for x in lines if x.subject.startswith("events.")
               and use_cases.fact_of(CloudEvent.model_validate(x.data)) is not None]
    assert len(counted) > len(set(counted))
    assert outcomes.count(use_cases.Outcome.DUPLICATE) == len(counted) - len(set(counted))
    assert outcomes.count(use_cases.Outcome.COUNTED) == len(set(counted))
    snap = shown_snapshot(deps)
    messages = snap["messages"]
    assert messages["messages_24h"] == 10
    assert messages["top_rooms"] == [
        {"id": GENERAL, "name": "general", "message_count": 7},
        {"id": RANDOM, "name": "random", "message_count": 3}]
    assert sum(messages["per_minute"]) == 10
    assert {r["room_id"]: sum(r["per_minute"]) for r in messages["rooms"]} == {
        GENERAL: 7, RANDOM: 3}
    assert snap["users"] == {"new_24h": 4, "known": 4}
    # alice online, carol away, bob went offline, root never connected.
    assert snap["presence"] == {"online": 1, "away": 1, "busy": 0, "offline": 2}
    assert snap["notifications"] == {
        "sent_24h": 6, "by_reason": {"broadcast": 3, "mention": 1, "message": 2},
        "suppressed_24h": 0, "suppressed_by_reason": {}}
    # Every socket closed before the recording ended.
    assert snap["connections"]["total"] == 0
    assert snap["connections"]["by_replica"] == {"chat-a": 0, "chat-b": 0}
    assert [(s["service"], s["instance_id"], s["status"]) for s in snap["services"]] == [
        ("chat", "chat-a", "up"), ("chat", "chat-b", "up")]
    (broadcast,) = snap["broadcasts"]
    assert broadcast | {"sent_at": None} == {
        "broadcast_id": RECORDED_BROADCAST, "content": "Mantenimiento a las 22:00",
        "from": "Administrador", "sent_by": ROOT, "sent_at": None, "sent_to": 3,
        "users_reached": 3, "replicas": 2, "expected_replicas": 2, "total_connections": 3,
        "inboxes": 3, "read": 0}


async def test_sockets_per_replica_and_rooms_with_people(lines: list[Line]) -> None:
    clock = SteppingClock()
    deps = make_deps(clock)
    # Up to the first heartbeat that lists all three sockets with their rooms.
    await play(deps, until(lines, lambda x: x.subject == "live.connections"
                           and x.data["kind"] == "heartbeat" and x.data["replica_id"] == "chat-b"
                           and x.data["connections"]), clock)
    conns = shown_snapshot(deps)["connections"]
    assert conns | {"rooms": None} == {
        "total": 3, "users": 3, "by_replica": {"chat-a": 2, "chat-b": 1},
        "rooms_with_people": 2, "rooms": None,
        "slow_consumers_1h": {"total": 0, "by_replica": {}}}
    assert conns["rooms"] == [
        {"room_id": GENERAL, "name": "general", "sockets": 2, "users": 2},
        {"room_id": RANDOM, "name": "random", "sockets": 1, "users": 1}]
    # The exercise's initial_data fields say the same.
    snap = shown_snapshot(deps)
    assert (snap["websocket_connections"], snap["active_users"], snap["active_rooms"]) == (
        3, 3, 2)


async def test_rooms_are_known_from_activity_before_the_next_heartbeat(
        lines: list[Line]) -> None:
    clock = SteppingClock()
    deps = make_deps(clock)
    # Sockets open with no room; joining is reported as activity in that room.
    await play(deps, until(lines, lambda x: x.subject == "live.connections"
                           and x.data["kind"] == "activity"
                           and x.data["replica_id"] == "chat-b"), clock)
    rooms = shown_snapshot(deps)["connections"]["rooms"]
    assert {r["room_id"] for r in rooms} >= {GENERAL}


async def test_redelivered_events_count_once(lines: list[Line]) -> None:
    clock = SteppingClock()
    deps = make_deps(clock)
    events = [x for x in lines if x.subject.startswith("events.")]
    await play(deps, events, clock)
    before = shown_stats(deps)
    again = await play(deps, events, clock)
    assert set(again) == {use_cases.Outcome.DUPLICATE, use_cases.Outcome.IGNORED}
    after = shown_stats(deps)
    for key in ("messages_24h", "active_rooms", "presence", "users", "notifications"):
        assert after[key] == before[key]


async def test_a_restart_keeps_the_last_24_hours(lines: list[Line]) -> None:
    clock = SteppingClock()
    stores = Stores()
    deps = make_deps(clock, stores)
    deps.state.add_broadcast(the_broadcast(lines))
    second = await use_cases.send_broadcast(deps, sent_by=ROOT, content="second")
    await play(deps, lines, clock)
    before = shown_snapshot(deps)

    clock.advance(seconds=1)
    restarted = make_deps(clock, stores)
    await use_cases.load(restarted)
    after = shown_snapshot(restarted)
    for key in ("messages", "users", "presence", "notifications"):
        assert after[key] == before[key], key
    # Service instances come back too (down now: nobody has beaten since).
    assert [s["instance_id"] for s in after["services"]] == ["chat-a", "chat-b"]
    # Newest first.
    assert [b["broadcast_id"] for b in after["broadcasts"]] == [
        RECORDED_BROADCAST, second.broadcast_id]
    recorded = next(b for b in after["broadcasts"] if b["broadcast_id"] == RECORDED_BROADCAST)
    assert (recorded["sent_to"], recorded["users_reached"], recorded["inboxes"]) == (3, 3, 3)


async def test_windows_slide_with_time(lines: list[Line]) -> None:
    clock = SteppingClock()
    stores = Stores()
    deps = make_deps(clock, stores)
    await play(deps, lines, clock)
    end = clock.at

    clock.at = end + timedelta(minutes=61)
    use_cases.tick(deps)
    stats = shown_stats(deps)
    assert sum(stats["messages_per_minute"]["counts"]) == 0
    assert stats["messages_24h"] == 10

    clock.at = end + timedelta(hours=24, minutes=1)
    use_cases.tick(deps)
    stats = shown_stats(deps)
    assert (stats["messages_24h"], stats["active_rooms"]) == (0, [])
    assert stats["users"] == {"new_24h": 0, "known": 4}
    assert stats["notifications"]["sent_24h"] == 0
    # Sliding is a change clients hear about, without any event.
    assert isinstance(deps.feed, RecordingFeed)
    assert deps.feed.of("message_stats")[-1]["messages_24h"] == 0

    await use_cases.prune(deps)
    assert stores.stats.tables.counts == {}
    assert stores.stats.tables.processed == {}
    # A day unseen, instances are forgotten.
    assert stores.instances.rows == {}


async def test_silent_services_and_replicas_go_down(lines: list[Line]) -> None:
    clock = SteppingClock()
    deps = make_deps(clock)
    await play(deps, lines, clock)
    feed = deps.feed
    assert isinstance(feed, RecordingFeed)
    feed.deltas.clear()

    clock.advance(seconds=2)  # within 3 x 1 s: still up
    use_cases.tick(deps)
    assert feed.of("service_health") == []
    clock.advance(seconds=1.5)
    use_cases.tick(deps)
    (health,) = feed.of("service_health")
    assert [(i["instance_id"], i["status"]) for i in health["instances"]] == [
        ("chat-a", "down"), ("chat-b", "down")]
    assert health["summary"] == {"up": 0, "not_ready": 0, "down": 2}
    assert feed.of("connections")[-1]["by_replica"] == {}


async def test_a_burst_of_changes_becomes_one_delta_per_kind(lines: list[Line]) -> None:
    clock = SteppingClock()
    deps = make_deps(clock, delta_interval_secs=0.5)
    await play(deps, [x for x in lines if x.subject.startswith("events.")], clock)
    feed = deps.feed
    assert isinstance(feed, RecordingFeed)
    assert feed.deltas == []  # nothing until the ticker flushes
    use_cases.tick(deps)
    types = [d.type for d in feed.deltas]
    assert types == ["message_stats", "user_presence", "user_stats", "notification_stats"]
    stats = feed.of("message_stats")[0]
    assert {r["room_id"]: r["new_message_count"] for r in stats["rooms"]} == {
        GENERAL: 7, RANDOM: 3}
    assert sum(m["count"] for m in stats["total"]) == 10
    presence = feed.of("user_presence")[0]
    # Each user once, with their latest status, and the counts after.
    assert {u["user_id"]: u["status"] for u in presence["users"]} == {
        ALICE: "online", BOB: "offline", CAROL: "away"}
    assert presence["counts"] == {"online": 1, "away": 1, "busy": 0, "offline": 2}


async def test_a_failed_write_counts_nothing_and_the_redelivery_counts_once(
        lines: list[Line]) -> None:
    clock = SteppingClock()
    stores = Stores()
    deps = make_deps(clock, stores)
    message = next(x for x in lines if x.subject == "events.chat.message.created")
    stores.stats.fail_writes = True
    with pytest.raises(Exception, match="commit failed"):
        await play(deps, [message], clock)
    assert shown_stats(deps)["messages_24h"] == 0
    stores.stats.fail_writes = False
    assert await play(deps, [message, message], clock) == [
        use_cases.Outcome.COUNTED, use_cases.Outcome.DUPLICATE]
    assert shown_stats(deps)["messages_24h"] == 1


async def test_heartbeats_that_change_nothing_are_written_now_and_then(
        lines: list[Line]) -> None:
    clock = SteppingClock()
    stores = Stores()
    deps = make_deps(clock, stores, health_persist_secs=60.0)
    beats = [x for x in lines if x.subject == "live.service.heartbeat"]
    await play(deps, beats, clock)
    # One write per instance: the first beat; the rest changed nothing within a minute.
    assert stores.instances.saves == 2


async def test_broadcast_waits_for_every_live_replica(lines: list[Line]) -> None:
    clock = SteppingClock()
    deps = make_deps(clock, receipt_window_secs=5.0)
    # Two replicas are alive and hold three sockets.
    await play(deps, until(lines, lambda x: x.subject == "live.connections"
                           and x.data["kind"] == "heartbeat" and x.data["replica_id"] == "chat-b"
                           and x.data["connections"]), clock)
    channel = deps.channel
    assert isinstance(channel, FakeBroadcastChannel)

    async def replicas_answer(broadcast_id: str) -> None:
        for replica, ids in (("chat-a", [ALICE, CAROL]), ("chat-b", [BOB])):
            await use_cases.record_receipt(deps, BroadcastReceipt(
                broadcast_id=broadcast_id, replica_id=replica, sockets=len(ids),
                users=len(ids), user_ids=ids, at=clock.now()))

    channel.on_send = replicas_answer
    b = await use_cases.send_broadcast(deps, sent_by=ROOT, content="  Hola a todos  ")
    result = views.broadcast_result(deps.state, b)
    assert result | {"broadcast_id": None, "sent_at": None} == {
        "message": "Broadcast sent", "broadcast_id": None, "content": "Hola a todos",
        "from": "Administrador", "sent_by": ROOT, "sent_at": None, "sent_to": 3,
        "users_reached": 3, "replicas": 2, "expected_replicas": 2, "total_connections": 3,
        "inboxes": 0, "read": 0}
    (event, event_id), = channel.announced
    assert (event.broadcast_id, event_id, event.content) == (b.broadcast_id, b.broadcast_id,
                                                             "Hola a todos")
    (_, frame), = channel.sent
    assert frame == {"type": "admin_broadcast", "data": {
        "message": "Hola a todos", "from": "Administrador",
        "timestamp": b.sent_at.isoformat()}}


async def test_broadcast_answers_after_the_window_and_late_receipts_still_count() -> None:
    clock = SteppingClock()
    deps = make_deps(clock, receipt_window_secs=0.05)
    b = await use_cases.send_broadcast(deps, sent_by=ROOT, content="hola")
    assert (b.sent_to, len(b.receipts)) == (0, 0)
    await use_cases.record_receipt(deps, BroadcastReceipt(
        broadcast_id=b.broadcast_id, replica_id="slow", sockets=4, users=2, user_ids=[7, 8],
        at=clock.now()))
    assert isinstance(deps.feed, RecordingFeed)
    assert deps.feed.of("broadcast")[-1]["sent_to"] == 4


async def test_nothing_is_sent_when_nats_refuses_the_durable_event() -> None:
    deps = make_deps()
    channel = deps.channel
    assert isinstance(channel, FakeBroadcastChannel)
    channel.fail_announce = True
    with pytest.raises(PublishFailed):
        await use_cases.send_broadcast(deps, sent_by=ROOT, content="hola")
    assert channel.sent == []
    assert deps.state.broadcasts == {}


async def test_a_replaced_instance_is_forgotten_but_the_last_one_of_a_service_stays(
        lines: list[Line]) -> None:
    clock = SteppingClock()
    stores = Stores()
    deps = make_deps(clock, stores, instance_replaced_secs=600.0)
    await play(deps, lines, clock)  # chat-a and chat-b, both beating until the end
    end = clock.at
    # chat-b is restarted as chat-c; chat-a stops for good.
    clock.at = end + timedelta(minutes=5)
    await use_cases.record_heartbeat(deps, ServiceHeartbeat(
        service="chat", instance_id="chat-c", version="0.1.1", started_at=clock.at,
        at=clock.at, interval_secs=1.0, ready=True))
    clock.at = end + timedelta(minutes=11)
    await use_cases.prune(deps)
    # Both old instances were outlived by chat-c: gone from view and from the database.
    assert [s["instance_id"] for s in shown_stats(deps)["services"]] == ["chat-c"]
    assert list(stores.instances.rows) == [("chat", "chat-c")]
    assert isinstance(deps.feed, RecordingFeed)
    removed = deps.feed.of("service_health")[-1]["removed"]
    assert {r["instance_id"] for r in removed} == {"chat-a", "chat-b"}

    # The last instance of a service stays (down) for a day, then goes too.
    clock.at = end + timedelta(hours=23)
    await use_cases.prune(deps)
    (chat_c,) = shown_stats(deps)["services"]
    assert chat_c["status"] == "down"
    clock.at = end + timedelta(hours=25)
    await use_cases.prune(deps)
    assert shown_stats(deps)["services"] == []
