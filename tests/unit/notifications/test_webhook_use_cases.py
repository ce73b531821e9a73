"""Outgoing webhooks' use cases on the in-memory stores: configuration with its audit
event, fan-out by room and event type, and each attempt's outcome and count."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import orjson
import pytest

from services.notifications import use_cases
from services.notifications.domain import Invalid, NotFound
from services.notifications.domain.webhooks import (
    Delivery,
    DestinationRefused,
    Target,
    delivery_id,
    signature,
)
from services.notifications.ports import Sent, WebhookDeps
from shared.contracts import AuditRecorded
from tests.unit.notifications.fakes import T0, FixedClock, InMemoryNotificationsUnitOfWork

pytest.register_assert_rewrite("tests.unit.notifications.webhook_store_contract")
from tests.unit.notifications.webhook_store_contract import WebhookStoreContract  # noqa: E402

ADMIN = 1


class RecordingQueue:
    def __init__(self) -> None:
        self.queued: list[Delivery] = []

    async def enqueue(self, deliveries: Sequence[Delivery]) -> None:
        self.queued += deliveries


class ScriptedSender:
    """Answers each POST with the next of `answers`; remembers what it was sent."""

    def __init__(self, *answers: Sent) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, bytes, dict[str, str]]] = []

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> Sent:
        self.requests.append((url, body, dict(headers)))
        return self.answers.pop(0)


class HostGuard:
    """Refuses the hosts it is given, as the DNS guard refuses private ones."""

    def __init__(self, *refused: str) -> None:
        self.refused = set(refused)

    async def check(self, target: Target) -> None:
        if target.host in self.refused:
            raise DestinationRefused(f"{target.host} is loopback")


def make_deps(sender: ScriptedSender | None = None, guard: HostGuard | None = None
              ) -> tuple[WebhookDeps, InMemoryNotificationsUnitOfWork, RecordingQueue]:
    uow, queue = InMemoryNotificationsUnitOfWork(), RecordingQueue()
    deps = WebhookDeps(uow=uow, clock=FixedClock(), queue=queue,  # type: ignore[arg-type]
                       sender=sender or ScriptedSender(), guard=guard or HostGuard(),
                       user_agent="Tertulia-Webhooks/test", max_attempts=3,
                       retry_base_secs=0.5, retry_max_secs=10.0)
    return deps, uow, queue


async def test_creating_and_deleting_a_webhook_is_audited() -> None:
    deps, uow, _ = make_deps()
    hook = await use_cases.create_webhook(deps, ADMIN, "https://hooks.example.com/in?k=s",
                                          [5, 6], ["message.created"])
    assert hook.secret.startswith("whsec_") and len(hook.secret) > 40
    assert [w.id for w in await use_cases.list_webhooks(deps)] == [hook.id]
    await use_cases.delete_webhook(deps, ADMIN, hook.id)
    assert await use_cases.list_webhooks(deps) == []
    audit = uow.events_of(AuditRecorded)
    assert [(a.action, a.target_type, a.target_id, a.actor_id) for a in audit] == [
        ("outgoing_hook.create", "outgoing_hook", str(hook.id), ADMIN),
        ("outgoing_hook.delete", "outgoing_hook", str(hook.id), ADMIN)]
    # The host only: the receiver's own token in the query stays out of the log.
    assert audit[0].details == {"host": "hooks.example.com", "room_ids": [5, 6],
                                "events": ["message.created"]}
    with pytest.raises(NotFound):
        await use_cases.delete_webhook(deps, ADMIN, hook.id)


async def test_a_refused_destination_is_not_stored() -> None:
    deps, uow, _ = make_deps(guard=HostGuard("localhost"))
    with pytest.raises(Invalid) as refused:
        await use_cases.create_webhook(deps, ADMIN, "http://localhost:8080/", [1],
                                       ["message.created"])
    assert refused.value.code == "webhook_destination_refused"
    assert await use_cases.list_webhooks(deps) == [] and uow.events == []


async def test_events_fan_out_to_the_webhooks_of_their_room_and_type() -> None:
    deps, _, queue = make_deps()
    posts = await use_cases.create_webhook(deps, ADMIN, "https://a.example/", [1, 2],
                                           ["message.created"])
    edits = await use_cases.create_webhook(deps, ADMIN, "https://b.example/", [2],
                                           ["message.edited", "message.created"])
    data: dict[str, Any] = {"room_id": 2, "message_id": 9, "content": "hi"}
    assert await use_cases.fan_out(deps, "events.chat.message.created", "ev1", data, T0) == 2
    assert await use_cases.fan_out(deps, "events.chat.message.edited", "ev2", data, T0) == 1
    assert await use_cases.fan_out(deps, "events.chat.message.created", "ev3",
                                   {**data, "room_id": 3}, T0) == 0
    assert await use_cases.fan_out(deps, "events.chat.user.registered", "ev4",
                                   {"user_id": 1}, T0) == 0
    assert [(d.webhook_id, d.event, d.delivery_id) for d in queue.queued] == [
        (posts.id, "message.created", delivery_id("ev1", posts.id)),
        (edits.id, "message.created", delivery_id("ev1", edits.id)),
        (edits.id, "message.edited", delivery_id("ev2", edits.id))]


async def _one_delivery(deps: WebhookDeps, queue: RecordingQueue) -> Delivery:
    await use_cases.create_webhook(deps, ADMIN, "https://hooks.example.com/in", [1],
                                   ["message.created"])
    await use_cases.fan_out(deps, "events.chat.message.created", "ev1",
                            {"room_id": 1, "content": "hi"}, T0)
    return queue.queued[0]


async def test_a_delivery_is_signed_and_counted() -> None:
    sender = ScriptedSender(Sent(204))
    deps, _, queue = make_deps(sender)
    delivery = await _one_delivery(deps, queue)
    outcome = await use_cases.attempt_delivery(deps, delivery, 1)
    assert (outcome.verdict, outcome.dead) == ("delivered", False)
    [(url, body, headers)] = sender.requests
    [hook] = await use_cases.list_webhooks(deps)
    ts = int(T0.timestamp())
    assert url == "https://hooks.example.com/in"
    assert orjson.loads(body) == {"event": "message.created",
                                  "data": {"room_id": 1, "content": "hi"},
                                  "delivery_id": delivery.delivery_id, "ts": ts}
    assert headers["X-Tertulia-Signature"] == signature(hook.secret, ts, body)
    assert headers["X-Tertulia-Timestamp"] == str(ts)
    assert headers["X-Tertulia-Delivery"] == delivery.delivery_id
    assert headers["User-Agent"] == "Tertulia-Webhooks/test"
    assert (hook.status.delivered, hook.status.last_success_at) == (1, T0)


async def test_failures_back_off_then_give_up_after_the_last_attempt() -> None:
    sender = ScriptedSender(Sent(503), Sent(None, "ConnectError"), Sent(429))
    deps, _, queue = make_deps(sender)
    delivery = await _one_delivery(deps, queue)
    outcomes = []
    for attempt in (1, 2, 3):
        deps.clock.advance(seconds=1)  # type: ignore[attr-defined]
        outcomes.append(await use_cases.attempt_delivery(deps, delivery, attempt))
    assert [(o.verdict, o.retry_in_secs, o.dead) for o in outcomes] == [
        ("retry", 0.5, False), ("retry", 1.0, False), ("give_up", None, True)]
    [hook] = await use_cases.list_webhooks(deps)
    assert (hook.status.failed_attempts, hook.status.dead_lettered) == (3, 1)
    assert hook.status.last_error == "HTTP 429"
    assert hook.status.last_failure_at == T0 + timedelta(seconds=3)
    # Every attempt carried the same delivery id.
    assert {h["X-Tertulia-Delivery"] for _, _, h in sender.requests} == {delivery.delivery_id}


@pytest.mark.parametrize("answer", [Sent(410), Sent(302), Sent(None, "10.0.0.1 is private",
                                                              retryable=False)])
async def test_a_receivers_refusal_or_a_refused_address_gives_up_at_once(answer: Sent) -> None:
    deps, _, queue = make_deps(ScriptedSender(answer))
    outcome = await use_cases.attempt_delivery(deps, await _one_delivery(deps, queue), 1)
    assert (outcome.verdict, outcome.dead) == ("give_up", True)


async def test_a_deleted_webhooks_deliveries_are_dropped_unsent() -> None:
    sender = ScriptedSender()
    deps, _, queue = make_deps(sender)
    delivery = await _one_delivery(deps, queue)
    await use_cases.delete_webhook(deps, ADMIN, delivery.webhook_id)
    outcome = await use_cases.attempt_delivery(deps, delivery, 1)
    assert (outcome.verdict, outcome.dead, sender.requests) == ("give_up", False, [])


class TestInMemoryWebhookStore(WebhookStoreContract):
    @pytest.fixture
    def uow(self) -> InMemoryNotificationsUnitOfWork:
        return InMemoryNotificationsUnitOfWork()


async def test_an_event_that_cannot_be_fanned_out_is_kept_as_a_dead_letter() -> None:
    deps, uow, _ = make_deps()
    await use_cases.fan_out_failed(deps, "ev9", "tertulia.chat.message.created.v1", b"{}",
                                   "PublishFailed('no stream')")
    [(event_id, _, _, error, at)] = uow.state.dead_letters
    assert (event_id, error, at) == ("ev9", "webhook fan-out: PublishFailed('no stream')", T0)
