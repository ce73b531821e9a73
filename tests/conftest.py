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
