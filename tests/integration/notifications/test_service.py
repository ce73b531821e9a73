"""The service as an operator sees it: health, metrics, docs, and keys fetched from a JWKS
that is not there yet (events flow meanwhile; HTTP answers 503 until the keys arrive)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from services.launcher import free_port
from tests.integration.notifications.harness import (
    Feed,
    Keys,
    eventually,
    inboxes,
    notifications_settings,
    position_at_end,
    running,
)

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def jwks_server(port: int, keys: Keys) -> AsyncIterator[None]:
    """Stands in for the chat service's `/.well-known/jwks.json`."""
    app = FastAPI()
    app.add_api_route("/.well-known/jwks.json", lambda: keys.issuer.jwks())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, what="JWKS server up")
    try:
        yield
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_events_flow_before_the_keys_arrive_and_http_waits_for_them(
        tmp_path: Path, nats_url: str, keys: Keys, events: Feed) -> None:
    jwks_port = free_port()
    settings = notifications_settings(
        tmp_path, nats_url, keys, jwt_public_key_pem=None, jwks_retry_secs=0.1,
        jwks_url=f"http://127.0.0.1:{jwks_port}/.well-known/jwks.json")
    await position_at_end(events.bus, settings)
    async with running(settings) as service, httpx.AsyncClient(base_url=service.url) as http:
        assert (await http.get("/livez")).status_code == 200
        ready = await http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["token_keys"] is False

        alice, bob = await events.users("alice", "bob")
        room = await events.room([(alice, "member"), (bob, "member")])
        await events.post(room, alice, "@bob queued for bob")
        await eventually(lambda: service.metric("tertulia_notifications_created_total",
                                                reason="mention") == 1, what="consumed")
        async with inboxes(service, keys, bob) as (inbox,):
            response = await inbox.http.get("/api/notifications")
            assert (response.status_code, response.json()["code"]) == (503, "not_ready")

            async with jwks_server(jwks_port, keys):
                await eventually(lambda: _ready(http), what="ready once the keys load")
            [entry] = await inbox.list()
            assert entry["content"] == "@bob queued for bob"

        metrics = (await http.get("/metrics")).text
        assert 'tertulia_notifications_created_total{reason="mention"} 1.0' in metrics
        paths = (await http.get("/openapi.json")).json()["paths"]
        assert {"/api/notifications", "/api/notifications/unread-count",
                "/api/notifications/read-all", "/api/notifications/{notification_id}/read",
                "/api/notifications/preferences", "/api/notifications/decisions"} <= set(paths)


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/readyz")).status_code == 200
