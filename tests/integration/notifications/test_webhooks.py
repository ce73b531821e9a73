"""Outgoing webhooks end to end on a real NATS: the service fans chat's events out into its
JetStream work queue and POSTs them, signed, to a local receiver the test starts; failures
are retried with back-off (tens of milliseconds here) under the same delivery id, a
receiver that hangs holds up nobody else, and private destinations are refused unless
allowed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from services.notifications.adapters.outbound.webhook_http import (
    DnsDestinationGuard,
    HttpWebhookSender,
)
from services.notifications.domain.ssrf import AddressPolicy
from services.notifications.domain.webhooks import signature
from tests.integration.notifications.harness import (
    Feed,
    Keys,
    NotificationsService,
    eventually,
    notifications_settings,
    position_at_end,
    running,
    unique,
)
from tests.integration.notifications.webhook_receiver import Receiver, receiving

ROOT = Path(__file__).resolve().parents[3]


def webhook_settings(tmp_path: Path, nats_url: str, keys: Keys, **overrides: Any) -> Any:
    """A queue of the test's own (stream, subjects, durables) and quick retries; the local
    receiver's network allowed."""
    name = unique("wh").replace("-", "_")
    values: dict[str, Any] = {
        "webhook_durable_name": f"{name}-fanout", "webhook_stream": name.upper(),
        "webhook_subject_prefix": f"{name}.deliver",
        "webhook_deliveries_durable": f"{name}-deliveries",
        "webhook_retry_base_secs": 0.02, "webhook_retry_max_secs": 0.1,
        "webhook_max_attempts": 4, "webhook_timeout_secs": 5.0,
        "webhook_allowed_networks": ["127.0.0.0/8"],
    }
    values.update(overrides)
    return notifications_settings(tmp_path, nats_url, keys, **values)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as started:
        yield started


@contextlib.asynccontextmanager
async def webhook_service(tmp_path: Path, nats_url: str, keys: Keys, events: Feed,
                          **overrides: Any) -> AsyncIterator[NotificationsService]:
    settings = webhook_settings(tmp_path, nats_url, keys, **overrides)
    await position_at_end(events.bus, settings)
    async with running(settings) as started:
        yield started


@pytest.fixture
async def service(tmp_path: Path, nats_url: str, keys: Keys, events: Feed
                  ) -> AsyncIterator[NotificationsService]:
    async with webhook_service(tmp_path, nats_url, keys, events) as started:
        yield started


def admin(service: NotificationsService, keys: Keys) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=service.url, headers={
        "Authorization": f"Bearer {keys.token(1, 'root', is_admin=True)}"})


async def create(service: NotificationsService, keys: Keys, url: str, room_ids: list[int],
                 events: list[str] | None = None) -> dict[str, Any]:
    async with admin(service, keys) as http:
        made = await http.post("/api/notifications/webhooks", json={
            "url": url, "room_ids": room_ids, "events": events or ["message.created"]})
    assert made.status_code == 201, made.text
    return made.json()


async def status_of(service: NotificationsService, keys: Keys, hook_id: int
                    ) -> dict[str, Any]:
    async with admin(service, keys) as http:
        listed = (await http.get("/api/notifications/webhooks")).json()["webhooks"]
    return next(w["status"] for w in listed if w["id"] == hook_id)


def verified(secret: str, headers: dict[str, str], body: bytes) -> bool:
    return headers["x-tertulia-signature"] == signature(
        secret, int(headers["x-tertulia-timestamp"]), body)


async def test_a_chat_event_arrives_signed_at_the_receiver(
        service: NotificationsService, keys: Keys, events: Feed, receiver: Receiver) -> None:
    alice = await events.user()
    room = await events.room([(alice, "admin")])
    hook = await create(service, keys, receiver.url("/in"), [room])
    assert hook["secret"].startswith("whsec_")
    posted = await events.post(room, alice, "hello hooks")
    [got] = await eventually(lambda: receiver.to("/in"), what="the delivery")
    assert verified(hook["secret"], got.headers, got.body)
    body = orjson.loads(got.body)
    assert body["event"] == "message.created" and body["data"] == posted.data
    assert body["ts"] == int(got.headers["x-tertulia-timestamp"])
    assert body["delivery_id"] == got.headers["x-tertulia-delivery"]
    assert got.headers["user-agent"].startswith("Tertulia-Webhooks/")
    assert got.headers["content-type"] == "application/json"
    status = await eventually(lambda: _delivered(service, keys, hook["id"], 1))
    assert status["failed_attempts"] == 0 and status["last_success_at"] is not None
    async with admin(service, keys) as http:
        listed = (await http.get("/api/notifications/webhooks")).json()
    assert "secret" not in listed["webhooks"][0]  # shown once, at creation
    # Other rooms and other event types are not sent.
    await events.post(await events.room([(alice, "admin")]), alice, "elsewhere")
    await events.edit(posted, "edited")
    await events.post(room, alice, "second")
    await eventually(lambda: len(receiver.to("/in")) == 2, what="the second delivery")
    assert [orjson.loads(r.body)["data"]["content"] for r in receiver.to("/in")] == [
        "hello hooks", "second"]


