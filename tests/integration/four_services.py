"""Any one of the four services in-process on real NATS and SQLite, with an admin's token:
for the tests that hold every service to the same rule (bounds, pages, body limits)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization

from services.launcher import NatsServerProcess, free_port
from shared.auth import Principal, TokenIssuer, generate_private_key_pem
from tests.support.servers import InProcessServer

SERVICES = ("chat", "presence", "notifications", "dashboard")
ADMIN = "root"
ADMIN_PASSWORD = "a long admin password"


@dataclass
class Running:
    name: str
    app: Any
    url: str
    # An administrator's bearer token, accepted by the service.
    headers: dict[str, str]

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers=self.headers, timeout=30, **kwargs)


def _public_pem(issuer: TokenIssuer) -> str:
    return issuer.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _settings(name: str, data_dir: Path, nats_url: str, private_pem: str,
              overrides: dict[str, Any]) -> Any:
    public = _public_pem(TokenIssuer(private_pem))
    common: dict[str, Any] = {"data_dir": data_dir, "nats_url": nats_url, "log_json": False,
                              "log_level": "WARNING", **overrides}
    if name == "chat":
        from services.chat.settings import ChatSettings

        return ChatSettings(signing_key_pem=private_pem, admin_username=ADMIN,
                            admin_password=ADMIN_PASSWORD, **common)
    if name == "presence":
        import uuid

        from services.presence.settings import PresenceSettings

        return PresenceSettings(jwt_public_key_pem=public,
                                kv_bucket=f"PRESENCE_T{uuid.uuid4().hex[:10]}", **common)
    if name == "notifications":
        from services.notifications.settings import NotificationsSettings

        return NotificationsSettings(jwt_public_key_pem=public,
                                     durable_name=f"ntf-{time.monotonic_ns()}", **common)
    from services.dashboard.settings import DashboardSettings

    return DashboardSettings(jwt_public_key_pem=public, **common)


def create_app(name: str, settings: Any) -> Any:
    if name == "chat":
        from services.chat.app import create_app as chat_app

        return chat_app(settings)
    if name == "presence":
        from services.presence.app import create_app as presence_app

        return presence_app(settings)
    if name == "notifications":
        from services.notifications.app import create_app as notifications_app

        return notifications_app(settings)
    from services.dashboard.app import create_app as dashboard_app

    return dashboard_app(settings)


@contextlib.asynccontextmanager
async def running(name: str, data_dir: Path, nats_url: str,
                  **overrides: Any) -> AsyncIterator[Running]:
    """`name` served by uvicorn on a free port; chat with an administrator `root` created at
    start, the others verifying tokens signed with the same key."""
    private_pem = generate_private_key_pem()
    with contextlib.ExitStack() as own:
        if name == "dashboard":
            # A dashboard on a fresh data directory folds all of EVENTS before it is ready:
            # on the session's shared NATS that is every event every earlier test published,
            # which grows with the suite (seen: past the 10 s start). These tests need none.
            nats_url = own.enter_context(NatsServerProcess(data_dir / "nats")).url
        async with _served(name, data_dir, nats_url, private_pem, overrides) as served:
            yield served


@contextlib.asynccontextmanager
async def _served(name: str, data_dir: Path, nats_url: str, private_pem: str,
                  overrides: dict[str, Any]) -> AsyncIterator[Running]:
    settings = _settings(name, data_dir, nats_url, private_pem, overrides)
    app = create_app(name, settings)
    port = free_port()
    server = InProcessServer(app, port=port)
    await server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        if name == "chat":
            async with httpx.AsyncClient(base_url=url) as http:
                login = await http.post("/api/auth/token", data={
                    "username": ADMIN, "password": ADMIN_PASSWORD})
                login.raise_for_status()
                token = login.json()["access_token"]
        else:
            token = TokenIssuer(private_pem).issue(Principal(1, ADMIN, True))
        yield Running(name, app, url, {"Authorization": f"Bearer {token}"})
    finally:
        await server.stop()
