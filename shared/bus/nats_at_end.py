"""A durable consumer of EVENTS created at the stream's end instead of its start, for
consumers whose events only matter from their first start on (outgoing webhooks' fan-out,
chat's audit events from other services): a first start does not replay the past, and a
test's consumer does not see the events earlier tests left in a shared stream. Once it
exists, `EventBus.consume` binds to it as it is (same filters, max_deliver and ack wait)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import nats.js.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from shared.bus.nats_link import NatsLink
from shared.contracts.events import EVENTS_STREAM


async def create_at_end(link: NatsLink, durable: str, subjects: Sequence[str],
                        max_deliver: int) -> None:
    """Create `durable` at the end of EVENTS unless it exists (its position is kept)."""
    js = link.jetstream
    try:
        await js.consumer_info(EVENTS_STREAM, durable)
        return
    except nats.js.errors.NotFoundError:
        pass
    filters: dict[str, object] = ({"filter_subjects": list(subjects)} if len(subjects) > 1
                                  else {"filter_subject": subjects[0]})
    with contextlib.suppress(nats.js.errors.BadRequestError):  # another instance made it
        await js.add_consumer(EVENTS_STREAM, ConsumerConfig(
            name=durable, durable_name=durable, ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.NEW, ack_wait=link.ack_wait_secs,
            max_deliver=max_deliver, **filters))  # type: ignore[arg-type]
