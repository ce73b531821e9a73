"""The window between a database's copy and the EVENTS snapshot, forced: events published in
it are in the snapshot and not in their database, and rows a copy holds unsent are in the
snapshot too. `tertulia restore` must delete exactly the first and mark exactly the second
sent (`services/backup/reconcile.py`), leaving events of direct publishers alone.

Real parts: a nats-server, the services' SQLite schemas and outbox envelopes, the event
bus's publish (Nats-Msg-Id = event id); `backup` and `restore` run in-process, with the
database copy wrapped so that events are published right after chat's and notifications'
copies, as a running system may do."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import pytest
from sqlalchemy import MetaData, Table, create_engine, insert

from services.backup import make
from services.backup.make import backup
from services.backup.restore import RECORD, restore
from services.chat.adapters.outbound.sqla_tables import metadata as chat_metadata
from services.chat.adapters.outbound.sqla_tables import outbox as chat_outbox
from services.launcher import NatsServerProcess
from services.notifications.adapters.outbound.sqla_tables import metadata as ntf_metadata
from services.notifications.adapters.outbound.sqla_tables import outbox as ntf_outbox
from shared.bus.nats import NatsEventBus
from shared.contracts.envelope import new_event
from shared.contracts.events import MessageCreated, NotificationRead, PresenceChanged
from shared.outbox_rows import OutboxRow, outbox_row

pytestmark = pytest.mark.integration


def _message(n: int) -> MessageCreated:
    return MessageCreated(message_id=n, room_id=1, seq=n, user_id=1, username="writer",
                          content=f"message {n}", created_at=datetime.now(UTC))


def _read(n: int) -> NotificationRead:
    return NotificationRead(notification_id=f"n{n}", user_id=1, reason="message",
                            read_at=datetime.now(UTC))


@dataclass
class Service:
    """One outbox-owning service's database, written and relayed by hand, as its unit of work
    and its relay do."""

    db: Path
    metadata: MetaData
    table: Table
    source: str
    bus: NatsEventBus
    rows: dict[str, OutboxRow] = field(default_factory=dict)

    def create(self) -> None:
        engine = create_engine(f"sqlite:///{self.db}")
        self.metadata.create_all(engine)
        engine.dispose()

    def commit(self, event: Any) -> str:
        """A transaction that writes `event` to the outbox; its id."""
        now = datetime.now(UTC)
        row = outbox_row(event, source=self.source, now=now)
        engine = create_engine(f"sqlite:///{self.db}")
        with engine.begin() as conn:
            conn.execute(insert(self.table), {"event_id": row.event_id, "subject": row.subject,
                                              "payload": row.payload, "created_at": now})
        engine.dispose()
        self.rows[row.event_id] = row
        return row.event_id

    async def publish(self, event_id: str, *, mark: bool = True) -> None:
        """The relay: publish (the bus sets Nats-Msg-Id) and, unless told not to, mark sent."""
        assert await self.bus.publish_events([self.rows[event_id].raw()]) == [True]
        if mark:
            conn = sqlite3.connect(self.db)
            conn.execute(f"UPDATE {self.table.name} SET sent_at = ? WHERE event_id = ?",
                         (datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"), event_id))
            conn.commit()
            conn.close()


def unsent(db: Path, table: str) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute(f"SELECT event_id FROM {table} "
                                           "WHERE sent_at IS NULL")}
    finally:
        conn.close()


async def stream_ids(url: str) -> list[str]:
    """Every message's Nats-Msg-Id in EVENTS, in stream order."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("EVENTS")
        ids: list[str] = []
        seq = info.state.first_seq
        while seq <= info.state.last_seq:
            try:
                msg = await js.get_msg("EVENTS", seq)
            except nats.js.errors.NotFoundError:
                seq += 1  # a deleted message
                continue
            ids.append((msg.headers or {})["Nats-Msg-Id"])
            seq += 1
        return ids
    finally:
        await nc.close()


