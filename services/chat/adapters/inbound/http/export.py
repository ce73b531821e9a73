"""The export endpoints: the whole server (`/api/admin/export`), one room
(`/api/chat/rooms/{id}/export`) and one's own data (`/api/chat/me/export`), streamed as
NDJSON, or with `?files=1` as a tar archive with the files' bytes (docs/protocol.md,
Export format)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from services.chat import use_cases
from services.chat.adapters.export_stream import archive, ndjson
from services.chat.adapters.inbound.http._deps import ActorDep, ChatDep
from services.chat.adapters.inbound.service import ChatService
from services.chat.domain.export_format import ExportScope
from shared.contracts.bounds import Id

NDJSON_TYPE = "application/x-ndjson"
TAR_TYPE = "application/x-tar"
FilesFlag = Annotated[bool, Query(description="1: a tar archive with the files' bytes")]


def _response(chat: ChatService, scope: ExportScope, name: str) -> StreamingResponse:
    now = chat.deps.clock.now()
    records = use_cases.export_records(chat.deps, scope, now)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    if scope.files:
        assert chat.deps.blobs is not None
        body = archive(records, chat.deps.blobs, chat.settings.uploads_tmp_dir(),
                       now.timestamp())
        media_type, suffix = TAR_TYPE, "tar"
    else:
        body, media_type, suffix = ndjson(records), NDJSON_TYPE, "ndjson"
    return StreamingResponse(body, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="tertulia-{name}-{stamp}.{suffix}"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def export_router() -> APIRouter:
    router = APIRouter(tags=["export"])

    @router.get("/api/admin/export", response_class=StreamingResponse)
    async def export_server(who: ActorDep, chat: ChatDep, files: FilesFlag = False
                            ) -> StreamingResponse:
        """Administrators only: everything (accounts without their password hashes or
        sessions, rooms, memberships, messages with their editing history, reactions, pins,
        files, the audit log), streamed."""
        scope = await use_cases.authorize_export(chat.deps, who, "server", files=files)
        return _response(chat, scope, "server")

    @router.get("/api/chat/rooms/{room_id}/export", response_class=StreamingResponse)
    async def export_room(room_id: Id, who: ActorDep, chat: ChatDep,
                          files: FilesFlag = False) -> StreamingResponse:
        """The room's admins and the server's: the room, its members, the public records of
        everyone its content names, its messages, reactions, pins and files."""
        scope = await use_cases.authorize_export(chat.deps, who, "room", room_id=room_id,
                                                 files=files)
        return _response(chat, scope, f"room-{room_id}")

    @router.get("/api/chat/me/export", response_class=StreamingResponse)
    async def export_me(who: ActorDep, chat: ChatDep, files: FilesFlag = False
                        ) -> StreamingResponse:
        """Anyone signed in, their own data (a data-protection request): their account, the
        rooms they are in or wrote in, their memberships, messages, reactions and files."""
        scope = await use_cases.authorize_export(chat.deps, who, "user", files=files)
        return _response(chat, scope, "me")

    return router
