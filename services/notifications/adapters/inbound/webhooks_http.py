"""HTTP routes of outgoing webhooks (`/api/notifications/webhooks`), for server
administrators: list, create (the secret is in this answer only), delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field

from services.notifications import use_cases
from services.notifications.domain.webhooks import (
    ROOMS_MAX,
    URL_MAX_CHARS,
    WEBHOOK_EVENTS,
    Webhook,
)
from services.notifications.ports import WebhookDeps
from shared.auth import Principal
from shared.auth.fastapi import admin_principal
from shared.contracts.bounds import Id


def webhook_deps(request: Request) -> WebhookDeps:
    return request.app.state.notifications.webhooks


DepsDep = Annotated[WebhookDeps, Depends(webhook_deps)]
AdminDep = Annotated[Principal, Depends(admin_principal)]


class WebhookBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=URL_MAX_CHARS)
    room_ids: list[Id] = Field(min_length=1, max_length=ROOMS_MAX)
    events: list[str] = Field(min_length=1, max_length=len(WEBHOOK_EVENTS))


def webhook_data(webhook: Webhook, *, with_secret: bool = False) -> dict[str, Any]:
    s = webhook.status
    data: dict[str, Any] = {
        "id": webhook.id, "url": webhook.url, "room_ids": list(webhook.room_ids),
        "events": list(webhook.events), "created_by": webhook.created_by,
        "created_at": webhook.created_at.isoformat(),
        "status": {"delivered": s.delivered, "failed_attempts": s.failed_attempts,
                   "dead_lettered": s.dead_lettered,
                   "last_success_at": s.last_success_at.isoformat()
                   if s.last_success_at else None,
                   "last_failure_at": s.last_failure_at.isoformat()
                   if s.last_failure_at else None,
                   "last_error": s.last_error},
    }
    if with_secret:
        data["secret"] = webhook.secret
    return data


def webhooks_router() -> APIRouter:
    router = APIRouter(prefix="/api/notifications/webhooks", tags=["webhooks"])

    @router.get("")
    async def list_all(_: AdminDep, deps: DepsDep) -> dict[str, Any]:
        """Every webhook, oldest first, with how its deliveries went; never the secret."""
        return {"webhooks": [webhook_data(w) for w in await use_cases.list_webhooks(deps)],
                "events": list(WEBHOOK_EVENTS)}

    @router.post("", status_code=status.HTTP_201_CREATED)
    async def create(body: WebhookBody, who: AdminDep, deps: DepsDep) -> dict[str, Any]:
        """422 `invalid_webhook_url`, `invalid_webhook_rooms`, `invalid_webhook_events`,
        `webhook_destination_refused` (the host resolves to a private address, or not at
        all), `too_many_webhooks`."""
        webhook = await use_cases.create_webhook(deps, who.user_id, body.url, body.room_ids,
                                                 body.events)
        return webhook_data(webhook, with_secret=True)

    @router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def delete(webhook_id: Id, who: AdminDep, deps: DepsDep) -> None:
        """404 `webhook_not_found`."""
        await use_cases.delete_webhook(deps, who.user_id, webhook_id)

    return router
