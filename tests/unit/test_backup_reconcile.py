"""The reconciliation's pure parts (`services/backup/reconcile.py`): which subjects belong to
an outbox, where the walk of the stream starts, and the outbox reads and marks on a real
SQLite file with the service's schema."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert

from services.backup.reconcile import (
    CLOCK_MARGIN_SECS,
    OUTBOX_OWNERS,
    OUTBOX_TABLES,
    _walk_start,
    mark_sent,
    outbox_state,
    to_sqlite,
)
from services.chat.adapters.outbound.sqla_tables import metadata, outbox
from shared.contracts.events import EVENT_MODELS

ROOT = Path(__file__).resolve().parents[2]


def test_every_chat_and_notifications_subject_is_owned_by_its_outbox() -> None:
    subjects = {spec.subject for spec in EVENT_MODELS}
    assert {s for s in subjects if s.startswith("events.chat.")} == {
        s for s, owner in OUTBOX_OWNERS.items() if owner == "chat"}
    assert {s for s in subjects if s.startswith("events.notifications.")} == {
        s for s, owner in OUTBOX_OWNERS.items() if owner == "notifications"}
    # Direct publishers: their events are never deleted by a restore.
    assert not {s for s in OUTBOX_OWNERS if s.startswith(("events.presence.",
                                                          "events.dashboard."))}
    assert OUTBOX_TABLES == {"chat": "outbox", "notifications": "ntf_outbox"}


def test_chat_and_notifications_publish_only_through_their_outbox() -> None:
    """The restore deletes an event of theirs its outbox lacks: that is right only while
    their events have no other way into EVENTS than the relay."""
    direct = re.compile(r"\.publish_events?\(")
    found = [f"{path.relative_to(ROOT)}:{n}"
             for service in OUTBOX_TABLES
             for path in sorted((ROOT / "services" / service).rglob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1)
             if direct.search(line)]
    assert found == [], found
    assert "publish_events(" in (ROOT / "shared" / "outbox.py").read_text()  # the relay


def _chat_db(tmp_path: Path, rows: list[tuple[str, datetime, datetime | None]]) -> Path:
    db = tmp_path / "chat.db"
    engine = create_engine(f"sqlite:///{db}")
    metadata.create_all(engine)
    with engine.begin() as conn:
        for event_id, created, sent in rows:
            conn.execute(insert(outbox), {"event_id": event_id, "subject": "events.chat.x",
                                          "payload": b"{}", "created_at": created,
                                          "sent_at": sent})
    engine.dispose()
    return db


def test_the_walk_starts_after_s0_unless_an_unsent_row_is_older(tmp_path: Path) -> None:
    s0_at = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    start = {"last_seq": 40, "last_ts": "2026-12-02T05:00:00.123456789Z"}
    sent_only = _chat_db(tmp_path, [("a", s0_at - timedelta(hours=1), s0_at)])
    assert _walk_start(start, {"chat": sent_only}) == (40, None)
    sent_only.unlink()
    # Created after S0's time, minus the margin: walking after S0 covers it.
    newer = _chat_db(tmp_path, [("b", s0_at + timedelta(seconds=CLOCK_MARGIN_SECS + 1), None)])
    assert _walk_start(start, {"chat": newer}) == (40, None)
    newer.unlink()
    older = _chat_db(tmp_path, [("c", s0_at - timedelta(seconds=5), None),
                                ("d", s0_at - timedelta(seconds=1), None)])
    assert _walk_start(start, {"chat": older}) == (
        40, s0_at - timedelta(seconds=5 + CLOCK_MARGIN_SECS))
    # An empty stream at the start: everything in it is walked.
    assert _walk_start({"last_seq": 0, "last_ts": "0001-01-01T00:00:00Z"},
                       {"chat": older}) == (0, None)


def test_rows_are_found_and_marked_sent_at_their_events_time(tmp_path: Path) -> None:
    now = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)
    db = _chat_db(tmp_path, [("sent", now, now), ("unsent", now, None)])
    assert outbox_state(db, "outbox", ["sent", "unsent", "absent"]) == {
        "sent": True, "unsent": False}
    at = now + timedelta(seconds=3)
    mark_sent(db, "outbox", {"unsent": at, "sent": at + timedelta(hours=1)})
    rows = dict(sqlite3.connect(db).execute("SELECT event_id, sent_at FROM outbox"))
    # Only the unsent row changes; the text is what the services' SQLAlchemy type reads.
    assert rows == {"sent": to_sqlite(now), "unsent": to_sqlite(at)}
    assert outbox_state(db, "outbox", ["unsent"]) == {"unsent": True}


def _matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` one token, `>` the rest."""
    want, have = pattern.split("."), subject.split(".")
    for n, token in enumerate(want):
        if token == ">":
            return len(have) > n
        if n >= len(have) or token not in ("*", have[n]):
            return False
    return len(want) == len(have)


def test_a_consumer_database_is_copied_before_those_of_the_outboxes_it_reads() -> None:
    """What makes deleting an event its owner's copy lacks safe: no other copy applied it
    (`services/backup/make.py`, step 2)."""
    from services.backup.sources import SERVICES
    from services.dashboard.adapters.inbound.subscriptions import EVENT_SUBJECTS
    from services.notifications.adapters.inbound.subscriptions import FILTER_SUBJECTS

    reads = {"dashboard": EVENT_SUBJECTS, "notifications": FILTER_SUBJECTS}
    for consumer, patterns in reads.items():
        owners = {owner for subject, owner in OUTBOX_OWNERS.items()
                  if any(_matches(p, subject) for p in patterns)} - {consumer}
        assert owners, consumer
        for owner in owners:
            assert SERVICES.index(consumer) < SERVICES.index(owner), (consumer, owner)
