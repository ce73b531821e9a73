"""The FastAPI application every service has; a service's `create_app` adds only its own.

What is the same in all of them: no HTML docs, problem+json errors, the request body limit,
`/livez` `/readyz` `/healthz` `/metrics`, and a lifespan that is the service's `running()`
context manager (`shared/lifecycle.py`), and the service's error mapping (`errors`, its
exceptions to problem details). What a service adds: its routers and what its inbound
adapters find on `app.state`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from shared.body_limit import BodyLimit
from shared.observability import ReadinessCheck, health_router
from shared.problems import ErrorMapping, install_problem_handlers

AppT = TypeVar("AppT", bound=FastAPI)
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def lifespan_of(running: Callable[[], AbstractAsyncContextManager[Any]]) -> Lifespan:
    """The app's lifespan: the service runs (`bootstrap.running`) while the app serves."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running():
            yield

    return lifespan


def service_app(*, title: str, description: str, version: str, lifespan: Lifespan,
                registry: CollectorRegistry, readiness: ReadinessCheck, max_body_bytes: int,
                errors: ErrorMapping | None = None,
                streamed_bodies: dict[str, int] | None = None,
                app_class: type[AppT] = FastAPI) -> AppT:  # type: ignore[assignment]
    # No HTML docs (FastAPI's load Swagger UI and ReDoc from a CDN): the schema stays at
    # /openapi.json on this service's own port (docs/operations.md, API documentation).
    app = app_class(title=title, version=version, lifespan=lifespan, docs_url=None,
                    redoc_url=None, description=description)
    install_problem_handlers(app, errors)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes, streamed=streamed_bodies)
    app.include_router(health_router(registry, readiness))
    return app
