"""`/api/chat` reactions, pins and editing history of messages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from services.chat import use_cases
from services.chat.adapters.frames import message_data, reaction_data
from services.chat.adapters.inbound.http._deps import ActorDep, ChatDep, MaybeActorDep
from services.chat.adapters.inbound.http.rooms import charge_post
from services.chat.domain.marks import MessageEdit
from services.chat.use_cases import Reactions
from shared.contracts.bounds import Id

# The emoji is checked by the use case (`invalid_emoji`); this only bounds the path.
Emoji = Annotated[str, Path(min_length=1, max_length=64)]


def reactions_data(result: Reactions) -> dict[str, Any]:
    return {"message_id": result.message_id, "room_id": result.room_id,
            "reactions": [reaction_data(r) for r in result.reactions]}


def edit_data(edit: MessageEdit) -> dict[str, Any]:
    return {"id": edit.id, "action": edit.action, "editor_id": edit.editor_id,
            "editor_username": edit.editor_username,
            "previous_content": edit.previous_content, "new_content": edit.new_content,
            "edited_at": edit.edited_at.isoformat()}


def reactions_router() -> APIRouter:
    router = APIRouter(prefix="/api/chat", tags=["chat"])

    @router.put("/messages/{message_id}/reactions/{emoji}")
    async def react(message_id: Id, emoji: Emoji, who: ActorDep,
                    chat: ChatDep) -> dict[str, Any]:
        """Add the caller's reaction (idempotent: 200 with the reactions either way). Each
        reaction reaches every socket of the room, so it spends the sender's post budget."""
        charge_post(chat, who)
        return reactions_data(await use_cases.add_reaction(chat.deps, who, message_id, emoji))

    @router.delete("/messages/{message_id}/reactions/{emoji}")
    async def unreact(message_id: Id, emoji: Emoji, who: ActorDep,
                      chat: ChatDep) -> dict[str, Any]:
        """Remove the caller's reaction (200 also when there was none)."""
        charge_post(chat, who)
        return reactions_data(await use_cases.remove_reaction(chat.deps, who, message_id,
                                                              emoji))

    @router.put("/messages/{message_id}/pin")
    async def pin(message_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Moderators pin (idempotent); the message, with `pinned_at` and `pinned_by`."""
        return message_data(await use_cases.pin_message(chat.deps, who, message_id))

    @router.delete("/messages/{message_id}/pin")
    async def unpin(message_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        return message_data(await use_cases.unpin_message(chat.deps, who, message_id))

    @router.get("/rooms/{room_id}/pins")
    async def pins(room_id: Id, who: MaybeActorDep, chat: ChatDep) -> dict[str, Any]:
        """The room's pinned messages, newest pin first."""
        return {"messages": [message_data(m)
                             for m in await use_cases.list_pins(chat.deps, who, room_id)]}

    @router.get("/messages/{message_id}/history")
    async def edits(message_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Who changed the message, from what to what, newest first (moderators only)."""
        message, entries = await use_cases.message_edits(chat.deps, who, message_id)
        return {"message_id": message.id, "room_id": message.room_id,
                "edits": [edit_data(e) for e in entries]}

    return router
