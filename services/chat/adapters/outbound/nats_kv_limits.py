"""A storage for the `limits` library in a JetStream key-value bucket, so that every chat
replica spends the same sign-in and sign-up budgets (`adapters/inbound/throttle.py`).

One key per limit and identifier. A change reads the entry, computes the new value and
writes it back only if nobody wrote in between (`update(..., last=revision)`, `create` for
a new key); on a conflict it reads again. Values carry their own expiry, so the bucket's
max age (the longest window) only sweeps keys nobody touched since. Times are wall-clock
(`time.time()`): replicas on several machines need their clocks in sync, as for tokens.
"""

from __future__ import annotations

import base64
import logging
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import nats.errors
import nats.js.errors
import orjson
from limits.aio.storage import MovingWindowSupport, Storage
from nats.js.kv import KeyValue

from shared.bus.nats import NatsEventBus
from shared.bus.nats_kv import ensure_kv_bucket

log = logging.getLogger(__name__)

# Writers racing on one key (one account attacked through every replica) each retry at
# most this often before the attempt counts as refused.
MAX_CONFLICTS = 32
_NATS_FAILURES = (nats.errors.Error, TimeoutError, OSError)
T = TypeVar("T")
Value = dict[str, Any]


def kv_key(key: str) -> str:
    """`limits` keys hold usernames and IPv6 addresses (`:`): base64url fits the KV alphabet."""
    return "l_" + base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


class NatsKvLimitsStorage(Storage, MovingWindowSupport):
    """The fixed-window counters and the moving-window entries of `limits`, in one bucket."""

    STORAGE_SCHEME = None  # built by `bootstrap.wire`, not from a storage URI

    def __init__(self, bus: NatsEventBus, bucket: str, max_age_secs: float,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._bus = bus
        self.bucket = bucket
        self.max_age_secs = max_age_secs
        self._clock = clock
        self._kv: KeyValue | None = None

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return _NATS_FAILURES

    async def ensure_bucket(self) -> KeyValue:
        """The bucket, its max age at least the longest window (`shared/bus/nats_kv.py`)."""
        self._kv = await ensure_kv_bucket(
            self._bus.jetstream, self.bucket, self.max_age_secs,
            "Tertulia chat: sign-in and sign-up throttling", grow_only=True,
            replicas=self._bus.kv_replicas)
        return self._kv

    async def _bucket(self) -> KeyValue:
        return self._kv or await self.ensure_bucket()

    async def _read(self, kv: KeyValue, key: str) -> tuple[Value | None, int]:
        try:
            entry = await kv.get(key)
        except nats.js.errors.KeyNotFoundError:
            return None, 0
        if not entry.value:
            return None, 0
        return orjson.loads(entry.value), entry.revision or 0

    async def _change(self, key: str, step: Callable[[Value | None, float], tuple[Value | None, T]],
                      contended: T) -> T:
        """Apply `step` (old value, now -> new value or None for no write, result) atomically;
        `contended` after `MAX_CONFLICTS` lost races (counted as over the limit)."""
        kv = await self._bucket()
        name = kv_key(key)
        for _ in range(MAX_CONFLICTS):
            value, revision = await self._read(kv, name)
            new, result = step(value, self._clock())
            if new is None:
                return result
            data = orjson.dumps(new)
            try:
                if revision:
                    await kv.update(name, data, last=revision)
                else:
                    await kv.create(name, data)
                return result
            except nats.js.errors.KeyWrongLastSequenceError:
                continue  # someone wrote in between: read again
        log.warning("throttle key %s: %d write conflicts in a row", key, MAX_CONFLICTS)
        return contended

    # --- fixed window (`FixedWindowRateLimiter`) ---------------------------------------------

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        def step(value: Value | None, now: float) -> tuple[Value, int]:
            if value is None or value.get("exp", 0) <= now:
                value = {"n": 0, "exp": now + expiry}
            value = {"n": int(value.get("n", 0)) + amount, "exp": value["exp"]}
            return value, value["n"]

        return await self._change(key, step, contended=sys.maxsize)

    async def get(self, key: str) -> int:
        value, _ = await self._read(await self._bucket(), kv_key(key))
        if value is None or value.get("exp", 0) <= self._clock():
            return 0
        return int(value.get("n", 0))

    async def get_expiry(self, key: str) -> float:
        value, _ = await self._read(await self._bucket(), kv_key(key))
        now = self._clock()
        return float(value["exp"]) if value and value.get("exp", 0) > now else now

    # --- moving window (`MovingWindowRateLimiter`) -------------------------------------------

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        def step(value: Value | None, now: float) -> tuple[Value | None, bool]:
            entries = [t for t in (value or {}).get("t", []) if t > now - expiry]
            if amount > limit or len(entries) + amount > limit:
                return None, False  # refused: nothing to write
            return {"t": [*entries, *([now] * amount)]}, True

        return await self._change(key, step, contended=False)

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        value, _ = await self._read(await self._bucket(), kv_key(key))
        now = self._clock()
        entries = [t for t in (value or {}).get("t", []) if t > now - expiry]
        return (min(entries), len(entries)) if entries else (now, 0)

    # --- the rest of the storage interface ---------------------------------------------------

    async def check(self) -> bool:
        try:
            await (await self._bucket()).status()
        except _NATS_FAILURES:
            return False
        return True

    async def clear(self, key: str) -> None:
        await (await self._bucket()).delete(kv_key(key))

    async def reset(self) -> int | None:
        kv = await self._bucket()
        try:
            keys = await kv.keys()
        except nats.js.errors.NoKeysError:
            return 0
        for name in keys:
            await kv.purge(name)
        return len(keys)
