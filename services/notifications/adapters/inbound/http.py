"""HTTP routes of the inbox (`/api/notifications`): list, counts, read state, preferences, why."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from services.notifications import use_cases
from services.notifications.adapters.shapes import decision_data, notification_data
from services.notifications.domain import (
    DEFAULT_LEVEL,
    DM_DEFAULT_LEVEL,
    Level,
)
from services.notifications.ports import NotificationsDeps
from shared.auth import Principal
from shared.auth.fastapi import current_principal
from shared.contracts.bounds import Id


def deps_of(request: Request) -> NotificationsDeps:
    """What the routes may touch: the use cases' deps, not the wired service (`bootstrap`)."""
    return request.app.state.notifications.deps


DepsDep = Annotated[NotificationsDeps, Depends(deps_of)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RoomLevel(_Body):
    room_id: Id
    level: Level


class PreferencesBody(_Body):
    rooms: list[RoomLevel] = Field(max_length=500)


def _preferences_data(prefs: list[use_cases.RoomPreference]) -> dict[str, Any]:
    return {"default": DEFAULT_LEVEL, "dm_default": DM_DEFAULT_LEVEL,
            "rooms": [{"room_id": p.room_id, "room_name": p.room_name, "level": p.level,
                       "kind": p.kind} for p in prefs]}


def inbox_router() -> APIRouter:
    router = APIRouter(prefix="/api/notifications", tags=["notifications"])

    @router.get("")
    async def inbox(who: PrincipalDep, deps: DepsDep,
                    unread: Annotated[bool, Query()] = False,
                    before: Annotated[str | None, Query(max_length=40)] = None,
                    limit: Annotated[int, Query(ge=1, le=use_cases.PAGE_MAX)] = 50,
                    ) -> dict[str, Any]:
        """The caller's notifications, newest first. `unread=true`: unread ones only.
        Page on with `before` = the `next_before` of the previous page."""
        page = await use_cases.list_inbox(deps, who.user_id, unread_only=unread,
                                          before=before, limit=limit)
        return {"notifications": [notification_data(n) for n in page.notifications],
                "has_more": page.has_more, "next_before": page.next_before}

    @router.get("/unread-count")
    async def unread_count(who: PrincipalDep, deps: DepsDep) -> dict[str, int]:
        return {"count": await use_cases.unread_count(deps, who.user_id)}

    @router.post("/read-all")
    async def read_all(who: PrincipalDep, deps: DepsDep) -> dict[str, int]:
        """Marks every unread notification of the caller read; answers how many changed."""
        return {"marked_read": await use_cases.mark_all_read(deps, who.user_id),
                "count": 0}

    @router.post("/{notification_id}/read")
    async def read_one(notification_id: Annotated[str, Path(max_length=40)],
                       who: PrincipalDep, deps: DepsDep) -> dict[str, Any]:
        """Idempotent. 404 `notification_not_found` for ids that are not the caller's."""
        return notification_data(await use_cases.mark_read(deps, who.user_id,
                                                           notification_id))

    @router.get("/preferences")
    async def get_preferences(who: PrincipalDep, deps: DepsDep) -> dict[str, Any]:
        """Every room of the caller with its level: `mentions` (the default: `@you` and
        `@room`), `all` (every message) or `nothing`."""
        return _preferences_data(await use_cases.preferences(deps, who.user_id))

    @router.put("/preferences")
    async def put_preferences(body: PreferencesBody, who: PrincipalDep,
                              deps: DepsDep) -> dict[str, Any]:
        """Sets the listed rooms; rooms not listed keep their level."""
        changed = await use_cases.set_preferences(
            deps, who.user_id, [(r.room_id, r.level) for r in body.rooms])
        return _preferences_data(changed)

    @router.get("/decisions")
    async def decisions(who: PrincipalDep, deps: DepsDep,
                        message_id: Annotated[Id | None, Query()] = None,
                        ) -> dict[str, Any]:
        """Why the caller was or was not notified about a message (`outcome`, `reason`,
        `explanation`); without `message_id`, the latest decisions."""
        found = await use_cases.decisions(deps, who.user_id, message_id)
        return {"decisions": [decision_data(d) for d in found]}

    return router
