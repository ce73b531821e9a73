"""Live server settings: administrators read and change them; every replica reads them
through its own short cache (`ChatDeps.live_settings`, `CHAT_SETTINGS_CACHE_SECS`), so a
change reaches every replica within that long, with no event and no restart."""

from __future__ import annotations

from typing import Any

from services.chat.domain import Actor
from services.chat.domain.admin import ServerSettings, apply_changes, stored_settings
from services.chat.ports import ChatDeps, ChatTx
from services.chat.use_cases._access import require_admin
from services.chat.use_cases.audit import record


async def settings_in(deps: ChatDeps, tx: ChatTx) -> ServerSettings:
    """The settings as this transaction sees them (no cache)."""
    return stored_settings(deps.live_settings.defaults, await tx.server_settings.all())


async def current_settings(deps: ChatDeps) -> ServerSettings:
    """The settings as this replica knows them: read again once the cached copy is older
    than `CHAT_SETTINGS_CACHE_SECS` (one small query per replica per that long, whatever the
    traffic)."""
    now = deps.clock.now()
    live = deps.live_settings
    cached = live.fresh(now)
    if cached is not None:
        return cached
    if live.value is not None:
        # Posts arriving while this one reads use the copy there is: one read, not a herd.
        live.keep(live.value, now)
    async with deps.uow.read() as tx:
        value = await settings_in(deps, tx)
    live.keep(value, now)
    return value


async def read_settings(deps: ChatDeps, actor: Actor) -> ServerSettings:
    """Administrators only: the settings as stored now."""
    require_admin(actor)
    async with deps.uow.read() as tx:
        return await settings_in(deps, tx)


async def update_settings(deps: ChatDeps, actor: Actor, changes: dict[str, Any]
                          ) -> ServerSettings:
    """Administrators only. Every change is checked before any is written (an unknown
    name or a bad value changes nothing); this replica uses the new settings at once, the
    others within `CHAT_SETTINGS_CACHE_SECS`."""
    admin_id = require_admin(actor)
    async with deps.uow.write() as tx:
        before = await settings_in(deps, tx)
        after = apply_changes(before, changes)
        now = deps.clock.now()
        values = after.as_dict()
        changed = {name: values[name] for name in changes}
        await tx.server_settings.put(changed, admin_id, now)
        await record(tx, now, actor, "settings.update", "settings", None, **changed)
    deps.live_settings.keep(after, now)
    return after
