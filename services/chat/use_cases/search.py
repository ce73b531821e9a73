"""Searching messages: what a query finds among the rooms the reader may read now (public
rooms, rooms and DMs they are a member of), newest first or by relevance, a page at a time,
with the words it matched (`domain/search.py`)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from services.chat.domain import Actor, Invalid, Message, Room
from services.chat.domain.search import SEARCH_MAX_PAGE, highlights, parse
from services.chat.ports import ChatDeps
from services.chat.use_cases._access import active_user, require_user
from services.chat.use_cases.reactions import annotated

ORDERS = ("newest", "relevance")


@dataclass(frozen=True, slots=True)
class SearchHit:
    message: Message
    room: Room
    highlights: list[list[int]]


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[SearchHit]
    next_cursor: str | None


def _cursor(kind: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}{value}".encode()).decode().rstrip("=")


def _read_cursor(cursor: str | None, order: str) -> int | None:
    """Newest first: the last id shown (`n`); by relevance: how many were shown (`r`)."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, value = raw[0], int(raw[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError, IndexError):
        raise Invalid("invalid_cursor", "This cursor is not one a search gave.") from None
    if kind != order[0] or not 0 <= value < 2**63:
        raise Invalid("invalid_cursor", f"This cursor is not one of an order={order} search.")
    return value


async def search_messages(deps: ChatDeps, actor: Actor, text: str, *, order: str = "newest",
                          limit: int = 20, cursor: str | None = None) -> SearchPage:
    user_id = require_user(actor)
    if order not in ORDERS:
        raise Invalid("invalid_order", "order is newest or relevance.")
    if not 1 <= limit <= SEARCH_MAX_PAGE:
        raise Invalid("invalid_limit", f"limit must be 1-{SEARCH_MAX_PAGE}.")
    query = parse(text)
    position = _read_cursor(cursor, order)
    async with deps.uow.read() as tx:
        await active_user(tx, user_id)
        rooms = {room.id: room for room in await tx.rooms.visible_to(user_id)}
        if query.room is not None:
            wanted = query.room.casefold()
            rooms = {i: r for i, r in rooms.items() if r.name.casefold() == wanted}
        relevance = order == "relevance"
        found = await tx.search.find(
            query, sorted(rooms), relevance=relevance, limit=limit + 1,
            before_id=None if relevance else position,
            offset=(position or 0) if relevance else 0)
        page = found[:limit]
        await annotated(tx, page, user_id)
    next_cursor = None
    if len(found) > limit:
        next_cursor = (_cursor("r", (position or 0) + limit) if relevance
                       else _cursor("n", page[-1].id))
    return SearchPage([SearchHit(m, rooms[m.room_id], highlights(m.content, query.terms))
                       for m in page], next_cursor)
