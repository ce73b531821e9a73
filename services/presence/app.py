"""`create_app()`: the presence service's FastAPI application; its lifespan owns what `wire`
built."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.presence import bootstrap
from services.presence.adapters.inbound.http import presence_router
from services.presence.domain import PresenceError
from services.presence.settings import PresenceSettings
from shared.problems import service_problem
from shared.service_app import lifespan_of, service_app


def create_app(settings: PresenceSettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or PresenceSettings()
    presence = bootstrap.wire(settings, **overrides)
    app = service_app(
        title="Tertulia presence", version=bootstrap.VERSION,
        description="Who is online, away, busy or offline, where, and on how many devices.",
        lifespan=lifespan_of(lambda: bootstrap.running(presence)),
        registry=presence.metrics.registry, readiness=presence.readiness,
        max_body_bytes=settings.max_body_bytes, errors={PresenceError: service_problem})
    app.state.presence = presence
    app.state.token_verifier = presence.keys

    app.include_router(presence_router())
    return app
