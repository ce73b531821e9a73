"""Incoming webhooks: a room's admins create and delete them; whoever holds a hook's secret
URL posts into its room as the hook's own bot (a member of the room, named after it)."""

from __future__ import annotations

import secrets as random
from dataclasses import dataclass

from services.chat.domain import (
    Actor,
    Forbidden,
    Frame,
    Member,
    NotFound,
    Room,
    is_room_admin,
    refuse_in_dm,
    shown_name,
)
from services.chat.domain.bots import HOOK_NAME_MAX_CHARS, HOOK_SECRET_PREFIX, Hook, validate_label
from services.chat.ports import ChatDeps, ChatTx
from services.chat.use_cases._access import require_user, visible_room
from services.chat.use_cases.audit import record
from services.chat.use_cases.bots import add_bot_user, digest_of
from services.chat.use_cases.membership import joined_event
from shared.contracts import MemberLeft, UserDeactivated


async def _room_admin(tx: ChatTx, actor: Actor, room_id: int) -> Room:
    room, member = await visible_room(tx, actor, room_id)
    refuse_in_dm(room, "update")
    if not is_room_admin(actor, member):
        raise Forbidden("forbidden", "Only the room's admins manage its hooks.")
    return room


@dataclass(frozen=True, slots=True)
class CreatedHook:
    hook: Hook
    secret: str  # shown once: only its digest is stored


async def create_hook(deps: ChatDeps, actor: Actor, room_id: int, name: str) -> CreatedHook:
    """Room admins (and server admins) add a hook: a bot account of its own (username
    `hook-<random>`, display name the hook's name) joins the room, and the secret of the
    hook's URL is in this answer only."""
    admin_id = require_user(actor)
    name = validate_label(name, "invalid_hook_name", HOOK_NAME_MAX_CHARS)
    digest = digest_of(deps)
    secret = digest.new_secret(HOOK_SECRET_PREFIX)
    async with deps.uow.write() as tx:
        room = await _room_admin(tx, actor, room_id)
        bot = await add_bot_user(deps, tx, f"hook-{random.token_hex(6)}", name)
        now = deps.clock.now()
        member = Member(room_id, bot.id, bot.username, "member", now, read_seq=room.last_seq,
                        display_name=name, is_bot=True)
        await tx.members.add(member)
        await tx.outbox.add(joined_event(member, admin_id), now)
        hook = await tx.hooks.add(Hook(0, room_id, bot.id, name, now, admin_id),
                                  digest.digest(secret))
        await record(tx, now, actor, "hook.create", "hook", hook.id, room_id=room_id,
                     name=name, bot_id=bot.id)
    await deps.live.to_room(room_id, Frame("member_joined", member))
    return CreatedHook(hook, secret)


async def list_hooks(deps: ChatDeps, actor: Actor, room_id: int) -> list[Hook]:
    require_user(actor)
    async with deps.uow.read() as tx:
        await _room_admin(tx, actor, room_id)
        return await tx.hooks.of_room(room_id)


async def delete_hook(deps: ChatDeps, actor: Actor, room_id: int, hook_id: int) -> Hook:
    """Its URL answers 404 from the next request on; its bot leaves the room and is
    deactivated (its messages stay, under its name)."""
    admin_id = require_user(actor)
    async with deps.uow.write() as tx:
        await _room_admin(tx, actor, room_id)
        now = deps.clock.now()
        hook = await tx.hooks.delete(room_id, hook_id, now)
        if hook is None:
            raise NotFound("hook_not_found", f"Room {room_id} has no hook {hook_id}.")
        bot = await tx.users.get(hook.bot_id, lock=True)
        assert bot is not None
        member = await tx.members.get(room_id, bot.id)
        if member is not None:
            await tx.members.remove(room_id, bot.id)
            await tx.outbox.add(MemberLeft(room_id=room_id, user_id=bot.id,
                                           username=bot.username, reason="kicked",
                                           removed_by=admin_id, left_at=now), now)
        if bot.deactivated_at is None:
            bot.deactivated_at = now
            await tx.users.update_account(bot)
            await tx.outbox.add(UserDeactivated(user_id=bot.id, username=bot.username,
                                                deactivated_by=admin_id,
                                                deactivated_at=now), now)
        await record(tx, now, actor, "hook.delete", "hook", hook.id, room_id=room_id,
                     name=hook.name)
    if member is not None:
        await deps.live.to_room(room_id, Frame(
            "member_left", {"room_id": room_id, "user_id": bot.id, "username": bot.username,
                            "display_name": shown_name(bot.username, bot.display_name),
                            "reason": "kicked"}, about_user=bot.id))
    return hook


@dataclass(frozen=True, slots=True)
class HookSender:
    hook: Hook
    actor: Actor  # the hook's bot, allowed to post in the hook's room only


async def hook_sender(deps: ChatDeps, secret: str) -> HookSender:
    """Who posts for a hook URL's secret. Unknown and deleted hooks get the same 404."""
    async with deps.uow.read() as tx:
        hook = await tx.hooks.by_digest(digest_of(deps).digest(secret))
        bot = await tx.users.get(hook.bot_id) if hook is not None else None
    if hook is None or bot is None or not bot.active:
        raise NotFound("hook_not_found", "No such hook.")
    return HookSender(hook, Actor(bot.id, bot.username, False, is_bot=True,
                                  scopes=frozenset({f"post:{hook.room_id}"})))
