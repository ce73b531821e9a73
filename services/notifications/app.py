"""`create_app()`: the notifications service's FastAPI application; its lifespan owns what
`wire` built."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.notifications import bootstrap
from services.notifications.adapters.inbound.http import inbox_router
from services.notifications.domain import NotificationsError
from services.notifications.settings import NotificationsSettings
from shared.body_limit import BodyLimit
from shared.observability import health_router
from shared.problems import Problem, install_problem_handlers, problem_response


def create_app(settings: NotificationsSettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or NotificationsSettings()
    svc = bootstrap.wire(settings, **overrides)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap.running(svc):
            yield

    # No HTML docs (FastAPI's load Swagger UI and ReDoc from a CDN): the schema stays at
    # /openapi.json on this service's own port (docs/operations.md, API documentation).
    app = FastAPI(title="Tertulia notifications", version=bootstrap.VERSION, lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  description="Who must be told about what: inboxes, read state, "
                              "preferences, and why a notification was or was not sent.")
    app.state.notifications = svc
    app.state.token_verifier = svc.keys  # `shared.auth.fastapi` verifies with it
    install_problem_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    async def on_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, NotificationsError)
        return problem_response(Problem(exc.status, exc.code, exc.message), request.url.path)

    app.add_exception_handler(NotificationsError, on_error)
    app.include_router(inbox_router())
    app.include_router(health_router(svc.metrics.registry, svc.readiness))
    return app
