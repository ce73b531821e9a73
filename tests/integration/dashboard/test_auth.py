"""Only administrators get the dashboard's data; keys come from a PEM or chat's JWKS."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.launcher import NatsServerProcess
from tests.integration.chat.harness import ChatReplica, chat_settings
from tests.integration.dashboard.harness import (
    Keys,
    dashboard_settings,
    eventually,
    running,
)

pytestmark = pytest.mark.integration


async def test_only_administrators_get_the_data(tmp_path: Path, nats_url: str) -> None:
    keys = Keys.generate()
    async with running(dashboard_settings(tmp_path, nats_url, keys)) as server, \
            server.client() as anonymous:
        user = keys.headers(7, admin=False)
        calls = [("GET", path) for path in ("/api/dashboard/stream", "/dashboard/stream",
                                            "/api/dashboard/stats", "/dashboard/stats")]
        calls += [("POST", "/api/dashboard/broadcast"), ("POST", "/dashboard/broadcast")]
        for method, path in calls:
            body = {"content": "hola"} if method == "POST" else None
            response = await anonymous.request(method, path, json=body)
            assert response.status_code == 401, path
            assert response.headers["content-type"] == "application/problem+json"
            response = await anonymous.request(method, path, json=body, headers=user)
            assert response.status_code == 403, path
            assert response.json()["code"] == "forbidden"
        forged = {"Authorization": f"Bearer {Keys.generate().token(1)}"}
        assert (await anonymous.get("/api/dashboard/stats", headers=forged)).status_code == 401

        # The session cookie works as well as the bearer token.
        anonymous.cookies.set("tertulia_session", keys.token(1))
        assert (await anonymous.get("/api/dashboard/stats")).status_code == 200
        anonymous.cookies.clear()

        # Bad input from an administrator is a problem, not a 500.
        admin = keys.headers()
        response = await anonymous.post("/api/dashboard/broadcast", json={"content": "  "},
                                        headers=admin)
        assert (response.status_code, response.json()["code"]) == (422, "empty_content")
        response = await anonymous.post("/api/dashboard/broadcast", json={}, headers=admin)
        assert response.status_code == 422

        # The page itself is public and self-contained; its data is not.
        page = await anonymous.get("/dashboard")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "default-src 'none'" in page.headers["content-security-policy"]
        for asset in ("dashboard.js", "dashboard.css"):
            assert f"/dashboard/assets/{asset}" in page.text
            response = await anonymous.get(f"/dashboard/assets/{asset}")
            assert response.status_code == 200 and response.content
        assert "http://" not in page.text and "https://" not in page.text
        # Only through /dashboard, with its headers.
        assert (await anonymous.get("/dashboard/assets/dashboard.html")).status_code == 404
        assert (await anonymous.get("/readyz")).json()["checks"] == {
            "database": True, "nats": True, "consuming": True, "token_keys": True,
            "accepting": True}


async def test_keys_come_from_chats_jwks_even_when_chat_starts_later(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    keys = Keys.generate()
    chat = ChatReplica(chat_settings(tmp_path / "chat", nats_server.url,
                                     signing_key_pem=keys.private_pem))
    settings = dashboard_settings(
        tmp_path / "dashboard", nats_server.url, keys, jwt_public_key_pem=None,
        jwks_url=f"{chat.http_url}/.well-known/jwks.json", jwks_retry_secs=0.1)
    async with running(settings) as server, server.client(keys.headers()) as admin:
        # Up, but unable to tell a good token from a bad one yet: not ready, and says so.
        ready = await admin.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["token_keys"] is False
        response = await admin.get("/api/dashboard/stats")
        assert (response.status_code, response.json()["code"]) == (503, "not_ready")

        await chat.start()
        try:
            async def keys_loaded() -> bool:
                return (await admin.get("/readyz")).status_code == 200

            await eventually(keys_loaded)
            assert (await admin.get("/api/dashboard/stats")).status_code == 200
            other = {"Authorization": f"Bearer {Keys.generate().token()}"}
            assert (await admin.get("/api/dashboard/stats", headers=other)).status_code == 401
        finally:
            await chat.stop()
