"""What every chat router shares: the wired service and the acting user as FastAPI
dependencies (a session's token, or on the routes that take one a bot's `tb_...` token),
the strict request body, and a user's JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict

from services.chat import use_cases
from services.chat.adapters.inbound.actors import actor_of, bot_secret
from services.chat.adapters.inbound.service import ChatService
from services.chat.domain import Actor, Forbidden, User
from shared.auth.fastapi import current_principal, optional_principal


def chat_of(request: Request) -> ChatService:
    return request.app.state.chat


def _no_bot_token(request: Request) -> None:
    if bot_secret(request.headers.get("authorization")) is not None:
        raise Forbidden("scope_denied", "A bot token only posts messages to and reads the "
                        "history of the rooms its scopes name.")


async def actor(request: Request) -> Actor:
    _no_bot_token(request)
    return actor_of(await current_principal(request))


async def maybe_actor(request: Request) -> Actor:
    _no_bot_token(request)
    return actor_of(await optional_principal(request))


async def scoped_actor(request: Request) -> Actor:
    """The routes a bot token may use: its bot within its scopes (checked per request, so
    a revoked token is refused at once on every replica), or a session's user."""
    secret = bot_secret(request.headers.get("authorization"))
    if secret is not None:
        return await use_cases.bot_actor(chat_of(request).deps, secret)
    return actor_of(await current_principal(request))


async def maybe_scoped_actor(request: Request) -> Actor:
    secret = bot_secret(request.headers.get("authorization"))
    if secret is not None:
        return await use_cases.bot_actor(chat_of(request).deps, secret)
    return actor_of(await optional_principal(request))


ChatDep = Annotated[ChatService, Depends(chat_of)]
ActorDep = Annotated[Actor, Depends(actor)]
MaybeActorDep = Annotated[Actor, Depends(maybe_actor)]
ScopedActorDep = Annotated[Actor, Depends(scoped_actor)]
MaybeScopedActorDep = Annotated[Actor, Depends(maybe_scoped_actor)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def user_data(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "is_admin": user.is_admin, "created_at": user.created_at.isoformat(),
            "status_text": user.status_text, "time_zone": user.time_zone,
            "is_bot": user.is_bot}
