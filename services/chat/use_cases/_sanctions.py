"""The checks a sanction makes elsewhere: joining, being invited, signing in, a new
membership's copy of a room mute (`use_cases/moderation.py` imposes them)."""

from __future__ import annotations

from datetime import datetime

from services.chat.domain.moderation import FOREVER, Banned
from services.chat.ports import ChatTx


async def refuse_banned(tx: ChatTx, room_id: int | None, user_id: int, now: datetime) -> None:
    """Joining a room, being invited to it, signing in (room_id None): not while banned."""
    ban = await tx.sanctions.get("ban", room_id, user_id)
    if ban is not None and ban.in_force(now):
        raise Banned(ban.until, "room" if room_id is not None else "server")


async def room_mute_for(tx: ChatTx, room_id: int, user_id: int,
                        now: datetime) -> datetime | None:
    """A new membership's copy of a room mute in force (leaving and rejoining keeps it)."""
    mute = await tx.sanctions.get("mute", room_id, user_id)
    return (mute.until or FOREVER) if mute is not None and mute.in_force(now) else None
