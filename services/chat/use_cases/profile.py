"""Profiles: one's own (display name, status text, time zone, and telling the rooms) and
anyone's, as a profile card shows it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from services.chat.domain import (
    PROFILE_FIELDS,
    Actor,
    Frame,
    Invalid,
    NotFound,
    User,
    validate_display_name,
    validate_status_text,
    validate_time_zone,
)
from services.chat.ports import ChatDeps
from services.chat.use_cases._access import active_user, require_user
from services.chat.use_cases.word_filters import filters
from shared.contracts import UserUpdated

_RULES = {"display_name": validate_display_name, "status_text": validate_status_text,
          "time_zone": validate_time_zone}


async def update_profile(deps: ChatDeps, actor: Actor,
                         changes: Mapping[str, str | None]) -> User:
    """Any of `display_name`, `status_text`, `time_zone` (each trimmed; empty or null clears
    it). A change writes `user.updated` with the profile after it, and a `user_updated`
    frame reaches every room the user is a member of, so open pages rename them at once;
    changing nothing writes and sends nothing. A display name meets the server's word
    filters (any match, `hold` too, is 422 `content_blocked`)."""
    user_id = require_user(actor)
    unknown = sorted(set(changes) - set(PROFILE_FIELDS))
    if unknown:
        raise Invalid("unknown_profile_field", f"Not a profile field: {unknown[0]}.")
    values = {name: _RULES[name](value) for name, value in changes.items()}
    if values.get("display_name"):
        filters(deps).refuse(values["display_name"])  # the server's rules; hold = block
    async with deps.uow.write() as tx:
        user = await active_user(tx, user_id, lock=True)
        updated = replace(user, **values)
        if updated == user:
            return user
        await tx.users.update_account(updated)
        now = deps.clock.now()
        await tx.outbox.add(UserUpdated(user_id=user.id, username=user.username,
                                        display_name=updated.display_name,
                                        status_text=updated.status_text,
                                        time_zone=updated.time_zone, updated_at=now), now)
        rooms = await tx.members.rooms_of(user.id)
    # One frame per room (the rooms' own subjects, which the replicas holding their
    # sockets already follow); a page in several of them applies the same change again.
    frame = Frame("user_updated", updated, about_user=user.id)
    for room_id in rooms:
        await deps.live.to_room(room_id, frame)
    return updated


async def user_profile(deps: ChatDeps, actor: Actor, user_id: int) -> User:
    """Anyone signed in sees anyone's profile (what a profile card shows); a deleted
    account has none (`user_not_found`)."""
    require_user(actor)
    async with deps.uow.read() as tx:
        user = await tx.users.get(user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("user_not_found", f"User {user_id} not found.")
    return user
