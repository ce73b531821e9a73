"""`tertulia backup` of a system under load and `tertulia restore` into a fresh data directory:
every message acknowledged before the backup began is in history and in EVENTS afterwards,
the signing key is the same, and a damaged backup or a used target is refused."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nats
import pytest

from services.backup.sources import nats_options
from tests.support.system import ROOT, RunningSystem

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# Posting as fast as one client can: the per-user frame budget must not be what limits it.
LOAD_ENV = {"CHAT_RATE_LIMIT_PER_SEC": "100000", "CHAT_RATE_LIMIT_BURST": "100000"}
PASSWORD = "a long enough password"
WAIT_SECS = 60.0


def tertulia(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.cli", *args], cwd=ROOT, capture_output=True,
        text=True, timeout=300,
        env={**os.environ, **(env or {}),
             "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])})


def nats_url_of(system: RunningSystem) -> str:
    match = re.search(r"\bnats pid=\d+ url=(nats://\S+)", system.output())
    assert match, system.output()
    return match.group(1)


@dataclass
class Poster:
    """Posts in one room over HTTP from a thread until stopped, keeping every acknowledged
    message (201 with its id and seq) in order."""

    url: str
    token: str
    room_id: int
    acked: list[dict[str, object]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as http:
            n = 0
            while not self._stop.is_set():
                n += 1
                content = f"load {n} {uuid.uuid4().hex[:8]}"
                response = http.post(f"/api/chat/rooms/{self.room_id}/messages",
                                     json={"content": content})
                if response.status_code == 201:
                    with self._lock:
                        self.acked.append(response.json())
                else:
                    self.failures.append(f"{response.status_code} {response.text[:200]}")

    def acknowledged(self) -> list[dict[str, object]]:
        with self._lock:
            return list(self.acked)

    def stop(self) -> None:
        self._stop.set()


@dataclass
class BackedUp:
    backup: Path
    key: bytes
    token: str
    room_id: int
    before: list[dict[str, object]]  # acknowledged before `tertulia backup` started
    during: int  # acknowledged while it ran
    backup_output: str


def _wait(what: str, until: object, timeout: float = WAIT_SECS) -> None:
    deadline = time.monotonic() + timeout
    while not until():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def backed_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackedUp]:
    base = tmp_path_factory.mktemp("backup")
    data = base / "data"
    with RunningSystem(data, env=LOAD_ENV) as system, httpx.Client(
            base_url=system.url, timeout=30) as http:
        assert http.post("/api/auth/register",
                         json={"username": "writer", "password": PASSWORD}).status_code == 201
        token = http.post("/api/auth/token", data={"username": "writer", "password": PASSWORD}
                          ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        room_id = http.post("/api/chat/rooms", headers=auth,
                            json={"name": "load", "is_private": False}).json()["id"]
        poster = Poster(system.url, token, room_id)
        thread = threading.Thread(target=poster.run, daemon=True)
        thread.start()
        try:
            _wait("200 messages acknowledged", lambda: len(poster.acknowledged()) >= 200)
            before = poster.acknowledged()
            result = tertulia("backup", "--to", str(base / "backup"), "--data-dir", str(data),
                              "--nats-url", nats_url_of(system))
            after = poster.acknowledged()
            # Still posting while the backup ran: it was taken under load.
            _wait("posting goes on after the backup", lambda: len(poster.acknowledged())
                  > len(after))
        finally:
            poster.stop()
            thread.join(30)
        assert result.returncode == 0, result.stdout + result.stderr
        assert not poster.failures, poster.failures[:5]
        key = (data / "chat-signing-key.pem").read_bytes()
    yield BackedUp(base / "backup", key, token, room_id, before, len(after) - len(before),
                   result.stdout)


def _history(http: httpx.Client, room_id: int) -> list[dict[str, object]]:
    messages: list[dict[str, object]] = []
    after = 0
    while True:
        page = http.get(f"/api/chat/rooms/{room_id}/messages",
                        params={"after_seq": after, "limit": 200}).json()
        messages += page["messages"]
        if not page["has_more"]:
            return messages
        after = int(page["messages"][-1]["seq"])


async def _connect(nats_url: str, data_dir: Path | None) -> nats.NATS:
    """As `tertulia backup` connects: as `admin` when `tertulia up` made NATS users."""
    return await nats.connect(**nats_options(nats_url, data_dir))


async def _created_event_ids(nats_url: str, data_dir: Path | None = None) -> set[int]:
    """The message ids of every `message.created` event in EVENTS."""
    nc = await _connect(nats_url, data_dir)
    try:
        js = nc.jetstream()
        sub = await js.pull_subscribe("events.chat.message.created", stream="EVENTS")
        found: set[int] = set()
        while True:
            try:
                batch = await sub.fetch(500, timeout=1)
            except (TimeoutError, nats.errors.TimeoutError):
                return found
            for msg in batch:
                found.add(int(json.loads(msg.data)["data"]["message_id"]))
                await msg.ack()
    finally:
        await nc.close()


@dataclass(frozen=True)
class StreamEvents:
    ids: list[str]  # every message's Nats-Msg-Id (the event id), in stream order
    created: list[tuple[int, int]]  # (message id, seq) of every `message.created`


async def _stream_events(nats_url: str, data_dir: Path) -> StreamEvents:
    """All of EVENTS, read with an ephemeral ordered consumer up to its last message."""
    nc = await _connect(nats_url, data_dir)
    try:
        js = nc.jetstream()
        ids: list[str] = []
        created: list[tuple[int, int]] = []
        if not (await js.stream_info("EVENTS")).state.messages:
            return StreamEvents(ids, created)
        sub = await js.subscribe("events.>", stream="EVENTS", ordered_consumer=True)
        try:
            while True:
                msg = await sub.next_msg(timeout=10)
                ids.append((msg.headers or {})["Nats-Msg-Id"])
                if msg.subject == "events.chat.message.created":
                    data = json.loads(msg.data)["data"]
                    created.append((int(data["message_id"]), int(data["seq"])))
                if msg.metadata.num_pending == 0:
                    return StreamEvents(ids, created)
        finally:
            await sub.unsubscribe()
    finally:
        await nc.close()


def _assert_stream_agrees_with_history(events: StreamEvents,
                                       history: dict[object, dict[str, object]]) -> None:
    """Every message of EVENTS is chat's (same id, same seq), and no event is there twice."""
    twice = {i for i, n in Counter(events.ids).items() if n > 1}
    assert not twice, f"{len(twice)} event ids twice in EVENTS: {sorted(twice)[:5]}"
    unknown = [(m, s) for m, s in events.created
               if m not in history or history[m]["seq"] != s]
    assert not unknown, f"{len(unknown)} messages in EVENTS, not in chat: {unknown[:5]}"
    ids = [m for m, _ in events.created]
    assert len(ids) == len(set(ids)), "two message.created events for one message id"


