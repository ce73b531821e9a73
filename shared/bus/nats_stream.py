"""The JetStream stream EVENTS that stores every durable event: created, or brought up to date."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig

from shared.contracts.events import EVENTS_STREAM

logger = logging.getLogger(__name__)

STREAM_RETRY_SECS = 0.25


async def ensure_stream(
    js: JetStreamContext, subjects: Sequence[str], duplicate_window_secs: float
) -> None:
    """Create the EVENTS stream, or bring its subjects and duplicate window up to date.

    Safe to call from several services at once and again after NATS lost its store.
    """
    subjects = list(subjects)
    wanted = StreamConfig(
        name=EVENTS_STREAM,
        subjects=subjects,
        storage=StorageType.FILE,
        duplicate_window=duplicate_window_secs,
    )
    try:
        info = await js.stream_info(EVENTS_STREAM)
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(wanted)
            logger.info("created JetStream stream %s for %s", EVENTS_STREAM, wanted.subjects)
            return
        except nats.js.errors.BadRequestError:
            # Another service created it between our look-up and our create.
            info = await js.stream_info(EVENTS_STREAM)
    current = info.config
    if current.storage != StorageType.FILE:
        logger.warning("stream %s uses %s storage, which cannot change in place",
                       EVENTS_STREAM, current.storage)
    same_subjects = sorted(current.subjects or []) == sorted(subjects)
    same_window = abs((current.duplicate_window or 0) - duplicate_window_secs) < 1e-3
    if not (same_subjects and same_window):
        await js.update_stream(
            current.evolve(subjects=subjects, duplicate_window=duplicate_window_secs)
        )
        logger.info("updated JetStream stream %s configuration", EVENTS_STREAM)


async def ensure_stream_retrying(
    js: JetStreamContext, subjects: Sequence[str], duplicate_window_secs: float
) -> None:
    """`ensure_stream` until JetStream answers; the caller's deadline bounds the retries."""
    # A clustered JetStream can answer 503 for a while after the server accepts clients.
    while True:
        try:
            await ensure_stream(js, subjects, duplicate_window_secs)
            return
        except nats.js.errors.ServiceUnavailableError as exc:
            logger.info("JetStream not ready yet (%r); retrying", exc)
            await asyncio.sleep(STREAM_RETRY_SECS)
