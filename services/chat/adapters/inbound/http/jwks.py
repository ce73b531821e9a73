"""`/.well-known/jwks.json`: the public keys the other services verify tokens with."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.chat.adapters.inbound.http._deps import ChatDep


def jwks_router() -> APIRouter:
    router = APIRouter(tags=["auth"])

    @router.get("/.well-known/jwks.json")
    async def jwks(chat: ChatDep) -> dict[str, Any]:
        """The public keys that verify access tokens (other services fetch these)."""
        return chat.issuer.jwks()

    return router
