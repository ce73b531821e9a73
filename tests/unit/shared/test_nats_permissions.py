"""Each service's NATS user may do what the service does, and the committed server
configuration is the one the contracts generate."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from services.launcher import free_port, nats_server_binary
from shared.auth import TokenIssuer, generate_private_key_pem
from shared.bus import EventBus, RawEvent
from shared.bus.memory import InMemoryEventBus
from shared.contracts import EVENTS_STREAM, PRESENCE_PEER_RPC, CloudEvent
from shared.contracts.permissions import (
    PASSWORD_VARS,
    SERVICES,
    USES,
    allowed,
    inbox_prefix,
    permissions,
    render_auth_conf,
    subject_matches,
)
from tests.conftest import _require_nats_server
from tests.support.scenario import Urls, exercise
from tests.support.servers import InProcessServer

ROOT = Path(__file__).resolve().parents[3]
MULTI_INSTANCE_ONLY = {("presence", f"{PRESENCE_PEER_RPC}.*")}
JS = "$JS.API.CONSUMER"


def test_every_committed_auth_conf_is_the_generated_one() -> None:
    """infra/nats/auth.conf and any copy of it a deployment mounts (compose, k8s)."""
    copies = sorted((ROOT / "infra").rglob("auth.conf"))
    assert ROOT / "infra" / "nats" / "auth.conf" in copies
    stale = [str(path.relative_to(ROOT)) for path in copies
             if path.read_text() != render_auth_conf()]
    assert stale == [], "run `make nats-config`"


def test_both_server_configs_include_the_users() -> None:
    assert "include auth.conf" in (ROOT / "infra" / "nats" / "nats.conf").read_text()
    for node in (1, 2, 3):
        text = (ROOT / "infra" / "nats" / "cluster" / f"nats-{node}.conf").read_text()
        assert "include ../auth.conf" in text and f"server_name: nats-{node}" in text


@pytest.mark.parametrize(("pattern", "subject", "matches"), [
    ("live.room.*", "live.room.7", True),
    ("live.room.*", "live.room.7.x", False),
    ("live.room.*", "live.room", False),
    ("$KV.PRESENCE.>", "$KV.PRESENCE.c.abc", True),
    ("$KV.PRESENCE.>", "$KV.PRESENCE", False),
    ("events.chat.message.created", "events.chat.message.created", True),
    ("events.chat.message.created", "events.chat.message.edited", False),
])
def test_nats_wildcards(pattern: str, subject: str, matches: bool) -> None:
    assert subject_matches(pattern, subject) is matches


def test_no_service_may_touch_what_only_an_operator_should() -> None:
    for service in SERVICES:
        perms = permissions(service)
        for forbidden in (f"$JS.API.STREAM.DELETE.{EVENTS_STREAM}",
                          f"$JS.API.STREAM.PURGE.{EVENTS_STREAM}",
                          f"$JS.API.STREAM.MSG.DELETE.{EVENTS_STREAM}", "$SYS.REQ.SERVER.PING"):
            assert not allowed(perms.publish, forbidden), (service, forbidden)
        # Another service's inbox (its JetStream answers and replies) is not readable.
        for other in SERVICES:
            if other != service:
                assert not allowed(perms.subscribe, f"{inbox_prefix(other)}.abc")
    assert not allowed(permissions("presence").publish, "events.chat.message.created")
    assert not allowed(permissions("chat").publish, "events.presence.changed")
    # Followers see revocations only: no consumer of every event for presence or chat.
    for service in ("chat", "presence"):
        for subject in (f"$JS.API.CONSUMER.CREATE.{EVENTS_STREAM}",
                        f"$JS.API.CONSUMER.CREATE.{EVENTS_STREAM}.x.events.>",
                        f"$JS.API.CONSUMER.CREATE.{EVENTS_STREAM}.x.events.chat.message.created"):
            assert not allowed(permissions(service).publish, subject), (service, subject)


class RecordingBus:
    """One service's view of a shared in-memory bus, noting each NATS subject its
    calls stand for: what a restricted NATS user would have to allow."""

    def __init__(self, bus: InMemoryEventBus, service: str) -> None:
        self._bus = bus
        self._service = service
        self.published: set[str] = set()
        self.subscribed: set[str] = set()

    async def connect(self) -> None:
        for verb in ("INFO", "CREATE", "UPDATE"):
            self.published.add(f"$JS.API.STREAM.{verb}.{EVENTS_STREAM}")

    async def close(self) -> None:  # the test closes the shared bus itself
        return None

    @property
    def is_connected(self) -> bool:
        return self._bus.is_connected

    def _inbox(self) -> None:
        self.subscribed.add(f"{inbox_prefix(self._service)}.reply")

    async def publish(self, subject: str, data: bytes,
                      headers: Any = None) -> None:
        self.published.add(subject)
        await self._bus.publish(subject, data, headers)

    async def subscribe(self, subject: str, handler: Any, *, flush: bool = True) -> Any:
        self.subscribed.add(subject)
        return await self._bus.subscribe(subject, handler, flush=flush)

    async def publish_event(self, subject: str, event: CloudEvent) -> None:
        self.published.add(subject)
        self._inbox()
        await self._bus.publish_event(subject, event)

    async def publish_events(self, events: Sequence[RawEvent]) -> list[bool]:
        self.published.update(event.subject for event in events)
        self._inbox()
        return await self._bus.publish_events(events)

    async def consume(self, durable: str, filter_subjects: Sequence[str], handler: Any,
                      **options: Any) -> Any:
        self.published.update({f"{JS}.INFO.{EVENTS_STREAM}.{durable}",
                               f"{JS}.CREATE.{EVENTS_STREAM}.{durable}",
                               f"{JS}.MSG.NEXT.{EVENTS_STREAM}.{durable}",
                               f"$JS.ACK.{EVENTS_STREAM}.{durable}.1.1.1.1.1"})
        exclusive = options.get("exclusive")
        if exclusive is not None:
            # The lease (`shared/bus/nats_exclusive.py`): its bucket made and written, and
            # the catch-up's reads of the stream by sequence.
            stream = f"KV_{exclusive.bucket}"
            self.published.update({f"$JS.API.STREAM.INFO.{stream}",
                                   f"$JS.API.STREAM.CREATE.{stream}",
                                   f"$KV.{exclusive.bucket}.{durable}",
                                   f"$JS.API.STREAM.MSG.GET.{EVENTS_STREAM}"})
        self._inbox()
        return await self._bus.consume(durable, filter_subjects, handler, **options)

    async def follow(self, subject: str, handler: Any, *, since: datetime) -> Any:
        # An ephemeral consumer with a random name, filtered to `subject`.
        self.published.update({f"{JS}.CREATE.{EVENTS_STREAM}.eph1.{subject}",
                               f"{JS}.MSG.NEXT.{EVENTS_STREAM}.eph1",
                               f"{JS}.DELETE.{EVENTS_STREAM}.eph1"})
        self._inbox()
        return await self._bus.follow(subject, handler, since=since)

    async def replay(self, subject: str, handler: Any, *, after_seq: int) -> Any:
        # As `follow`'s, filtered to `subject` (every event for the dashboard).
        self.published.update({f"{JS}.CREATE.{EVENTS_STREAM}.eph1.{subject}",
                               f"{JS}.MSG.NEXT.{EVENTS_STREAM}.eph1",
                               f"{JS}.DELETE.{EVENTS_STREAM}.eph1"})
        self._inbox()
        return await self._bus.replay(subject, handler, after_seq=after_seq)

    async def request(self, subject: str, data: bytes, timeout_secs: float = 1.0) -> bytes:
        self.published.add(subject)
        self._inbox()
        return await self._bus.request(subject, data, timeout_secs)

    async def respond(self, subject: str, responder: Any) -> Any:
        self.subscribed.add(subject)
        return await self._bus.respond(subject, responder)


def _public_pem(issuer: TokenIssuer) -> str:
    return issuer.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@contextlib.asynccontextmanager
async def _system(tmp_path: Path, buses: dict[str, EventBus]) -> AsyncIterator[Urls]:
    """The four services' real apps over the recording buses, each on its own port."""
    from services.chat.app import create_app as chat_app
    from services.chat.settings import ChatSettings
    from services.dashboard.app import create_app as dashboard_app
    from services.dashboard.settings import DashboardSettings
    from services.notifications.app import create_app as notifications_app
    from services.notifications.settings import NotificationsSettings
    from services.presence.adapters.outbound.clock import SystemClock
    from services.presence.app import create_app as presence_app
    from services.presence.settings import PresenceSettings
    from tests.unit.presence.fakes import InMemoryConnectionStore

    pem = generate_private_key_pem()
    public = _public_pem(TokenIssuer(pem))
    common: dict[str, Any] = {"data_dir": tmp_path, "log_json": False,
                              "log_level": "WARNING"}
    presence_settings = PresenceSettings(jwt_public_key_pem=public, **common)
    apps = {
        "chat": chat_app(ChatSettings(signing_key_pem=pem, **common), bus=buses["chat"]),
        "presence": presence_app(presence_settings, bus=buses["presence"],
                                 store=InMemoryConnectionStore(
                                     SystemClock(),  # type: ignore[arg-type]
                                     presence_settings.resolved_kv_ttl_secs())),
        "notifications": notifications_app(NotificationsSettings(
            jwt_public_key_pem=public, **common), bus=buses["notifications"]),
        "dashboard": dashboard_app(DashboardSettings(jwt_public_key_pem=public, **common),
                                   bus=buses["dashboard"]),
    }
    servers: list[InProcessServer] = []
    urls: dict[str, str] = {}
    try:
        for name in SERVICES:  # chat first: the others verify its tokens
            port = free_port()
            server = InProcessServer(apps[name], port=port)
            await server.start()
            servers.append(server)
            urls[name] = f"http://127.0.0.1:{port}"
        yield Urls(**urls)
    finally:
        for server in reversed(servers):
            await server.stop()


