"""`create_app()`: the notifications service's FastAPI application; its lifespan owns what
`wire` built."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.notifications import bootstrap
from services.notifications.adapters.inbound.http import inbox_router
from services.notifications.adapters.inbound.webhooks_http import webhooks_router
from services.notifications.domain import NotificationsError
from services.notifications.settings import NotificationsSettings
from shared.problems import service_problem
from shared.service_app import lifespan_of, service_app


def create_app(settings: NotificationsSettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or NotificationsSettings()
    svc = bootstrap.wire(settings, **overrides)
    app = service_app(
        title="Tertulia notifications", version=bootstrap.VERSION,
        description="Who must be told about what: inboxes, read state, preferences, and "
                    "why a notification was or was not sent.",
        lifespan=lifespan_of(lambda: bootstrap.running(svc)),
        registry=svc.metrics.registry, readiness=svc.readiness,
        max_body_bytes=settings.max_body_bytes, errors={NotificationsError: service_problem})
    app.state.notifications = svc
    app.state.token_verifier = svc.keys  # `shared.auth.fastapi` verifies with it

    # Before the inbox's routes: `/{notification_id}/read` must not shadow these.
    app.include_router(webhooks_router())
    app.include_router(inbox_router())
    return app
