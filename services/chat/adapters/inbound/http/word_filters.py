"""Word filters and held messages: `/api/admin/word-filters` (the server's rules, server
admins), `/api/chat/rooms/{id}/word-filters` (a room's, its admins), and
`/api/moderation/held` (what `hold` rules stopped, for the rooms' moderators)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import Field

from services.chat import use_cases
from services.chat.adapters.frames import message_data
from services.chat.adapters.inbound.http._deps import ActorDep, Body, ChatDep
from services.chat.domain.held import HELD_MAX_PAGE
from services.chat.domain.word_filter import WordFilterRule
from shared.contracts.bounds import Id


class RuleBody(Body):
    pattern: str = Field(max_length=1000)  # the rule's own limit answers invalid_word_filter
    action: str = "block"


class RejectBody(Body):
    note: str | None = Field(default=None, max_length=2000)


def rule_data(rule: WordFilterRule) -> dict[str, Any]:
    return {"id": rule.id, "scope": rule.scope, "room_id": rule.room_id,
            "pattern": rule.pattern, "action": rule.action, "created_by": rule.created_by,
            "created_at": rule.created_at.isoformat()}


def word_filters_router() -> APIRouter:
    router = APIRouter(tags=["word filters"])

    @router.get("/api/admin/word-filters")
    async def server_rules(who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Server admins: the server's rules, oldest first."""
        rules = await use_cases.list_word_filters(chat.deps, who)
        return {"rules": [rule_data(r) for r in rules]}

    @router.post("/api/admin/word-filters", status_code=status.HTTP_201_CREATED)
    async def add_server_rule(body: RuleBody, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Server admins: a rule for every room, DMs, room names and display names."""
        rule = await use_cases.add_word_filter(chat.deps, who, body.pattern, body.action)
        return rule_data(rule)

    @router.delete("/api/admin/word-filters/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def remove_server_rule(rule_id: Id, who: ActorDep, chat: ChatDep) -> None:
        await use_cases.remove_word_filter(chat.deps, who, rule_id)

    @router.get("/api/chat/rooms/{room_id}/word-filters")
    async def room_rules(room_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """The room's admins (and server admins): the room's own rules."""
        rules = await use_cases.list_word_filters(chat.deps, who, room_id)
        return {"rules": [rule_data(r) for r in rules]}

    @router.post("/api/chat/rooms/{room_id}/word-filters", status_code=status.HTTP_201_CREATED)
    async def add_room_rule(room_id: Id, body: RuleBody, who: ActorDep,
                            chat: ChatDep) -> dict[str, Any]:
        """A rule for the room's messages and edits and its name."""
        rule = await use_cases.add_word_filter(chat.deps, who, body.pattern, body.action,
                                               room_id)
        return rule_data(rule)

    @router.delete("/api/chat/rooms/{room_id}/word-filters/{rule_id}",
                   status_code=status.HTTP_204_NO_CONTENT)
    async def remove_room_rule(room_id: Id, rule_id: Id, who: ActorDep,
                               chat: ChatDep) -> None:
        await use_cases.remove_word_filter(chat.deps, who, rule_id, room_id)

    @router.get("/api/moderation/held")
    async def held(who: ActorDep, chat: ChatDep,
                   room_id: Annotated[Id | None, Query()] = None,
                   status_: Annotated[str, Query(alias="status")] = "pending",
                   before_id: Annotated[Id | None, Query()] = None,
                   limit: Annotated[int, Query(ge=1, le=HELD_MAX_PAGE)] = 50
                   ) -> dict[str, Any]:
        """Held messages, newest first (`next_before_id` pages on): a room's for its
        moderators; without `room_id`, every room one moderates (all, for server admins)."""
        rows, next_before_id = await use_cases.list_held(
            chat.deps, who, room_id=room_id, status=status_, before_id=before_id, limit=limit)
        return {"held": [use_cases.held_data(h) for h in rows],
                "next_before_id": next_before_id}

    @router.post("/api/moderation/held/{held_id}/approve")
    async def approve(held_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Posts it as its author; idempotent (the same message every time)."""
        held, message = await use_cases.approve_held(chat.deps, who, held_id)
        return {"held": use_cases.held_data(held), "message": message_data(message)}

    @router.post("/api/moderation/held/{held_id}/reject")
    async def reject(held_id: Id, who: ActorDep, chat: ChatDep,
                     body: RejectBody | None = None) -> dict[str, Any]:
        """Nothing is posted; the author is told (with the note). Idempotent."""
        held = await use_cases.reject_held(chat.deps, who, held_id,
                                           body.note if body else None)
        return {"held": use_cases.held_data(held)}

    return router
