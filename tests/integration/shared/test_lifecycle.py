"""A service whose start fails half-way stops what had started, and only that: its tasks
end, its subscriptions go, its bus connection closes, its database threads end. Each
service's start fails here on one of the last subscriptions it makes, so nearly all of it
ran."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from shared.bus import EventHandler, LiveHandler, Responder, Subscription
from shared.bus.memory import InMemoryEventBus
from shared.contracts import PresenceChanged, spec_for
from tests.unit.presence.fakes import FixedClock, InMemoryConnectionStore

pytestmark = pytest.mark.integration
JWKS = "http://127.0.0.1:1/.well-known/jwks.json"  # never answers: a fetch task keeps trying
OUR_THREADS = {"sqlite-checkpoint", "chat-posts", "chat-joins"}


class RefusingBus(InMemoryEventBus):
    """Refuses one subscription: `subscribe` to `subject`, or any `respond` or `consume`."""

    def __init__(self, refuse: str) -> None:
        super().__init__()
        self.refuse = refuse

    async def subscribe(self, subject: str, handler: LiveHandler, *,
                        flush: bool = True) -> Any:
        if subject == self.refuse:
            raise RuntimeError("refused")
        return await super().subscribe(subject, handler, flush=flush)

    async def respond(self, subject: str, responder: Responder) -> Any:
        if self.refuse == "respond":
            raise RuntimeError("refused")
        return await super().respond(subject, responder)

    async def consume(self, durable: str, filter_subjects: Any, handler: EventHandler,
                      **kwargs: Any) -> Subscription:
        if self.refuse == "consume":
            raise RuntimeError("refused")
        return await super().consume(durable, filter_subjects, handler, **kwargs)

    async def replay(self, subject: str, handler: Any, *, after_seq: int) -> Any:
        if self.refuse == "replay":
            raise RuntimeError("refused")
        return await super().replay(subject, handler, after_seq=after_seq)


def _app(service: str, data_dir: Path) -> tuple[Any, RefusingBus]:
    common = {"data_dir": data_dir, "log_json": False}
    if service == "chat":
        from services.chat.app import create_app
        from services.chat.settings import ChatSettings
        bus = RefusingBus(spec_for(PresenceChanged).subject)
        return create_app(ChatSettings(**common), bus=bus), bus
    if service == "presence":
        from services.presence.app import create_app
        from services.presence.settings import PresenceSettings
        bus = RefusingBus("respond")
        settings = PresenceSettings(**common, jwks_url=JWKS)
        store = InMemoryConnectionStore(FixedClock(), settings.resolved_kv_ttl_secs())
        return create_app(settings, bus=bus, store=store), bus
    if service == "notifications":
        from services.notifications.app import create_app
        from services.notifications.settings import NotificationsSettings
        bus = RefusingBus("consume")
        return create_app(NotificationsSettings(**common, jwks_url=JWKS), bus=bus), bus
    from services.dashboard.app import create_app
    from services.dashboard.settings import DashboardSettings
    bus = RefusingBus("replay")  # it folds EVENTS by replay, with no durable of its own
    return create_app(DashboardSettings(**common, jwks_url=JWKS), bus=bus), bus


def _our_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name in OUR_THREADS}


@pytest.mark.parametrize("service", ["chat", "presence", "notifications", "dashboard"])
async def test_a_start_that_fails_half_way_stops_what_had_started(
        service: str, tmp_path: Path) -> None:
    tasks_before = asyncio.all_tasks()
    threads_before = _our_threads()
    app, bus = _app(service, tmp_path)

    with pytest.raises(RuntimeError, match="refused"):
        async with app.router.lifespan_context(app):
            pytest.fail("started although a subscription was refused")

    assert not bus.is_connected
    left = {t.get_name() for t in asyncio.all_tasks() - tasks_before if not t.done()}
    assert left == set()
    assert _our_threads() == threads_before  # the database's and chat's SQLite threads


async def test_presence_prepares_its_connection_store_before_reading_it(
        tmp_path: Path) -> None:
    from services.presence.app import create_app
    from services.presence.settings import PresenceSettings
    settings = PresenceSettings(data_dir=tmp_path, log_json=False, jwks_url=JWKS)
    store = InMemoryConnectionStore(FixedClock(), settings.resolved_kv_ttl_secs())
    app = create_app(settings, bus=InMemoryEventBus(), store=store)

    async with app.router.lifespan_context(app):
        assert store.prepared
