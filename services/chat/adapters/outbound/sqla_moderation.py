"""SQLAlchemy stores of moderation: mutes and bans (`chat_sanctions`, with the hot path's
copies of a mute's end) and reports (`chat_reports`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from services.chat.adapters.outbound.sqla_messages import _WITH_AUTHOR, _message
from services.chat.adapters.outbound.sqla_tables import (
    chat_messages,
    chat_reports,
    chat_sanctions,
    room_members,
    users,
)
from services.chat.domain import Conflict
from services.chat.domain.moderation import FOREVER, Sanction, SanctionKind
from services.chat.domain.reports import Report, ReportStatus

SERVER = 0  # chat_sanctions.room_id of a server-wide sanction


def _sanction(row: Any) -> Sanction:
    return Sanction(row.kind, row.user_id, row.room_id or None, row.until, row.reason,
                    row.created_by, row.created_at, getattr(row, "username", None))


class SqlaSanctionStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def put(self, sanction: Sanction) -> None:
        scope = sanction.room_id or SERVER
        await self._s.execute(delete(chat_sanctions).where(
            chat_sanctions.c.kind == sanction.kind, chat_sanctions.c.room_id == scope,
            chat_sanctions.c.user_id == sanction.user_id))
        await self._s.execute(insert(chat_sanctions).values(
            kind=sanction.kind, room_id=scope, user_id=sanction.user_id, until=sanction.until,
            reason=sanction.reason, created_by=sanction.created_by,
            created_at=sanction.created_at))
        if sanction.kind == "mute":
            await self._mirror(sanction.room_id, sanction.user_id, sanction.until or FOREVER)

    async def remove(self, kind: SanctionKind, room_id: int | None,
                     user_id: int) -> Sanction | None:
        found = await self.get(kind, room_id, user_id)
        if found is None:
            return None
        await self._s.execute(delete(chat_sanctions).where(
            chat_sanctions.c.kind == kind, chat_sanctions.c.room_id == (room_id or SERVER),
            chat_sanctions.c.user_id == user_id))
        if kind == "mute":
            await self._mirror(room_id, user_id, None)
        return found

    async def _mirror(self, room_id: int | None, user_id: int,
                      until: datetime | None) -> None:
        """The copy the post path reads with what it reads anyway."""
        if room_id is None:
            await self._s.execute(update(users).where(users.c.id == user_id)
                                  .values(muted_until=until))
        else:
            await self._s.execute(update(room_members).where(
                room_members.c.room_id == room_id, room_members.c.user_id == user_id,
            ).values(muted_until=until))

    async def get(self, kind: SanctionKind, room_id: int | None,
                  user_id: int) -> Sanction | None:
        row = (await self._s.execute(select(chat_sanctions).where(
            chat_sanctions.c.kind == kind, chat_sanctions.c.room_id == (room_id or SERVER),
            chat_sanctions.c.user_id == user_id))).first()
        return _sanction(row) if row else None

    async def in_force(self, kind: SanctionKind, room_id: int | None,
                       now: datetime) -> list[Sanction]:
        rows = (await self._s.execute(
            select(chat_sanctions, users.c.username)
            .join(users, users.c.id == chat_sanctions.c.user_id)
            .where(chat_sanctions.c.kind == kind,
                   chat_sanctions.c.room_id == (room_id or SERVER),
                   or_(chat_sanctions.c.until.is_(None), chat_sanctions.c.until > now))
            .order_by(chat_sanctions.c.created_at, chat_sanctions.c.user_id))).all()
        return [_sanction(r) for r in rows]


_REPORTER = users.alias("reporter")


def _report(row: Any, with_message: bool = False) -> Report:
    report = Report(row.id, row.message_id, row.room_id, row.reporter_id, row.reason,
                    row.status, row.created_at, row.resolved_at, row.resolved_by,
                    row.resolution, row.note)
    if with_message:
        report.reporter_username = row.reporter_username
    return report


def open_key(reporter_id: int, message_id: int) -> str:
    return f"{reporter_id}:{message_id}"


class SqlaReportStore:
    def __init__(self, session: AsyncConnection) -> None:
        self._s = session

    async def add(self, report: Report) -> None:
        try:
            result = await self._s.execute(insert(chat_reports).values(
                message_id=report.message_id, room_id=report.room_id,
                reporter_id=report.reporter_id, reason=report.reason, status="open",
                created_at=report.created_at,
                open_key=open_key(report.reporter_id, report.message_id),
            ).returning(chat_reports.c.id))
        except IntegrityError as exc:
            raise Conflict("already_reported",
                           "You have an open report of this message already.") from exc
        report.id = result.scalar_one()

    async def get(self, report_id: int) -> Report | None:
        # SQLite: this write transaction holds the write lock; PostgreSQL: the row's.
        row = (await self._s.execute(select(chat_reports).where(
            chat_reports.c.id == report_id).with_for_update())).first()
        return _report(row) if row else None

    async def resolve(self, report: Report) -> bool:
        """Mark it resolved; False when another resolution got there first."""
        result = await self._s.execute(update(chat_reports).where(
            chat_reports.c.id == report.id, chat_reports.c.status == "open").values(
            status="resolved", resolved_at=report.resolved_at, resolved_by=report.resolved_by,
            resolution=report.resolution, note=report.note, open_key=None))
        return bool(result.rowcount)

    async def page(self, *, status: ReportStatus, room_id: int | None,
                   moderated_by: int | None, before_id: int | None,
                   limit: int) -> list[Report]:
        """Newest first, each with its message (and author) and its reporter's username.
        With `moderated_by`, only rooms where that user is a moderator or admin."""
        query = (select(chat_reports, _REPORTER.c.username.label("reporter_username"))
                 .join(_REPORTER, _REPORTER.c.id == chat_reports.c.reporter_id)
                 .where(chat_reports.c.status == status)
                 .order_by(chat_reports.c.id.desc()).limit(limit))
        if room_id is not None:
            query = query.where(chat_reports.c.room_id == room_id)
        if before_id is not None:
            query = query.where(chat_reports.c.id < before_id)
        if moderated_by is not None:
            query = query.join(room_members, and_(
                room_members.c.room_id == chat_reports.c.room_id,
                room_members.c.user_id == moderated_by,
                room_members.c.role.in_(("admin", "moderator"))))
        reports = [_report(r, with_message=True)
                   for r in (await self._s.execute(query)).all()]
        ids = sorted({r.message_id for r in reports})
        if ids:
            messages = {m.id: m for m in (_message(row) for row in (await self._s.execute(
                _WITH_AUTHOR.where(chat_messages.c.id.in_(ids)))).all())}
            for report in reports:
                report.message = messages.get(report.message_id)
        return reports

    async def audience(self, room_id: int) -> list[int]:
        """Who hears of the room's reports: its moderators and admins, and every active
        server administrator."""
        moderators = select(room_members.c.user_id).where(
            room_members.c.room_id == room_id, room_members.c.role.in_(("admin", "moderator")))
        rows = (await self._s.execute(select(users.c.id).where(
            or_(users.c.id.in_(moderators),
                and_(users.c.is_admin.is_(True), users.c.deactivated_at.is_(None),
                     users.c.deleted_at.is_(None)))).order_by(users.c.id))).all()
        return [r.id for r in rows]
