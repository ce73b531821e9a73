"""Exporting: who may export what (the server: administrators; a room: its admins and the
server's; their own data: anyone signed in), and the stream itself, a header, the records
and an end line with the counts (docs/protocol.md, Export format)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from services.chat.domain import Actor, Forbidden, NotFound, is_room_admin
from services.chat.domain.export_format import ExportScope, Scope, end, header
from services.chat.ports import ChatDeps
from services.chat.use_cases._access import require_admin, require_user, room_not_found
from services.chat.use_cases.audit import record as audit_record


def export_unavailable() -> NotFound:
    return NotFound("export_unavailable", "This server does not export.")


async def authorize_export(deps: ChatDeps, actor: Actor, kind: Scope, *,
                           room_id: int | None = None, files: bool = False) -> ExportScope:
    """The scope `actor` may export, checked before a byte is sent: the server's for
    administrators (403 `forbidden`), a room's for its admins and the server's (a room the
    caller cannot see is 404 `room_not_found`; one they only read, 403), their own data for
    anyone signed in (401 otherwise). `files` asks for an archive with the files' bytes.
    Audited (`export.run`) before the stream's snapshot begins, so it holds its own entry."""
    scope = await _allowed(deps, actor, kind, room_id, files)
    target = scope.room_id if scope.kind == "room" else scope.user_id
    async with deps.uow.write() as tx:
        await audit_record(tx, deps.clock.now(), actor, "export.run", scope.kind, target,
                     room_id=scope.room_id, files=files)
    return scope


async def _allowed(deps: ChatDeps, actor: Actor, kind: Scope, room_id: int | None,
                   files: bool) -> ExportScope:
    if deps.exports is None or (files and deps.blobs is None):
        raise export_unavailable()
    if kind == "server":
        require_admin(actor)
        return ExportScope("server", files=files, audit=True)
    user_id = require_user(actor)
    if kind == "user":
        return ExportScope("user", user_id=user_id, files=files)
    assert room_id is not None
    async with deps.uow.read() as tx:
        room, member = await tx.rooms.with_member(room_id, user_id)
    if room is None or (room.is_private and member is None and not actor.is_admin):
        raise room_not_found(room_id)
    if not is_room_admin(actor, member):
        raise Forbidden("forbidden", "Only the room's administrators export it.")
    return ExportScope("room", room_id=room_id, files=files)


async def export_records(deps: ChatDeps, scope: ExportScope, now: datetime
                         ) -> AsyncIterator[dict[str, Any]]:
    """The whole stream, record by record: the header, what the scope holds, the end."""
    if deps.exports is None:
        raise export_unavailable()
    yield header(scope, now)
    counts: Counter[str] = Counter()
    async for record in deps.exports.records(scope):
        counts[record["type"]] += 1
        yield record
    yield end(counts)
