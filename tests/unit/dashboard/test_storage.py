"""Storage used: chat's file events summed per kind, once per event, kept across a restart,
never below zero, and told to clients as one `storage_stats` delta."""

from __future__ import annotations

from datetime import timedelta

from services.dashboard import use_cases
from shared.contracts import CloudEvent, FileDeleted, FileStored, new_event
from tests.unit.dashboard.fakes import (
    RecordingFeed,
    Stores,
    make_deps,
    shown_snapshot,
    shown_stats,
)


def stored(file_id: str, size: int, kind: str = "attachment") -> CloudEvent:
    return new_event(FileStored(file_id=file_id, user_id=1, size=size, kind=kind,
                                room_id=None, stored_at=_T), source="test")[1]


def deleted(file_id: str, size: int, kind: str = "attachment") -> CloudEvent:
    return new_event(FileDeleted(file_id=file_id, user_id=1, size=size, kind=kind,
                                 deleted_at=_T), source="test")[1]


_T = make_deps().clock.now()


async def test_stored_minus_deleted_per_kind_and_in_all() -> None:
    deps = make_deps()
    for event in (stored("a", 1000), stored("b", 500), stored("c", 200, "avatar"),
                  deleted("a", 1000), stored("d", 300, "avatar"), deleted("c", 200, "avatar")):
        assert await use_cases.record_event(deps, event) is use_cases.Outcome.COUNTED
    storage = shown_snapshot(deps)["storage"]
    assert storage == {"bytes": 800, "files": 2, "by_kind": {
        "attachment": {"bytes": 500, "files": 1}, "avatar": {"bytes": 300, "files": 1}}}
    assert shown_stats(deps)["storage"] == storage


async def test_a_redelivered_event_counts_once_and_a_restart_keeps_the_totals() -> None:
    stores = Stores()
    deps = make_deps(stores=stores)
    event = stored("a", 4096)
    await use_cases.record_event(deps, event, seq=1)
    assert await use_cases.record_event(deps, event, seq=2) is use_cases.Outcome.DUPLICATE
    # A day later (the 24 h counters are gone): storage is a running total, not a window.
    deps.clock.advance(hours=30)
    await use_cases.prune(deps)
    restarted = make_deps(deps.clock, stores)
    await use_cases.load(restarted)
    assert shown_snapshot(restarted)["storage"]["bytes"] == 4096
    assert shown_snapshot(restarted)["storage"]["files"] == 1


async def test_a_deletion_without_its_storing_does_not_go_below_zero() -> None:
    deps = make_deps()
    await use_cases.record_event(deps, deleted("gone", 700))
    await use_cases.record_event(deps, stored("new", 100))
    assert shown_snapshot(deps)["storage"]["bytes"] == 100
    assert shown_snapshot(deps)["storage"]["files"] == 1


async def test_a_burst_of_uploads_is_one_storage_delta_with_the_totals() -> None:
    deps = make_deps(delta_interval_secs=0.5)
    for n in range(5):
        await use_cases.record_event(deps, stored(f"f{n}", 10))
    deps.clock.advance(seconds=timedelta(seconds=1).total_seconds())
    use_cases.flush(deps)
    assert isinstance(deps.feed, RecordingFeed)
    assert deps.feed.of("storage_stats") == [{"bytes": 50, "files": 5, "by_kind": {
        "attachment": {"bytes": 50, "files": 5}, "avatar": {"bytes": 0, "files": 0}}}]
