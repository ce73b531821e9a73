"""Proxy trust through the chat app: X-Forwarded-Proto and -For count only from a trusted
peer; the session cookie is Secure and HSTS is sent exactly when the browser used HTTPS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.chat.app import create_app
from tests.integration.chat.harness import chat_settings

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"
HTTPS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.20"}


@asynccontextmanager
async def started(tmp_path: Path, nats_url: str, **settings: Any) -> AsyncIterator[Any]:
    app = create_app(chat_settings(tmp_path, nats_url, **settings))
    async with app.router.lifespan_context(app):
        yield app


def client(app: Any, peer: str) -> httpx.AsyncClient:
    """Requests that reach the app from `peer`, as uvicorn would hand them over."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(peer, 40000)),
                             base_url="http://chat.test")


async def sign_in(http: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    await http.post("/api/auth/register", json={"username": "carmen", "password": PASSWORD})
    response = await http.post("/api/auth/login", headers=headers,
                               json={"username": "carmen", "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response


def cookie_flags(response: httpx.Response) -> set[str]:
    cookie = response.headers["set-cookie"]
    return {part.strip().lower() for part in cookie.split(";")[1:]}


async def test_https_through_a_trusted_proxy_gets_a_secure_cookie_and_hsts(
        tmp_path: Path, nats_url: str) -> None:
    async with started(tmp_path, nats_url) as app, client(app, "127.0.0.1") as http:
        response = await sign_in(http, HTTPS)
        page = await http.get("/", headers=HTTPS)
        plain = await http.get("/", headers={"X-Forwarded-Proto": "http"})

    assert "secure" in cookie_flags(response)
    assert "httponly" in cookie_flags(response)
    assert response.headers["strict-transport-security"] == "max-age=31536000"
    assert page.headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in plain.headers


async def test_forwarded_headers_from_an_untrusted_peer_are_ignored(
        tmp_path: Path, nats_url: str) -> None:
    async with started(tmp_path, nats_url) as app, client(app, "203.0.113.9") as http:
        response = await sign_in(http, HTTPS)

    assert "secure" not in cookie_flags(response)
    assert "strict-transport-security" not in response.headers


async def test_the_proxy_list_is_configurable(tmp_path: Path, nats_url: str) -> None:
    async with started(tmp_path, nats_url, trusted_proxies=["10.0.0.0/8"]) as app:
        async with client(app, "10.1.2.3") as proxy, client(app, "127.0.0.1") as local:
            through_proxy = await sign_in(proxy, HTTPS)
            from_local = await local.post("/api/auth/login", headers=HTTPS,
                                          json={"username": "carmen", "password": PASSWORD})

    assert "secure" in cookie_flags(through_proxy)
    assert "strict-transport-security" in through_proxy.headers
    assert "secure" not in cookie_flags(from_local)
    assert "strict-transport-security" not in from_local.headers


async def test_cookie_secure_forces_the_flag_over_plain_http(tmp_path: Path,
                                                             nats_url: str) -> None:
    async with started(tmp_path, nats_url, cookie_secure=True) as app, \
            client(app, "127.0.0.1") as http:
        response = await sign_in(http, {})

    assert "secure" in cookie_flags(response)
    assert "strict-transport-security" not in response.headers
