"""Storage used over real NATS: chat's `file.stored` and `file.deleted` events summed into the
snapshot, a `storage_stats` delta on the stream, and the same totals after a restart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.launcher import NatsServerProcess
from shared.contracts import FileDeleted, FileStored
from tests.integration.dashboard.harness import (
    DashboardServer,
    Keys,
    dashboard_settings,
    eventually,
    feeder,
    now,
    publish,
    running,
    sse,
)

pytestmark = pytest.mark.integration


def stored(file_id: str, size: int, kind: str = "attachment") -> FileStored:
    return FileStored(file_id=file_id, user_id=1, size=size, kind=kind, room_id=None,
                      stored_at=now())


def deleted(file_id: str, size: int, kind: str = "attachment") -> FileDeleted:
    return FileDeleted(file_id=file_id, user_id=1, size=size, kind=kind, deleted_at=now())


async def storage(server: DashboardServer, keys: Keys) -> dict[str, Any]:
    async with server.client(keys.headers()) as client:
        response = await client.get("/api/dashboard/stats")
        assert response.status_code == 200, response.text
        return response.json()["storage"]


async def test_file_events_are_storage_used_live_and_after_a_restart(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    keys = Keys.generate()
    settings = dashboard_settings(tmp_path, nats_server.url, keys)
    async with feeder(nats_server.url) as bus:
        async with running(settings) as server:
            async with sse(server, keys.headers()) as stream:
                first = await stream.next()
                assert first.type == "initial_data"
                assert first.body["storage"]["bytes"] == 0
                await publish(bus, stored("a", 2048), stored("b", 1000),
                              stored("c", 300, "avatar"), deleted("a", 2048))
                seen = await stream.until(lambda e: e.type == "storage_stats"
                                          and e.body["files"] == 2)
            assert seen[-1].body == {"bytes": 1300, "files": 2, "by_kind": {
                "attachment": {"bytes": 1000, "files": 1}, "avatar": {"bytes": 300, "files": 1}}}
            assert await storage(server, keys) == seen[-1].body

        async with running(settings) as restarted:
            await publish(bus, stored("d", 700))
            after = await eventually(lambda: _with_files(restarted, keys, 3))
            assert after["bytes"] == 2000
            assert after["by_kind"]["avatar"] == {"bytes": 300, "files": 1}


async def _with_files(server: DashboardServer, keys: Keys, files: int) -> dict[str, Any] | None:
    shown = await storage(server, keys)
    return shown if shown["files"] == files else None
