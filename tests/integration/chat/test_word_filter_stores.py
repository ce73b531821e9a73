"""The word-filter stores on SQLite and PostgreSQL: rules by scope, a removal that keeps the
row and moves the stamp (what every replica's cache polls), held messages by id and by
`client_msg_id`, the moderators' page, and decisions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.chat.adapters.outbound.sqla_store import SqlaChatUnitOfWork
from services.chat.adapters.outbound.word_filter_cache import CachedWordFilters
from services.chat.domain import Member
from services.chat.domain.held import HeldMessage
from services.chat.domain.word_filter import WordFilterRule
from services.chat.migrations import SCHEMA
from shared.db import Database
from shared.migrations import upgrade

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 3, 10, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"
    return str(request.getfixturevalue("postgres_url"))  # a fresh database, dropped after


@pytest.fixture
async def uow(url: str) -> AsyncIterator[SqlaChatUnitOfWork]:
    db = Database(url)
    await db.prepare()
    await upgrade(db, SCHEMA)
    try:
        yield SqlaChatUnitOfWork(db)
    finally:
        await db.dispose()


async def test_rules_by_scope_and_the_stamp_every_change_moves(uow: SqlaChatUnitOfWork) -> None:
    async with uow.write() as tx:
        user = await tx.users.add("ana", None, "x", True, NOW)
        room = await tx.rooms.add("general", None, False, user.id, NOW)
        empty = await tx.word_filters.stamp()
        server = await tx.word_filters.add(WordFilterRule(0, None, "Spam", "block", user.id, NOW))
        mine = await tx.word_filters.add(WordFilterRule(0, room.id, "eggs*", "hold", user.id,
                                                        NOW))
    assert empty == (0, 0)
    async with uow.read() as tx:
        assert [r.id for r in await tx.word_filters.live(None)] == [server.id]
        assert [(r.pattern, r.action, r.scope) for r in await tx.word_filters.live(room.id)] == [
            ("eggs*", "hold", "room")]
        assert len(await tx.word_filters.live(None, every_scope=True)) == 2
        added = await tx.word_filters.stamp()
    cache = CachedWordFilters(uow, refresh_secs=60)
    await cache.refresh()
    verdict = cache.current().check("EGGSY", room.id)
    assert verdict is not None and (verdict.action, verdict.scope) == ("hold", "room")
    async with uow.write() as tx:
        assert await tx.word_filters.remove(mine.id, None, NOW) is None  # not the server's
        assert await tx.word_filters.remove(server.id, room.id, NOW) is None
        removed = await tx.word_filters.remove(mine.id, room.id, NOW)
        assert removed is not None and removed.id == mine.id
        assert await tx.word_filters.remove(mine.id, room.id, NOW) is None  # once
    async with uow.read() as tx:
        assert await tx.word_filters.live(room.id) == []
        after = await tx.word_filters.stamp()
    assert added == (mine.id, 0) and after == (mine.id, 1)  # the row stays; the stamp moved
    await cache.refresh()
    assert cache.current().check("eggs", room.id) is None
    assert cache.current().check("spam", room.id) is not None


async def test_held_messages_by_id_by_client_msg_id_and_for_moderators(
        uow: SqlaChatUnitOfWork) -> None:
    async with uow.write() as tx:
        ana = await tx.users.add("ana", None, "x", False, NOW)
        bob = await tx.users.add("bob", None, "x", False, NOW)
        mod = await tx.users.add("mod", None, "x", False, NOW)
        general = await tx.rooms.add("general", None, False, ana.id, NOW)
        other = await tx.rooms.add("other", None, False, ana.id, NOW)
        await tx.members.add(Member(general.id, mod.id, "mod", "moderator", NOW))
        await tx.members.add(Member(other.id, mod.id, "mod", "member", NOW))
        first = await tx.held.add(HeldMessage(0, general.id, bob.id, "eggs", "c-1", "room", NOW,
                                              thread_root_id=None,
                                              attachment_ids=("f" * 32,)))
        second = await tx.held.add(HeldMessage(0, other.id, bob.id, "ham", None, "server",
                                               NOW + timedelta(seconds=1)))
    async with uow.read() as tx:
        got = await tx.held.get(first.id)
        assert got is not None
        assert (got.username, got.content, got.attachment_ids, got.status, got.scope) == (
            "bob", "eggs", ("f" * 32,), "pending", "room")
        by_msg = await tx.held.get(user_id=bob.id, client_msg_id="c-1")
        assert by_msg is not None and by_msg.id == first.id
        assert await tx.held.get(user_id=ana.id, client_msg_id="c-1") is None
        every = await tx.held.page(status="pending", room_id=None, moderator_id=None,
                                   before_id=None, limit=10)
        assert [h.id for h in every] == [second.id, first.id]  # newest first
        moderated = await tx.held.page(status="pending", room_id=None, moderator_id=mod.id,
                                       before_id=None, limit=10)
        assert [h.id for h in moderated] == [first.id]  # only where mod is a moderator
        older = await tx.held.page(status="pending", room_id=None, moderator_id=None,
                                   before_id=second.id, limit=10)
        assert [h.id for h in older] == [first.id]
    async with uow.write() as tx:
        held = await tx.held.get(first.id, lock=True)
        assert held is not None
        held.status, held.decided_by, held.decided_at, held.note = "rejected", mod.id, NOW, "no"
        await tx.held.decide(held)
    async with uow.read() as tx:
        decided = await tx.held.get(first.id)
        assert decided is not None
        assert (decided.status, decided.decided_by, decided.note) == ("rejected", mod.id, "no")
        assert [h.id for h in await tx.held.page(status="rejected", room_id=general.id,
                                                 moderator_id=None, before_id=None,
                                                 limit=10)] == [first.id]
