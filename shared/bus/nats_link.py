"""What the parts of `NatsEventBus` need of its connection (`NatsLink`), and what nats-py
raises when the server did not do something (`NATS_FAILURES`)."""

from __future__ import annotations

from typing import Protocol

import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext

# nats-py's own errors (timeouts, no responders, closed/reconnecting, JetStream API errors)
# plus socket-level ones.
NATS_FAILURES = (nats.errors.Error, TimeoutError, OSError)


class NatsLink(Protocol):
    """The connection as publishers and consumers see it; `client` and `jetstream` raise
    RuntimeError before `connect()`."""

    redelivery_base_secs: float
    # How long a durable consumer's event waits for its ack before it is handed out again.
    ack_wait_secs: float
    redelivery_max_secs: float

    @property
    def is_connected(self) -> bool: ...

    @property
    def client(self) -> Client: ...

    @property
    def jetstream(self) -> JetStreamContext: ...

    async def ensure_stream(self) -> None: ...