async def test_every_subject_the_services_use_is_allowed_to_their_users(
        tmp_path: Path) -> None:
    shared = InMemoryEventBus()
    await shared.connect()
    buses = {name: RecordingBus(shared, name) for name in SERVICES}
    try:
        async with _system(tmp_path, buses) as urls:  # type: ignore[arg-type]
            seen = await exercise(urls, presence_frames=False)
    finally:
        await shared.close()
    assert seen.message_seq > 0 and seen.notifications and seen.broadcast
    assert seen.presence["status"] == "busy"
    refused = []
    for name, bus in buses.items():
        perms = permissions(name)
        refused += [f"{name} publishes {s}" for s in sorted(bus.published)
                    if not allowed(perms.publish, s) or allowed(perms.publish_deny, s)]
        refused += [f"{name} subscribes {s}" for s in sorted(bus.subscribed)
                    if not allowed(perms.subscribe, s)]
    assert refused == []
    # The lists are not wider than the code: every live subject and RPC granted is used.
    # Presence's peer questions exist only with several instances (on real NATS: leases need
    # KV); tests/integration/presence/test_partitions.py runs those as the `presence` user.
    for name, bus in buses.items():
        uses = USES[name]
        for pattern in uses.publishes:
            if (name, pattern) not in MULTI_INSTANCE_ONLY:
                assert any(subject_matches(pattern, s) for s in bus.published), (name, pattern)
        for pattern in (*uses.subscribes, *uses.answers):
            if (name, pattern) not in MULTI_INSTANCE_ONLY:
                assert any(subject_matches(pattern, s) for s in bus.subscribed), (name, pattern)


