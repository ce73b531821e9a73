"""The first account of an empty system is its administrator, exactly one even when several
sign up at once on several replicas; `tertulia create-admin --data-dir` writes where
`tertulia up --data-dir` runs the chat."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services.chat.adapters.outbound.sqla_accounts import SqlaUserStore
from services.chat.migrations import SCHEMA
from shared.db import Database
from shared.migrations import upgrade
from tests.integration.chat.harness import chat_settings, replicas

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "correct horse battery"


async def sign_up_at_once(urls: list[str], names: list[str]) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(timeout=30) as http:
        async def one(url: str, name: str) -> dict[str, Any]:
            created = await http.post(f"{url}/api/auth/register",
                                      json={"username": name, "password": PASSWORD})
            assert created.status_code == 201, created.text
            return created.json()

        return await asyncio.gather(*(one(urls[n % len(urls)], name)
                                      for n, name in enumerate(names)))


async def admins_seen_by_login(url: str, names: list[str]) -> list[str]:
    admins = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for name in names:
            token = (await http.post("/api/auth/token", data={
                "username": name, "password": PASSWORD})).json()["access_token"]
            me = (await http.get("/api/auth/me",
                                 headers={"Authorization": f"Bearer {token}"})).json()
            if me["is_admin"]:
                admins.append(name)
    return admins


async def test_of_several_first_sign_ups_on_two_replicas_exactly_one_is_admin(
        tmp_path: Path, nats_url: str) -> None:
    settings = [chat_settings(tmp_path, nats_url, replica_id=f"first-{n}") for n in (1, 2)]
    async with replicas(settings) as (one, two):
        names = ["ana", "bruno", "carmen", "diego", "elena", "fede"]
        created = await sign_up_at_once([one.http_url, two.http_url], names)

        assert sum(1 for user in created if user["is_admin"]) == 1
        [admin] = [user["username"] for user in created if user["is_admin"]]
        assert await admins_seen_by_login(one.http_url, names) == [admin]


@pytest.mark.postgres
async def test_on_postgres_too(tmp_path: Path, nats_url: str, postgres_url: str) -> None:
    settings = [chat_settings(tmp_path, nats_url, database_url=postgres_url,
                              replica_id=f"pg-first-{n}") for n in (1, 2)]
    async with replicas(settings) as (one, two):
        names = [f"user{n}" for n in range(8)]
        created = await sign_up_at_once([one.http_url, two.http_url], names)

        assert sum(1 for user in created if user["is_admin"]) == 1


@pytest.mark.postgres
async def test_on_postgres_a_second_first_sign_up_waits_for_the_first(postgres_url: str) -> None:
    """READ COMMITTED alone would let both transactions see no account."""
    db = Database(postgres_url)
    await upgrade(db, SCHEMA)
    try:
        async with db.engine.begin() as first:
            assert await SqlaUserStore(first).none_yet()

            async def second() -> bool:
                async with db.engine.begin() as conn:
                    return await SqlaUserStore(conn).none_yet()

            other = asyncio.create_task(second())
            async with asyncio.timeout(30):  # until it answers or waits on the lock
                while not other.done():
                    async with db.engine.connect() as probe:
                        waiting = (await probe.execute(text(
                            "SELECT count(*) FROM pg_locks "
                            "WHERE locktype = 'advisory' AND NOT granted"))).scalar_one()
                    if waiting:
                        break
                    await asyncio.sleep(0.01)
            await SqlaUserStore(first).add("ana", None, "hash", True, datetime.now(UTC))
        assert await other is False
    finally:
        await db.dispose()


async def test_create_admin_writes_into_the_data_dir_up_uses(tmp_path: Path,
                                                             nats_url: str) -> None:
    data_dir = tmp_path / "somewhere-else"
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATA_DIR", "CHAT_DATA_DIR", "CHAT_DATABASE_URL")}
    env["PYTHONPATH"] = str(ROOT)
    done = await asyncio.to_thread(subprocess.run, [
        sys.executable, "-m", "services.cli", "create-admin", "--username", "root",
        "--password", "operator pass 1", "--data-dir", str(data_dir)],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Created admin user 'root'" in done.stdout
    assert not (elsewhere / "data").exists()

    async with replicas([chat_settings(data_dir, nats_url)]) as (chat,), \
            httpx.AsyncClient(base_url=chat.http_url, timeout=30) as http:
        signed_in = await http.post("/api/auth/login", json={"username": "root",
                                                             "password": "operator pass 1"})
        assert signed_in.status_code == 200, signed_in.text
        me = await http.get("/api/auth/me", headers={
            "Authorization": f"Bearer {signed_in.json()['access_token']}"})
        assert me.json()["is_admin"] is True


async def test_create_admin_refuses_a_common_password(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = await asyncio.to_thread(subprocess.run, [
        sys.executable, "-m", "services.cli", "create-admin", "--username", "root",
        "--password", "password1", "--data-dir", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "most common" in done.stderr
