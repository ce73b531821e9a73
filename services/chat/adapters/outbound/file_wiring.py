"""The file adapters `bootstrap.wire` builds from the settings: the blob store `CHAT_BLOBS`
names, the image processor and the limits."""

from __future__ import annotations

from services.chat.adapters.outbound.dir_blobs import DirBlobStore
from services.chat.adapters.outbound.pillow_images import PillowImageProcessor
from services.chat.ports import BlobStore, FileLimits
from services.chat.settings import ChatSettings
from shared.bus import EventBus


def blob_store(settings: ChatSettings, bus: EventBus) -> BlobStore:
    """Uploaded files' bytes: `<data dir>/blobs/`, or a JetStream Object Store bucket."""
    return DirBlobStore(settings.blobs_dir())


def image_processor(settings: ChatSettings) -> PillowImageProcessor:
    return PillowImageProcessor(settings.files_max_image_pixels)


def file_limits(settings: ChatSettings) -> FileLimits:
    return FileLimits(max_bytes=settings.files_max_bytes,
                      quota_bytes=settings.files_quota_bytes,
                      thumbnail_px=settings.files_thumbnail_px,
                      retention_secs=settings.files_retention_secs,
                      unattached_ttl_secs=settings.files_unattached_ttl_secs)
