"""`/api/admin`: what administrators do to other accounts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.chat import use_cases
from services.chat.adapters.inbound.http._deps import ActorDep, ChatDep, user_data
from services.chat.domain import User
from shared.contracts.bounds import Id


def account_data(user: User) -> dict[str, Any]:
    deactivated = user.deactivated_at
    return {**user_data(user), "deactivated_at": deactivated.isoformat() if deactivated else None}


def admin_router() -> APIRouter:
    router = APIRouter(prefix="/api/admin", tags=["admin"])

    @router.post("/users/{user_id}/deactivate")
    async def deactivate(user_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Administrators only. The account can no longer sign in (403
        `account_deactivated`), every session of it is revoked (refused by every service,
        sockets closed with 4001); messages and memberships stay. Idempotent."""
        return account_data(await use_cases.deactivate_user(chat.deps, who, user_id))

    @router.post("/users/{user_id}/reactivate")
    async def reactivate(user_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Administrators only. The account can sign in again. Idempotent."""
        return account_data(await use_cases.reactivate_user(chat.deps, who, user_id))

    return router
