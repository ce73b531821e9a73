"""`GET /api/dashboard/stream` (and the exercise's `/dashboard/stream`): Server-Sent Events."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.sse import EventSourceResponse, ServerSentEvent

from services.dashboard import use_cases
from services.dashboard.adapters import views
from services.dashboard.adapters.inbound.http import AdminDep, DashboardDep
from services.dashboard.adapters.outbound.sse_hub import parse_id
from services.dashboard.ports import DashboardDeps


def stream_router() -> APIRouter:
    router = APIRouter(tags=["dashboard"])

    async def stream(
        dashboard: DashboardDep, admin: AdminDep,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> AsyncIterable[ServerSentEvent]:
        """First an `initial_data` snapshot (or, with `Last-Event-ID`, exactly the deltas
        missed since then while they are still kept), then deltas as they happen:
        `connections`, `message_stats`, `user_presence`, `user_stats`,
        `notification_stats`, `service_health`, `broadcast`. Each event's `data` is
        `{"type", "data"}`; each has an `id:`. A `: keep-alive` comment comes after
        `DASHBOARD_KEEPALIVE_SECS` of silence. A client that cannot keep up is dropped, and
        the stream ends when the session of its token is revoked (logout)."""
        hub = dashboard.hub
        deps = dashboard.deps
        await _caught_up(deps, last_event_id, dashboard.settings.resume_wait_secs)
        # The snapshot then matches the newest delta id exactly.
        use_cases.flush(deps)

        def resume(position: int) -> list[views.Delta] | None:
            changes = deps.state.changes_since(position)
            return None if changes is None else views.deltas(deps.state, changes,
                                                             deps.clock.now())

        client = hub.open(last_event_id, lambda: views.snapshot(deps.state, deps.clock.now()),
                          admin.session_id, resume)
        try:
            for event in client.backlog:
                yield event
            while True:
                event = await client.next(dashboard.settings.keepalive_secs)
                if event is None:
                    return
                yield event
        finally:
            hub.close(client)

    async def _caught_up(deps: DashboardDeps, last_event_id: str | None,
                         wait_secs: float) -> None:
        """An id from an instance further along the stream: wait (a little) for this one
        to fold that far, so the client is never shown older numbers than it had."""
        parsed = parse_id(last_event_id)
        if parsed is None or parsed[0] is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_secs):
                while deps.state.position < parsed[0]:
                    await deps.folded.wait()

    for path in ("/api/dashboard/stream", "/dashboard/stream"):
        router.add_api_route(path, stream, methods=["GET"], response_class=EventSourceResponse,
                             include_in_schema=path.startswith("/api/"))
    return router
