"""One socket as the hub sees it: who, where its bytes go, and its view of each room."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from services.chat.domain import Actor


class FrameSink(Protocol):
    """Where one socket's bytes go (the WebSocket's transport)."""

    def write(self, wire: bytes) -> bool:
        """Queue an encoded WebSocket frame; False when the connection is closing."""
        ...

    def buffered(self) -> int:
        """Bytes written but not yet taken by the peer's TCP stack."""
        ...

    async def close(self, code: int, reason: str) -> None: ...


@dataclass(slots=True)
class RoomView:
    """One socket's view of one room. While `recovering`, live frames wait in `held` so the
    replay from the database and the live stream join without a gap or a duplicate."""

    recovering: bool = True
    held: list[tuple[int | None, bytes]] = field(default_factory=list)
    replayed_upto: int = 0


@dataclass(eq=False, slots=True)
class Connection:
    id: str
    actor: Actor
    sink: FrameSink
    opened_at: datetime
    last_active_at: datetime
    default_room: int | None = None
    session_id: str | None = None  # the token's `sid`: a revoked session closes with 4001
    current_room: int | None = None
    rooms: dict[int, RoomView] = field(default_factory=dict)
    closed: bool = False
    # The code the server closed this socket with (first one wins): what `live.connections`
    # reports, whatever the peer answers or fails to.
    close_code: int | None = None
    last_activity_report: float = 0.0
    reported_room: int | None = None  # the current room as live.connections last heard it
    # The joined room this socket shows in a visible tab (the `view` frame), if any.
    viewing: int | None = None
    # This socket's `live.connections` entry, encoded; None once it changed.
    info_cache: bytes | None = None
