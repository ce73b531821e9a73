"""What every chat router shares: the wired service and the acting user as FastAPI
dependencies, the strict request body, and a user's JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict

from services.chat.adapters.inbound.actors import actor_of
from services.chat.adapters.inbound.service import ChatService
from services.chat.domain import Actor, User
from shared.auth import Principal
from shared.auth.fastapi import current_principal, optional_principal


def chat_of(request: Request) -> ChatService:
    return request.app.state.chat


async def actor(principal: Annotated[Principal, Depends(current_principal)]) -> Actor:
    return actor_of(principal)


async def maybe_actor(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Actor:
    return actor_of(principal)


ChatDep = Annotated[ChatService, Depends(chat_of)]
ActorDep = Annotated[Actor, Depends(actor)]
MaybeActorDep = Annotated[Actor, Depends(maybe_actor)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def user_data(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "is_admin": user.is_admin, "created_at": user.created_at.isoformat(),
            "status_text": user.status_text, "time_zone": user.time_zone}
