"""NATS fixtures for every tier: TEST_NATS_URL if set, else a nats-server we start ourselves."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.launcher import NatsServerNotFound, NatsServerProcess, nats_server_binary


def _require_nats_server() -> None:
    """Skip without a nats-server binary, except under CI where a missing server is a failure."""
    try:
        nats_server_binary()
    except NatsServerNotFound as exc:
        reason = f"{exc} (or point TEST_NATS_URL at a running server)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


# Spread over the cores by pytest-xdist (`make test`: `-n 2 --dist loadscope
# --no-loadscope-reorder`): each test file runs whole on one worker, so its module fixtures
# (a built image, a cluster) start once, and every browser test on the same worker, where
# the e2e package's one system serves them all. The files that take longest go first: one
# begun last would leave the other worker idle at the end.
_LONGEST_FIRST = ("tests/e2e", "tests/integration/test_image.py",
                  "tests/integration/test_up_ha.py", "tests/integration/test_install.py",
                  "tests/integration/test_wheel.py")


def _scope(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    return "tests/e2e" if path.startswith("tests/e2e/") else path


def _rank(nodeid: str) -> int:
    scope = _scope(nodeid)
    return next((n for n, first in enumerate(_LONGEST_FIRST) if scope == first),
                len(_LONGEST_FIRST))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On an xdist worker, the longest files first (every worker sorts alike, as xdist
    requires); in one process, the order is left as collected."""
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: _rank(item.nodeid))


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """xdist's scope scheduling with one scope per file, the browser tests one in all."""
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

    return ByFile(config, log)


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A NATS (with JetStream) shared by the whole session; tests isolate by subject/durable."""
    explicit = os.environ.get("TEST_NATS_URL")
    if explicit:
        yield explicit
        return
    _require_nats_server()
    with NatsServerProcess(tmp_path_factory.mktemp("nats")) as server:
        yield server.url


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServerProcess]:
    """A private nats-server this test may stop, kill and restart (never TEST_NATS_URL's)."""
    _require_nats_server()
    with NatsServerProcess(tmp_path / "nats") as server:
        yield server


POSTGRES_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def _postgres_reachable(url: str) -> str | None:
    import asyncpg

    try:
        conn = await asyncpg.connect(url.replace("+asyncpg", ""), timeout=3)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


@pytest.fixture
async def postgres_url() -> object:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards.

    TEST_DATABASE_URL if set, else the local server at 127.0.0.1:5432 (database `test`);
    skipped with the reason when unreachable, but a failure under CI=true."""
    import uuid

    import asyncpg

    admin_url = os.environ.get("TEST_DATABASE_URL", POSTGRES_DEFAULT)
    problem = await _postgres_reachable(admin_url)
    if problem is not None:
        reason = f"PostgreSQL not reachable at {admin_url} ({problem})"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"tertulia_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_url.replace("+asyncpg", ""))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = admin_url.rpartition("/")
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

