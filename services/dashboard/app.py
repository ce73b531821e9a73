"""`create_app()`: the dashboard's FastAPI application; its lifespan owns what `wire` built."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

from fastapi import FastAPI

from services.dashboard import bootstrap
from services.dashboard.adapters.inbound.http import dashboard_router
from services.dashboard.adapters.inbound.pages import install_pages
from services.dashboard.adapters.inbound.sse import stream_router
from services.dashboard.domain import DashboardError
from services.dashboard.settings import DashboardSettings
from shared.bus import PublishFailed
from shared.problems import Problem, service_problem
from shared.service_app import service_app

EXIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def dashboard_problem(error: DashboardError | PublishFailed) -> Problem:
    """The dashboard's errors as problem details, in one place: its rules' own, and a
    broadcast NATS did not take."""
    if isinstance(error, PublishFailed):
        return Problem(503, "bus_unavailable", "NATS is not available",
                       "Nothing was sent; try again shortly.")
    return service_problem(error)


def create_app(settings: DashboardSettings | None = None, **overrides: Any) -> FastAPI:
    settings = settings or DashboardSettings()
    dashboard = bootstrap.wire(settings, **overrides)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap.running(dashboard):
            restore_signals = end_streams_on_exit_signals(dashboard)
            try:
                yield
            finally:
                restore_signals()

    app = service_app(
        title="Tertulia dashboard", version=bootstrap.VERSION,
        description="Live aggregates for operators over Server-Sent Events, and operator "
                    "broadcasts.",
        lifespan=lifespan, registry=dashboard.metrics.registry,
        readiness=dashboard.readiness, max_body_bytes=settings.max_body_bytes,
        errors={DashboardError: dashboard_problem, PublishFailed: dashboard_problem})
    app.state.dashboard = dashboard
    app.state.token_verifier = dashboard.keys

    app.include_router(dashboard_router())
    app.include_router(stream_router())
    install_pages(app)
    return app


def end_streams_on_exit_signals(dashboard: bootstrap.Dashboard) -> Callable[[], None]:
    """On SIGTERM/SIGINT, end every SSE stream at once (clients reconnect elsewhere).

    The server waits for open responses before it shuts down, and an event stream never
    ends by itself: one open operators' page would hold a stop for the whole graceful
    timeout. The server's own handler still runs, after ours. Returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in EXIT_SIGNALS}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        dashboard.stopping = True
        loop.call_soon_threadsafe(dashboard.hub.close_all)
        handler = previous[signum]
        if callable(handler):
            handler(signum, frame)
        else:  # nobody handled it before us: do what would have happened
            signal.signal(signum, handler)
            signal.raise_signal(signum)

    for sig in EXIT_SIGNALS:
        signal.signal(sig, on_signal)

    def restore() -> None:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is on_signal:
                signal.signal(sig, handler)

    return restore
