"""`/api/chat/users`: other people's profiles (what a profile card shows)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from services.chat import use_cases
from services.chat.adapters.frames import profile_data
from services.chat.adapters.inbound.http._deps import ActorDep, ChatDep
from services.chat.adapters.inbound.http.avatars import with_avatar
from shared.contracts.bounds import Id


def people_router() -> APIRouter:
    router = APIRouter(prefix="/api/chat/users", tags=["people"])

    @router.get("/{user_id}")
    async def profile(user_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """A user's profile: `{user_id, username, display_name, status_text, time_zone}`
        (`display_name` is the name to show) and `avatar_url`. 404 `user_not_found`."""
        user = await use_cases.user_profile(chat.deps, who, user_id)
        return with_avatar(profile_data(user), user.id,
                           await use_cases.avatar_ids(chat.deps, [user.id]))

    return router
