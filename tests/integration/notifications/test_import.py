"""After `tertulia import` into an empty chat, the notifications service knows the imported
people, rooms and memberships from the events the import wrote to chat's outbox (published
by chat's relay when it starts): a mention of an imported member in an imported room
reaches that member's inbox without anyone rejoining anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from services import exchange
from services.launcher import NatsServerProcess
from tests.integration.chat.harness import chat_settings
from tests.integration.notifications.harness import Keys, eventually
from tests.integration.notifications.with_chat import chat_and_notifications

pytestmark = pytest.mark.integration

AT = "2026-01-02T03:04:05+00:00"


def _export() -> list[dict[str, Any]]:
    user = {"type": "user", "display_name": None, "is_bot": False, "created_at": AT,
            "status_text": None, "time_zone": None}
    member = {"type": "member", "room_id": 3, "joined_at": AT, "last_seen": AT, "read_seq": 1}
    return [
        {"type": "header", "format": "tertulia-export", "version": 1, "scope": "server",
         "exported_at": AT, "files": False},
        {**user, "id": 7, "username": "ana", "is_admin": True},
        {**user, "id": 8, "username": "bruno", "display_name": "Bruno", "is_admin": False},
        {"type": "room", "id": 3, "name": "plaza", "description": None, "is_private": False,
         "kind": "room", "dm_key": None, "created_at": AT, "created_by": 7, "last_seq": 1},
        {**member, "user_id": 7, "role": "admin"},
        {**member, "user_id": 8, "role": "member"},
        {"type": "message", "id": 11, "room_id": 3, "seq": 1, "user_id": 7, "username": "ana",
         "content": "an old @bruno from the other system", "message_type": "text",
         "client_msg_id": None, "created_at": AT, "edited_at": None, "is_deleted": False,
         "thread_root_id": None, "also_send_to_room": False, "reply_count": 0,
         "last_reply_at": None, "mentions": [8]},
        {"type": "end", "counts": {"user": 2, "room": 1, "member": 2, "message": 1}},
    ]


async def _sign_in(url: str, username: str, password: str) -> httpx.AsyncClient:
    http = httpx.AsyncClient(base_url=url, timeout=30)
    login = await http.post("/api/auth/login", json={"username": username,
                                                     "password": password})
    assert login.status_code == 200, login.text
    http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    http.cookies.clear()
    return http


async def test_a_mention_in_an_imported_room_notifies_the_imported_member(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    from services.chat.bootstrap import create_admin

    path = tmp_path / "export.ndjson"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in _export()))
    await exchange.import_from(path, tmp_path / "chat")
    keys = Keys()
    settings = chat_settings(tmp_path / "chat", nats_server.url,
                             signing_key_pem=keys.private_pem)
    for username in ("ana", "bruno"):
        assert await create_admin(settings, username, f"{username}'s long password",
                                  reset=True) == "password_set"
    async with chat_and_notifications(tmp_path, nats_server.url, keys) as (chat, service):
        ana = await _sign_in(chat.http_url, "ana", "ana's long password")
        bruno = await _sign_in(chat.http_url, "bruno", "bruno's long password")
        inbox = httpx.AsyncClient(base_url=service.url, headers=bruno.headers)
        try:
            # Nobody rejoined anything: what notifications knows of bruno and of plaza came
            # from the import's events. The imported history notified nobody.
            posted = await ana.post("/api/chat/rooms/3/messages",
                                    json={"content": "hola @bruno, still here?"})
            assert posted.status_code == 201, posted.text

            async def notified() -> list[dict[str, Any]]:
                response = await inbox.get("/api/notifications")
                return response.json()["notifications"] if response.status_code == 200 \
                    else []

            found = await eventually(notified, what="bruno notified of the mention")
            assert [n["content"] for n in found] == ["hola @bruno, still here?"]
            assert found[0]["reason"] == "mention"
            assert found[0]["data"]["room_id"] == 3
        finally:
            for http in (ana, bruno, inbox):
                await http.aclose()
