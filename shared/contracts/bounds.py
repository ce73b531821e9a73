"""The integers every interface takes (HTTP paths, queries, bodies, WebSocket frames), bounded
by what the databases store: a signed 64-bit integer. A larger number is refused where it
arrives (422, an `error` frame) instead of overflowing the driver deep inside a use case."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

INT64_MAX = 2**63 - 1

# A row's id: users, rooms, messages. Ids start at 1.
Id = Annotated[int, Field(ge=1, le=INT64_MAX)]
# A room's sequence number, a read marker, a "since" or "after" position; 0 is "none yet".
Seq = Annotated[int, Field(ge=0, le=INT64_MAX)]
# A page size; every route's own `le` is far below this, and this is the floor of them all.
PAGE_LIMIT_MAX = 200
Limit = Annotated[int, Field(ge=1, le=PAGE_LIMIT_MAX)]


def fits_seq(value: int) -> bool:
    """Whether a number parsed by hand (a handshake's query string) is a valid `Seq`."""
    return 0 <= value <= INT64_MAX


# Uploaded files' ids on a post: the rule is at most 10 (too_many_attachments, 422 with a
# clear code); this only bounds what is parsed at all.
AttachmentIds = Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=50)]
