"""Bot accounts and their scoped tokens: administrators create bots and tokens, revoke
tokens, deactivate bots; a request carrying a token acts as its bot, within its scopes."""

from __future__ import annotations

from dataclasses import dataclass

from services.chat.domain import (
    NO_PASSWORD,
    Actor,
    Conflict,
    NotFound,
    Unauthenticated,
    User,
    validate_display_name,
    validate_username,
)
from services.chat.domain.bots import (
    BOT_TOKEN_PREFIX,
    TOKEN_NAME_MAX_CHARS,
    BotToken,
    validate_label,
    validate_scopes,
)
from services.chat.ports import ChatDeps, ChatTx, SecretDigest
from services.chat.use_cases._access import require_admin
from services.chat.use_cases.audit import record
from shared.contracts import UserDeactivated, UserRegistered


def digest_of(deps: ChatDeps) -> SecretDigest:
    assert deps.secrets is not None, "bootstrap.wire sets the secret digest"
    return deps.secrets


async def add_bot_user(deps: ChatDeps, tx: ChatTx, username: str,
                       display_name: str | None) -> User:
    """A bot's account row: `is_bot`, no password (no password verifies against it)."""
    if await tx.users.by_username(username) is not None:
        raise Conflict("username_taken", f"Username {username!r} is taken.")
    now = deps.clock.now()
    user = await tx.users.add(username, display_name, NO_PASSWORD, False, now, is_bot=True)
    await tx.outbox.add(UserRegistered(user_id=user.id, username=user.username,
                                       display_name=display_name, is_admin=False,
                                       registered_at=now), now)
    return user


async def create_bot(deps: ChatDeps, actor: Actor, username: str,
                     display_name: str | None) -> User:
    """Administrators create bot accounts: a username like anyone's, never a password (a
    bot cannot sign in; it acts with tokens)."""
    require_admin(actor)
    validate_username(username)
    display_name = validate_display_name(display_name)
    async with deps.uow.write() as tx:
        bot = await add_bot_user(deps, tx, username, display_name)
        await record(tx, bot.created_at, actor, "bot.create", "user", bot.id,
                     username=bot.username)
    return bot


async def list_bots(deps: ChatDeps, actor: Actor) -> list[User]:
    require_admin(actor)
    async with deps.uow.read() as tx:
        return await tx.bots.bots()


async def _bot(tx: ChatTx, bot_id: int, *, lock: bool = False) -> User:
    user = await tx.users.get(bot_id, lock=lock)
    if user is None or not user.is_bot or user.deleted_at is not None:
        raise NotFound("bot_not_found", f"No bot with id {bot_id}.")
    return user


async def deactivate_bot(deps: ChatDeps, actor: Actor, bot_id: int) -> User:
    """The account deactivation, for a bot: its tokens are refused from the next request
    on (every replica reads the bot's row with its token). Idempotent; reactivating is
    `POST /api/admin/users/{id}/reactivate`, as for anyone."""
    admin_id = require_admin(actor)
    async with deps.uow.write() as tx:
        bot = await _bot(tx, bot_id, lock=True)
        if bot.deactivated_at is not None:
            return bot
        now = deps.clock.now()
        bot.deactivated_at = now
        await tx.users.update_account(bot)
        await tx.outbox.add(UserDeactivated(user_id=bot.id, username=bot.username,
                                            deactivated_by=admin_id, deactivated_at=now), now)
        await record(tx, now, actor, "bot.deactivate", "user", bot.id)
    return bot


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: BotToken
    secret: str  # shown once: only its digest is stored


async def create_token(deps: ChatDeps, actor: Actor, bot_id: int, name: str,
                       scopes: list[str]) -> IssuedToken:
    """A new token of the bot with these scopes; its secret (`tb_...`) is in this answer
    only."""
    admin_id = require_admin(actor)
    name = validate_label(name, "invalid_token_name", TOKEN_NAME_MAX_CHARS)
    checked = validate_scopes(scopes)
    digest = digest_of(deps)
    secret = digest.new_secret(BOT_TOKEN_PREFIX)
    async with deps.uow.write() as tx:
        await _bot(tx, bot_id)
        token = await tx.bots.add_token(
            BotToken(0, bot_id, name, checked, deps.clock.now(), admin_id),
            digest.digest(secret))
        await record(tx, token.created_at, actor, "bot_token.create", "bot_token", token.id,
                     bot_id=bot_id, name=name, scopes=list(checked))
    return IssuedToken(token, secret)


async def list_tokens(deps: ChatDeps, actor: Actor, bot_id: int) -> list[BotToken]:
    require_admin(actor)
    async with deps.uow.read() as tx:
        await _bot(tx, bot_id)
        return await tx.bots.tokens_of(bot_id)


async def revoke_token(deps: ChatDeps, actor: Actor, bot_id: int, token_id: int) -> BotToken:
    """Refused from the next request on, on every replica (each request reads its token's
    row). Idempotent."""
    require_admin(actor)
    async with deps.uow.write() as tx:
        await _bot(tx, bot_id, lock=True)  # two revocations take turns
        found = [t for t in await tx.bots.tokens_of(bot_id) if t.id == token_id]
        if not found:
            raise NotFound("token_not_found", f"Bot {bot_id} has no token {token_id}.")
        if found[0].revoked_at is not None:
            return found[0]
        now = deps.clock.now()
        token = await tx.bots.revoke_token(bot_id, token_id, now)
        assert token is not None
        await record(tx, now, actor, "bot_token.revoke", "bot_token", token.id, bot_id=bot_id)
    return token


async def bot_actor(deps: ChatDeps, secret: str) -> Actor:
    """Who a `tb_...` token acts as: its bot, limited to its scopes. Unknown, revoked, or
    its bot deactivated → 401 `invalid_token` (the same answer for each)."""
    async with deps.uow.read() as tx:
        found = await tx.bots.by_digest(digest_of(deps).digest(secret))
    if found is None or not found[1].active:
        raise Unauthenticated("invalid_token", "Unknown or revoked bot token.")
    token, bot = found
    return Actor(bot.id, bot.username, False, is_bot=True, scopes=frozenset(token.scopes))
