"""`GET /api/search`: messages the caller may read that match a query (docs/protocol.md,
Search)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.chat import use_cases
from services.chat.adapters.frames import message_data
from services.chat.adapters.inbound.http._deps import ActorDep, ChatDep
from services.chat.domain.search import SEARCH_MAX_PAGE


def search_router() -> APIRouter:
    router = APIRouter(prefix="/api/search", tags=["search"])

    @router.get("")
    async def search(who: ActorDep, chat: ChatDep,
                     q: Annotated[str, Query()] = "",
                     limit: Annotated[int, Query(ge=1, le=SEARCH_MAX_PAGE)] = 20,
                     order: Annotated[str, Query(max_length=20)] = "newest",
                     cursor: Annotated[str | None, Query(max_length=100)] = None
                     ) -> dict[str, Any]:
        """Newest first (or `order=relevance`), `limit` per page, `next_cursor` for the next."""
        page = await use_cases.search_messages(chat.deps, who, q, order=order, limit=limit,
                                               cursor=cursor)
        return {
            "items": [{"message": message_data(hit.message),
                       "room": {"id": hit.room.id, "name": hit.room.name,
                                "kind": hit.room.kind},
                       "highlights": hit.highlights} for hit in page.hits],
            "next_cursor": page.next_cursor,
        }

    return router
