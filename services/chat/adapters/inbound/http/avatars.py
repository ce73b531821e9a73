"""Avatars over HTTP: `PUT`/`DELETE /api/auth/me/avatar` (multipart field `file`, streamed
by `upload_spool.py`) and `GET /api/chat/users/{id}/avatar`; `with_avatar` adds
`avatar_url` (`adapters/frames.py`) to other JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import StreamingResponse

from services.chat import use_cases
from services.chat.adapters.frames import avatar_url
from services.chat.adapters.inbound.http._deps import ActorDep, ChatDep, user_data
from services.chat.adapters.inbound.http.upload_spool import spooled_upload
from services.chat.adapters.inbound.service import ChatService
from services.chat.domain import NotFound
from shared.contracts.bounds import Id

# Served from a path that cannot run script on the app origin's pages.
SERVING_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Content-Disposition": 'inline; filename="avatar.png"',
    "Cross-Origin-Resource-Policy": "same-origin",
}


def with_avatar(data: dict[str, Any], user_id: int, avatars: Mapping[int, str]) -> dict[str, Any]:
    return {**data, "avatar_url": avatar_url(user_id, avatars.get(user_id))}


async def me_with_avatar(chat: ChatService, user: Any) -> dict[str, Any]:
    """`/api/auth/me`'s user: `user_data` and its `avatar_url`."""
    return with_avatar(user_data(user), user.id, await use_cases.avatar_ids(chat.deps, [user.id]))


def avatars_router() -> APIRouter:
    router = APIRouter(tags=["avatars"])

    @router.put("/api/auth/me/avatar")
    async def put_avatar(request: Request, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Your avatar from an image (multipart field `file`: PNG, JPEG, GIF or WebP),
        cropped to its centred square, 256 x 256: your user with `avatar_url`. The one it
        replaces is deleted. 413 `file_too_large`; 422 `file_missing`, `file_empty`,
        `content_type_mismatch` (not such an image), `image_too_large` (too many pixels)."""
        async with spooled_upload(request, chat.settings.uploads_tmp_dir(),
                                  chat.deps.files.max_bytes) as upload:
            user, file_id = await use_cases.set_avatar(chat.deps, who, upload)
        return {**user_data(user), "avatar_url": avatar_url(user.id, file_id)}

    @router.delete("/api/auth/me/avatar", status_code=status.HTTP_204_NO_CONTENT)
    async def delete_avatar(who: ActorDep, chat: ChatDep) -> None:
        """No avatar: the page draws your initials (204 also when there was none)."""
        await use_cases.remove_avatar(chat.deps, who)

    @router.get("/api/chat/users/{user_id}/avatar")
    async def get_avatar(user_id: Id, request: Request, who: ActorDep,
                         chat: ChatDep) -> Response:
        """A user's avatar (a PNG), for anyone signed in; 404 `avatar_not_found`. With the
        `?v=` of its `avatar_url` it may be cached for good."""
        file = await use_cases.avatar_file(chat.deps, who, user_id)
        etag = f'"{file.id}"'
        current = request.query_params.get("v") == file.id
        headers = {**SERVING_HEADERS, "ETag": etag, "Cache-Control":
                   "private, max-age=31536000, immutable" if current else "private, no-cache"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
        blobs = chat.deps.blobs
        chunks = await blobs.open(file.id) if blobs is not None else None
        if chunks is None:
            raise NotFound("avatar_not_found", f"User {user_id}'s avatar is missing.")
        return StreamingResponse(chunks, media_type=file.content_type,
                                 headers={**headers, "Content-Length": str(file.size)})

    return router

