"""Several notifications instances as real processes (`tertulia serve notifications`) on one
PostgreSQL database and one nats-server, fed by a real chat app posting through its HTTP
API: what `test_instances.py` kills and restarts."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization

from services.launcher import free_port
from shared.auth import TokenIssuer, generate_private_key_pem
from tests.integration.notifications.harness import eventually
from tests.support.servers import InProcessServer

PASSWORD = "a long enough password 1"
ACTIVE = "tertulia_notifications_consumer_active"
START_SECS = 30.0


def public_pem(private_pem: str) -> str:
    return TokenIssuer(private_pem).public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass
class Instance:
    """One `tertulia serve notifications` process; stopped by its PID only."""

    name: str
    port: int
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def metric(self, name: str) -> float:
        async with httpx.AsyncClient(base_url=self.url, timeout=5) as http:
            text = (await http.get("/metrics")).text
        match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    async def active(self) -> bool:
        return await self.metric(ACTIVE) == 1.0

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _spawn(port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "services.cli", "serve", "notifications",
             "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT)


@dataclass
class Cluster:
    """The instances started so far, all sharing the durable, the lease and the database."""

    tmp: Path
    env: dict[str, str]
    instances: list[Instance] = field(default_factory=list)

    async def start(self, name: str) -> Instance:
        port = free_port()
        log = self.tmp / f"{name}.log"
        env = {**self.env, "NOTIFICATIONS_INSTANCE_ID": name,
               "NOTIFICATIONS_DATA_DIR": str(self.tmp / name)}
        process = _spawn(port, env, log)
        instance = Instance(name, port, log, process)
        self.instances.append(instance)

        async def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"{name} exited: {log.read_text()[-3000:]}")
            try:
                async with httpx.AsyncClient(base_url=instance.url, timeout=2) as http:
                    return (await http.get("/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ready, within_secs=START_SECS, what=f"{name} ready")
        return instance

    def running(self) -> list[Instance]:
        return [i for i in self.instances if i.process.poll() is None]

    async def the_active(self) -> Instance:
        """The one running instance that applies events (exactly one once settled)."""

        async def exactly_one() -> Instance | None:
            active = [i for i in self.running() if await i.active()]
            return active[0] if len(active) == 1 else None

        found = await eventually(exactly_one, within_secs=30, what="exactly one active")
        assert isinstance(found, Instance)
        return found

    def stop_all(self) -> None:
        for instance in self.instances:
            instance.stop()


@contextlib.asynccontextmanager
async def cluster(tmp: Path, nats_url: str, database_url: str, private_pem: str,
                  **settings: str) -> AsyncIterator[Cluster]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("NOTIFICATIONS_", "NATS_", "DATA_DIR"))}
    env.update({
        "NOTIFICATIONS_NATS_URL": nats_url,
        "NOTIFICATIONS_DATABASE_URL": database_url,
        "NOTIFICATIONS_JWT_PUBLIC_KEY_PEM": public_pem(private_pem),
        "NOTIFICATIONS_LOG_JSON": "false",
        "NOTIFICATIONS_LOG_LEVEL": "INFO",
        **{f"NOTIFICATIONS_{key.upper()}": value for key, value in settings.items()},
    })
    running = Cluster(tmp, env)
    try:
        yield running
    finally:
        running.stop_all()


@dataclass
class Chat:
    """A real chat app in this process, and people who post through its HTTP API."""

    http: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def person(self, name: str) -> None:
        registered = await self.http.post("/api/auth/register",
                                          json={"username": name, "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        token = await self.http.post("/api/auth/token",
                                     data={"username": name, "password": PASSWORD})
        self.tokens[name] = token.json()["access_token"]
        self.ids[name] = (await self.http.get("/api/auth/me", headers=self.auth(name))
                          ).json()["id"]

    async def room(self, owner: str, *members: str) -> int:
        made = await self.http.post("/api/chat/rooms", headers=self.auth(owner),
                                    json={"name": f"r-{uuid.uuid4().hex[:8]}"})
        assert made.status_code == 201, made.text
        room_id = int(made.json()["id"])
        for member in members:
            joined = await self.http.post(f"/api/chat/rooms/{room_id}/join",
                                          headers=self.auth(member))
            assert joined.status_code in (200, 201), joined.text
        return room_id

    async def post(self, who: str, room_id: int, content: str) -> int:
        posted = await self.http.post(f"/api/chat/rooms/{room_id}/messages",
                                      headers=self.auth(who),
                                      json={"content": content,
                                            "client_msg_id": uuid.uuid4().hex})
        assert posted.status_code == 201, posted.text
        return int(posted.json()["id"])

    async def edit(self, who: str, message_id: int, content: str) -> None:
        edited = await self.http.patch(f"/api/chat/messages/{message_id}",
                                       headers=self.auth(who), json={"content": content})
        assert edited.status_code == 200, edited.text

    async def delete(self, who: str, message_id: int) -> None:
        deleted = await self.http.delete(f"/api/chat/messages/{message_id}",
                                         headers=self.auth(who))
        assert deleted.status_code == 200, deleted.text


@contextlib.asynccontextmanager
async def chat(tmp: Path, nats_url: str, private_pem: str) -> AsyncIterator[Chat]:
    from services.chat.app import create_app
    from services.chat.settings import ChatSettings

    settings = ChatSettings(signing_key_pem=private_pem, data_dir=tmp / "chat",
                            nats_url=nats_url, log_json=False, log_level="WARNING",
                            # One poster drives the stream here, faster than a person.
                            rate_limit_per_sec=1000.0, rate_limit_burst=1000)
    port = free_port()
    server = InProcessServer(create_app(settings), port=port)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            yield Chat(http)
    finally:
        await server.stop()


async def inbox(instance: Instance, chat_app: Chat, who: str) -> list[dict[str, Any]]:
    """Every notification of `who`, newest first, as any instance answers it."""
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    async with httpx.AsyncClient(base_url=instance.url, timeout=10,
                                 headers=chat_app.auth(who)) as http:
        while True:
            params: dict[str, Any] = {"limit": 100}
            if cursor:
                params["before"] = cursor
            page = (await http.get("/api/notifications", params=params)).json()
            entries += page["notifications"]
            cursor = page.get("next_before")
            if not page["has_more"] or not cursor:
                return entries


def new_private_pem() -> str:
    return generate_private_key_pem()
