"""With a real chat replica: creating and deleting an outgoing webhook in notifications
(with chat's administrator token) lands in chat's audit log, through `AuditRecorded`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from services.launcher import NatsServerProcess
from tests.integration.notifications.harness import Keys, eventually
from tests.integration.notifications.with_chat import chat_and_notifications

pytestmark = pytest.mark.integration

ROOT = ("root", "the root password")


async def test_webhook_changes_are_in_chats_audit_log(tmp_path: Path,
                                                     nats_server: NatsServerProcess) -> None:
    keys = Keys()
    async with chat_and_notifications(
            tmp_path, nats_server.url, keys,
            chat_overrides={"admin_username": ROOT[0], "admin_password": ROOT[1]},
            webhook_allowed_networks=["127.0.0.0/8"]) as (chat, service):
        async with httpx.AsyncClient(base_url=chat.http_url) as http:
            login = await http.post("/api/auth/login",
                                    json={"username": ROOT[0], "password": ROOT[1]})
            assert login.status_code == 200, login.text
            token = login.json()["access_token"]
            http.headers["Authorization"] = f"Bearer {token}"
            me = (await http.get("/api/auth/me")).json()

            async def audited() -> list[dict[str, Any]]:
                entries = (await http.get("/api/admin/audit")).json()["entries"]
                return [e for e in entries if e["action"].startswith("outgoing_hook.")]

            async with httpx.AsyncClient(base_url=service.url, headers={
                    "Authorization": f"Bearer {token}"}) as hooks:
                made = await eventually(lambda: _created(hooks), what="JWKS loaded, created")
                gone = await hooks.delete(f"/api/notifications/webhooks/{made['id']}")
                assert gone.status_code == 204
            entries = await eventually(lambda: _two(audited), what="both entries in chat")
    assert [e["action"] for e in entries] == ["outgoing_hook.delete", "outgoing_hook.create"]
    for entry in entries:
        assert (entry["actor_id"], entry["actor_username"]) == (me["id"], ROOT[0])
        assert (entry["target_type"], entry["target_id"]) == ("outgoing_hook", str(made["id"]))
        assert entry["details"] == {"host": "127.0.0.1", "room_ids": [1, 2],
                                    "events": ["message.created"]}


async def _created(hooks: httpx.AsyncClient) -> dict[str, Any] | None:
    made = await hooks.post("/api/notifications/webhooks", json={
        "url": "http://127.0.0.1:9/in?token=theirs", "room_ids": [1, 2],
        "events": ["message.created"]})
    if made.status_code == 503:  # chat's keys not fetched yet
        return None
    assert made.status_code == 201, made.text
    return made.json()


async def _two(audited: Any) -> list[dict[str, Any]] | None:
    found = await audited()
    return found if len(found) == 2 else None
