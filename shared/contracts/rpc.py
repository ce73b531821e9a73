"""Request/reply subjects (core NATS) for questions one service answers for another."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.contracts.events import PresenceStatus

# The presence service answers: what is the presence of these users right now?
PRESENCE_USERS_RPC = "rpc.presence.users"


class _Rpc(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PresenceQuery(_Rpc):
    user_ids: list[int]


class UserPresence(_Rpc):
    user_id: int
    username: str | None = None
    status: PresenceStatus
    current_room: int | None = None
    last_active_at: datetime | None = None
    connections: int = 0


class PresenceSnapshot(_Rpc):
    """Users the service knows nothing about are reported `offline` with no last activity."""

    users: list[UserPresence]

# Presence instances ask each other about the users they compute (PRESENCE_PARTITIONS):
# `rpc.presence.peer.<instance_id>`, a JSON question answered from that instance's board.
PRESENCE_PEER_RPC = "rpc.presence.peer"
