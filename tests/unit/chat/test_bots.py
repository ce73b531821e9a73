"""Bot accounts, scoped tokens and incoming webhooks on fakes: who may do what, what is
stored (digests, never secrets), what the room sees."""

from __future__ import annotations

import pytest

from services.chat import use_cases
from services.chat.adapters.frames import member_data, message_data
from services.chat.adapters.inbound.actors import bot_secret
from services.chat.domain import Actor, ChatError, Forbidden, Invalid, NotFound, Unauthenticated
from services.chat.domain.bots import hook_label, require_scope, validate_scopes
from services.chat.ports import ChatDeps
from shared.contracts import MemberJoined, MemberLeft, UserDeactivated, UserRegistered
from tests.unit.chat.fakes import InMemoryChatUnitOfWork, RecordingLiveFeed

PASSWORD = "correct horse battery"


async def sign_up(deps: ChatDeps, username: str, *, is_admin: bool = False) -> Actor:
    user = await use_cases.register(deps, username, PASSWORD, is_admin=is_admin)
    return Actor(user.id, user.username, user.is_admin)


@pytest.fixture
async def admin(deps: ChatDeps) -> Actor:
    return await sign_up(deps, "root", is_admin=True)


def test_scopes_are_post_or_read_of_a_room_id() -> None:
    assert validate_scopes(["post:3", "read:3", "post:3"]) == ("post:3", "read:3")
    for bad in ([], ["write:3"], ["post:"], ["post:0"], ["post:3 read:4"], ["read:-1"],
                ["post:3\n"], ["*"]):
        with pytest.raises(Invalid) as caught:
            validate_scopes(bad)
        assert caught.value.code == "invalid_scopes"


def test_a_scoped_actor_acts_only_in_its_scopes_and_a_user_is_not_scoped() -> None:
    bot = Actor(9, "ci", is_bot=True, scopes=frozenset({"post:1", "read:2"}))
    require_scope(bot, "post", 1)
    require_scope(bot, "read", 2)
    for kind, room in (("read", 1), ("post", 2), ("post", 3)):
        with pytest.raises(Forbidden) as caught:
            require_scope(bot, kind, room)  # type: ignore[arg-type]
        assert caught.value.code == "scope_denied"
    require_scope(Actor(1, "alice"), "post", 3)


def test_a_hooks_username_is_one_line_of_at_most_64_characters() -> None:
    assert hook_label("  Jenkins   CI ") == "Jenkins CI"
    assert hook_label(None) is None and hook_label("   ") is None
    for bad in ("x" * 65, "a\u0007b"):
        with pytest.raises(Invalid) as caught:
            hook_label(bad)
        assert caught.value.code == "invalid_payload"


def test_only_a_bearer_tb_header_is_a_bot_token() -> None:
    assert bot_secret("Bearer tb_abc") == "tb_abc"
    assert bot_secret("bearer  tb_abc ") == "tb_abc"
    assert bot_secret("Bearer eyJ.x.y") is None
    assert bot_secret("Basic tb_abc") is None
    assert bot_secret(None) is None


async def test_admins_create_bots_that_cannot_sign_in(deps: ChatDeps, admin: Actor,
                                                      uow: InMemoryChatUnitOfWork) -> None:
    alice = await sign_up(deps, "alice")
    with pytest.raises(Forbidden):
        await use_cases.create_bot(deps, alice, "ci-bot", "CI")
    bot = await use_cases.create_bot(deps, admin, "ci-bot", "CI")
    assert (bot.is_bot, bot.is_admin, bot.display_name) == (True, False, "CI")
    assert isinstance(uow.state.events[-1], UserRegistered)
    with pytest.raises(ChatError) as caught:
        await use_cases.create_bot(deps, admin, "CI-BOT", None)
    assert caught.value.code == "username_taken"
    with pytest.raises(Invalid):
        await use_cases.create_bot(deps, admin, "no spaces", None)
    # No password verifies against a bot's (there is none): it cannot sign in.
    with pytest.raises(Unauthenticated):
        await use_cases.authenticate(deps, "ci-bot", "")
    assert [b.username for b in await use_cases.list_bots(deps, admin)] == ["ci-bot"]


