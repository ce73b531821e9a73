"""The operators' page's own code, run under Node against a live dashboard (there is no
browser here; `page_runner.cjs` gives it the little DOM it uses). Skipped without `node`."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.dashboard.adapters.inbound.pages import STATIC_DIR
from services.launcher import NatsServerProcess
from shared.contracts import LIVE_CONNECTIONS
from tests.integration.dashboard import events as ev
from tests.integration.dashboard.harness import (
    DashboardServer,
    Keys,
    dashboard_settings,
    eventually,
    feeder,
    live,
    publish,
    running,
)

pytestmark = pytest.mark.integration
NODE = shutil.which("node")
RUNNER = Path(__file__).with_name("page_runner.cjs")


async def run_page(server: DashboardServer, scenario: dict[str, Any]) -> dict[str, Any]:
    assert NODE is not None
    process = await asyncio.create_subprocess_exec(
        NODE, str(RUNNER), server.url, str(STATIC_DIR / "assets" / "dashboard.js"),
        orjson.dumps(scenario).decode(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    return orjson.loads(out)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
async def test_the_page_shows_the_live_numbers_and_sends_broadcasts(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    keys = Keys.generate()
    settings = dashboard_settings(tmp_path, nats_server.url, keys)
    async with running(settings) as server, feeder(nats_server.url) as bus:
        await publish(bus, ev.room(1, "general"), ev.user(1), ev.user(2),
                      *(ev.message(1) for _ in range(3)), ev.presence(1, "online", "offline"))
        slow = ev.closed("chat-x", "c2", 2).model_copy(update={"code": 1013,
                                                              "slow_consumer": True})
        await live(bus, LIVE_CONNECTIONS, ev.opened("chat-x", "c1", 1, [1]),
                   ev.opened("chat-x", "c2", 2, [1]), slow)

        async def counted() -> bool:
            async with server.client(keys.headers()) as client:
                stats = (await client.get("/api/dashboard/stats")).json()
            return stats["messages_24h"] == 3 and stats["connections"]["total"] == 1 \
                and stats["connections"]["slow_consumers_1h"]["total"] == 1

        await eventually(counted)

        # An administrator's token in the URL: kept for the tab, taken out of the address.
        page = await run_page(server, {
            "path": f"/dashboard?token={keys.token()}",
            "wait_for": {"link": "live", "k-day": "3", "k-sockets": "1"},
            "broadcast": "Hola desde la página",
            "report": ["k-users", "k-rooms", "k-new-users", "top-rooms", "rooms-people",
                       "replicas", "presence-legend", "services", "broadcast-result"],
        })
        assert page["url"].endswith("/dashboard") and page["token_kept"]
        assert page["auth_hidden"]
        assert (page["k-users"], page["k-rooms"], page["k-new-users"]) == ("1", "1", "2")
        assert page["top-rooms"].split() == ["general", "3"]
        assert page["rooms-people"].split() == ["general", "1", "1", "3"]
        assert page["replicas"].split() == ["chat-x", "1", "1"]  # sockets, slow closes
        assert "online 1" in page["presence-legend"]
        assert "dashboard" in page["services"] and "up" in page["services"]
        # No chat replica answers in this test: nobody confirmed, said plainly.
        assert page["broadcast-result"].startswith("Sent. No chat replica confirmed delivery")

        # Someone who is not an administrator sees the sign-in card, not data.
        page = await run_page(server, {
            "path": f"/dashboard?token={keys.token(5, admin=False)}",
            "wait_for": {"link": "not an administrator"},
            "report": ["auth-reason", "k-day"],
        })
        assert not page["auth_hidden"]
        assert "not an administrator" in page["auth-reason"]
        assert page["k-day"] == ""  # never filled in: the HTML placeholder stays
