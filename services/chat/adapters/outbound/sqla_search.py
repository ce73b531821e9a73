"""The `SearchIndex` port on the database itself: SQLite FTS5 (`SqliteSearchIndex`) and
PostgreSQL full text (`PgSearchIndex`). Both index tables are kept by triggers on
`chat_messages` (`search_schema.py`, migration 0007), so the posting paths need nothing.

What the user typed reaches neither MATCH nor `to_tsquery` as syntax: each term is its
folded words (letters and digits, `domain/search.py`), quoted here and passed as a bound
parameter."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, and_, column, exists, false, select, table
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ColumnElement, Select

from services.chat.adapters.outbound.sqla_messages import _message
from services.chat.adapters.outbound.sqla_tables import chat_files as files
from services.chat.adapters.outbound.sqla_tables import chat_messages, users
from services.chat.domain import Message
from services.chat.domain.search import SearchQuery, Term

# Not SQLAlchemy tables of ours (the migrations' drift check looks at those only).
fts = table("chat_messages_fts", column("rowid", Integer), column("rank"))
pg_search = table("chat_messages_search", column("message_id", Integer), column("document"))

m = chat_messages


def fts5_match(terms: Sequence[Term]) -> str:
    """An FTS5 MATCH expression: each term a quoted phrase (a prefix's `*` outside its
    quotes), ANDed. Quotes inside are doubled, though folded words hold none."""
    phrases = []
    for term in terms:
        quoted = '"' + " ".join(term.tokens).replace('"', '""') + '"'
        phrases.append(quoted + "*" if term.prefix else quoted)
    return " AND ".join(phrases)


class _SqlaSearch:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    def _filtered(self, query: Select[Any], search: SearchQuery,
                  room_ids: Sequence[int]) -> Select[Any]:
        query = query.where(m.c.room_id.in_(list(room_ids)), m.c.is_deleted.is_(false()))
        if search.author is not None:
            author = select(users.c.id).where(users.c.username_key == search.author)
            query = query.where(m.c.user_id == author.scalar_subquery())
        if search.before is not None:
            query = query.where(m.c.created_at < search.before)
        if search.after is not None:
            query = query.where(m.c.created_at >= search.after)
        if search.is_thread:
            query = query.where(m.c.thread_root_id.is_not(None))
        if search.has_file:
            query = query.where(exists().where(files.c.message_id == m.c.id,
                                               files.c.deleted_at.is_(None)))
        return query

    def _base(self) -> Select[Any]:
        return select(m, users.c.display_name.label("author_display_name"),
                      users.c.is_bot.label("author_is_bot"))

    async def _rows(self, query: Select[Any]) -> list[Message]:
        return [_message(r) for r in (await self._s.execute(query)).all()]

    async def _newest(self, search: SearchQuery, room_ids: Sequence[int], limit: int,
                      before_id: int | None) -> list[Message]:
        """Filters only: the readable rooms' messages, newest first."""
        query = self._filtered(
            self._base().select_from(m.outerjoin(users, users.c.id == m.c.user_id)),
            search, room_ids)
        if before_id is not None:
            query = query.where(m.c.id < before_id)
        return await self._rows(query.order_by(m.c.id.desc()).limit(limit))


class SqliteSearchIndex(_SqlaSearch):
    """FTS5 over `chat_messages` (external content, `unicode61 remove_diacritics 2`).
    Newest first walks the index's doclists backwards by rowid (= message id), checking
    each hit's room, and stops at `limit`: a common word costs the readable hits it skips."""

    async def find(self, query: SearchQuery, room_ids: Sequence[int], *, relevance: bool,
                   limit: int, before_id: int | None = None, offset: int = 0
                   ) -> list[Message]:
        if not room_ids:
            return []
        if not query.terms:
            return await self._newest(query, room_ids, limit, before_id)
        select_ = self._filtered(
            self._base().select_from(
                fts.join(m, m.c.id == fts.c.rowid)
                .outerjoin(users, users.c.id == m.c.user_id))
            .where(sql_text("chat_messages_fts MATCH :match")
                   .bindparams(match=fts5_match(query.terms))),
            query, room_ids)
        if relevance:
            select_ = select_.order_by(fts.c.rank, fts.c.rowid.desc()).offset(offset)
        else:
            if before_id is not None:
                select_ = select_.where(fts.c.rowid < before_id)
            select_ = select_.order_by(fts.c.rowid.desc())
        return await self._rows(select_.limit(limit))


def tsquery(terms: Sequence[Term]) -> tuple[str, dict[str, str]]:
    """A tsquery expression over bound parameters (`phraseto_tsquery` reads them as plain
    text; a prefix's last word goes through `quote_literal`), ANDed."""
    parts, values = [], {}
    for i, term in enumerate(terms):
        words = list(term.tokens)
        last = words.pop() if term.prefix else None
        pieces = []
        if words:
            values[f"w{i}"] = " ".join(words)
            pieces.append(f"phraseto_tsquery('simple', :w{i})")
        if last is not None:
            values[f"p{i}"] = last
            pieces.append(f"to_tsquery('simple', quote_literal(:p{i}) || ':*')")
        expr = pieces[0] if len(pieces) == 1 else f"tsquery_phrase({pieces[0]}, {pieces[1]})"
        parts.append(f"({expr})")
    return " && ".join(parts), values


class PgSearchIndex(_SqlaSearch):
    """A `tsvector` per message (`simple` configuration over `unaccent(content)`) in
    `chat_messages_search`, with a GIN index."""

    async def find(self, query: SearchQuery, room_ids: Sequence[int], *, relevance: bool,
                   limit: int, before_id: int | None = None, offset: int = 0
                   ) -> list[Message]:
        if not room_ids:
            return []
        if not query.terms:
            return await self._newest(query, room_ids, limit, before_id)
        expr, values = tsquery(query.terms)
        matched: ColumnElement[Any] = sql_text(
            f"chat_messages_search.document @@ ({expr})").bindparams(**values)
        select_ = self._filtered(
            self._base().select_from(
                pg_search.join(m, m.c.id == pg_search.c.message_id)
                .outerjoin(users, users.c.id == m.c.user_id))
            .where(and_(matched)), query, room_ids)
        if relevance:
            rank = sql_text(f"ts_rank(chat_messages_search.document, ({expr})) DESC"
                            ).bindparams(**values)
            select_ = select_.order_by(rank, m.c.id.desc()).offset(offset)
        else:
            if before_id is not None:
                select_ = select_.where(m.c.id < before_id)
            select_ = select_.order_by(m.c.id.desc())
        return await self._rows(select_.limit(limit))


def search_index(session: AsyncConnection) -> SqliteSearchIndex | PgSearchIndex:
    if session.dialect.name == "sqlite":
        return SqliteSearchIndex(session)
    return PgSearchIndex(session)


