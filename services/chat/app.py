"""`create_app()`: the chat service's FastAPI application; its lifespan owns what `wire` built."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.chat import bootstrap
from services.chat.adapters.inbound.http import auth_router, chat_router, jwks_router
from services.chat.adapters.inbound.pages import install_pages
from services.chat.adapters.inbound.ws import KeepRawSend, websocket_router
from services.chat.domain import ChatError
from services.chat.settings import ChatSettings
from shared.observability import configure_logging, health_router
from shared.problems import Problem, install_problem_handlers, problem_response


def create_app(settings: ChatSettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or ChatSettings()
    configure_logging(settings.log_level, settings.log_json)
    chat = bootstrap.wire(settings, **overrides)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await bootstrap.start(chat)
        app.state.token_verifier = chat.verifier
        try:
            yield
        finally:
            await bootstrap.stop(chat)

    app = FastAPI(title="Tertulia chat", version=bootstrap.VERSION, lifespan=lifespan,
                  description="Accounts, rooms, messages and every WebSocket of Tertulia.")
    app.state.chat = chat
    install_problem_handlers(app)

    async def on_chat_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ChatError)
        return problem_response(Problem(exc.status, exc.code, exc.message), request.url.path)

    app.add_exception_handler(ChatError, on_chat_error)
    app.include_router(auth_router())
    app.include_router(chat_router())
    app.include_router(jwks_router())
    app.include_router(websocket_router())
    app.add_middleware(KeepRawSend)
    app.include_router(health_router(chat.metrics.registry, chat.readiness))
    install_pages(app)
    return app
