"""Revocable sessions on real NATS and SQLite: a logout ends that session in every service
(both chat replicas, presence, notifications, the dashboard), closes its open sockets with
4001, and a service started after the logout refuses it too."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from services.launcher import NatsServerProcess
from tests.integration.chat.harness import (
    ChatReplica,
    Client,
    chat_settings,
    receive,
    replicas,
    sign_up,
)
from tests.integration.dashboard.harness import dashboard_settings
from tests.integration.dashboard.harness import running as dashboard_running
from tests.integration.notifications.harness import Keys, eventually, notifications_settings
from tests.integration.notifications.harness import running as notifications_running
from tests.integration.presence.harness import PresenceInstance, presence_settings

pytestmark = pytest.mark.integration

ADMIN = ("root", "the root password")


async def closed_with(ws: Any, timeout: float = 10.0) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()
    return closed.value.rcvd.code if closed.value.rcvd else None


async def ws_close_code(client: Client, replica: ChatReplica, token: str) -> int | None:
    """The code a fresh `/ws` with this token is closed with (None: it said hello)."""
    async with Client(replica, client.http, client.user, token).socket("/ws") as ws:
        try:
            await receive(ws, "hello", timeout=5)
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None
    return None


@contextlib.asynccontextmanager
async def services(tmp_path: Path, nats_url: str, keys: Keys) -> AsyncIterator[dict[str, Any]]:
    chat = [chat_settings(tmp_path / "chat", nats_url, signing_key_pem=keys.private_pem,
                          replica_id=f"chat-{n}", admin_username=ADMIN[0],
                          admin_password=ADMIN[1]) for n in ("a", "b")]
    presence = PresenceInstance(presence_settings(tmp_path / "presence", nats_url,
                                                  jwt_public_key_pem=keys.public_pem))
    async with replicas(chat) as (one, two), \
            notifications_running(notifications_settings(tmp_path / "ntf", nats_url,
                                                         keys)) as ntf, \
            dashboard_running(dashboard_settings(tmp_path / "dash", nats_url,
                                                 keys)) as dash:  # type: ignore[arg-type]
        await presence.start()
        try:
            yield {"one": one, "two": two, "presence": presence.http_url, "ntf": ntf.url,
                   "dash": dash.url}
        finally:
            await presence.stop()


async def statuses(urls: dict[str, str], token: str) -> dict[str, int]:
    """What each service answers this token on an endpoint that needs a signed-in user."""
    headers = {"Authorization": f"Bearer {token}"}
    paths = {"chat_me_one": ("one", "/api/auth/me"), "chat_me_two": ("two", "/api/auth/me"),
             "presence": ("presence", "/api/presence/me"),
             "notifications": ("ntf", "/api/notifications"),
             "dashboard": ("dash", "/api/dashboard/stats")}
    answers = {}
    async with httpx.AsyncClient(headers=headers, timeout=10) as http:
        for name, (service, path) in paths.items():
            answers[name] = (await http.get(urls[service] + path)).status_code
    return answers


async def stream_until_it_ends(dashboard_url: str, token: str, started: asyncio.Event) -> str:
    """Read the dashboard's event stream until the server ends it; what it sent."""
    received = []
    async with httpx.AsyncClient(timeout=30) as http, http.stream(
            "GET", f"{dashboard_url}/api/dashboard/stream",
            headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_text():
            received.append(chunk)
            started.set()
    return "".join(received)


async def login(replica: ChatReplica, username: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=replica.http_url, timeout=10) as http:
        response = await http.post("/api/auth/login",
                                   json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def test_a_logout_is_refused_everywhere_and_closes_that_sessions_sockets(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    keys = Keys()
    async with services(tmp_path, nats_server.url, keys) as running:
        one, two = running["one"], running["two"]
        urls = {"one": one.http_url, "two": two.http_url, "presence": running["presence"],
                "ntf": running["ntf"], "dash": running["dash"]}
        alice = await sign_up(one, "alice")
        room = await alice.create_room()
        admin_token = await login(one, *ADMIN)
        other_admin_token = await login(two, *ADMIN)
        alice_elsewhere = await login(two, "alice", "correct horse battery")
        assert set((await statuses(urls, admin_token)).values()) == {200}

        async with Client(two, alice.http, alice.user, alice.token).socket("/ws") as ws, \
                Client(one, alice.http, alice.user, alice_elsewhere).socket("/ws") as kept:
            await receive(ws, "hello")
            await receive(kept, "hello")
            logout = await alice.http.post("/api/auth/logout")
            assert logout.status_code == 204
            # The socket of that session, on the other replica, is closed with 4001...
            assert await closed_with(ws) == 4001
            # ...and the same user's other session goes on.
            await kept.send('{"type": "ping"}')
            assert (await receive(kept, "pong"))["type"] == "pong"

        async def chat_refuses() -> bool:
            posted = await alice.post(room["id"], "still here?")
            me = await alice.http.get("/api/auth/me")
            return (posted.status_code, me.status_code) == (401, 401)

        await eventually(chat_refuses, what="chat refuses the logged-out token")
        assert (await alice.http.get("/api/auth/me")).json()["code"] == "invalid_token"
        assert await ws_close_code(alice, one, alice.token) == 4001
        assert await ws_close_code(alice, two, alice.token) == 4001

        # The admin logs out on replica one: the dashboard, presence and notifications stop
        # answering that token within a few seconds, and the dashboard's event stream of
        # that session ends; the admin's other session still works.
        streaming = asyncio.Event()
        stream = asyncio.create_task(stream_until_it_ends(running["dash"], admin_token,
                                                          streaming))
        await asyncio.wait_for(streaming.wait(), 10)
        async with httpx.AsyncClient(base_url=one.http_url, timeout=10,
                                     headers={"Authorization": f"Bearer {admin_token}"}) as h:
            assert (await h.post("/api/auth/logout")).status_code == 204
        assert "initial_data" in await asyncio.wait_for(stream, 10)

        async def refused_everywhere() -> bool:
            return set((await statuses(urls, admin_token)).values()) == {401}

        await eventually(refused_everywhere, what="every service refuses the admin's token")
        assert set((await statuses(urls, other_admin_token)).values()) == {200}
        assert (await statuses(urls, alice_elsewhere))["chat_me_two"] == 200

        # A service that starts after the logout has heard of it before it answers.
        late = PresenceInstance(presence_settings(tmp_path / "late", nats_server.url,
                                                  jwt_public_key_pem=keys.public_pem))
        await late.start()
        try:
            async with late.client(admin_token) as http:
                assert (await http.get("/api/presence/me")).status_code == 401
            async with late.client(other_admin_token) as http:
                assert (await http.get("/api/presence/me")).status_code == 200
        finally:
            await late.stop()
        late_chat = ChatReplica(chat_settings(tmp_path / "chat", nats_server.url,
                                              signing_key_pem=keys.private_pem,
                                              replica_id="chat-late"))
        await late_chat.start()
        try:
            async with httpx.AsyncClient(base_url=late_chat.http_url, timeout=10) as http:
                me = await http.get("/api/auth/me",
                                    headers={"Authorization": f"Bearer {alice.token}"})
                assert me.status_code == 401
            assert await ws_close_code(alice, late_chat, alice.token) == 4001
        finally:
            await late_chat.stop()


async def test_logout_without_a_valid_token_still_clears_the_cookie(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    async with replicas([chat_settings(tmp_path, nats_server.url)]) as (replica,):
        async with httpx.AsyncClient(base_url=replica.http_url, timeout=10) as http:
            response = await http.post("/api/auth/logout",
                                       headers={"Authorization": "Bearer nonsense"})
        assert response.status_code == 204
        assert 'tertulia_session=""' in response.headers["set-cookie"]
