"""`GET /api/dashboard/stream` (and the exercise's `/dashboard/stream`): Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterable
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.sse import EventSourceResponse, ServerSentEvent

from services.dashboard import use_cases
from services.dashboard.adapters import views
from services.dashboard.adapters.inbound.http import AdminDep, DashboardDep


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
        # The snapshot then matches the newest delta id exactly.
        use_cases.flush(dashboard.deps)
        deps = dashboard.deps
        client = hub.open(last_event_id, lambda: views.snapshot(deps.state, deps.clock.now()),
                          admin.session_id)
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

    for path in ("/api/dashboard/stream", "/dashboard/stream"):
        router.add_api_route(path, stream, methods=["GET"], response_class=EventSourceResponse,
                             include_in_schema=path.startswith("/api/"))
    return router
