"""What decides who is told (per-room preferences) and the log of every decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select

from services.notifications.adapters.outbound import sqla_tables as t
from services.notifications.adapters.outbound.sqla_base import SqlaStore, upsert
from services.notifications.domain import (
    DEFAULT_LEVEL,
    Decision,
    Level,
    stored_level,
)


def _decision(row: Any) -> Decision:
    return Decision(user_id=row.user_id, message_id=row.message_id, room_id=row.room_id,
                    seq=row.seq, kind=row.kind, suppressed_by=row.suppressed_by,
                    decided_at=row.decided_at, notification_id=row.notification_id)


class SqlaPreferenceStore(SqlaStore):
    async def of_user(self, user_id: int) -> dict[int, Level]:
        rows = (await self._c.execute(select(t.preferences.c.room_id, t.preferences.c.level)
                                      .where(t.preferences.c.user_id == user_id))).all()
        return {r.room_id: stored_level(r.level) for r in rows}

    async def in_room(self, room_id: int) -> dict[int, Level]:
        rows = (await self._c.execute(select(t.preferences.c.user_id, t.preferences.c.level)
                                      .where(t.preferences.c.room_id == room_id))).all()
        return {r.user_id: stored_level(r.level) for r in rows}

    async def put(self, user_id: int, room_id: int, level: Level, now: datetime,
                  default: Level = DEFAULT_LEVEL) -> None:
        if level == default:  # the room's default needs no row
            await self._c.execute(delete(t.preferences).where(
                t.preferences.c.user_id == user_id, t.preferences.c.room_id == room_id))
            return
        stmt = upsert(self._c, t.preferences).values(user_id=user_id, room_id=room_id,
                                                      level=level, updated_at=now)
        await self._c.execute(stmt.on_conflict_do_update(
            index_elements=[t.preferences.c.user_id, t.preferences.c.room_id],
            set_={"level": stmt.excluded.level, "updated_at": stmt.excluded.updated_at}))


class SqlaDecisionLog(SqlaStore):
    async def add(self, decisions: list[Decision]) -> None:
        if not decisions:
            return
        await self._c.execute(insert(t.decisions), [
            {"user_id": d.user_id, "message_id": d.message_id, "room_id": d.room_id,
             "seq": d.seq, "kind": d.kind, "suppressed_by": d.suppressed_by,
             "notification_id": d.notification_id, "decided_at": d.decided_at}
            for d in decisions])

    async def about_message(self, message_id: int) -> bool:
        d = t.decisions
        return (await self._c.execute(
            select(d.c.pk).where(d.c.message_id == message_id).limit(1))).first() is not None

    async def of_user(self, user_id: int, message_id: int | None, limit: int
                      ) -> list[Decision]:
        d = t.decisions
        query = select(d).where(d.c.user_id == user_id)
        if message_id is not None:
            query = query.where(d.c.message_id == message_id)
        rows = (await self._c.execute(query.order_by(d.c.pk.desc()).limit(limit))).all()
        return [_decision(r) for r in rows]

    async def purge(self, before: datetime) -> int:
        d = t.decisions
        return (await self._c.execute(delete(d).where(d.c.decided_at < before))).rowcount
