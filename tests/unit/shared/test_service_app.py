"""`service_app`: what every service's app has, so a service's `create_app` adds only its
own routes and errors; `lifespan_of`: the service runs while the app serves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter

from shared.service_app import lifespan_of, service_app


async def test_health_metrics_problems_and_body_limit_without_html_docs() -> None:
    registry = CollectorRegistry()
    Counter("tertulia_test_things", "things", registry=registry).inc(3)
    ready = {"database": True}

    async def readiness() -> dict[str, bool]:
        return dict(ready)

    app = service_app(title="t", description="d", version="1", lifespan=lifespan_of(_idle),
                      registry=registry, readiness=readiness, max_body_bytes=10)

    @app.post("/echo")
    async def echo(body: dict[str, str]) -> dict[str, str]:
        return body

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as client:
        assert (await client.get("/livez")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).status_code == 200
        ready["database"] = False
        unready = await client.get("/healthz")
        assert (unready.status_code, unready.json()["checks"]) == (503, {"database": False})
        assert "tertulia_test_things_total 3.0" in (await client.get("/metrics")).text
        for html in ("/docs", "/redoc"):
            assert (await client.get(html)).status_code == 404
        assert (await client.get("/openapi.json")).json()["info"]["title"] == "t"
        too_big = await client.post("/echo", json={"a": "much more than ten bytes"})
        assert too_big.status_code == 413
        assert too_big.headers["content-type"] == "application/problem+json"
        missing = await client.get("/nothing-here")
        assert missing.headers["content-type"] == "application/problem+json"


@asynccontextmanager
async def _idle() -> AsyncIterator[None]:
    yield


async def test_the_lifespan_is_the_service_running() -> None:
    seen: list[str] = []

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        seen.append("started")
        yield
        seen.append("stopped")

    class MyApp(FastAPI):
        pass

    app = service_app(title="t", description="d", version="1", lifespan=lifespan_of(running),
                      registry=CollectorRegistry(), readiness=_always, max_body_bytes=10,
                      app_class=MyApp)
    assert isinstance(app, MyApp)
    async with app.router.lifespan_context(app):
        assert seen == ["started"]
    assert seen == ["started", "stopped"]


async def _always() -> dict[str, bool]:
    return {}
