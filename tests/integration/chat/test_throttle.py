"""Sign-in and sign-up throttling on real NATS: one budget for every replica, counted
before any password is hashed, per account and per client address."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter

from services.chat.adapters.outbound.nats_kv_limits import NatsKvLimitsStorage
from services.chat.adapters.outbound.security import Argon2PasswordHasher
from shared.bus.nats import NatsEventBus
from tests.integration.chat.harness import ChatReplica, chat_settings

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery"


class CountingHasher(Argon2PasswordHasher):
    """The real argon2id hasher, counting the work it did."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def hash(self, password: str) -> str:
        self.calls += 1
        return await super().hash(password)

    async def verify(self, password_hash: str, password: str) -> bool:
        self.calls += 1
        return await super().verify(password_hash, password)


@contextlib.asynccontextmanager
async def storages(nats_url: str, count: int) -> AsyncIterator[list[NatsKvLimitsStorage]]:
    """`count` storages on connections of their own, as `count` replicas have."""
    bucket = f"THROTTLE_{uuid.uuid4().hex[:12]}"
    buses = [NatsEventBus(nats_url, name=f"throttle-{n}") for n in range(count)]
    try:
        for bus in buses:
            await bus.connect()
        yield [NatsKvLimitsStorage(bus, bucket, max_age_secs=60) for bus in buses]
    finally:
        for bus in buses:
            await bus.close()


async def test_two_storages_on_one_bucket_grant_the_budget_once(nats_url: str) -> None:
    item = parse("10/minute")
    async with storages(nats_url, 2) as (one, two):
        limiters = [MovingWindowRateLimiter(one), MovingWindowRateLimiter(two)]
        # 25 attempts at once, alternating replicas: the compare-and-set lets exactly 10 in.
        granted = await asyncio.gather(*(limiters[n % 2].hit(item, "sign-in", "account",
                                                             "alice") for n in range(25)))
        assert granted.count(True) == 10
        for limiter in limiters:
            _, remaining = await limiter.get_window_stats(item, "sign-in", "account",
                                                          "alice")
            assert remaining == 0
        # Keys the KV alphabet does not allow (IPv6, spaces, non-ASCII) still work.
        for who in ("2001:db8::1", "a b", "ñandú"):
            assert await limiters[0].hit(item, "sign-in", "address", who)
            assert (await limiters[1].get_window_stats(item, "sign-in", "address", who))[1] == 9


async def test_fixed_window_counters_share_too(nats_url: str) -> None:
    async with storages(nats_url, 2) as (one, two):
        assert [await one.incr("k", 60), await two.incr("k", 60), await one.incr("k", 60)] == [
            1, 2, 3]
        assert await two.get("k") == 3
        assert await one.get_expiry("k") == await two.get_expiry("k")
        await two.clear("k")
        assert await one.get("k") == 0
        assert await one.check()


async def test_sign_in_is_throttled_across_replicas_before_argon2(tmp_path: Path,
                                                                  nats_url: str) -> None:
    settings = [chat_settings(tmp_path, nats_url, replica_id=f"chat-{n}",
                              signin_limit_per_account="4/minute") for n in (1, 2)]
    hashers = [CountingHasher(), CountingHasher()]
    replicas = [ChatReplica(s, hasher=h) for s, h in zip(settings, hashers, strict=True)]
    for replica in replicas:
        await replica.start()
    try:
        clients = [httpx.AsyncClient(base_url=r.http_url, timeout=30) for r in replicas]
        created = await clients[0].post("/api/auth/register",
                                        json={"username": "carmen", "password": PASSWORD})
        assert created.status_code == 201
        attempts = []
        for n in range(4):
            attempts.append(await clients[n % 2].post(
                "/api/auth/login", json={"username": "Carmen", "password": f"wrong {n}!"}))
        work_before = sum(h.calls for h in hashers)
        over = await clients[0].post("/api/auth/login",
                                     json={"username": "carmen", "password": PASSWORD})
        over_form = await clients[1].post("/api/auth/token",
                                          data={"username": "carmen", "password": PASSWORD})

        assert [a.status_code for a in attempts] == [401] * 4
        for refused in (over, over_form):
            assert refused.status_code == 429, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["code"] == "too_many_attempts"
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert sum(h.calls for h in hashers) == work_before  # no argon2 for refused attempts
        # Another account is not held back.
        assert (await clients[1].post("/api/auth/login", json={
            "username": "nobody", "password": PASSWORD})).status_code == 401
        for client in clients:
            await client.aclose()
    finally:
        for replica in replicas:
            await replica.stop()


async def test_the_address_is_the_clients_through_a_trusted_proxy(tmp_path: Path,
                                                                  nats_url: str) -> None:
    settings = chat_settings(tmp_path, nats_url, signin_limit_per_address="3/minute",
                             signup_limit_per_address="2/hour")
    replica = await ChatReplica(settings).start()
    try:
        async with httpx.AsyncClient(base_url=replica.http_url, timeout=30) as http:
            def via(address: str) -> dict[str, str]:
                return {"X-Forwarded-For": address}  # the peer, 127.0.0.1, is trusted

            sign_ups = [await http.post("/api/auth/register", headers=via("198.51.100.1"),
                                        json={"username": f"new{n}", "password": PASSWORD})
                        for n in range(3)]
            assert [r.status_code for r in sign_ups] == [201, 201, 429]
            assert int(sign_ups[-1].headers["Retry-After"]) > 60
            assert (await http.post("/api/auth/register", headers=via("198.51.100.2"), json={
                "username": "new9", "password": PASSWORD})).status_code == 201

            tries = [await http.post("/api/auth/login", headers=via("198.51.100.1"),
                                     json={"username": f"user{n}", "password": PASSWORD})
                     for n in range(4)]
            assert [r.status_code for r in tries] == [401, 401, 401, 429]
            assert (await http.post("/api/auth/login", headers=via("198.51.100.2"), json={
                "username": "new9", "password": PASSWORD})).status_code == 200
    finally:
        await replica.stop()
