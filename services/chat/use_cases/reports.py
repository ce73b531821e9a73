"""Reports of messages: a reader flags a message; the room's moderators and the
administrators see the queue live and resolve each report with one action, applied in the
same transaction as the resolution."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.chat.domain import Actor, Conflict, Forbidden, Frame, Invalid, NotFound, is_moderator
from services.chat.domain.moderation import validate_sanction
from services.chat.domain.reports import (
    Report,
    validate_report,
    validate_report_page,
    validate_resolution,
)
from services.chat.ports import ChatDeps
from services.chat.use_cases._access import require_user
from services.chat.use_cases.audit import record
from services.chat.use_cases.messages import delete_in, visible_message
from services.chat.use_cases.moderation import Imposed, announce, impose_in


async def report_message(deps: ChatDeps, actor: Actor, message_id: int, reason: str) -> Report:
    """Whoever may read a message may report it, with a reason, once while the report is
    open; not their own, not a deleted one. The room's moderators and the administrators
    connected hear `report_created`."""
    user_id = require_user(actor)
    async with deps.uow.write() as tx:
        message = await visible_message(tx, actor, message_id)
        reason = validate_report(message, actor, reason)
        report = Report(None, message.id, message.room_id, user_id, reason, "open",
                        deps.clock.now())
        await tx.reports.add(report)
        audience = await tx.reports.audience(message.room_id)
    report.message, report.reporter_username = message, actor.username
    await _tell(deps, audience, Frame("report_created", report))
    return report


async def _tell(deps: ChatDeps, user_ids: list[int], frame: Frame) -> None:
    for user_id in user_ids:
        await deps.live.to_user(user_id, frame)


@dataclass(frozen=True, slots=True)
class ReportPage:
    reports: list[Report]
    next_before_id: int | None


async def report_queue(deps: ChatDeps, actor: Actor, *, status: str = "open",
                       room_id: int | None = None, before_id: int | None = None,
                       limit: int = 50) -> ReportPage:
    """Newest first: every room's for administrators, the rooms they moderate for
    moderators (nothing for anyone else)."""
    user_id = require_user(actor)
    valid_status = validate_report_page(status, limit)
    async with deps.uow.read() as tx:
        rows = await tx.reports.page(status=valid_status, room_id=room_id,
                                     moderated_by=None if actor.is_admin else user_id,
                                     before_id=before_id, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return ReportPage(rows, rows[-1].id if more and rows else None)


async def resolve_report(deps: ChatDeps, actor: Actor, report_id: int, action: str, *,
                         note: str | None = None, until: datetime | None = None) -> Report:
    """The room's moderators (and administrators) resolve an open report: `dismiss`;
    `delete` the message; `warn` its author (a `moderation_updated` frame of kind `warn`);
    `mute` or `ban` the author in the room (until `until`, or until lifted). The action and
    the resolution commit together (audited `report.resolve`, and the action's own entry);
    a second resolution gets 409 `report_resolved`."""
    require_user(actor)
    valid_action, note = validate_resolution(action, note)
    now = deps.clock.now()
    if valid_action in ("mute", "ban"):
        _, until, _ = validate_sanction(valid_action, until, None, now)
    elif until is not None:
        raise Invalid("invalid_until", "until goes with mute or ban.")
    imposed: Imposed | None = None
    async with deps.uow.write() as tx:
        report = await tx.reports.get(report_id)
        if report is None:
            raise NotFound("report_not_found", f"Report {report_id} not found.")
        _, member = await tx.rooms.with_member(report.room_id, actor.user_id)
        if not is_moderator(actor, member):
            raise Forbidden("forbidden", "Only the room's moderators resolve its reports.")
        if report.status != "open":
            raise Conflict("report_resolved", "This report is resolved already.")
        message = await tx.messages.get(report.message_id)
        assert message is not None  # a report goes with its message (ON DELETE CASCADE)
        deleted = False
        if valid_action == "delete" and not message.is_deleted:
            await delete_in(tx, now, actor, message)
            deleted = True
        elif valid_action in ("mute", "ban"):
            if message.user_id is None:
                raise Invalid("author_gone", "The message's author no longer exists.")
            imposed = await impose_in(tx, deps, now, actor, valid_action,  # type: ignore[arg-type]
                                      message.user_id, report.room_id, until,
                                      note or report.reason)
        report.status, report.resolved_at = "resolved", now
        report.resolved_by, report.resolution, report.note = actor.user_id, valid_action, note
        if not await tx.reports.resolve(report):
            raise Conflict("report_resolved", "This report is resolved already.")
        await record(tx, now, actor, "report.resolve", "report", report.id,
                     room_id=report.room_id, reason=note, resolution=valid_action,
                     message_id=message.id, author_id=message.user_id)
        audience = await tx.reports.audience(report.room_id)
    report.message = message
    if imposed is not None:
        await announce(deps, imposed)
    if deleted:
        await deps.live.to_room(message.room_id, Frame("message_deleted", message))
    if valid_action == "warn" and message.user_id is not None:
        await deps.live.to_user(message.user_id, Frame("moderation_updated", warning_data(
            report, note)))
    await _tell(deps, audience, Frame("report_resolved", report))
    return report


def warning_data(report: Report, note: str | None) -> dict[str, Any]:
    return {"kind": "warn", "user_id": report.message.user_id if report.message else None,
            "room_id": report.room_id, "scope": "room", "message_id": report.message_id,
            "until": None, "reason": note, "active": True}
