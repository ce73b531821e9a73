"""`create_app()`: the chat service's FastAPI application; its lifespan owns what `wire` built."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from services.chat import bootstrap
from services.chat.adapters.inbound.edge import behind_proxies
from services.chat.adapters.inbound.http import (
    FILES_PATH,
    admin_console_router,
    admin_router,
    auth_router,
    bots_router,
    chat_router,
    dms_router,
    export_router,
    files_router,
    hooks_router,
    jwks_router,
    people_router,
    reactions_router,
    search_router,
)
from services.chat.adapters.inbound.http.audit import audit_router
from services.chat.adapters.inbound.http.avatars import avatars_router
from services.chat.adapters.inbound.http.moderation import moderation_router
from services.chat.adapters.inbound.http.word_filters import word_filters_router
from services.chat.adapters.inbound.pages import install_pages
from services.chat.adapters.inbound.ws import ChatWebSockets
from services.chat.domain import ChatError, Throttled
from services.chat.domain.search import InvalidQuery
from services.chat.settings import ChatSettings
from shared import gc_policy
from shared.problems import Problem, service_problem
from shared.service_app import service_app


class ChatApp(FastAPI):
    """FastAPI for HTTP; WebSocket scopes go straight to `ChatWebSockets`, without the
    router's and middleware's per-connection coroutines (see `adapters/inbound/ws.py`).
    Both first pass the proxy check (`adapters/inbound/edge.py`)."""

    websockets: ChatWebSockets | None = None
    edge: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.edge is not None and scope["type"] != "lifespan":
            await self.edge(scope, receive, send)
            return
        await self.dispatch(scope, receive, send)

    async def dispatch(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket" and self.websockets is not None:
            await self.websockets(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def chat_problem(error: ChatError) -> Problem:
    """Every chat error as problem details, the one place HTTP maps them (the WebSocket's
    `error` frames carry the same codes); a throttled request is told when to try again."""
    if isinstance(error, Throttled):
        return service_problem(error, retry_after=error.retry_after_secs, **error.extra())
    if isinstance(error, InvalidQuery):  # a search: `detail` says what is wrong in it
        return service_problem(error, detail=error.message)
    return service_problem(error, **error.extra())


def create_app(settings: ChatSettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or ChatSettings()
    chat = bootstrap.wire(settings, **overrides)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap.running(chat):
            app.state.token_verifier = chat.token_verifier
            chat.gc_pauses.install()
            if settings.gc_freeze_after_start:
                gc_policy.settle_after_start(settings.gc_gen0_threshold)
            try:
                yield
            finally:
                chat.gc_pauses.uninstall()

    app = service_app(
        title="Tertulia chat", version=bootstrap.VERSION,
        description="Accounts, rooms, messages and every WebSocket of Tertulia.",
        lifespan=lifespan, registry=chat.metrics.registry, readiness=chat.readiness,
        max_body_bytes=settings.max_body_bytes, errors={ChatError: chat_problem},
        # Uploads stream (adapters/inbound/http/upload_spool.py) and count their own bytes;
        # the avatar's too. The framing may add a little to the file's limit.
        streamed_bodies=dict.fromkeys((FILES_PATH, "/api/auth/me/avatar"),
                                      settings.max_upload_body_bytes()),
        app_class=ChatApp)
    app.state.chat = chat
    app.include_router(auth_router())
    app.include_router(chat_router())
    app.include_router(dms_router())
    app.include_router(reactions_router())
    app.include_router(admin_router())
    app.include_router(admin_console_router())
    app.include_router(audit_router())
    app.include_router(moderation_router())
    app.include_router(word_filters_router())
    app.include_router(jwks_router())
    app.include_router(people_router())
    app.include_router(avatars_router())
    app.include_router(files_router())
    app.include_router(search_router())
    app.include_router(bots_router())
    app.include_router(hooks_router())
    app.include_router(export_router())
    app.websockets = ChatWebSockets(chat)
    app.edge = behind_proxies(app.dispatch, settings.trusted_proxies,
                              settings.hsts_max_age_secs)
    install_pages(app)
    return app
