"""A JetStream key-value bucket a service keeps its entries in (presence's connections,
chat's throttling budgets): made on first use, its max age kept as the service wants it."""

from __future__ import annotations

import logging

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KeyValue

log = logging.getLogger(__name__)


async def ensure_kv_bucket(js: JetStreamContext, bucket: str, max_age_secs: float,
                           description: str, *, grow_only: bool = False,
                           replicas: int = 1) -> KeyValue:
    """The bucket, one revision per key, file storage, entries kept `max_age_secs`, on
    `replicas` servers. Created when missing (another process creating it at the same moment
    is fine); an existing bucket's max age is changed to ours, or with `grow_only` only
    raised to it (a longer age another replica asked for stays), and its replicas to ours."""
    try:
        kv = await js.key_value(bucket)
    except nats.js.errors.BucketNotFoundError:
        try:
            kv = await js.create_key_value(KeyValueConfig(
                bucket=bucket, history=1, ttl=max_age_secs, storage=StorageType.FILE,
                description=description, replicas=replicas))
            log.info("created KV bucket %s (max age %.1fs, %d replicas)", bucket, max_age_secs,
                     replicas)
        except nats.js.errors.BadRequestError:
            kv = await js.key_value(bucket)  # another process just created it
        return kv
    status = await kv.status()
    current = status.ttl
    config = status.stream_info.config
    age_wrong = current is None or (current + 1e-3 < max_age_secs if grow_only
                                    else abs(current - max_age_secs) > 1e-3)
    if age_wrong or (config.num_replicas or 1) != replicas:
        age = max_age_secs if age_wrong or current is None else current
        await js.update_stream(config.evolve(
            max_age=age, num_replicas=replicas,
            duplicate_window=min(config.duplicate_window or 120.0, age)))
        log.info("changed KV bucket %s to max age %.1fs (was %s), %d replicas", bucket, age,
                 current, replicas)
    return kv
