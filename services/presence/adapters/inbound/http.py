"""HTTP routes under `/api/presence`: who is here, one user, one room, stats, my status."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from services.presence import use_cases
from services.presence.domain import Caller, PresenceView
from services.presence.ports import PresenceDeps
from shared.auth import Principal
from shared.auth.fastapi import current_principal
from shared.contracts.bounds import Id, Limit, Seq


def deps_of(request: Request) -> PresenceDeps:
    """What the routes may touch: the use cases' deps, not the wired service (`bootstrap`)."""
    return request.app.state.presence.deps


async def caller(principal: Annotated[Principal, Depends(current_principal)]) -> Caller:
    return Caller(principal.user_id, principal.is_admin)


DepsDep = Annotated[PresenceDeps, Depends(deps_of)]
CallerDep = Annotated[Caller, Depends(caller)]


class UserPresenceOut(BaseModel):
    user_id: int
    username: str | None
    status: Literal["online", "away", "busy", "offline"]
    current_room: int | None
    last_active_at: datetime | None
    # When an offline user was last connected; null for everyone who is here now.
    last_seen_at: datetime | None
    connections: int

    @classmethod
    def of(cls, view: PresenceView) -> UserPresenceOut:
        return cls(user_id=view.user_id, username=view.username, status=view.status,
                   current_room=view.current_room, last_active_at=view.last_active_at,
                   last_seen_at=view.last_seen_at, connections=view.connections)


class PresencePage(BaseModel):
    users: list[UserPresenceOut]
    has_more: bool
    # Pass as `after` for the next page.
    next_after: int | None


class RoomPresenceOut(BaseModel):
    room_id: int
    users: list[UserPresenceOut]


class StatsOut(BaseModel):
    online: int
    away: int
    busy: int
    offline: int
    connections: int


class StatusBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["online", "away", "busy"]


def presence_router() -> APIRouter:
    router = APIRouter(prefix="/api/presence", tags=["presence"])

    @router.get("")
    async def present(
        deps: DepsDep, who: CallerDep,
        after: Annotated[Seq | None, Query(description="last user_id of the previous page")]
        = None,
        limit: Annotated[Limit, Query()] = 50,
        status: Literal["online", "away", "busy"] | None = None,
    ) -> PresencePage:
        """Users who are not offline, by user id, a page at a time."""
        views, has_more = await use_cases.present(deps, who, after=after, limit=limit,
                                                  status=status)
        return PresencePage(users=[UserPresenceOut.of(v) for v in views], has_more=has_more,
                            next_after=views[-1].user_id if has_more and views else None)

    @router.get("/stats")
    async def stats(deps: DepsDep, who: CallerDep) -> StatsOut:
        """Users by status (offline: seen before, not here now) and open connections."""
        return StatsOut(**await use_cases.stats(deps))

    @router.get("/me")
    async def me(deps: DepsDep, who: CallerDep) -> UserPresenceOut:
        return UserPresenceOut.of(await use_cases.user_presence(deps, who, who.user_id))

    @router.put("/me")
    async def set_status(body: StatusBody, deps: DepsDep,
                         who: CallerDep) -> UserPresenceOut:
        """Away or busy wins over activity while any of your connections is open; online
        hands your status back to activity. 409 `not_connected` without an open connection."""
        view = await use_cases.set_my_status(deps, who, body.status)
        return UserPresenceOut.of(view)

    @router.get("/users/{user_id}")
    async def user(user_id: Id, deps: DepsDep, who: CallerDep) -> UserPresenceOut:
        """Status and last seen of one user; a user never seen is offline."""
        return UserPresenceOut.of(await use_cases.user_presence(deps, who, user_id))

    @router.get("/rooms/{room_id}")
    async def room(room_id: Id, deps: DepsDep, who: CallerDep) -> RoomPresenceOut:
        """Who has a socket in the room now. Admins, and people in the room, may ask
        (403 `not_in_room` otherwise)."""
        views = await use_cases.room_presence(deps, who, room_id)
        return RoomPresenceOut(room_id=room_id, users=[UserPresenceOut.of(v) for v in views])

    return router
