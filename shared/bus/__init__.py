"""The event bus port and its adapters (NATS for real, in-memory for unit tests)."""

from shared.bus.port import (
    DeadLetterHandler,
    EventBus,
    EventHandler,
    Exclusive,
    LiveHandler,
    LiveMessage,
    PublishFailed,
    RawEvent,
    RequestFailed,
    Responder,
    SequencedHandler,
    Subscription,
)

__all__ = [
    "DeadLetterHandler",
    "EventBus",
    "EventHandler",
    "Exclusive",
    "LiveHandler",
    "LiveMessage",
    "PublishFailed",
    "RawEvent",
    "RequestFailed",
    "Responder",
    "SequencedHandler",
    "Subscription",
]
