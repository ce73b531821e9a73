"""Serve an ASGI app with uvicorn inside the test's own event loop, on a real socket."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import uvicorn

START_SECS = 10.0
STOP_SECS = 15.0


class InProcessServer:
    """The app's lifespan runs for real; `stop()` is uvicorn's graceful shutdown."""

    def __init__(self, app: Any, *, port: int | None = None, sock: socket.socket | None = None,
                 graceful_secs: float = 5, **config: Any) -> None:
        self._sock = sock
        self._config = uvicorn.Config(app, host="127.0.0.1", port=port or 0, lifespan="on",
                                      log_level="warning",
                                      timeout_graceful_shutdown=graceful_secs, **config)
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._server = uvicorn.Server(self._config)
        sockets = [self._sock] if self._sock is not None else None
        self._task = asyncio.create_task(self._server.serve(sockets=sockets))
        async with asyncio.timeout(START_SECS):
            while not self._server.started:
                if self._task.done():
                    self._task.result()  # raises what made it stop
                    raise RuntimeError("the server stopped before it started")
                await asyncio.sleep(0.025)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, STOP_SECS)
