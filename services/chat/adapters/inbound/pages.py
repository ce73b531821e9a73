"""`/`: the chat page, `/admin`: the administration page, and their assets under `/static`
(no build step, nothing from a CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
STATIC_PATH = "/static"
# Only our own files run, and data comes only from this origin. CSP Level 3 lets 'self'
# cover ws:/wss: to the page's own host, so the socket needs no wider rule.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; manifest-src 'self'; form-action 'none'; "
        "frame-ancestors 'none'; base-uri 'none'"),
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
ASSET_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


class PageAssets(StaticFiles):
    """Scripts and styles only: the page itself is served at `/`, with its headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path.endswith(".html"):
            raise HTTPException(status_code=404)
        response = await super().get_response(path, scope)
        response.headers.update(ASSET_HEADERS)
        return response


def install_pages(app: FastAPI) -> None:
    router = APIRouter(include_in_schema=False)

    @router.api_route("/", methods=["GET", "HEAD"])
    async def page() -> FileResponse:
        # Public: the page signs in through /api/auth and everything else needs the cookie.
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html",
                            headers=PAGE_HEADERS)

    @router.api_route("/admin", methods=["GET", "HEAD"])
    async def admin_page() -> FileResponse:
        # Public too: it signs in like the chat page, and only administrators get its data.
        return FileResponse(STATIC_DIR / "admin.html", media_type="text/html",
                            headers=PAGE_HEADERS)

    app.include_router(router)
    app.mount(STATIC_PATH, PageAssets(directory=STATIC_DIR), name="chat-static")
