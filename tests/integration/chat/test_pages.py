"""The chat page at `/` and its assets under `/static`, served by a real chat replica."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from services.chat.adapters.inbound.pages import STATIC_DIR
from tests.integration.chat.harness import chat_settings, replicas

pytestmark = pytest.mark.integration

SCRIPTS = sorted(p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*.js"))


async def test_the_page_is_served_with_its_security_headers(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,), \
            httpx.AsyncClient(base_url=replica.http_url) as http:
        page = await http.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        for rule in ("default-src 'none'", "script-src 'self'", "style-src 'self'",
                     "connect-src 'self'", "frame-ancestors 'none'"):
            assert rule in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert 'data-testid="auth-form"' in page.text
        # Nothing from another origin: every asset is a path on this one.
        assert "http://" not in page.text and "https://" not in page.text
        for ref in re.findall(r'(?:src|href)="([^"]*)"', page.text):
            assert ref.startswith(("/static/", "#", "data:")), ref
        # Not part of the OpenAPI document.
        assert "/" not in (await http.get("/openapi.json")).json()["paths"]


async def test_scripts_and_styles_come_with_their_types(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,), \
            httpx.AsyncClient(base_url=replica.http_url) as http:
        assert "app.js" in SCRIPTS and "js/socket.js" in SCRIPTS
        for script in SCRIPTS:
            response = await http.get(f"/static/{script}")
            assert response.status_code == 200, script
            assert "javascript" in response.headers["content-type"]
            assert response.headers["x-content-type-options"] == "nosniff"
        css = await http.get("/static/app.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        # Every module app.js imports is there.
        app_js = (await http.get("/static/app.js")).text
        for module in re.findall(r"from '\./(js/[\w-]+\.js)'", app_js):
            assert (await http.get(f"/static/{module}")).status_code == 200, module


async def test_anything_else_under_static_is_not_found(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,), \
            httpx.AsyncClient(base_url=replica.http_url) as http:
        for path in ("/static/nope.js", "/static/js/nope.js", "/static/index.html",
                     "/static/../adapters/inbound/pages.py", "/static/%2e%2e/app.py"):
            response = await http.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"].startswith("application/problem+json")


# --- the page's own strings --------------------------------------------------------------

I18N = (STATIC_DIR / "js" / "i18n.js").read_text()
# The administration page's own strings, added to the same dictionary by that page.
ADMIN_I18N = (STATIC_DIR / "js" / "admin-i18n.js").read_text()


def _dictionary(lang: str, source: str = I18N) -> set[str]:
    block = re.search(rf"^  {lang}: \{{\n(.*?)^  \}},", source, re.S | re.M)
    assert block, lang
    return set(re.findall(r"^    '([\w.]+)':", block.group(1), re.M))


def test_every_string_exists_in_english_and_spanish() -> None:
    english, spanish = _dictionary("en"), _dictionary("es")
    assert len(english) > 50
    assert english == spanish, (english ^ spanish)
    admin_en, admin_es = _dictionary("en", ADMIN_I18N), _dictionary("es", ADMIN_I18N)
    assert len(admin_en) > 50
    assert admin_en == admin_es, (admin_en ^ admin_es)


def test_every_key_the_page_uses_is_in_the_dictionary() -> None:
    english = _dictionary("en")
    used: set[str] = set()
    for script in SCRIPTS:
        used |= set(re.findall(r"\bt\('([\w.]+)'", (STATIC_DIR / script).read_text()))
    for page in ("index.html", "admin.html"):
        html = (STATIC_DIR / page).read_text()
        used |= set(re.findall(r'data-i18n(?:-[\w-]+)?="([\w.]+)"', html))
    known = english | _dictionary("en", ADMIN_I18N)
    assert used and used <= known, used - known


async def test_the_administration_page_is_served_like_the_chat_page(
        tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (replica,), \
            httpx.AsyncClient(base_url=replica.http_url) as http:
        chat, admin = await http.get("/"), await http.get("/admin")
        assert admin.status_code == 200
        assert admin.headers["content-type"].startswith("text/html")
        assert admin.headers["content-security-policy"] == chat.headers[
            "content-security-policy"]
        assert 'data-testid="admin-signin"' in admin.text
        refs = re.findall(r'(?:src|href)="([^"]*)"', admin.text)
        for ref in refs:
            assert ref.startswith(("/static/", "#", "data:", "/")), ref
            if ref.startswith("/static/"):
                assert (await http.get(ref)).status_code == 200, ref
        admin_js = (await http.get("/static/admin.js")).text
        for module in re.findall(r"from '\./(js/[\w-]+\.js)'", admin_js):
            assert (await http.get(f"/static/{module}")).status_code == 200, module
        # No inline script or style for the CSP to refuse.
        assert "<script>" not in admin.text and "style=" not in admin.text