@pytest.mark.parametrize("config", ["nats.conf", "cluster/nats-1.conf", "cluster/nats-2.conf",
                                    "cluster/nats-3.conf"])
def test_nats_server_accepts_each_config(config: str, tmp_path: Path) -> None:
    """`nats-server -t` parses the file, its include and the password variables."""
    _require_nats_server()
    env = {**os.environ, **{var: "pw" for var in PASSWORD_VARS.values()}}
    checked = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(ROOT / "infra" / "nats" / config),
         "-sd", str(tmp_path)], env=env, capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    missing = {k: v for k, v in env.items() if k != "CHAT_NATS_PASSWORD"}
    refused = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(ROOT / "infra" / "nats" / config)],
        env=missing, capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0  # a password not given is an error, not an empty one


def test_nats_server_reads_the_passwords_up_makes_as_they_are(tmp_path: Path) -> None:
    """A `$VAR` value is parsed as configuration (`12345` is a number, some strings do not
    parse): up's passwords must come through as plain strings, 100 of them here."""
    from services.up_nats import new_password

    _require_nats_server()
    for _ in range(20):
        env = {**os.environ, **{var: new_password() for var in PASSWORD_VARS.values()}}
        checked = subprocess.run(
            [nats_server_binary(), "-t", "-c", str(ROOT / "infra" / "nats" / "nats.conf"),
             "-sd", str(tmp_path)], env=env, capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stdout + checked.stderr