@pytest.fixture
def quiet_admin(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TERTULIA_NATS_ADMIN_USER", "TERTULIA_NATS_ADMIN_PASSWORD", "NATS_URL",
                 "DATA_DIR", "CHAT_DATA_DIR", "NOTIFICATIONS_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


@dataclass
class Scenario:
    backup: Path
    expected_deleted: set[str]
    expected_marked: set[str]
    kept: set[str]
    kept_if_unchecked: set[str]  # the window's notifications event


async def _backed_up_through_the_window(tmp_path: Path, url: str,
                                        monkeypatch: pytest.MonkeyPatch) -> Scenario:
    data = tmp_path / "data"
    data.mkdir()
    bus = NatsEventBus(url, "test-reconcile")
    await bus.connect()  # creates EVENTS as the services do
    chat = Service(data / "chat.db", chat_metadata, chat_outbox, "tertulia/chat", bus)
    ntf = Service(data / "notifications.db", ntf_metadata, ntf_outbox,
                  "tertulia/notifications", bus)
    chat.create()
    ntf.create()
    try:
        # Before the backup: published and marked, except `lagging` (published, its mark
        # not written yet) and `pending` (committed, not published yet).
        settled = [chat.commit(_message(1)), chat.commit(_message(2)), ntf.commit(_read(1))]
        for event_id in settled[:2]:
            await chat.publish(event_id)
        await ntf.publish(settled[2])
        lagging = chat.commit(_message(3))
        await chat.publish(lagging, mark=False)
        pending = chat.commit(_message(4))
        window: dict[str, str] = {}
        loop = asyncio.get_running_loop()

        async def after_copy(name: str) -> None:
            if name == "notifications.db":
                window["ntf"] = ntf.commit(_read(2))  # not in the copy
                await ntf.publish(window["ntf"])
            elif name == "chat.db":
                await chat.publish(pending)  # in the copy, unsent there
                window["chat"] = chat.commit(_message(5))  # not in the copy
                await chat.publish(window["chat"])
                subject, event = new_event(
                    PresenceChanged(user_id=1, username="writer", status="online",
                                    previous="offline", connections=1, reason="connected"),
                    source="tertulia/presence")
                await bus.publish_event(subject, event)  # presence publishes directly
                window["presence"] = event.id

        real_copy: Callable[[Path, Path], None] = make.copy_sqlite

        def copy_then_publish(source: Path, target: Path) -> None:
            real_copy(source, target)  # in backup's thread: publish on the test's loop
            asyncio.run_coroutine_threadsafe(after_copy(target.name), loop).result(30)

        monkeypatch.setattr(make, "copy_sqlite", copy_then_publish)
        await backup(tmp_path / "backup", data, url)
        assert window.keys() == {"ntf", "chat", "presence"}  # the window was taken
    finally:
        await bus.close()
    return Scenario(tmp_path / "backup", {window["ntf"], window["chat"]},
                    {lagging, pending}, {*settled, lagging, pending, window["presence"]},
                    {window["ntf"]})


async def test_restore_deletes_what_no_database_has_and_marks_what_the_stream_has(
        tmp_path: Path, nats_server: NatsServerProcess, quiet_admin: None,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = await _backed_up_through_the_window(tmp_path, nats_server.url, monkeypatch)
    snapshot_ids = set(await stream_ids(nats_server.url))
    assert scenario.expected_deleted <= snapshot_ids  # the hole: in the stream, not the DBs
    manifest = json.loads((scenario.backup / "manifest.json").read_text())
    assert manifest["stream"]["start"]["last_seq"] == 4  # 3 settled + the lagging one
    capsys.readouterr()

    restored = tmp_path / "restored"
    await restore(scenario.backup, restored, None)
    output = capsys.readouterr().out
    assert "events after seq 4 (published while the backup ran): kept 2, deleted 2, " \
           "marked 2 sent" in output, output

    async with NatsServerProcess(restored / "nats") as server:
        ids = await stream_ids(server.url)
    assert set(ids) == scenario.kept and len(ids) == len(scenario.kept)
    assert not scenario.expected_deleted & set(ids)
    # No row left unsent whose event is in the stream: the relay publishes nothing twice.
    assert unsent(restored / "chat.db", "outbox") == set()
    assert unsent(restored / "notifications.db", "ntf_outbox") == set()
    record = json.loads((restored / RECORD).read_text())["reconciliation"]
    assert {d["event_id"] for d in record["deleted"]} == scenario.expected_deleted
    assert set(record["marked_sent"]["chat"]) == scenario.expected_marked
    assert record["kept"] == 2 and record["not_checked"] == []
    # The backup itself is untouched: its copies still hold the rows unsent.
    assert unsent(scenario.backup / "chat.db", "outbox") == scenario.expected_marked


async def test_into_a_running_nats_and_a_failure_there_leaves_no_stream(
        tmp_path: Path, nats_server: NatsServerProcess, quiet_admin: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = await _backed_up_through_the_window(tmp_path, nats_server.url, monkeypatch)
    async with NatsServerProcess(tmp_path / "other") as other:
        from services.backup import staging
        from services.backup.manifest import BackupError

        def refuse(*_: object) -> None:
            raise BackupError("the target changed under the restore")

        with monkeypatch.context() as patched:
            patched.setattr(staging, "finish", refuse)
            with pytest.raises(BackupError, match="changed under"):
                await restore(scenario.backup, tmp_path / "failed", other.url)
        assert not (tmp_path / "failed").exists()
        nc = await nats.connect(other.url)
        try:
            with pytest.raises(nats.js.errors.NotFoundError):
                await nc.jetstream().stream_info("EVENTS")  # the restore removed its stream
        finally:
            await nc.close()

        await restore(scenario.backup, tmp_path / "ok", other.url)
        ids = await stream_ids(other.url)
        assert set(ids) == scenario.kept and len(ids) == len(scenario.kept)
        assert unsent(tmp_path / "ok" / "chat.db", "outbox") == set()


async def test_events_of_a_service_whose_database_is_not_in_the_backup_are_kept(
        tmp_path: Path, nats_server: NatsServerProcess, quiet_admin: None,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """As for a database on PostgreSQL (backed up with pg_dump): nothing here can say which
    of its events it has, so none is deleted."""
    scenario = await _backed_up_through_the_window(tmp_path, nats_server.url, monkeypatch)
    manifest = json.loads((scenario.backup / "manifest.json").read_text())
    manifest["files"] = [f for f in manifest["files"] if f["path"] != "notifications.db"]
    (scenario.backup / "manifest.json").write_text(json.dumps(manifest))
    (scenario.backup / "notifications.db").unlink()
    capsys.readouterr()

    restored = tmp_path / "restored"
    await restore(scenario.backup, restored, None)
    assert "notifications: no database in the backup; its events are kept unchecked" in \
        capsys.readouterr().out
    async with NatsServerProcess(restored / "nats") as server:
        ids = set(await stream_ids(server.url))
    ntf_window = scenario.kept_if_unchecked
    assert ids == scenario.kept | ntf_window
    record = json.loads((restored / RECORD).read_text())["reconciliation"]
    assert record["not_checked"] == ["notifications"]
    assert {d["event_id"] for d in record["deleted"]} == scenario.expected_deleted - ntf_window