async def _consumers_left(nats_url: str, data_dir: Path) -> dict[str, int]:
    """Per consumer, the events it has not taken yet: not delivered, or not acknowledged."""
    nc = await _connect(nats_url, data_dir)
    try:
        return {c.name: (c.num_pending or 0) + (c.num_ack_pending or 0)
                for c in await nc.jetstream().consumers_info("EVENTS")}
    finally:
        await nc.close()


def test_manifest_lists_every_file_with_its_checksum(backed_up: BackedUp) -> None:
    manifest = json.loads((backed_up.backup / "manifest.json").read_text())
    kinds = {entry["path"]: entry["kind"] for entry in manifest["files"]}
    assert kinds == {"chat.db": "sqlite", "notifications.db": "sqlite",
                     "dashboard.db": "sqlite", "presence.db": "sqlite",
                     "chat-signing-key.pem": "signing_key",
                     "nats/EVENTS.tar.s2": "jetstream_snapshot"}
    for entry in manifest["files"]:
        assert (backed_up.backup / entry["path"]).stat().st_size == entry["size"]
        assert len(entry["sha256"]) == 64
    assert manifest["tertulia_version"] and manifest["started_at"] <= manifest["finished_at"]
    durables = {c["name"] for c in manifest["stream"]["consumers"]}
    # The dashboard has no durable: its fold position is in dashboard.db, copied above.
    assert "notifications" in durables and "dashboard" not in durables
    assert any("PRESENCE" in left["what"] for left in manifest["not_included"])
    key = backed_up.backup / "chat-signing-key.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.read_bytes() == backed_up.key