async def _delivered(service: NotificationsService, keys: Keys, hook_id: int, count: int
                     ) -> dict[str, Any] | None:
    status = await status_of(service, keys, hook_id)
    return status if status["delivered"] == count else None


async def test_a_receiver_failing_twice_gets_it_on_the_third_attempt_same_delivery_id(
        service: NotificationsService, keys: Keys, events: Feed, receiver: Receiver) -> None:
    receiver.statuses["/flaky"] = [503, 500, 204]
    alice = await events.user()
    room = await events.room([(alice, "admin")])
    hook = await create(service, keys, receiver.url("/flaky"), [room])
    await events.post(room, alice, "try again")
    await eventually(lambda: receiver.answered.get("/flaky") == 3, what="three attempts")
    attempts = receiver.to("/flaky")
    assert len({a.headers["x-tertulia-delivery"] for a in attempts}) == 1
    assert all(verified(hook["secret"], a.headers, a.body) for a in attempts)
    status = await eventually(lambda: _delivered(service, keys, hook["id"], 1))
    assert (status["failed_attempts"], status["dead_lettered"]) == (2, 0)
    assert status["last_error"] == "HTTP 500"


async def test_a_receiver_that_never_answers_holds_up_no_other_delivery(
        service: NotificationsService, keys: Keys, events: Feed, receiver: Receiver) -> None:
    alice = await events.user()
    room = await events.room([(alice, "admin")])
    await create(service, keys, receiver.url("/hang"), [room])
    await create(service, keys, receiver.url("/fast"), [room])
    await events.post(room, alice, "one")
    await eventually(lambda: receiver.to("/hang"), what="the hanging request")
    for n in (2, 3):
        await events.post(room, alice, f"message {n}")
    # Every event reached the other webhook while the first request still hangs (its
    # timeout is 5 s; a later request to it waits behind nothing either).
    await eventually(lambda: len(receiver.to("/fast")) == 3, what="the other deliveries")
    assert receiver.answered.get("/hang", 0) == 0


async def test_a_delivery_held_by_a_stopped_instance_comes_back_with_its_delivery_id(
        tmp_path: Path, nats_url: str, keys: Keys, events: Feed, receiver: Receiver) -> None:
    settings = webhook_settings(tmp_path, nats_url, keys)
    await position_at_end(events.bus, settings)
    alice = await events.user()
    room = await events.room([(alice, "admin")])
    async with running(settings) as first:
        await create(first, keys, receiver.url("/hang-once"), [room])
        await events.post(room, alice, "survive me")
        await eventually(lambda: receiver.to("/hang-once"), what="the first attempt")
    # Stopped mid-attempt: the delivery went back to the queue unanswered.
    receiver.release.set()
    async with running(settings):
        await eventually(lambda: len(receiver.to("/hang-once")) >= 2, what="the redelivery")
    ids = {r.headers["x-tertulia-delivery"] for r in receiver.to("/hang-once")}
    assert len(ids) == 1


