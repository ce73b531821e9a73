"""Two dashboard instances on one PostgreSQL database: the same numbers on both, and each
event written once (the fold position and the claims on PostgreSQL's dialect)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.dashboard.adapters.outbound.sqla_tables import fold_position, minute_counts
from services.launcher import NatsServerProcess
from shared.db import Database
from tests.integration.dashboard import events as ev
from tests.integration.dashboard.harness import (
    Keys,
    dashboard_settings,
    eventually,
    feeder,
    publish,
    running,
)

pytestmark = pytest.mark.integration
LOBBY = 1


async def test_two_instances_on_postgresql_count_each_event_once(
        tmp_path: Path, nats_server: NatsServerProcess, postgres_url: str) -> None:
    keys = Keys.generate()
    url = postgres_url.replace("postgresql://", "postgresql+asyncpg://", 1) \
        if "+asyncpg" not in postgres_url else postgres_url
    common = {"database_url": url}
    async with feeder(nats_server.url) as bus, \
            running(dashboard_settings(tmp_path / "a", nats_server.url, keys,
                                       instance_id="dash-a", **common)) as a:
        await publish(bus, ev.room(LOBBY, "lobby"), *[ev.message(LOBBY) for _ in range(3)])
        async with running(dashboard_settings(tmp_path / "b", nats_server.url, keys,
                                              instance_id="dash-b", **common)) as b:
            await publish(bus, *[ev.message(LOBBY) for _ in range(4)])

            async def shown() -> list[int]:
                out = []
                for server in (a, b):
                    async with server.client(keys.headers()) as client:
                        out.append((await client.get("/api/dashboard/stats")).json()[
                            "messages_24h"])
                return out

            await eventually(lambda: _equal(shown, [7, 7]))
    db = Database(url)
    try:
        async with db.read() as conn:
            stored = (await conn.execute(select(func.sum(minute_counts.c.count)).where(
                minute_counts.c.kind == "messages"))).scalar()
            position = (await conn.execute(select(fold_position.c.seq))).scalar()
    finally:
        await db.dispose()
    assert stored == 7  # written once, not once per instance
    assert position == 8  # the room and seven messages


async def _equal(check, expected: list[int]) -> bool:  # type: ignore[no-untyped-def]
    return await check() == expected
