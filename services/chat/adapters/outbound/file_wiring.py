"""The file adapters `bootstrap.wire` builds from the settings: the blob store `CHAT_BLOBS`
names, the image processor and the limits."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from services.chat import use_cases
from services.chat.adapters.outbound.dir_blobs import DirBlobStore
from services.chat.adapters.outbound.nats_blobs import NatsObjectBlobStore
from services.chat.adapters.outbound.pillow_images import PillowImageProcessor
from services.chat.ports import BlobStore, ChatDeps, FileLimits
from services.chat.settings import ChatSettings
from shared.bus import EventBus
from shared.bus.nats import NatsEventBus


def blob_store(settings: ChatSettings, bus: EventBus) -> BlobStore:
    """Uploaded files' bytes: `<data dir>/blobs/`, or a JetStream Object Store bucket.
    (A one-off command on an in-memory bus, `create_admin`, stores no file.)"""
    if settings.blobs == "nats" and isinstance(bus, NatsEventBus):
        return NatsObjectBlobStore(bus, settings.blobs_bucket, replicas=settings.blobs_replicas,
                                   tmp_dir=settings.uploads_tmp_dir())
    return DirBlobStore(settings.blobs_dir())


def image_processor(settings: ChatSettings) -> PillowImageProcessor:
    return PillowImageProcessor(settings.files_max_image_pixels)


def file_limits(settings: ChatSettings) -> FileLimits:
    return FileLimits(max_bytes=settings.files_max_bytes,
                      quota_bytes=settings.files_quota_bytes,
                      thumbnail_px=settings.files_thumbnail_px,
                      retention_secs=settings.files_retention_secs,
                      unattached_ttl_secs=settings.files_unattached_ttl_secs)


def file_sweep(deps: ChatDeps, settings: ChatSettings) -> Coroutine[Any, Any, None]:
    """The periodic sweep `bootstrap.running` runs (`use_cases/file_sweep.py`)."""
    return use_cases.sweep_files_every(deps, settings.files_sweep_interval_secs)