async def test_a_token_is_shown_once_stored_as_a_digest_and_acts_within_its_scopes(
        deps: ChatDeps, admin: Actor, uow: InMemoryChatUnitOfWork) -> None:
    alice = await sign_up(deps, "alice")
    room = await use_cases.create_room(deps, alice, "general", None, False)
    other = await use_cases.create_room(deps, alice, "other", None, False)
    bot = await use_cases.create_bot(deps, admin, "ci-bot", None)
    issued = await use_cases.create_token(deps, admin, bot.id, "deploys",
                                          [f"post:{room.id}", f"read:{room.id}"])
    assert issued.secret.startswith("tb_")
    [(token, digest)] = uow.state.bot_tokens.values()
    assert issued.secret not in digest and token.scopes == (f"post:{room.id}",
                                                            f"read:{room.id}")
    actor = await use_cases.bot_actor(deps, issued.secret)
    assert (actor.user_id, actor.is_bot) == (bot.id, True)
    posted = await use_cases.post_message(deps, actor, room.id, "deployed v1.2")
    assert message_data(posted.message)["is_bot"] is True
    page = await use_cases.history(deps, actor, room.id)
    assert [m.content for m in page.messages] == ["deployed v1.2"]
    assert page.messages[0].author_is_bot is True  # read back from the author's row
    members = await use_cases.list_members(deps, alice, room.id)
    assert {m.username: member_data(m)["is_bot"] for m in members} == {
        "alice": False, "ci-bot": True}
    for call in (use_cases.post_message(deps, actor, other.id, "nope"),
                 use_cases.history(deps, actor, other.id)):
        with pytest.raises(Forbidden) as caught:
            await call
        assert caught.value.code == "scope_denied"
    with pytest.raises(Invalid):
        await use_cases.create_token(deps, admin, bot.id, "x", ["admin:1"])
    with pytest.raises(NotFound):  # a person is not a bot
        await use_cases.create_token(deps, admin, alice.user_id or 0, "x", ["post:1"])


async def test_a_revoked_token_or_a_deactivated_bot_is_refused_at_once(
        deps: ChatDeps, admin: Actor, uow: InMemoryChatUnitOfWork) -> None:
    bot = await use_cases.create_bot(deps, admin, "ci-bot", None)
    one = await use_cases.create_token(deps, admin, bot.id, "one", ["post:1"])
    two = await use_cases.create_token(deps, admin, bot.id, "two", ["post:1"])
    revoked = await use_cases.revoke_token(deps, admin, bot.id, one.token.id)
    assert revoked.revoked_at is not None
    again = await use_cases.revoke_token(deps, admin, bot.id, one.token.id)
    assert again.revoked_at == revoked.revoked_at  # idempotent
    with pytest.raises(Unauthenticated) as caught:
        await use_cases.bot_actor(deps, one.secret)
    assert caught.value.code == "invalid_token"
    assert (await use_cases.bot_actor(deps, two.secret)).user_id == bot.id
    listed = await use_cases.list_tokens(deps, admin, bot.id)
    assert [(t.name, t.revoked_at is not None) for t in listed] == [("one", True),
                                                                   ("two", False)]
    with pytest.raises(NotFound):
        await use_cases.revoke_token(deps, admin, bot.id, 99)
    await use_cases.deactivate_bot(deps, admin, bot.id)
    assert isinstance(uow.state.events[-1], UserDeactivated)
    with pytest.raises(Unauthenticated):
        await use_cases.bot_actor(deps, two.secret)
    with pytest.raises(Unauthenticated):
        await use_cases.bot_actor(deps, "tb_never-issued")


