"""Incoming webhooks: `/api/chat/rooms/{id}/hooks` (the room's admins) and the secret URL
`POST /api/hooks/{secret}` that posts into the room (Slack's `{"text": ...}` shape, JSON
or a form's `payload=`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import orjson
from fastapi import APIRouter, Request, Response, status
from pydantic import Field

from services.chat import use_cases
from services.chat.adapters.inbound.http._deps import ActorDep, Body, ChatDep
from services.chat.domain import Invalid
from services.chat.domain.bots import HOOK_NAME_MAX_CHARS, Hook, hook_label
from shared.contracts.bounds import Id
from shared.problems import Problem

HOOKS_PATH = "/api/hooks"


class HookBody(Body):
    name: str = Field(min_length=1, max_length=HOOK_NAME_MAX_CHARS * 2)


def hook_data(hook: Hook) -> dict[str, Any]:
    """A hook as listed: never its URL (only `POST` answers it, once)."""
    return {"id": hook.id, "room_id": hook.room_id, "name": hook.name, "bot_id": hook.bot_id,
            "created_at": hook.created_at.isoformat(), "created_by": hook.created_by}


def hook_payload(body: bytes, content_type: str) -> tuple[str, str | None]:
    """`(text, username)` of a hook's request: a JSON object, or a form whose `payload`
    field is one (what Slack's clients send)."""
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        fields = parse_qs(body.decode("utf-8", "replace"))
        if "payload" not in fields:
            raise Invalid("invalid_payload", "A form needs a payload=<json> field.")
        body = fields["payload"][0].encode()
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Invalid("invalid_payload", "The body is not JSON.") from None
    if not isinstance(data, dict):
        raise Invalid("invalid_payload", 'The body is a JSON object: {"text": "..."}.')
    text, username = data.get("text"), data.get("username")
    if not isinstance(text, str):
        raise Invalid("invalid_payload", 'The body needs "text", a string.')
    if username is not None and not isinstance(username, str):
        raise Invalid("invalid_payload", '"username" is a string when given.')
    return text, username


def hooks_router() -> APIRouter:
    router = APIRouter(tags=["hooks"])

    @router.post("/api/chat/rooms/{room_id}/hooks", status_code=status.HTTP_201_CREATED)
    async def create(room_id: Id, body: HookBody, who: ActorDep,
                     chat: ChatDep) -> dict[str, Any]:
        """The room's admins (and server admins) add a hook; `url` holds its secret and
        is in this answer only."""
        made = await use_cases.create_hook(chat.deps, who, room_id, body.name)
        return {**hook_data(made.hook), "url": f"{HOOKS_PATH}/{made.secret}"}

    @router.get("/api/chat/rooms/{room_id}/hooks")
    async def list_all(room_id: Id, who: ActorDep, chat: ChatDep) -> list[dict[str, Any]]:
        return [hook_data(h) for h in await use_cases.list_hooks(chat.deps, who, room_id)]

    @router.delete("/api/chat/rooms/{room_id}/hooks/{hook_id}")
    async def delete(room_id: Id, hook_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Its URL answers 404 from the next request on; its bot leaves the room."""
        return hook_data(await use_cases.delete_hook(chat.deps, who, room_id, hook_id))

    @router.post(HOOKS_PATH + "/{secret}")
    async def post(secret: str, request: Request, response: Response,
                   chat: ChatDep) -> dict[str, Any]:
        """Post `text` into the hook's room as its bot (through the group commit, like any
        post). Answers `{"ok": true, ...}` (Slack answers `ok`); a `hold` word filter answers 202
        `{"ok": true, "held": true, "held_id", "room_id"}`. Unknown or deleted hook:
        404; over its budget: 429 with `Retry-After`."""
        body = await request.body()
        limit = chat.settings.hook_max_body_bytes
        if len(body) > limit:
            raise Problem(413, "body_too_large", "Request body too large",
                          f"A hook's body is at most {limit} bytes.", max_bytes=limit)
        sender = await use_cases.hook_sender(chat.deps, secret)
        if chat.hook_limits is not None:  # bad requests spend the budget too
            await chat.hook_limits.spend(sender.hook.id)
        text, username = hook_payload(body, request.headers.get("content-type", ""))
        posted = await use_cases.post_message(chat.deps, sender.actor, sender.hook.room_id,
                                              text, author_label=hook_label(username))
        if isinstance(posted, use_cases.Held):  # a `hold` word filter: it waits for review
            response.status_code = 202
            return {"ok": True, "held": True, "held_id": posted.held.id,
                    "room_id": posted.held.room_id}
        chat.metrics.messages_posted.inc()
        message = posted.message
        return {"ok": True, "message_id": message.id, "room_id": message.room_id,
                "seq": message.seq}

    return router
