"""`/api/chat/files`: uploading a file (streamed, `upload_spool.py`) and downloading it or
its thumbnail, with the headers that keep a browser from running what it holds."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request, Response, status
from fastapi.responses import StreamingResponse

from services.chat import use_cases
from services.chat.adapters.frames import file_data
from services.chat.adapters.inbound.http._deps import ActorDep, ChatDep, MaybeActorDep
from services.chat.adapters.inbound.http.upload_spool import spooled_upload
from services.chat.domain.files import TEXT_TYPE
from services.chat.use_cases import Download

FILES_PATH = "/api/chat/files"
FileId = Annotated[str, Path(min_length=1, max_length=64)]
# A file is someone's bytes: never a page of ours. No script, no plugin, no same origin.
SERVING_HEADERS = {"X-Content-Type-Options": "nosniff",
                   "Content-Security-Policy": "sandbox; default-src 'none'",
                   "Cache-Control": "private, no-cache",
                   "Cross-Origin-Resource-Policy": "same-origin"}
_MULTIPART = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["file"],
               "properties": {"file": {"type": "string", "format": "binary"}}}}}}}


def content_disposition(disposition: str, name: str) -> str:
    # RFC 6266: an ASCII fallback, and the exact name percent-encoded as UTF-8.
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\%' else "_" for ch in name)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def serve(download: Download, request: Request) -> Response:
    """The file's bytes in chunks: raster images inline, anything else as a download. The
    ETag is the content's hash, so a cached copy is revalidated (and re-authorised)."""
    file = download.file
    etag = f'"{file.sha256[:32]}{"-t" if download.thumbnail else ""}"'
    headers = {**SERVING_HEADERS, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    if download.thumbnail:
        media_type = "image/webp"
        headers["Content-Disposition"] = content_disposition("inline", file.name + ".webp")
    else:
        media_type = file.content_type
        if media_type == TEXT_TYPE:
            media_type = "text/plain; charset=utf-8"
        headers["Content-Length"] = str(file.size)
        headers["Content-Disposition"] = content_disposition(
            "inline" if file.is_raster else "attachment", file.name)
    return StreamingResponse(download.chunks, media_type=media_type, headers=headers)


def files_router() -> APIRouter:
    router = APIRouter(prefix=FILES_PATH, tags=["files"])

    @router.post("", status_code=status.HTTP_201_CREATED, openapi_extra=_MULTIPART)
    async def upload(request: Request, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Upload one file (the multipart part `file`), to attach to a post afterwards
        (`attachment_ids`). Its type is read from its bytes; images get a thumbnail."""
        async with spooled_upload(request, chat.settings.uploads_tmp_dir(),
                                  chat.deps.files.max_bytes) as spooled:
            stored = await use_cases.store_upload(chat.deps, who, spooled)
        return file_data(stored)

    @router.get("/{file_id}", response_class=StreamingResponse)
    async def get_file(file_id: FileId, who: MaybeActorDep, chat: ChatDep,
                       request: Request) -> Response:
        """The file's bytes, for whoever may read its message (its uploader, before)."""
        return serve(await use_cases.download(chat.deps, who, file_id), request)

    @router.get("/{file_id}/thumbnail", response_class=StreamingResponse)
    async def get_thumbnail(file_id: FileId, who: MaybeActorDep, chat: ChatDep,
                            request: Request) -> Response:
        """An image's thumbnail (WebP, at most `CHAT_FILES_THUMBNAIL_PX` a side)."""
        return serve(await use_cases.download(chat.deps, who, file_id, thumbnail=True),
                     request)

    return router
