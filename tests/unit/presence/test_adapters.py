"""Adapters that need no server: the KV entry format, the event publisher, settings."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from services.presence.adapters.outbound.bus_events import BusPresenceEvents
from services.presence.adapters.outbound.nats_kv_store import decode, encode, entry_key
from services.presence.domain import Connection
from services.presence.settings import PresenceSettings
from shared.auth import KeysNotLoaded, Principal, TokenIssuer, TokenKeys, generate_private_key_pem
from shared.bus.memory import InMemoryEventBus
from shared.contracts import PresenceChanged
from tests.unit.presence.fakes import T0


def test_an_entry_survives_the_round_trip_through_the_bucket() -> None:
    conn = Connection("3f0c-9a", 7, "ana", "chat-a", (1, 2), 2, T0, T0 + timedelta(seconds=3),
                      T0 + timedelta(seconds=5), manual="busy")
    assert decode(encode(conn)) == conn


def test_keys_are_connection_ids_or_their_encoding_when_nats_would_refuse_them() -> None:
    assert entry_key("0b6c1a52-8f57-4a5e-9d0c-2f1e3c4b5a69") == (
        "0b6c1a52-8f57-4a5e-9d0c-2f1e3c4b5a69")
    odd = entry_key("a.b c*>")
    assert odd.startswith("b64_") and "." not in odd and " " not in odd


def change(user_id: int, status: str = "online") -> PresenceChanged:
    return PresenceChanged(user_id=user_id, username=f"u{user_id}", status=status,  # type: ignore[arg-type]
                           previous="offline", connections=1, reason="connected")


async def test_events_are_published_in_order_and_retried_while_nats_is_down() -> None:
    bus = InMemoryEventBus()
    events = BusPresenceEvents(bus)
    worker = asyncio.create_task(events.run())
    try:
        bus.fail_publishes = True
        for uid in (1, 2, 3):
            await events.announce(change(uid), T0)
        await asyncio.sleep(0.05)
        assert bus.published_events == [] and events.pending == 3
        bus.fail_publishes = False
        assert await events.drain(5.0)
        published = [(s, e.payload()) for s, e in bus.published_events]
        assert [(s, p.user_id) for s, p in published] == [  # type: ignore[attr-defined]
            ("events.presence.changed", 1), ("events.presence.changed", 2),
            ("events.presence.changed", 3)]
        first = bus.published_events[0][1]
        assert (first.source, first.subject, first.time) == ("tertulia/presence", "1", T0)
    finally:
        worker.cancel()


async def test_a_full_event_queue_drops_the_oldest() -> None:
    bus = InMemoryEventBus()
    events = BusPresenceEvents(bus, max_pending=2)
    for uid in (1, 2, 3):
        await events.announce(change(uid), T0)
    assert events.pending == 2 and events.dropped == 1
    worker = asyncio.create_task(events.run())
    try:
        assert await events.drain(5.0)
        assert [e.data["user_id"] for _, e in bus.published_events] == [2, 3]
    finally:
        worker.cancel()


def test_token_keys_refuse_until_loaded_then_verify() -> None:
    issuer = TokenIssuer(generate_private_key_pem())
    token = issuer.issue(Principal(5, "eve"))
    with pytest.raises(KeysNotLoaded):
        TokenKeys().verify(token)
    assert TokenKeys(issuer.verifier()).verify(token) == Principal(5, "eve")


def test_the_ttl_is_a_few_heartbeats_and_settling_one_and_a_half(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_URL", "nats://somewhere:4222")
    settings = PresenceSettings()
    assert (settings.grace_secs, settings.idle_away_secs) == (5.0, 300.0)
    assert settings.resolved_kv_ttl_secs() == 30.0
    assert settings.resolved_settle_secs() == 15.0
    assert settings.nats_url == "nats://somewhere:4222"
    assert settings.resolved_database_url().endswith("data/presence.db")
    quick = PresenceSettings(chat_heartbeat_secs=0.5, kv_ttl_secs=2.0)
    assert (quick.resolved_kv_ttl_secs(), quick.resolved_settle_secs()) == (2.0, 0.75)
