"""In-memory stand-ins for the moderation ports (audit log, sanctions, reports), like the
SQLAlchemy ones."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from services.chat.domain import Conflict
from services.chat.domain.audit import AuditEntry
from services.chat.domain.moderation import FOREVER, Sanction, SanctionKind
from services.chat.domain.reports import Report, ReportStatus
from tests.support.memory_uow import MemoryStore


class InMemoryAuditLog(MemoryStore[Any]):
    async def add(self, entry: AuditEntry) -> None:
        self._writing()
        entry.id = self._state.next_id("chat_audit")
        self._state.audit.append(replace(entry, details=dict(entry.details),
                                         actor_username=None))

    async def page(self, *, before_id: int | None, limit: int, action: str | None = None,
                   actor_id: int | None = None, room_id: int | None = None
                   ) -> list[AuditEntry]:
        users = self._state.users
        found = [e for e in reversed(self._state.audit)
                 if (before_id is None or e.id < before_id)  # type: ignore[operator]
                 and (action is None or e.action == action)
                 and (actor_id is None or e.actor_id == actor_id)
                 and (room_id is None or e.room_id == room_id)]
        return [replace(e, details=dict(e.details),
                        actor_username=users[e.actor_id].username
                        if e.actor_id in users else None) for e in found[:limit]]


class InMemorySanctionStore(MemoryStore[Any]):
    """`chat_sanctions` keyed (kind, room_id or 0, user_id), with the mute's copies."""

    def _key(self, kind: str, room_id: int | None, user_id: int) -> tuple[str, int, int]:
        return (kind, room_id or 0, user_id)

    async def put(self, sanction: Sanction) -> None:
        self._writing()
        if sanction.user_id not in self._state.users:
            raise AssertionError("FOREIGN KEY chat_sanctions.user_id")
        self._state.sanctions[self._key(sanction.kind, sanction.room_id, sanction.user_id)] = (
            replace(sanction, username=None))
        if sanction.kind == "mute":
            self._mirror(sanction.room_id, sanction.user_id, sanction.until or FOREVER)

    async def remove(self, kind: SanctionKind, room_id: int | None,
                     user_id: int) -> Sanction | None:
        self._writing()
        found = self._state.sanctions.pop(self._key(kind, room_id, user_id), None)
        if found is not None and kind == "mute":
            self._mirror(room_id, user_id, None)
        return replace(found) if found else None

    def _mirror(self, room_id: int | None, user_id: int, until: datetime | None) -> None:
        if room_id is None:
            self._state.users[user_id].muted_until = until
        elif (member := self._state.members.get((room_id, user_id))) is not None:
            member.muted_until = until

    async def get(self, kind: SanctionKind, room_id: int | None,
                  user_id: int) -> Sanction | None:
        found = self._state.sanctions.get(self._key(kind, room_id, user_id))
        return replace(found) if found else None

    async def in_force(self, kind: SanctionKind, room_id: int | None,
                       now: datetime) -> list[Sanction]:
        found = [replace(s, username=self._state.users[s.user_id].username)
                 for (k, r, _), s in self._state.sanctions.items()
                 if k == kind and r == (room_id or 0) and s.in_force(now)]
        return sorted(found, key=lambda s: (s.created_at, s.user_id))


class InMemoryReportStore(MemoryStore[Any]):
    async def add(self, report: Report) -> None:
        self._writing()
        if any(r.status == "open" and r.reporter_id == report.reporter_id
               and r.message_id == report.message_id for r in self._state.reports.values()):
            raise Conflict("already_reported", "You have an open report of this message already.")
        report.id = self._state.next_id("chat_reports")
        self._state.reports[report.id] = replace(report, message=None, reporter_username=None)

    async def get(self, report_id: int) -> Report | None:
        found = self._state.reports.get(report_id)
        return replace(found) if found else None

    async def resolve(self, report: Report) -> bool:
        self._writing()
        stored = self._state.reports.get(report.id)
        if stored is None or stored.status != "open":
            return False
        self._state.reports[report.id] = replace(report, status="resolved", message=None,
                                                 reporter_username=None)
        return True

    async def page(self, *, status: ReportStatus, room_id: int | None,
                   moderated_by: int | None, before_id: int | None,
                   limit: int) -> list[Report]:
        state = self._state
        found = []
        for report in sorted(state.reports.values(), key=lambda r: -r.id):
            member = state.members.get((report.room_id, moderated_by))
            if (report.status != status or (room_id is not None and report.room_id != room_id)
                    or (before_id is not None and report.id >= before_id)
                    or (moderated_by is not None
                        and (member is None or member.role not in ("admin", "moderator")))):
                continue
            message = state.messages.get(report.message_id)
            author = state.users.get(message.user_id) if message and message.user_id else None
            found.append(replace(
                report, reporter_username=state.users[report.reporter_id].username,
                message=replace(message, mentions=[],
                                display_name=author.display_name if author else None)
                if message else None))
        return found[:limit]

    async def audience(self, room_id: int) -> list[int]:
        state = self._state
        return sorted({u for (r, u), m in state.members.items()
                       if r == room_id and m.role in ("admin", "moderator")}
                      | {u.id for u in state.users.values() if u.is_admin and u.active})
