"""Word filters: server admins keep the server's rules, room admins their room's; every
post, edit, room name and display name is checked against them before it is stored, in
memory (`WordFilterCache`), with no database read."""

from __future__ import annotations

import logging

from services.chat.domain import Actor, Conflict, Forbidden, Invalid, NotFound, is_room_admin
from services.chat.domain.word_filter import (
    EMPTY_FILTERS,
    RULES_MAX_PER_SCOPE,
    FilterSet,
    WordFilterRule,
    pattern_key,
    validate_rule,
)
from services.chat.ports import ChatDeps, ChatTx
from services.chat.use_cases._access import require_admin, require_user, visible_room
from services.chat.use_cases.audit import record

log = logging.getLogger(__name__)


def filters(deps: ChatDeps) -> FilterSet:
    """This replica's compiled rules (no I/O)."""
    return deps.word_filters.current() if deps.word_filters is not None else EMPTY_FILTERS


async def _apply_here(deps: ChatDeps) -> None:
    """This replica applies a committed change at once; if reading the rules fails now, the
    change stands all the same and the cache's next poll applies it."""
    if deps.word_filters is None:
        return
    try:
        await deps.word_filters.refresh()
    except Exception as exc:
        log.warning("word filters not refreshed after a change",
                    extra={"fields": {"error": repr(exc)}})


async def _require_scope_admin(tx: ChatTx, actor: Actor, room_id: int | None) -> None:
    if room_id is None:
        require_admin(actor)
        return
    require_user(actor)
    _room, member = await visible_room(tx, actor, room_id)
    if not is_room_admin(actor, member):
        raise Forbidden("not_room_admin", "Only the room's admins can change its word filters.")


async def list_word_filters(deps: ChatDeps, actor: Actor,
                            room_id: int | None = None) -> list[WordFilterRule]:
    """The server's rules (server admins) or a room's (its admins, and server admins)."""
    async with deps.uow.read() as tx:
        await _require_scope_admin(tx, actor, room_id)
        return await tx.word_filters.live(room_id)


async def add_word_filter(deps: ChatDeps, actor: Actor, pattern: str, action: str,
                          room_id: int | None = None) -> WordFilterRule:
    """A pattern is whole words (case and accents ignored; `*` ends a word as a suffix
    wildcard), 422 `invalid_word_filter` otherwise; the same pattern twice in a scope is
    409 `word_filter_exists`; at most `RULES_MAX_PER_SCOPE` per scope (422
    `too_many_word_filters`). Audited (`word_filter.add`) in the same transaction; this
    replica applies it at once, the others within the cache's refresh interval."""
    user_id = require_user(actor)
    pattern, checked_action = validate_rule(pattern, action)
    key = pattern_key(pattern)
    async with deps.uow.write() as tx:
        await _require_scope_admin(tx, actor, room_id)
        existing = await tx.word_filters.live(room_id)
        if any(pattern_key(rule.pattern) == key for rule in existing):
            raise Conflict("word_filter_exists", "That pattern is already a rule here.")
        if len(existing) >= RULES_MAX_PER_SCOPE:
            raise Invalid("too_many_word_filters",
                          f"At most {RULES_MAX_PER_SCOPE} word filters per scope.")
        now = deps.clock.now()
        rule = await tx.word_filters.add(WordFilterRule(0, room_id, pattern, checked_action,
                                                        user_id, now))
        await record(tx, now, actor, "word_filter.add", "word_filter", rule.id,
                     room_id=room_id, pattern=pattern, rule_action=checked_action)
    await _apply_here(deps)
    return rule


async def remove_word_filter(deps: ChatDeps, actor: Actor, rule_id: int,
                             room_id: int | None = None) -> None:
    """Only a rule of that scope (404 `word_filter_not_found` otherwise). Audited
    (`word_filter.remove`) in the same transaction."""
    async with deps.uow.write() as tx:
        await _require_scope_admin(tx, actor, room_id)
        now = deps.clock.now()
        rule = await tx.word_filters.remove(rule_id, room_id, now)
        if rule is None:
            raise NotFound("word_filter_not_found", f"Word filter {rule_id} not found.")
        await record(tx, now, actor, "word_filter.remove", "word_filter", rule.id,
                     room_id=room_id, pattern=rule.pattern, rule_action=rule.action)
    await _apply_here(deps)
