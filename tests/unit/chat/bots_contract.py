"""What the bot-token and hook stores promise the use cases, checked against the in-memory
fakes (`tests/unit/chat/test_bots_fakes.py`) and the SQLAlchemy stores on SQLite and
PostgreSQL (`tests/integration/chat/test_bots.py`). The subject is the store contract's
(`store_contract.py`): alice (1) and bob (2) in room 1."""

from __future__ import annotations

from datetime import timedelta

from services.chat.domain import Actor, Member
from services.chat.domain.bots import BotToken, Hook
from services.chat.post_plan import PostRequest, plan_batch
from tests.unit.chat.fakes import T0
from tests.unit.chat.store_contract import StoreSubject, seeded


class BotsContract:
    async def test_bots_are_users_with_is_bot_everywhere(self, subject: StoreSubject) -> None:
        await seeded(subject)
        async with subject.uow.write() as tx:
            bot = await tx.users.add("ci-bot", "CI", "!", False, T0, is_bot=True)
            await tx.members.add(Member(1, bot.id, "ci-bot", "member", T0))
        async with subject.uow.read() as tx:
            assert [b.username for b in await tx.bots.bots()] == ["ci-bot"]
            assert (await tx.users.get(bot.id)).is_bot  # type: ignore[union-attr]
            assert not (await tx.users.get(1)).is_bot  # type: ignore[union-attr]
            members = {m.username: m.is_bot for m in await tx.members.list(1)}
            assert members == {"alice": False, "bob": False, "ci-bot": True}
            by_room = await tx.dms.members_of([1])
            assert [m.is_bot for m in by_room[1]] == [False, False, True]
            assert [(u.username, u.is_bot) for u in await tx.dms.people("c", 5)] == [
                ("ci-bot", True)]
            messages = await tx.messages.page(1, before_seq=None, after_seq=None, limit=5)
            assert [m.author_is_bot for m in messages] == [False, False, False]
        # A bot's post (through the hot path), with a webhook's name for it.
        actor = Actor(bot.id, "ci-bot", is_bot=True, scopes=frozenset({"post:1"}))
        [outcome] = await subject.posts.commit(
            [PostRequest(actor, 1, "deployed", None, author_label="Jenkins")], plan_batch, T0)
        assert outcome.message is not None
        assert (outcome.message.author_is_bot, outcome.message.author_label) == (True,
                                                                                 "Jenkins")
        async with subject.uow.read() as tx:
            stored = await tx.messages.page(1, before_seq=None, after_seq=None, limit=5)
            got = await tx.messages.get(outcome.message.id)
        assert [(m.author_is_bot, m.author_label) for m in stored] == [
            (False, None), (False, None), (False, None), (True, "Jenkins")]
        assert got is not None and (got.author_is_bot, got.author_label) == (True, "Jenkins")

    async def test_tokens_are_found_by_digest_until_revoked(self, subject: StoreSubject) -> None:
        await seeded(subject)
        async with subject.uow.write() as tx:
            bot = await tx.users.add("ci-bot", None, "!", False, T0, is_bot=True)
            one = await tx.bots.add_token(BotToken(0, bot.id, "one", ("post:1", "read:1"), T0,
                                                   1), "d1" * 32)
            two = await tx.bots.add_token(BotToken(0, bot.id, "two", ("read:1",), T0, 1),
                                          "d2" * 32)
        assert one.id != two.id
        async with subject.uow.read() as tx:
            found = await tx.bots.by_digest("d1" * 32)
            assert found is not None
            token, user = found
            assert (token.id, token.name, token.scopes, token.created_by) == (
                one.id, "one", ("post:1", "read:1"), 1)
            assert (user.id, user.is_bot) == (bot.id, True)
            assert await tx.bots.by_digest("d3" * 32) is None
        later = T0 + timedelta(minutes=1)
        async with subject.uow.write() as tx:
            revoked = await tx.bots.revoke_token(bot.id, one.id, later)
            assert revoked is not None and revoked.revoked_at == later
            again = await tx.bots.revoke_token(bot.id, one.id, later + timedelta(minutes=1))
            assert again is not None and again.revoked_at == later
            assert await tx.bots.revoke_token(2, two.id, later) is None  # not bob's token
        async with subject.uow.read() as tx:
            assert await tx.bots.by_digest("d1" * 32) is None
            assert await tx.bots.by_digest("d2" * 32) is not None
            listed = await tx.bots.tokens_of(bot.id)
            assert [(t.name, t.revoked_at) for t in listed] == [("one", later), ("two", None)]

    async def test_hooks_are_found_by_digest_until_deleted(self, subject: StoreSubject) -> None:
        await seeded(subject)
        async with subject.uow.write() as tx:
            bot = await tx.users.add("hook-1", "CI", "!", False, T0, is_bot=True)
            hook = await tx.hooks.add(Hook(0, 1, bot.id, "CI", T0, 1), "h1" * 32)
        async with subject.uow.read() as tx:
            found = await tx.hooks.by_digest("h1" * 32)
            assert found is not None
            assert (found.id, found.room_id, found.bot_id, found.name) == (hook.id, 1, bot.id,
                                                                          "CI")
            assert [h.id for h in await tx.hooks.of_room(1)] == [hook.id]
            assert await tx.hooks.of_room(2) == []
        async with subject.uow.write() as tx:
            assert await tx.hooks.delete(2, hook.id, T0) is None  # another room's
            deleted = await tx.hooks.delete(1, hook.id, T0)
            assert deleted is not None and deleted.deleted_at == T0
            assert await tx.hooks.delete(1, hook.id, T0) is None
        async with subject.uow.read() as tx:
            assert await tx.hooks.by_digest("h1" * 32) is None
            assert await tx.hooks.of_room(1) == []
