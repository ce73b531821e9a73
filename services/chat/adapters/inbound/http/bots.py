"""`/api/admin/bots`: bot accounts and their scoped tokens (server administrators)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status
from pydantic import Field

from services.chat import use_cases
from services.chat.adapters.inbound.http._deps import ActorDep, Body, ChatDep
from services.chat.adapters.inbound.http.admin import account_data
from services.chat.domain.bots import SCOPES_MAX, TOKEN_NAME_MAX_CHARS, BotToken
from shared.contracts.bounds import Id


class BotBody(Body):
    username: str = Field(min_length=1, max_length=64)
    display_name: str | None = Field(default=None, max_length=200)


class TokenBody(Body):
    name: str = Field(min_length=1, max_length=TOKEN_NAME_MAX_CHARS * 2)
    scopes: list[str] = Field(max_length=SCOPES_MAX * 2)


def token_data(token: BotToken) -> dict[str, Any]:
    """A token as listed: never its secret (only `POST` answers it, once)."""
    return {"id": token.id, "bot_id": token.bot_id, "name": token.name,
            "scopes": list(token.scopes), "created_at": token.created_at.isoformat(),
            "created_by": token.created_by,
            "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None}


def bots_router() -> APIRouter:
    router = APIRouter(prefix="/api/admin/bots", tags=["bots"])

    @router.post("", status_code=status.HTTP_201_CREATED)
    async def create(body: BotBody, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """A bot account (`is_bot`): no password, so it never signs in; it acts with tokens."""
        return account_data(await use_cases.create_bot(chat.deps, who, body.username,
                                                       body.display_name))

    @router.get("")
    async def list_all(who: ActorDep, chat: ChatDep) -> list[dict[str, Any]]:
        return [account_data(u) for u in await use_cases.list_bots(chat.deps, who)]

    @router.post("/{bot_id}/deactivate")
    async def deactivate(bot_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Its tokens are refused from the next request on. Idempotent."""
        return account_data(await use_cases.deactivate_bot(chat.deps, who, bot_id))

    @router.post("/{bot_id}/tokens", status_code=status.HTTP_201_CREATED)
    async def create_token(bot_id: Id, body: TokenBody, who: ActorDep,
                           chat: ChatDep) -> dict[str, Any]:
        """A new token; `token` (the secret, `tb_...`) is in this answer only."""
        issued = await use_cases.create_token(chat.deps, who, bot_id, body.name, body.scopes)
        return {**token_data(issued.token), "token": issued.secret}

    @router.get("/{bot_id}/tokens")
    async def tokens(bot_id: Id, who: ActorDep, chat: ChatDep) -> list[dict[str, Any]]:
        return [token_data(t) for t in await use_cases.list_tokens(chat.deps, who, bot_id)]

    @router.delete("/{bot_id}/tokens/{token_id}")
    async def revoke(bot_id: Id, token_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Refused from the next request on, on every replica. Idempotent."""
        return token_data(await use_cases.revoke_token(chat.deps, who, bot_id, token_id))

    return router
