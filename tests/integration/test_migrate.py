"""`tertulia migrate` and a service's start, as an operator runs them: on the previous
release's data directory, on a schema newer than the code, with auto-migrate off."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from services.launcher import free_port
from tests.integration.shared.schema_shapes import SERVICES, load_previous_release
from tests.support.system import RunningSystem

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _tertulia(*args: str, env: dict[str, str] | None = None, timeout: float = 60
              ) -> subprocess.CompletedProcess[str]:
    # No service-prefixed variables from the shell: each test says where the data is.
    clean = {k: v for k, v in os.environ.items()
             if not k.endswith(("_DATA_DIR", "_DATABASE_URL", "_AUTO_MIGRATE"))}
    return subprocess.run([sys.executable, "-m", "services.cli", *args], cwd=ROOT,
                          env={**clean, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout, check=False)


def _head(service: str) -> str:
    """The latest revision of a service's migrations (services gain revisions of their own)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(ROOT / "services" / service / "migrations")).get_current_head()
    assert head is not None
    return head


def _previous_release(data_dir: Path) -> None:
    for service in SERVICES:
        asyncio.run(load_previous_release(f"sqlite+aiosqlite:///{data_dir / service}.db",
                                          service))


def _set_version(path: Path, table: str, revision: str) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(f"UPDATE {table} SET version_num = ?", (revision,))
    conn.close()


def test_migrate_recognises_the_previous_release_then_has_nothing_to_do(tmp_path: Path) -> None:
    _previous_release(tmp_path)
    first = _tertulia("migrate", env={"DATA_DIR": str(tmp_path)})
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert [line.split(" ")[0] for line in lines] == list(SERVICES)
    assert all("a database from before migrations; recognised and brought to revision "
               f"{_head(line.split(' ')[0])}" in line for line in lines), lines
    again = _tertulia("migrate", "chat", "--data-dir", str(tmp_path))
    assert again.returncode == 0, again.stderr
    assert again.stdout == (f"chat (sqlite+aiosqlite:///{tmp_path}/chat.db): at "
                            f"{_head('chat')}, the latest revision; nothing to do\n")


def test_migrate_refuses_a_newer_schema_and_still_does_the_others(tmp_path: Path) -> None:
    assert _tertulia("migrate", "--data-dir", str(tmp_path)).returncode == 0
    _set_version(tmp_path / "chat.db", "alembic_version_chat", "0099")
    (tmp_path / "presence.db").unlink()  # a new one is made
    result = _tertulia("migrate", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"tertulia migrate: chat: the database sqlite+aiosqlite:///{tmp_path}/chat.db is at "
        "schema revision '0099' (table alembic_version_chat), which this release does not "
        f"know: its latest is '{_head('chat')}'.")
    assert f"new database, schema created at revision {_head('presence')}" in result.stdout
    assert "unknown service" in _tertulia("migrate", "chats").stderr


def _serve_chat(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`tertulia serve chat`, expected to refuse its start: it ends by itself."""
    return _tertulia("serve", "chat", "--host", "127.0.0.1", "--port", str(free_port()),
                     env={"CHAT_DATA_DIR": str(data_dir), "NATS_URL": "nats://127.0.0.1:1",
                          **env})


def test_a_service_refuses_to_start_on_a_schema_newer_than_it_knows(tmp_path: Path) -> None:
    assert _tertulia("migrate", "chat", "--data-dir", str(tmp_path)).returncode == 0
    _set_version(tmp_path / "chat.db", "alembic_version_chat", "0099_next_release")
    result = _serve_chat(tmp_path)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "refusing to start: chat: the database" in output
    assert "schema revision '0099_next_release'" in output
    assert f"its latest is '{_head('chat')}'" in output
    assert "A newer release has migrated it" in output
    assert "Application startup failed" in output


def test_with_auto_migrate_off_a_service_refuses_a_schema_behind(tmp_path: Path) -> None:
    _previous_release(tmp_path)
    result = _serve_chat(tmp_path, CHAT_AUTO_MIGRATE="false")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert (f"was never migrated, this release needs '{_head('chat')}', and CHAT_AUTO_MIGRATE "
            "is false") in output
    assert "Run `tertulia migrate chat`" in output
    conn = sqlite3.connect(tmp_path / "chat.db")
    try:  # nothing was changed: still the previous release's database
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE "
                            "'alembic_version%'").fetchone() == (0,)
    finally:
        conn.close()


def _alembic(service: str, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alembic", "-c", f"services/{service}/migrations/alembic.ini",
         "-x", f"url={url}", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)


def test_the_alembic_command_line_works_on_a_service_database(tmp_path: Path) -> None:
    """The commands docs/architecture.md gives: `upgrade head`, `current`, `check`."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'dashboard.db'}"
    upgraded = _alembic("dashboard", url, "upgrade", "head")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "Running upgrade  -> 0001" in upgraded.stderr
    current = _alembic("dashboard", url, "current")
    assert current.stdout.strip() == f"{_head('dashboard')} (head)"
    checked = _alembic("dashboard", url, "check")
    assert checked.returncode == 0, checked.stderr
    assert "No new upgrade operations detected." in checked.stdout


@pytest.mark.slow
def test_up_on_the_previous_release_migrates_first_then_serves_its_data(tmp_path: Path) -> None:
    """The upgrade a laptop user makes: new code, `tertulia up` on the old data directory."""
    data = tmp_path / "data"
    data.mkdir()
    _previous_release(data)
    with RunningSystem(data) as running:
        lines = running.lines[:]
        token = httpx.post(f"{running.url}/api/auth/token",
                           data={"username": "ana", "password": "tertulia-demo"})
        assert token.status_code == 200, token.text
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        rooms = httpx.get(f"{running.url}/api/chat/rooms", headers=auth).json()
        first = httpx.get(f"{running.url}/api/chat/rooms/1/messages", headers=auth).json()
    migrated = [n for n, line in enumerate(lines)
                if "a database from before migrations; recognised" in line]
    assert len(migrated) == 4, lines
    nats_started = next(n for n, line in enumerate(lines) if " nats pid=" in line)
    assert max(migrated) < nats_started  # before anything starts
    assert len(rooms) == 3
    assert first["messages"][0]["content"] == "¡Bienvenidos a Tertulia! Welcome, everyone 👋"


def test_the_alembic_command_line_prints_the_sql_without_a_database() -> None:
    """`upgrade head --sql` (for a DBA who applies it by hand): no connection is made."""
    printed = _alembic("chat", "postgresql+asyncpg://nobody@127.0.0.1:1/none",
                       "upgrade", "head", "--sql")
    assert printed.returncode == 0, printed.stderr
    assert "CREATE TABLE alembic_version_chat" in printed.stdout
    assert "CREATE TABLE users (\n    id SERIAL NOT NULL," in printed.stdout
    assert "INSERT INTO alembic_version_chat (version_num) VALUES ('0001')" in printed.stdout