async def test_a_hook_posts_as_its_own_bot_member_until_deleted(
        deps: ChatDeps, admin: Actor, uow: InMemoryChatUnitOfWork,
        live: RecordingLiveFeed) -> None:
    alice = await sign_up(deps, "alice")
    bob = await sign_up(deps, "bob")
    room = await use_cases.create_room(deps, alice, "ops", None, True)  # private
    with pytest.raises(NotFound):  # bob cannot see it
        await use_cases.create_hook(deps, bob, room.id, "CI")
    await use_cases.invite_member(deps, alice, room.id, "bob", "member")
    with pytest.raises(Forbidden):  # a member, not the room's admin
        await use_cases.create_hook(deps, bob, room.id, "CI")
    with pytest.raises(Invalid):
        await use_cases.create_hook(deps, alice, room.id, "   ")
    made = await use_cases.create_hook(deps, alice, room.id, "CI alerts")
    assert made.secret.startswith("th_")
    assert isinstance(uow.state.events[-1], MemberJoined)
    sender = await use_cases.hook_sender(deps, made.secret)
    posted = await use_cases.post_message(deps, sender.actor, room.id, "build failed")
    data = message_data(posted.message)
    assert (data["is_bot"], data["display_name"]) == (True, "CI alerts")
    assert [h.name for h in await use_cases.list_hooks(deps, alice, room.id)] == ["CI alerts"]
    with pytest.raises(Forbidden):  # the hook's bot posts nowhere else
        await use_cases.post_message(deps, sender.actor, room.id + 1, "elsewhere")
    await use_cases.delete_hook(deps, alice, room.id, made.hook.id)
    assert [type(e) for e in uow.state.events[-2:]] == [MemberLeft, UserDeactivated]
    with pytest.raises(NotFound) as caught:
        await use_cases.hook_sender(deps, made.secret)
    assert caught.value.code == "hook_not_found"
    with pytest.raises(NotFound):
        await use_cases.delete_hook(deps, alice, room.id, made.hook.id)
    assert await use_cases.list_hooks(deps, alice, room.id) == []
    joined = live.frames("room", room.id, "member_joined")[-1].data
    assert (joined["username"], joined["is_bot"]) == (sender.actor.username, True)
    [left] = live.frames("room", room.id, "member_left")
    assert left.data["user_id"] == sender.actor.user_id


async def test_each_bot_and_hook_action_is_audited_in_its_transaction(
        deps: ChatDeps, admin: Actor, uow: InMemoryChatUnitOfWork) -> None:
    alice = await sign_up(deps, "alice")
    room = await use_cases.create_room(deps, alice, "ops", None, False)
    bot = await use_cases.create_bot(deps, admin, "ci-bot", None)
    issued = await use_cases.create_token(deps, admin, bot.id, "ci", [f"post:{room.id}"])
    await use_cases.revoke_token(deps, admin, bot.id, issued.token.id)
    await use_cases.revoke_token(deps, admin, bot.id, issued.token.id)  # nothing new
    await use_cases.deactivate_bot(deps, admin, bot.id)
    await use_cases.deactivate_bot(deps, admin, bot.id)  # nothing new
    hook = await use_cases.create_hook(deps, alice, room.id, "CI")
    await use_cases.delete_hook(deps, alice, room.id, hook.hook.id)
    entries = [(e.actor_id, e.action, e.target_type, e.target_id, e.room_id)
               for e in uow.state.audit]
    assert entries == [
        (admin.user_id, "bot.create", "user", str(bot.id), None),
        (admin.user_id, "bot_token.create", "bot_token", str(issued.token.id), None),
        (admin.user_id, "bot_token.revoke", "bot_token", str(issued.token.id), None),
        (admin.user_id, "bot.deactivate", "user", str(bot.id), None),
        (alice.user_id, "hook.create", "hook", str(hook.hook.id), room.id),
        (alice.user_id, "hook.delete", "hook", str(hook.hook.id), room.id)]
    assert uow.state.audit[1].details == {"bot_id": bot.id, "name": "ci",
                                          "scopes": [f"post:{room.id}"]}
    # A refused action writes no entry (nor anything else).
    with pytest.raises(Invalid):
        await use_cases.create_token(deps, admin, bot.id, "ci", ["nope"])
    with pytest.raises(Forbidden):
        await use_cases.create_hook(deps, Actor(99, "mallory"), room.id, "x")
    assert len(uow.state.audit) == 6
