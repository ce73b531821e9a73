"""One lifecycle for every service: start is one `AsyncExitStack`, stop is its unwinding.

Each thing a service starts (its database, its bus connection, a subscription, a task) is
pushed onto the stack as soon as it has started, with what stops it. A stop is the stack
unwinding, in reverse order of start; a start that fails half-way unwinds exactly what had
started, and nothing else. The order of a service's start is therefore also the order of
its stop, read backwards: what it needs first (the database, the bus) goes last.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from typing import Any, TypeVar

from shared.bus.port import EventBus, Subscription
from shared.db import Database
from shared.migrations import SchemaError, ServiceSchema, ensure_schema
from shared.outbox import OutboxRelay

log = logging.getLogger(__name__)
SubscriptionT = TypeVar("SubscriptionT", bound=Subscription)


async def open_database(stack: AsyncExitStack, db: Database, schema: ServiceSchema, *,
                        auto_migrate: bool = True) -> None:
    """Prepare `db` (its file's directory, the writer lock), dispose of it on unwind, and
    bring its schema to the latest migration, or refuse a schema this code cannot run on
    (`shared/migrations.py`)."""
    await db.prepare()
    stack.push_async_callback(db.dispose)
    try:
        await ensure_schema(db, schema, auto_migrate=auto_migrate)
    except SchemaError as exc:  # one line that says it all, before the traceback
        log.error("refusing to start: %s", exc)
        raise


async def connect_bus(stack: AsyncExitStack, bus: EventBus) -> None:
    """Connect; on unwind, close (drain) the connection."""
    await bus.connect()
    stack.push_async_callback(quietly, "closing the bus connection", bus.close)


async def subscribed(stack: AsyncExitStack, subscribing: Awaitable[SubscriptionT]
                     ) -> SubscriptionT:
    """Await a subscription (live, consumer, follower, responder); unsubscribe on unwind."""
    subscription = await subscribing
    stack.push_async_callback(quietly, "unsubscribing", subscription.unsubscribe)
    return subscription


def run_task(stack: AsyncExitStack, coro: Coroutine[Any, Any, None], name: str
             ) -> asyncio.Task[None]:
    """Run `coro` as a task; on unwind, cancel it and wait until it has ended."""
    task = asyncio.create_task(coro, name=name)
    stack.push_async_callback(cancel, task)
    return task


def run_relay(stack: AsyncExitStack, relay: OutboxRelay) -> None:
    """Run the outbox relay; on unwind, let it finish what it is doing and end it (what is
    unpublished stays unsent in the table: the next start publishes it)."""
    task = asyncio.create_task(relay.run(), name="outbox-relay")

    async def stop() -> None:
        relay.stop()
        await cancel(task)

    stack.push_async_callback(stop)


async def cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception:
        log.exception("task %s failed while stopping", task.get_name())


async def quietly(what: str, stop: Callable[[], Awaitable[object]]) -> None:
    """A stop step that fails is logged, and the steps after it still run."""
    try:
        await stop()
    except Exception as exc:
        log.warning("%s failed while stopping", what, extra={"fields": {"error": repr(exc)}})
