"""Both EventBus adapters are the port: every member the port declares, with its parameters,
and the lifecycle (`connect`, `close`, `is_connected`) is part of the port, so a service
calls it without probing the adapter for it."""

from __future__ import annotations

import inspect

import pytest

from shared.bus.memory import InMemoryEventBus
from shared.bus.nats import NatsEventBus
from shared.bus.port import EventBus

LIFECYCLE = {"connect", "close", "is_connected"}


def _members(cls: type) -> dict[str, object]:
    return {name: value for name, value in vars(cls).items() if not name.startswith("_")}


def test_the_port_declares_the_lifecycle() -> None:
    assert LIFECYCLE <= set(_members(EventBus))
    assert isinstance(vars(EventBus)["is_connected"], property)


@pytest.mark.parametrize("adapter", [InMemoryEventBus, NatsEventBus])
def test_each_adapter_has_every_member_of_the_port(adapter: type) -> None:
    for name, declared in _members(EventBus).items():
        implemented = getattr(adapter, name, None)
        assert implemented is not None, f"{adapter.__name__} lacks {name}"
        if isinstance(declared, property):
            assert isinstance(implemented, property), name
            continue
        assert inspect.iscoroutinefunction(implemented) == \
            inspect.iscoroutinefunction(declared), name
        assert list(inspect.signature(implemented).parameters) == \
            list(inspect.signature(declared).parameters), name


async def test_a_closed_bus_says_so_and_connect_opens_it_again() -> None:
    bus: EventBus = InMemoryEventBus()
    await bus.connect()
    assert bus.is_connected
    await bus.close()
    assert not bus.is_connected
    await bus.connect()
    assert bus.is_connected
