"""`PostLog` on PostgreSQL with asyncpg directly: a batch of posts is one transaction of
array statements (`unnest`), whatever the batch size.

The rooms a batch posts to are locked (`FOR UPDATE`, in id order) before their `last_seq`
is read, so concurrent batches of several replicas take turns per room and `seq` stays
gapless; other rooms' batches do not wait. Columns and encodings are those of the
SQLAlchemy tables (`sqla_tables.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from services.chat.adapters.outbound.file_rows import FILE_COLUMNS, file_of
from services.chat.domain import Member, Message, Room, Unauthenticated
from services.chat.domain.moderation import FOREVER
from services.chat.post_plan import (
    BatchPlan,
    PostContext,
    PostOutcome,
    PostRequest,
    files_wanted,
    roots_wanted,
)
from shared.outbox import OutboxRow, outbox_row

Planner = Callable[[Sequence[PostRequest], PostContext], BatchPlan]
MESSAGE_COLUMNS = ("id, room_id, seq, user_id, username, content, message_type, "
                    "client_msg_id, created_at, edited_at, is_deleted, thread_root_id, "
                    "also_send_to_room, reply_count, last_reply_at")
# Messages as read for a replay: their columns and the author's current display name.
MESSAGES_WITH_AUTHOR = (", ".join(f"m.{c}" for c in MESSAGE_COLUMNS.split(", "))
                        + ", u.display_name FROM chat_messages m "
                        "LEFT JOIN users u ON u.id = m.user_id")


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None else None


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL (`postgresql+asyncpg://...`) as a libpq DSN for asyncpg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def message_of(row: Any) -> Message:
    return Message(id=row[0], room_id=row[1], seq=row[2], user_id=row[3], username=row[4],
                   content=row[5], message_type=row[6], client_msg_id=row[7],
                   created_at=aware(row[8]),  # type: ignore[arg-type]
                   edited_at=aware(row[9]), is_deleted=row[10], thread_root_id=row[11],
                   also_send_to_room=row[12], reply_count=row[13],
                   last_reply_at=aware(row[14]),
                   display_name=row[15] if len(row) > 15 else None)


class AsyncpgPostLog:
    def __init__(self, url: str, *, source: str,
                 committed: Callable[[list[OutboxRow]], None]) -> None:
        self._dsn = asyncpg_dsn(url)
        self._source = source
        self._committed = committed
        self._pool: asyncpg.Pool | None = None
        self._message_ids = ""

    async def start(self) -> None:
        # One batch is in flight per process (PostQueue): two connections are plenty.
        self._pool = await asyncpg.create_pool(self._dsn, min_size=1, max_size=2)
        async with self._pool.acquire() as conn:
            self._message_ids = await conn.fetchval(
                "SELECT pg_get_serial_sequence('chat_messages', 'id')")

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def commit(self, requests: Sequence[PostRequest], plan: Planner,
                     now: datetime) -> Sequence[PostOutcome]:
        assert self._pool is not None, "start() opens the pool"
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                result = plan(requests, await self._context(conn, requests, now))
                rows = [outbox_row(event, source=self._source, now=now)
                        for event in result.events]
                await self._write(conn, result, rows, now)
        except asyncpg.ForeignKeyViolationError as exc:
            # Rooms and mentioned members were read in this transaction: only a poster's
            # user row can be missing (a token that outlived its account).
            raise Unauthenticated("unknown_user",
                                  "The account behind this token no longer exists.") from exc
        self._committed(rows)
        return result.outcomes

    async def mark_sent(self, event_ids: list[str], at: datetime) -> None:
        """The relay's "sent" marks, on this pool (no SQLAlchemy round trips)."""
        assert self._pool is not None
        async with self._pool.acquire() as conn:
            await conn.execute("UPDATE outbox SET sent_at = $1 WHERE event_id = ANY($2::text[])",
                               _naive(at), event_ids)

    async def _context(self, conn: Any, requests: Sequence[PostRequest],
                       now: datetime) -> PostContext:
        room_ids = sorted({r.room_id for r in requests})
        rooms = {
            row[0]: Room(row[0], row[1], row[2], row[3], row[4], aware(row[5]),  # type: ignore[arg-type]
                         row[6], slow_mode_secs=row[7])
            for row in await conn.fetch(
                "SELECT id, name, description, is_private, created_by, created_at, last_seq, "
                "slow_mode_secs FROM chat_rooms WHERE id = ANY($1::int[]) ORDER BY id "
                "FOR UPDATE", room_ids)}
        pairs = sorted({(r.room_id, r.actor.user_id) for r in requests})
        members = {}
        server_mutes: dict[int, datetime | None] = {}
        for row in await conn.fetch(
                "SELECT rm.room_id, rm.user_id, u.username, rm.role, rm.joined_at, rm.read_seq, "
                "u.display_name, rm.muted_until, rm.last_post_at, u.muted_until "
                "FROM room_members rm JOIN users u ON u.id = rm.user_id "
                "JOIN unnest($1::int[], $2::int[]) AS p(room_id, user_id) "
                "ON rm.room_id = p.room_id AND rm.user_id = p.user_id",
                [p[0] for p in pairs], [p[1] for p in pairs]):
            members[(row[0], row[1])] = Member(
                row[0], row[1], row[2], row[3], aware(row[4]),  # type: ignore[arg-type]
                row[5], row[6], aware(row[7]), aware(row[8]))
            server_mutes[row[1]] = aware(row[9])
        # The posters' display names (and server mutes) come with their memberships; only a
        # first post in a public room (no membership yet) reads the user row, and the
        # sanctions of that room.
        display_names = {m.user_id: m.display_name for m in members.values()}
        strangers = sorted({r.actor.user_id for r in requests} - display_names.keys())
        if strangers:
            for row in await conn.fetch(
                    "SELECT id, display_name, muted_until FROM users "
                    "WHERE id = ANY($1::int[])", strangers):
                display_names[row[0]] = row[1]
                server_mutes[row[0]] = aware(row[2])
        unjoined: dict[tuple[int, int], dict[str, datetime]] = {}
        if outside := sorted(set(pairs) - members.keys()):
            for row in await conn.fetch(
                    "SELECT s.kind, s.room_id, s.user_id, s.until FROM chat_sanctions s "
                    "JOIN unnest($1::int[], $2::int[]) AS p(room_id, user_id) "
                    "ON s.room_id = p.room_id AND s.user_id = p.user_id",
                    [p[0] for p in outside], [p[1] for p in outside]):
                unjoined.setdefault((row[1], row[2]), {})[row[0]] = aware(row[3]) or FOREVER
        retried = sorted({(r.actor.user_id, r.client_msg_id) for r in requests
                          if r.client_msg_id is not None})
        earlier: dict[tuple[int, str], Message] = {}
        if retried:
            for row in await conn.fetch(
                    f"SELECT {', '.join('m.' + c for c in MESSAGE_COLUMNS.split(', '))} "
                    "FROM chat_messages m JOIN unnest($1::int[], $2::text[]) AS p(uid, cmid) "
                    "ON m.user_id = p.uid AND m.client_msg_id = p.cmid",
                    [p[0] for p in retried], [p[1] for p in retried]):
                message = message_of(row)
                earlier[(message.user_id, message.client_msg_id)] = message  # type: ignore[index]
        mentionable: dict[tuple[int, str], int] = {}
        names = sorted({name for r in requests for name in r.mentions})
        if names:
            for row in await conn.fetch(
                    "SELECT rm.room_id, u.username_key, u.id FROM room_members rm "
                    "JOIN users u ON u.id = rm.user_id "
                    "WHERE rm.room_id = ANY($1::int[]) AND u.username_key = ANY($2::text[])",
                    room_ids, names):
                mentionable[(row[0], row[1])] = row[2]
        roots: dict[int, Message] = {}
        wanted = roots_wanted(requests)
        if wanted:
            # The messages replied to and, for those that are replies, their roots (rows of
            # rooms locked above: their counts cannot move under this transaction).
            for row in await conn.fetch(
                    f"SELECT {MESSAGE_COLUMNS} FROM chat_messages WHERE id = ANY($1::bigint[]) "
                    "OR id IN (SELECT thread_root_id FROM chat_messages "
                    "WHERE id = ANY($1::bigint[]))", wanted):
                message = message_of(row)
                roots[message.id] = message
        ids = iter([row[0] for row in await conn.fetch(
            "SELECT nextval($1::regclass) FROM generate_series(1, $2::int)",
            self._message_ids, len(requests))])
        files = {}
        if attached := files_wanted(requests):  # plain posts read no file
            # Locked: a file is attached once, and the sweep cannot expire it meanwhile.
            files = {row[0]: file_of(row, aware) for row in await conn.fetch(
                f"SELECT {FILE_COLUMNS} FROM chat_files WHERE id = ANY($1::text[]) "
                "ORDER BY id FOR UPDATE", attached)}
        return PostContext(now, rooms, members, earlier, mentionable, ids.__next__,
                           display_names, roots, files, server_mutes, unjoined)

    async def _write(self, conn: Any, plan: BatchPlan, rows: list[OutboxRow],
                     now: datetime) -> None:
        at = _naive(now)
        if plan.new_members:
            ms = plan.new_members
            await conn.execute(
                "INSERT INTO room_members (room_id, user_id, role, joined_at, last_seen, "
                "read_seq) SELECT r, u, role, $4, $4, s FROM unnest($1::int[], $2::int[], "
                "$3::text[], $5::bigint[]) AS v(r, u, role, s)",
                [m.room_id for m in ms], [m.user_id for m in ms], [m.role for m in ms], at,
                [m.read_seq for m in ms])
        if plan.messages:
            ms = plan.messages
            await conn.execute(
                f"INSERT INTO chat_messages ({MESSAGE_COLUMNS}) "
                "SELECT i, r, s, u, n, c, t, k, $9, NULL, false, tr, ar, 0, NULL "
                "FROM unnest($1::bigint[], "
                "$2::int[], $3::bigint[], $4::int[], $5::text[], $6::text[], $7::text[], "
                "$8::text[], $10::bigint[], $11::bool[]) AS v(i, r, s, u, n, c, t, k, tr, ar)",
                [m.id for m in ms], [m.room_id for m in ms], [m.seq for m in ms],
                [m.user_id for m in ms], [m.username for m in ms], [m.content for m in ms],
                [m.message_type for m in ms], [m.client_msg_id for m in ms], at,
                [m.thread_root_id for m in ms], [m.also_send_to_room for m in ms])
        if plan.attachments:
            await conn.execute(
                "UPDATE chat_files f SET message_id = v.m, room_id = v.r "
                "FROM unnest($1::text[], $2::bigint[], $3::int[]) AS v(id, m, r) "
                "WHERE f.id = v.id AND f.message_id IS NULL",
                *[list(c) for c in zip(*plan.attachments, strict=True)])
        if plan.thread_added:
            # One statement for every root the batch replied to.
            await conn.execute(
                "UPDATE chat_messages m SET reply_count = m.reply_count + v.n, "
                "last_reply_at = $3 FROM unnest($1::bigint[], $2::int[]) AS v(id, n) "
                "WHERE m.id = v.id",
                list(plan.thread_added), list(plan.thread_added.values()), at)
        if plan.mentions:
            columns = list(zip(*plan.mentions, strict=True))
            await conn.execute(
                "INSERT INTO message_mentions (message_id, user_id, room_id, seq) "
                "SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::bigint[])",
                *[list(c) for c in columns])
        if plan.room_seqs:
            await conn.execute(
                "UPDATE chat_rooms r SET last_seq = v.s FROM unnest($1::int[], $2::bigint[]) "
                "AS v(id, s) WHERE r.id = v.id",
                list(plan.room_seqs), list(plan.room_seqs.values()))
        if plan.read_markers:
            keys = list(plan.read_markers)
            await conn.execute(
                "UPDATE room_members rm SET read_seq = v.s FROM unnest($1::int[], $2::int[], "
                "$3::bigint[]) AS v(r, u, s) "
                "WHERE rm.room_id = v.r AND rm.user_id = v.u AND rm.read_seq < v.s",
                [k[0] for k in keys], [k[1] for k in keys], list(plan.read_markers.values()))
        if plan.last_posts:  # slow-mode rooms only
            keys = list(plan.last_posts)
            await conn.execute(
                "UPDATE room_members rm SET last_post_at = v.t FROM unnest($1::int[], "
                "$2::int[], $3::timestamp[]) AS v(r, u, t) "
                "WHERE rm.room_id = v.r AND rm.user_id = v.u",
                [k[0] for k in keys], [k[1] for k in keys],
                [_naive(t) for t in plan.last_posts.values()])
        if rows:
            await conn.execute(
                "INSERT INTO outbox (event_id, subject, payload, created_at) "
                "SELECT e, s, p, $4 FROM unnest($1::text[], $2::text[], $3::bytea[]) "
                "AS v(e, s, p)",
                [r.event_id for r in rows], [r.subject for r in rows],
                [r.payload for r in rows], at)
