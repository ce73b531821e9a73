"""A notifications service per test on the session NATS, with its own durable consumer
positioned at the stream's end, and a feed that plays the services around it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.notifications.harness import (
    Feed,
    Keys,
    NotificationsService,
    feed,
    notifications_settings,
    position_at_end,
    running,
)


@pytest.fixture
def keys() -> Keys:
    return Keys()


@pytest.fixture
async def events(nats_url: str) -> AsyncIterator[Feed]:
    async with feed(nats_url) as playing:
        yield playing


@pytest.fixture
async def service(tmp_path: Path, nats_url: str, keys: Keys, events: Feed
                  ) -> AsyncIterator[NotificationsService]:
    settings = notifications_settings(tmp_path, nats_url, keys)
    await position_at_end(events.bus, settings)
    async with running(settings) as started:
        yield started