def test_restored_system_has_every_message_acknowledged_before_the_backup(
        backed_up: BackedUp, tmp_path: Path) -> None:
    restored = tmp_path / "restored"
    result = tertulia("restore", "--from", str(backed_up.backup), "--data-dir", str(restored))
    assert result.returncode == 0, result.stdout + result.stderr
    print(backed_up.backup_output, result.stdout)  # what ran while it ran, for -s
    assert (restored / "chat-signing-key.pem").read_bytes() == backed_up.key
    assert (restored / "chat-signing-key.pem").stat().st_mode & 0o777 == 0o600

    with RunningSystem(restored) as system, httpx.Client(
            base_url=system.url, timeout=30,
            headers={"Authorization": f"Bearer {backed_up.token}"}) as http:
        # The token the old system signed verifies here: the same key, the same session.
        me = http.get("/api/auth/me")
        assert me.status_code == 200 and me.json()["username"] == "writer"

        history = {m["id"]: m for m in _history(http, backed_up.room_id)}
        missing = [m["id"] for m in backed_up.before if m["id"] not in history]
        assert not missing, f"{len(missing)} of {len(backed_up.before)} missing: {missing[:10]}"
        for message in backed_up.before:
            assert history[message["id"]]["seq"] == message["seq"]
            assert history[message["id"]]["content"] == message["content"]

        wanted = {int(m["id"]) for m in backed_up.before}  # type: ignore[call-overload]
        nats_url = nats_url_of(system)
        seen: set[int] = set()

        def all_in_stream() -> bool:
            seen.update(asyncio.run(_created_event_ids(nats_url, restored)))
            return wanted <= seen
        _wait("every acknowledged message's event in EVENTS", all_in_stream)

        # What the restore kept of the messages posted while the backup ran is chat's: no
        # event in EVENTS names a message chat does not have, none is there twice.
        before_posts = asyncio.run(_stream_events(nats_url, restored))
        _assert_stream_agrees_with_history(before_posts, history)

        # New posts go on from the restored history's last sequence number, with ids and
        # seqs no event in EVENTS has already.
        last = max(int(m["seq"]) for m in history.values())  # type: ignore[call-overload]
        new_ids: set[int] = set()
        for expected in (last + 1, last + 2):
            posted = http.post(f"/api/chat/rooms/{backed_up.room_id}/messages",
                               json={"content": f"after restore {expected}"})
            assert posted.status_code == 201, posted.text
            assert posted.json()["seq"] == expected
            new_ids.add(int(posted.json()["id"]))
            history[posted.json()["id"]] = posted.json()
        assert not new_ids & {m for m, _ in before_posts.created}
        assert not {last + 1, last + 2} & {s for _, s in before_posts.created}
        _wait("the new posts' events in EVENTS",
              lambda: new_ids <= asyncio.run(_created_event_ids(nats_url, restored)))
        _assert_stream_agrees_with_history(asyncio.run(_stream_events(nats_url, restored)),
                                           history)
        record = json.loads((restored / "restored-from.json").read_text())
        assert record["reconciliation"]["kept"] + len(record["reconciliation"]["deleted"]) \
            >= 1  # the backup ran under load: events were published while it ran

        # The restored consumer bound and works: notifications takes every event, the
        # redelivered ones and the new posts', until none is left.
        def consumed_everything() -> bool:
            left = asyncio.run(_consumers_left(nats_url, restored))
            return "notifications" in left and not left["notifications"]
        _wait("the restored consumers take every event", consumed_everything)


