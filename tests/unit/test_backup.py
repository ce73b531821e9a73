"""The backup's pure parts: NATS options from the environment, where a restored consumer
starts, the manifest's checks, and the Litestream recipe in docs/operations.md naming every
service database (`services/backup/`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from services.backup.files import copy_sqlite, schema_revision
from services.backup.jetstream import resumed_config
from services.backup.manifest import BackupError, Manifest, read_verified
from services.backup.sources import SERVICES, databases, nats_options, redacted_servers

ROOT = Path(__file__).resolve().parents[2]


def test_nats_credentials_come_from_the_admin_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERTULIA_NATS_ADMIN_USER", raising=False)
    monkeypatch.delenv("TERTULIA_NATS_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("NATS_URL", "nats://a:4222, nats://b:4222")
    options = nats_options(None)
    assert options["servers"] == ["nats://a:4222", "nats://b:4222"]
    assert "user" not in options and "password" not in options
    monkeypatch.setenv("TERTULIA_NATS_ADMIN_PASSWORD", "s3cret")
    assert (nats_options("nats://c:1")["user"], nats_options("nats://c:1")["password"]) == (
        "admin", "s3cret")
    monkeypatch.setenv("TERTULIA_NATS_ADMIN_USER", "ops")
    assert nats_options("nats://c:1")["user"] == "ops"


def test_without_the_variables_the_admin_password_of_up_is_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERTULIA_NATS_ADMIN_USER", raising=False)
    monkeypatch.delenv("TERTULIA_NATS_ADMIN_PASSWORD", raising=False)
    assert "password" not in nats_options("nats://c:1", tmp_path)
    (tmp_path / "nats-passwords.json").write_text(json.dumps({"chat": "c", "admin": "a"}))
    options = nats_options("nats://c:1", tmp_path)
    assert (options["user"], options["password"]) == ("admin", "a")
    monkeypatch.setenv("TERTULIA_NATS_ADMIN_PASSWORD", "from-env")
    assert nats_options("nats://c:1", tmp_path)["password"] == "from-env"


def test_a_url_password_is_not_shown() -> None:
    shown = redacted_servers({"servers": ["nats://ops:s3cret@a:4222", "nats://b:4222"]})
    assert shown == "nats://***@a:4222,nats://b:4222"


def test_a_restored_consumer_starts_after_its_ack_floor() -> None:
    info = {"config": {"durable_name": "notifications", "deliver_policy": "all",
                       "opt_start_time": "2026-01-01T00:00:00Z", "max_deliver": 10},
            "ack_floor": {"stream_seq": 41}}
    assert resumed_config(info) == {"durable_name": "notifications", "max_deliver": 10,
                                    "deliver_policy": "by_start_sequence", "opt_start_seq": 42}
    fresh = resumed_config({"config": {"durable_name": "d"}, "ack_floor": {"stream_seq": 0}})
    assert fresh == {"durable_name": "d", "deliver_policy": "all"}


def _backup(tmp_path: Path) -> Path:
    root = tmp_path / "backup"
    root.mkdir()
    (root / "chat.db").write_bytes(b"x" * 10)
    manifest = Manifest(started_at="t", tertulia_version="v", data_dir="d")
    manifest.add(root, "chat.db", "sqlite", service="chat")
    manifest.write(root)
    return root


def test_the_manifest_catches_a_changed_or_missing_file(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    assert [e.path for e in read_verified(root).files] == ["chat.db"]
    (root / "chat.db").write_bytes(b"y" * 10)
    with pytest.raises(BackupError, match="sha256 does not match"):
        read_verified(root)
    (root / "chat.db").write_bytes(b"y" * 11)
    with pytest.raises(BackupError, match="11 bytes, the manifest says 10"):
        read_verified(root)
    (root / "chat.db").unlink()
    with pytest.raises(BackupError, match="missing from the backup"):
        read_verified(root)


def test_the_manifest_may_not_point_outside_the_backup(tmp_path: Path) -> None:
    root = _backup(tmp_path)
    raw = json.loads((root / "manifest.json").read_text())
    raw["files"][0]["path"] = "../elsewhere"
    (root / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(BackupError, match="outside the backup"):
        read_verified(root)


def test_no_manifest_is_no_backup(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="not a \\(finished\\) Tertulia backup"):
        read_verified(tmp_path)


def test_a_sqlite_copy_stands_alone_with_its_revision(tmp_path: Path) -> None:
    import sqlite3

    source = tmp_path / "live.db"
    conn = sqlite3.connect(source)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # what the services do: rows stay in the WAL
    conn.execute("CREATE TABLE alembic_version_chat (version_num TEXT)")
    conn.execute("INSERT INTO alembic_version_chat VALUES ('abc123')")
    conn.execute("CREATE TABLE t (n INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(1000)])
    conn.commit()
    copy = tmp_path / "copy.db"
    copy_sqlite(source, copy)  # while `conn` is open and the WAL not checkpointed
    conn.close()
    assert not (tmp_path / "copy.db-wal").exists()
    assert copy.stat().st_mode & 0o777 == 0o600
    assert sqlite3.connect(copy).execute("SELECT count(*) FROM t").fetchone() == (1000,)
    assert schema_revision(copy, "chat") == "abc123"
    assert schema_revision(copy, "presence") is None


def test_the_litestream_recipe_names_every_service_database() -> None:
    doc = (ROOT / "docs" / "operations.md").read_text()
    section = doc[doc.index("### Continuous SQLite replication with Litestream"):]
    recipe = yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))  # type: ignore[union-attr]
    names = sorted(Path(db["path"]).name for db in recipe["dbs"])
    assert names == sorted(db.file_name for db in databases(Path("/srv/tertulia/data")))
    assert sorted(f"{s}.db" for s in SERVICES) == names
    assert all(db["replicas"] and db["replicas"][0]["url"] for db in recipe["dbs"])
