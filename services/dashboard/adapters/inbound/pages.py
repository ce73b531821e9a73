"""`/dashboard`: the operators' page and its assets (no build step, nothing from a CDN)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"
ASSETS_PATH = "/dashboard/assets"
# Only our own files run, and data comes only from this origin.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"),
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def install_pages(app: FastAPI) -> None:
    router = APIRouter(include_in_schema=False)

    @router.get("/dashboard")
    async def page() -> FileResponse:
        # The page is public; every number on it comes from admin-only endpoints.
        return FileResponse(STATIC_DIR / "dashboard.html", media_type="text/html",
                            headers=PAGE_HEADERS)

    @router.get("/dashboard/")
    async def page_slash() -> RedirectResponse:
        return RedirectResponse("/dashboard", status_code=308)

    app.include_router(router)
    # Only the scripts and styles: the page itself is served above, with its headers.
    app.mount(ASSETS_PATH, StaticFiles(directory=STATIC_DIR / "assets"),
              name="dashboard-assets")
