"""`/api/chat/users`: other people's profiles (what a profile card shows)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.chat import use_cases
from services.chat.adapters.frames import profile_data
from services.chat.adapters.inbound.http._deps import ActorDep, ChatDep
from shared.contracts.bounds import Id


def people_router() -> APIRouter:
    router = APIRouter(prefix="/api/chat/users", tags=["people"])

    @router.get("/{user_id}")
    async def profile(user_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """A user's profile: `{user_id, username, display_name, status_text, time_zone}`
        (`display_name` is the name to show). 404 `user_not_found`."""
        return profile_data(await use_cases.user_profile(chat.deps, who, user_id))

    return router
