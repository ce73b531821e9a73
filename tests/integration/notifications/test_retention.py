"""The retention job removes old read notifications, keeps unread ones, and says so in the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.notifications.harness import (
    Feed,
    Keys,
    eventually,
    inboxes,
    message_id,
    notifications_settings,
    position_at_end,
    running,
)

pytestmark = pytest.mark.integration
RETENTION_LOGGER = "services.notifications.adapters.inbound.retention"


class MovableClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def retention_log() -> Iterator[Records]:
    logger = logging.getLogger(RETENTION_LOGGER)
    handler, level = Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # the service itself logs at WARNING in tests
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


async def test_the_retention_job_removes_old_read_entries_and_keeps_unread_ones(
        tmp_path: Path, nats_url: str, keys: Keys, events: Feed,
        retention_log: Records) -> None:
    today = datetime.now(UTC)
    clock = MovableClock(today - timedelta(days=40))
    settings = notifications_settings(tmp_path, nats_url, keys, retention_days=30,
                                      retention_interval_secs=0.2)
    await position_at_end(events.bus, settings)
    async with running(settings, clock=clock) as service:
        alice, bob = await events.users("alice", "bob")
        room = await events.room([(alice, "member"), (bob, "member")])
        async with inboxes(service, keys, bob) as (inbox,):
            await inbox.set_level(room, "all")
            old = [await events.post(room, alice, f"old {n}") for n in range(3)]
            entries = await eventually(lambda: _all_of(inbox, 3), what="three old entries")
            by_message = {e["data"]["message_id"]: e for e in entries}
            for posted in old[:2]:  # read 40 days ago
                entry = by_message[message_id(posted)]
                assert (await inbox.http.post(f"/api/notifications/{entry['id']}/read")
                        ).status_code == 200

            clock.at = today
            recent = await events.post(room, alice, "new")
            # The job may already be removing the old read entries: look for this one.
            fresh = await eventually(lambda: _entry_for(inbox, recent), what="the new entry")
            # Read today: it stays.
            assert (await inbox.http.post(f"/api/notifications/{fresh['id']}/read")
                    ).status_code == 200

            left = await eventually(lambda: _all_of(inbox, 2), within_secs=5,
                                    what="the old read entries removed")
            assert sorted(e["data"]["message_id"] for e in left) == sorted(
                [message_id(old[2]), message_id(recent)])
            assert [e["read"] for e in left] == [True, False]  # newest first
            # The job counts after its delete commits: the API may show it first.
            await eventually(
                lambda: service.metric("tertulia_notifications_retention_removed_total") == 2,
                within_secs=5, what="the removals counted")

    removals = [r for r in retention_log.records
                if getattr(r, "fields", {}).get("removed_notifications")]
    assert [(r.fields["removed_notifications"], r.fields["users"])  # type: ignore[attr-defined]
            for r in removals] == [(2, 1)]
    assert "removed 2 read notifications of 1 users" in removals[0].getMessage()


async def _entry_for(inbox: object, posted: object) -> object:
    found = await inbox.list()  # type: ignore[attr-defined]
    return next((e for e in found if e["data"]["message_id"] == message_id(posted)), None)


async def _all_of(inbox: object, count: int) -> object:
    found = await inbox.list()  # type: ignore[attr-defined]
    return found if len(found) == count else None
