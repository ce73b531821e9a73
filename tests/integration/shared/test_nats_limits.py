"""The EVENTS stream's retention comes from settings, on creation and on an existing stream."""

from __future__ import annotations

import pytest

from services.launcher import NatsServerProcess
from shared.bus.nats import NatsEventBus
from shared.bus.nats_options import StreamLimits
from shared.contracts import EVENTS_STREAM

pytestmark = pytest.mark.integration


async def test_retention_is_set_on_create_and_brought_up_to_date(
        nats_server: NatsServerProcess) -> None:
    first = NatsEventBus(nats_server.url, name="t1", events=StreamLimits(
        replicas=1, max_age_secs=2 * 86_400, max_bytes=64 * 1024 * 1024))
    await first.connect()
    try:
        config = (await first.jetstream.stream_info(EVENTS_STREAM)).config
        assert (config.max_age, config.max_bytes) == (2 * 86_400, 64 * 1024 * 1024)
        assert config.num_replicas == 1
    finally:
        await first.close()
    second = NatsEventBus(nats_server.url, name="t2", events=StreamLimits(
        max_age_secs=3 * 86_400, max_bytes=None))
    await second.connect()
    try:
        config = (await second.jetstream.stream_info(EVENTS_STREAM)).config
        assert config.max_age == 3 * 86_400
        assert config.max_bytes == -1  # no limit
    finally:
        await second.close()


async def test_a_default_bus_keeps_thirty_days(nats_server: NatsServerProcess) -> None:
    bus = NatsEventBus(nats_server.url, name="t")
    await bus.connect()
    try:
        config = (await bus.jetstream.stream_info(EVENTS_STREAM)).config
        assert config.max_age == 30 * 86_400 and config.max_bytes == 4 * 1024**3
    finally:
        await bus.close()