async def test_private_destinations_are_refused_unless_allowed(
        service: NotificationsService, keys: Keys, receiver: Receiver) -> None:
    async with admin(service, keys) as http:
        # 127.0.0.0/8 is allowed here, ::1 and 10/8 are not.
        for url in (receiver.url("/in", host="[::1]"), "http://10.0.0.1/in",
                    "http://[::ffff:10.0.0.1]/in"):
            refused = await http.post("/api/notifications/webhooks", json={
                "url": url, "room_ids": [1], "events": ["message.created"]})
            assert (refused.status_code, refused.json()["code"]) == (
                422, "webhook_destination_refused"), url
        for body, code in [({"url": "ftp://x/", "room_ids": [1], "events": ["message.created"]},
                            "invalid_webhook_url"),
                           ({"url": "https://a.example/", "room_ids": [1],
                             "events": ["user.registered"]}, "invalid_webhook_events")]:
            bad = await http.post("/api/notifications/webhooks", json=body)
            assert (bad.status_code, bad.json()["code"]) == (422, code)
        gone = await http.delete("/api/notifications/webhooks/999999")
        assert (gone.status_code, gone.json()["code"]) == (404, "webhook_not_found")
    async with httpx.AsyncClient(base_url=service.url, headers={
            "Authorization": f"Bearer {keys.token(2, 'bob')}"}) as http:
        assert (await http.get("/api/notifications/webhooks")).status_code == 403


async def test_the_sender_refuses_loopback_at_delivery_time_and_connects_to_what_it_checked(
        receiver: Receiver) -> None:
    strict = HttpWebhookSender(DnsDestinationGuard(AddressPolicy()), timeout_secs=2.0,
                               max_connections=2)
    lenient = HttpWebhookSender(DnsDestinationGuard(AddressPolicy(allow_private=True)),
                                timeout_secs=2.0, max_connections=2)
    try:
        for url in (receiver.url("/x"), receiver.url("/x", host="localhost")):
            sent = await strict.send(url, b"{}", {})
            assert sent.status is None and not sent.retryable
            assert "loopback" in (sent.error or "")
        assert receiver.requests == []  # no connection was made
        # Allowed: a name is resolved once, the request goes to that address with the name
        # in Host.
        sent = await lenient.send(receiver.url("/named", host="localhost"), b"{}", {})
        assert sent.status == 200
        [got] = receiver.to("/named")
        assert got.headers["host"] == f"localhost:{receiver.port}"
    finally:
        await strict.aclose()
        await lenient.aclose()


async def test_no_redirect_is_followed(receiver: Receiver) -> None:
    receiver.statuses["/moved"] = [302]
    sender = HttpWebhookSender(DnsDestinationGuard(AddressPolicy(allow_private=True)),
                               timeout_secs=2.0, max_connections=2)
    try:
        assert (await sender.send(receiver.url("/moved"), b"{}", {})).status == 302
    finally:
        await sender.aclose()
    await asyncio.sleep(0)
    assert [r.path for r in receiver.requests] == ["/moved"]


async def test_deliveries_under_the_notifications_nats_user(
        tmp_path: Path, keys: Keys, receiver: Receiver) -> None:
    """On a server with the generated permissions and the default names: the
    notifications user may make the queue, fan out into it, consume and acknowledge it."""
    from services.launcher import NatsServerProcess
    from services.up_nats import new_password
    from shared.contracts.permissions import ADMIN_USER, PASSWORD_VARS
    from tests.integration.notifications.harness import feed

    passwords = {user: new_password() for user in PASSWORD_VARS}
    server = NatsServerProcess(
        tmp_path / "nats", jetstream=False, config=ROOT / "infra" / "nats" / "nats.conf",
        env={var: passwords[user] for user, var in PASSWORD_VARS.items()},
        extra_args=["-sd", str(tmp_path / "nats" / "jetstream")])
    await server.astart(20)
    try:
        settings = notifications_settings(
            tmp_path / "data", server.url, keys, durable_name="notifications",
            nats_user="notifications", nats_password=passwords["notifications"],
            webhook_retry_base_secs=0.02, webhook_allowed_networks=["127.0.0.0/8"])
        receiver.statuses["/secure"] = [500, 200]
        admin_url = server.url.replace("nats://", f"nats://{ADMIN_USER}:"
                                       f"{passwords[ADMIN_USER]}@")
        async with feed(admin_url) as events, running(settings) as service:
            alice = await events.user()
            room = await events.room([(alice, "admin")])
            hook = await create(service, keys, receiver.url("/secure"), [room])
            await events.post(room, alice, "as the notifications user")
            await eventually(lambda: receiver.answered.get("/secure") == 2,
                             what="a retried delivery")
            status = await eventually(lambda: _delivered(service, keys, hook["id"], 1))
            assert status["failed_attempts"] == 1
    finally:
        server.stop()
