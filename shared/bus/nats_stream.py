"""The JetStream stream EVENTS that stores every durable event: created, or brought up to date."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig

from shared.bus.nats_options import StreamLimits
from shared.contracts.events import EVENTS_STREAM

logger = logging.getLogger(__name__)

STREAM_RETRY_SECS = 0.25
# JetStream's "no suitable peers for placement": more replicas asked for than peers known.
NO_SUITABLE_PEERS = 10005


def _limits(limits: StreamLimits) -> dict[str, float | int]:
    """The StreamConfig fields of `limits`; nats-py's "no limit" is -1 bytes and 0 age."""
    return {"num_replicas": limits.replicas,
            "max_age": limits.max_age_secs or 0.0,
            "max_bytes": limits.max_bytes if limits.max_bytes is not None else -1}


def _differs(current: StreamConfig, wanted: dict[str, float | int]) -> bool:
    return ((current.num_replicas or 1) != wanted["num_replicas"]
            or abs((current.max_age or 0.0) - wanted["max_age"]) > 1e-3
            or (current.max_bytes if current.max_bytes is not None else -1)
            != wanted["max_bytes"])


async def ensure_stream(
    js: JetStreamContext, subjects: Sequence[str], duplicate_window_secs: float,
    limits: StreamLimits | None = None,
) -> None:
    """Create the EVENTS stream, or bring its subjects, duplicate window, replicas and
    retention (`limits`) up to date. Retention drops the oldest events first (discard old).

    Safe to call from several services at once and again after NATS lost its store.
    """
    subjects = list(subjects)
    limit_fields = _limits(limits or StreamLimits())
    wanted = StreamConfig(
        name=EVENTS_STREAM,
        subjects=subjects,
        storage=StorageType.FILE,
        duplicate_window=duplicate_window_secs,
        **limit_fields,  # type: ignore[arg-type]
    )
    try:
        info = await js.stream_info(EVENTS_STREAM)
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(wanted)
            logger.info("created JetStream stream %s for %s", EVENTS_STREAM, wanted.subjects)
            return
        except nats.js.errors.BadRequestError as exc:
            if exc.err_code == NO_SUITABLE_PEERS:
                raise ClusterForming(exc.description) from exc
            # Another service created it between our look-up and our create.
            info = await js.stream_info(EVENTS_STREAM)
    current = info.config
    if current.storage != StorageType.FILE:
        logger.warning("stream %s uses %s storage, which cannot change in place",
                       EVENTS_STREAM, current.storage)
    same_subjects = sorted(current.subjects or []) == sorted(subjects)
    same_window = abs((current.duplicate_window or 0) - duplicate_window_secs) < 1e-3
    if not (same_subjects and same_window) or _differs(current, limit_fields):
        # Replicas, max age and max bytes change in place (a cluster moves the data).
        await js.update_stream(current.evolve(
            subjects=subjects, duplicate_window=duplicate_window_secs, **limit_fields))
        logger.info("updated JetStream stream %s configuration (replicas %s, max age %ss, "
                    "max bytes %s)", EVENTS_STREAM, limit_fields["num_replicas"],
                    limit_fields["max_age"], limit_fields["max_bytes"])


class ClusterForming(Exception):
    """A cluster whose meta leader does not know enough peers yet to place the replicas (it
    has just been elected; the other nodes report in within a second or two)."""


async def ensure_stream_retrying(
    js: JetStreamContext, subjects: Sequence[str], duplicate_window_secs: float,
    limits: StreamLimits | None = None,
) -> None:
    """`ensure_stream` until JetStream answers; the caller's deadline bounds the retries."""
    # A clustered JetStream can answer 503 for a while after the server accepts clients.
    while True:
        try:
            await ensure_stream(js, subjects, duplicate_window_secs, limits)
            return
        except (nats.js.errors.ServiceUnavailableError, nats.errors.TimeoutError,
                ClusterForming) as exc:
            # A cluster that has not elected its meta leader yet answers nothing at all.
            logger.info("JetStream not ready yet (%r); retrying", exc)
            await asyncio.sleep(STREAM_RETRY_SECS)
