"""HTTP routes: `/api/dashboard/stats` and `/api/dashboard/broadcast` (and the exercise's
`/dashboard/...` paths), administrators only."""

from __future__ import annotations

from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from services.dashboard import use_cases
from services.dashboard.adapters import views
from services.dashboard.adapters.metrics import DashboardMetrics
from services.dashboard.adapters.outbound.sse_hub import SseHub
from services.dashboard.ports import DashboardDeps
from services.dashboard.settings import DashboardSettings
from shared.auth import Principal
from shared.auth.fastapi import admin_principal


class DashboardService(Protocol):
    """What the routes use of the wired service: bootstrap's `Dashboard` is one, but the
    routes never import the composition root that imports them."""

    @property
    def settings(self) -> DashboardSettings: ...
    @property
    def deps(self) -> DashboardDeps: ...
    @property
    def hub(self) -> SseHub: ...
    @property
    def metrics(self) -> DashboardMetrics: ...


def dashboard_of(request: Request) -> DashboardService:
    return request.app.state.dashboard


DashboardDep = Annotated[DashboardService, Depends(dashboard_of)]
AdminDep = Annotated[Principal, Depends(admin_principal)]
# The body can never be the problem at this size; the rule (after trimming) is in the core.
CONTENT_MAX_CHARS = 16_000


class BroadcastBody(BaseModel):
    # The exercise posts a plain dict with `content`; other keys are tolerated.
    model_config = ConfigDict(extra="ignore")
    content: str = Field(min_length=1, max_length=CONTENT_MAX_CHARS)


def dashboard_router() -> APIRouter:
    router = APIRouter(tags=["dashboard"])

    async def stats(dashboard: DashboardDep, _: AdminDep) -> dict[str, Any]:
        """Live aggregates: the exercise's keys (`connections`, `presence`, `messages_24h`,
        `active_rooms`, `timestamp`) with real numbers, then per-minute messages, users,
        notifications and service health."""
        return views.stats(dashboard.deps.state, dashboard.deps.clock.now())

    async def broadcast(body: BroadcastBody, dashboard: DashboardDep,
                        admin: AdminDep) -> dict[str, Any]:
        """Send an `admin_broadcast` frame to every open socket and a notification to every
        inbox. Answers with what the chat replicas reported within the receipt window:
        `sent_to` sockets, `users_reached`, `replicas`; `inboxes` and `read` grow later from
        the notifications service's events (also pushed on the stream)."""
        b = await use_cases.send_broadcast(dashboard.deps, sent_by=admin.user_id,
                                           content=body.content)
        dashboard.metrics.broadcasts.inc()
        return views.broadcast_result(dashboard.deps.state, b)

    for prefix in ("/api/dashboard", "/dashboard"):
        router.add_api_route(f"{prefix}/stats", stats, methods=["GET"],
                             include_in_schema=prefix == "/api/dashboard")
        router.add_api_route(f"{prefix}/broadcast", broadcast, methods=["POST"],
                             include_in_schema=prefix == "/api/dashboard")
    return router
