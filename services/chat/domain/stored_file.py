"""An uploaded file as a record: `model.Message` carries its attachments, `files.py` has
the rules. A leaf; no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

FileKind = Literal["attachment", "avatar"]
# Served inline (an <img> may show them); everything else is served as a download.
RASTER_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


@dataclass(slots=True)
class StoredFile:
    """One uploaded file (`chat_files`): its bytes are the blob `id`, its thumbnail the
    blob `thumbnail_key`. Unattached until a post names it (`message_id`, `room_id`);
    `deleted_at` set: refused everywhere, its blobs go after the retention (the sweep)."""

    id: str
    user_id: int
    name: str
    size: int
    content_type: str
    sha256: str
    created_at: datetime
    width: int | None = None
    height: int | None = None
    thumbnail_key: str | None = None
    kind: FileKind = "attachment"
    message_id: int | None = None
    room_id: int | None = None
    deleted_at: datetime | None = None

    @property
    def is_raster(self) -> bool:
        return self.content_type in RASTER_TYPES
