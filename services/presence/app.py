"""`create_app()`: the presence service's FastAPI application; its lifespan owns what `wire`
built."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.presence import bootstrap
from services.presence.adapters.inbound.http import presence_router
from services.presence.domain import PresenceError
from services.presence.settings import PresenceSettings
from shared.body_limit import BodyLimit
from shared.observability import health_router
from shared.problems import Problem, install_problem_handlers, problem_response


def create_app(settings: PresenceSettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or PresenceSettings()
    presence = bootstrap.wire(settings, **overrides)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap.running(presence):
            yield

    # No HTML docs (FastAPI's load Swagger UI and ReDoc from a CDN): the schema stays at
    # /openapi.json on this service's own port (docs/operations.md, API documentation).
    app = FastAPI(title="Tertulia presence", version=bootstrap.VERSION, lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  description="Who is online, away, busy or offline, where, and on how many "
                              "devices.")
    app.state.presence = presence
    app.state.token_verifier = presence.keys
    install_problem_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    async def on_presence_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PresenceError)
        return problem_response(Problem(exc.status, exc.code, exc.message), request.url.path)

    app.add_exception_handler(PresenceError, on_presence_error)
    app.include_router(presence_router())
    app.include_router(health_router(presence.metrics.registry, presence.readiness))
    return app
