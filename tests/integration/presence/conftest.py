"""A scene per test: NATS client, event log, token issuer; presence and replicas on demand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.presence.harness import Scene, scene


@pytest.fixture
async def world(tmp_path: Path, nats_url: str) -> AsyncIterator[Scene]:
    async with scene(tmp_path, nats_url) as the_scene:
        yield the_scene
