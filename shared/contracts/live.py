"""Best-effort live subjects (core NATS) and the messages on `live.connections` and heartbeats.

`live.room.<id>`, `live.user.<id>` and `live.broadcast` carry ready-to-send client frames
(the exact bytes a socket receives) with routing metadata in NATS headers, so a chat replica
forwards them without decoding: see `FrameHeaders`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

LIVE_BROADCAST = "live.broadcast"
LIVE_CONNECTIONS = "live.connections"
LIVE_SERVICE_HEARTBEAT = "live.service.heartbeat"
# Each chat replica answers a `live.broadcast` frame carrying a broadcast id with a receipt.
LIVE_BROADCAST_RECEIPTS = "live.broadcast.receipts"
# Which rooms each user has on screen, per chat replica (`LiveViewingMessage`).
LIVE_VIEWING = "live.viewing"


def live_room(room_id: int) -> str:
    return f"live.room.{room_id}"


def live_user(user_id: int) -> str:
    return f"live.user.{user_id}"


class FrameHeaders:
    """NATS header names on live frame subjects."""

    # The frame's `type`, so a replica can route without parsing the JSON body.
    TYPE = "Tertulia-Frame-Type"
    # Per-room sequence of a `message` frame; lets a recovering socket drop what it replayed.
    SEQ = "Tertulia-Seq"
    # A connection that must not receive this frame (the typing sender, the reading socket).
    EXCLUDE_CONNECTION = "Tertulia-Exclude-Connection"
    # A user none of whose sockets receive it (typing is never echoed to the typist).
    EXCLUDE_USER = "Tertulia-Exclude-User"
    # On `live.broadcast`: the broadcast's id; replicas then publish a `BroadcastReceipt`.
    BROADCAST_ID = "Tertulia-Broadcast-Id"
    # A user the frame is about (e.g. a kicked member whose sockets must leave the room).
    USER = "Tertulia-User"
    # Several frames in one message (a batch of posts): `type[:seq]` per frame, comma-
    # separated, for the body's newline-separated frames (JSON text has no raw newline).
    FRAMES = "Tertulia-Frames"


class _Live(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ConnectionInfo(_Live):
    connection_id: str
    user_id: int | None
    username: str | None
    rooms: list[int] = []
    current_room: int | None = None
    opened_at: datetime
    last_active_at: datetime


class ConnectionOpened(_Live):
    kind: Literal["opened"] = "opened"
    replica_id: str
    connection: ConnectionInfo


class ConnectionClosed(_Live):
    """A socket ended. `code` is the close code the server sent, else the peer's (1006 for a
    dropped connection); `slow_consumer` when the server closed it for not reading (1013)."""

    kind: Literal["closed"] = "closed"
    replica_id: str
    connection_id: str
    user_id: int | None
    closed_at: datetime
    code: int | None = None
    slow_consumer: bool = False


class ConnectionActivity(_Live):
    """A connection did something a person does (sent, joined, typed); throttled per socket."""

    kind: Literal["activity"] = "activity"
    replica_id: str
    connection_id: str
    user_id: int
    current_room: int | None = None
    at: datetime


class ConnectionStatusSet(_Live):
    """The user asked for a manual status from this connection (`set_status` frame)."""

    kind: Literal["status"] = "status"
    replica_id: str
    connection_id: str
    user_id: int
    status: Literal["online", "away", "busy"]
    at: datetime


class ConnectionsHeartbeat(_Live):
    """A replica's full list of open sockets; presence rebuilds from it if anything was missed."""

    kind: Literal["heartbeat"] = "heartbeat"
    replica_id: str
    interval_secs: float
    connections: list[ConnectionInfo]
    at: datetime


LiveConnectionsMessage = Annotated[
    ConnectionOpened | ConnectionClosed | ConnectionActivity | ConnectionStatusSet
    | ConnectionsHeartbeat,
    Field(discriminator="kind"),
]
_CONNECTIONS_ADAPTER: TypeAdapter[Any] = TypeAdapter(LiveConnectionsMessage)


def parse_connections_message(raw: bytes) -> LiveConnectionsMessage:
    return _CONNECTIONS_ADAPTER.validate_python(orjson.loads(raw))


class UserViewing(_Live):
    """The rooms one user has on screen in a visible tab on this replica: the union over
    their sockets here, sent when it changes; `rooms` empty withdraws it (the last such
    socket closed, left the room, or its tab was hidden)."""

    kind: Literal["user"] = "user"
    replica_id: str
    user_id: int
    rooms: list[int] = []
    at: datetime


class Viewer(_Live):
    user_id: int
    rooms: list[int]


class ViewingHeartbeat(_Live):
    """A replica's full list of users viewing rooms, every `interval_secs`: it replaces
    whatever was heard from that replica before, and its absence lets what a dead replica
    said expire."""

    kind: Literal["heartbeat"] = "heartbeat"
    replica_id: str
    interval_secs: float
    viewers: list[Viewer] = []
    at: datetime


LiveViewingMessage = Annotated[UserViewing | ViewingHeartbeat, Field(discriminator="kind")]
_VIEWING_ADAPTER: TypeAdapter[Any] = TypeAdapter(LiveViewingMessage)


def parse_viewing_message(raw: bytes) -> LiveViewingMessage:
    return _VIEWING_ADAPTER.validate_python(orjson.loads(raw))


class ServiceHeartbeat(_Live):
    service: str
    instance_id: str
    version: str
    started_at: datetime
    at: datetime
    interval_secs: float
    ready: bool
    details: dict[str, Any] = {}


class BroadcastReceipt(_Live):
    """How many sockets (and distinct users) one chat replica handed a broadcast to."""

    broadcast_id: str
    replica_id: str
    sockets: int
    users: int
    user_ids: list[int] = []
    at: datetime
