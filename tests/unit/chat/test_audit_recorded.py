"""Other services' audited actions (`AuditRecorded`) in chat's audit log: written once,
whatever the redeliveries, through the consumer on the in-memory bus."""

from __future__ import annotations

from datetime import timedelta

from services.chat import use_cases
from services.chat.adapters.inbound.audit_events import consume_audit_events
from services.chat.domain.audit import AuditEntry
from services.chat.ports import ChatDeps
from services.chat.settings import ChatSettings
from shared.bus.memory import InMemoryEventBus
from shared.contracts import AuditRecorded, new_event
from tests.unit.chat.fakes import T0, InMemoryChatUnitOfWork


def hook_created() -> AuditRecorded:
    return AuditRecorded(at=T0, actor_id=1, action="outgoing_hook.create",
                         target_type="outgoing_hook", target_id="7",
                         details={"host": "hooks.example.com", "room_ids": [3]})


async def test_an_entry_from_another_service_is_written_once(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    entry = AuditEntry(at=T0, actor_id=1, action="outgoing_hook.create",
                       target_type="outgoing_hook", target_id="7")
    assert await use_cases.record_recorded(deps, entry)
    again = AuditEntry(at=T0, actor_id=1, action="outgoing_hook.create",
                       target_type="outgoing_hook", target_id="7")
    assert not await use_cases.record_recorded(deps, again)
    later = AuditEntry(at=T0 + timedelta(seconds=1), actor_id=1,
                       action="outgoing_hook.create", target_type="outgoing_hook",
                       target_id="7")
    assert await use_cases.record_recorded(deps, later)  # another action, a second later
    assert len(uow.state.audit) == 2


async def test_the_consumer_writes_each_event_once_despite_a_redelivery(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    bus = InMemoryEventBus()
    await bus.connect()
    try:
        await consume_audit_events(bus, deps, ChatSettings(audit_durable_name="audit-test"))
        subject, first = new_event(hook_created(), source="tests")
        # The same event stored again under another id (an outbox relayed twice).
        _, second = new_event(hook_created(), source="tests")
        await bus.publish_event(subject, first)
        await bus.publish_event(subject, second)
        await bus.settle()  # both handled
    finally:
        await bus.close()
    [entry] = uow.state.audit
    assert (entry.action, entry.target_type, entry.target_id, entry.actor_id, entry.at) == (
        "outgoing_hook.create", "outgoing_hook", "7", 1, T0)
    assert entry.details == {"host": "hooks.example.com", "room_ids": [3]}