def test_damaged_backup_is_refused_and_nothing_is_written(backed_up: BackedUp,
                                                          tmp_path: Path) -> None:
    damaged = tmp_path / "damaged"
    shutil.copytree(backed_up.backup, damaged)
    db = damaged / "chat.db"
    data = bytearray(db.read_bytes())
    data[len(data) // 2] ^= 0xFF
    db.write_bytes(bytes(data))
    target = tmp_path / "target"
    result = tertulia("restore", "--from", str(damaged), "--data-dir", str(target))
    assert result.returncode == 1
    assert "chat.db: sha256 does not match the manifest" in result.stderr
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["damaged"]  # no staging directory left


def test_restore_into_an_empty_mount_point_keeps_the_directory(backed_up: BackedUp,
                                                                tmp_path: Path) -> None:
    """A container's /data volume exists, is empty and cannot be replaced: the restore fills
    it in place, and a failed one leaves it empty."""
    volume = tmp_path / "volume"
    volume.mkdir()
    inode = volume.stat().st_ino
    damaged = tmp_path / "damaged"
    shutil.copytree(backed_up.backup, damaged)
    (damaged / "chat-signing-key.pem").write_bytes(b"not the key")
    result = tertulia("restore", "--from", str(damaged), "--data-dir", str(volume))
    assert result.returncode == 1 and "chat-signing-key.pem" in result.stderr
    assert list(volume.iterdir()) == []

    result = tertulia("restore", "--from", str(backed_up.backup), "--data-dir", str(volume))
    assert result.returncode == 0, result.stdout + result.stderr
    assert volume.stat().st_ino == inode
    assert sorted(p.name for p in volume.iterdir()) == [
        "chat-signing-key.pem", "chat.db", "dashboard.db", "nats", "notifications.db",
        "presence.db", "restored-from.json"]
    assert (volume / "chat-signing-key.pem").read_bytes() == backed_up.key
    assert (volume / "nats" / "jetstream").is_dir()


def test_used_data_dir_is_refused(backed_up: BackedUp, tmp_path: Path) -> None:
    (tmp_path / "chat.db").write_bytes(b"someone's data")
    result = tertulia("restore", "--from", str(backed_up.backup), "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert "is not empty" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["chat.db"]
    assert (tmp_path / "chat.db").read_bytes() == b"someone's data"


def test_backup_into_a_used_directory_is_refused(backed_up: BackedUp) -> None:
    before = sorted(p.name for p in backed_up.backup.iterdir())
    result = tertulia("backup", "--to", str(backed_up.backup), "--nats-url",
                      "nats://127.0.0.1:1")
    assert result.returncode == 1
    assert "is not empty: back up into a new or empty directory" in result.stderr
    assert sorted(p.name for p in backed_up.backup.iterdir()) == before


async def _stream_and_consumers(nats_url: str) -> tuple[dict[str, object], dict[str, int]]:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("EVENTS")
        starts = {c.name: int(c.config.opt_start_seq or 0)
                  for c in await js.consumers_info("EVENTS")}
        return {"messages": info.state.messages, "last_seq": info.state.last_seq}, starts
    finally:
        await nc.close()


def test_restore_into_a_running_nats(backed_up: BackedUp, tmp_path: Path,
                                     nats_server: object) -> None:
    url = nats_server.url  # type: ignore[attr-defined]
    manifest = json.loads((backed_up.backup / "manifest.json").read_text())
    result = tertulia("restore", "--from", str(backed_up.backup), "--data-dir",
                      str(tmp_path / "one"), "--nats-url", url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (tmp_path / "one" / "nats").exists()  # the stream went to that NATS
    state, starts = asyncio.run(_stream_and_consumers(url))
    # The snapshot's messages, less those the reconciliation deleted (messages published
    # while the backup ran that chat's or notifications' copy does not have).
    deleted = json.loads((tmp_path / "one" / "restored-from.json").read_text())[
        "reconciliation"]["deleted"]
    assert state == {"messages": manifest["stream"]["state"]["messages"] - len(deleted),
                     "last_seq": manifest["stream"]["state"]["last_seq"]}
    # Each durable consumer starts right after what it had acknowledged at the backup; one
    # that had acknowledged nothing yet (chat's audit consumer: no other service audited
    # anything) starts from the first event (opt_start_seq 0: deliver all).
    assert starts == {c["name"]: (c["ack_floor"]["stream_seq"] + 1
                                  if c["ack_floor"]["stream_seq"] else 0)
                      for c in manifest["stream"]["consumers"]}

    again = tertulia("restore", "--from", str(backed_up.backup), "--data-dir",
                     str(tmp_path / "two"), "--nats-url", url)
    assert again.returncode == 1
    assert "stream name already in use" in again.stderr
    assert not (tmp_path / "two").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nats", "one"]


def test_a_postgresql_database_is_named_not_skipped_silently(tmp_path: Path,
                                                             nats_server: object) -> None:
    url = nats_server.url  # type: ignore[attr-defined]

    async def make_stream() -> None:
        nc = await nats.connect(url)
        await nc.jetstream().add_stream(name="EVENTS", subjects=["events.>"])
        await nc.close()
    asyncio.run(make_stream())
    result = tertulia(
        "backup", "--to", str(tmp_path / "backup"), "--data-dir", str(tmp_path / "data"),
        "--nats-url", url,
        env={"CHAT_DATABASE_URL": "postgresql+asyncpg://tertulia:secret@db.example:5432/chat"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the chat database is PostgreSQL" in result.stderr
    assert "back it up with pg_dump" in result.stderr
    assert "secret" not in result.stderr + result.stdout
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert "chat" not in {entry.get("service") for entry in manifest["files"]}
    assert any(left["what"].startswith("chat database") and "pg_dump" in left["why"]
               for left in manifest["not_included"])
