"""Best-effort live subjects (core NATS) and the messages on `live.connections` and heartbeats.

`live.room.<id>`, `live.user.<id>` and `live.broadcast` carry ready-to-send client frames
(the exact bytes a socket receives) with routing metadata in NATS headers, so a chat replica
forwards them without decoding: see `FrameHeaders`. This module is that wire codec, the
one place the envelope (`encode_frame`), the headers (`frame_headers`, `batch_headers`) and
their reading (`FrameRoute`, `split_batch`) are written: chat, notifications and the
dashboard all publish through it. What goes in a frame's `data` is each service's adapters'.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
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
    # On `room_updated`: "1" when the room is now private, so each replica drops its
    # non-members' sockets from it without parsing the body.
    MEMBERS_ONLY = "Tertulia-Members-Only"


# `type` of the one NATS message that carries a batch's frames (`FrameHeaders.FRAMES`).
BATCH_TYPE = "frames"


def encode_frame(frame_type: str, data: Any) -> bytes:
    """The client frame envelope: the exact bytes a socket receives."""
    return orjson.dumps({"type": frame_type, "data": data})


def frame_headers(frame_type: str, *, seq: int | None = None,
                  exclude_connection: str | None = None, exclude_user: int | None = None,
                  about_user: int | None = None, broadcast_id: str | None = None,
                  members_only: bool = False) -> dict[str, str]:
    """The NATS headers of one frame on a live subject (only those that apply)."""
    headers = {FrameHeaders.TYPE: frame_type}
    if seq is not None:
        headers[FrameHeaders.SEQ] = str(seq)
    if exclude_connection is not None:
        headers[FrameHeaders.EXCLUDE_CONNECTION] = exclude_connection
    if exclude_user is not None:
        headers[FrameHeaders.EXCLUDE_USER] = str(exclude_user)
    if about_user is not None:
        headers[FrameHeaders.USER] = str(about_user)
    if broadcast_id is not None:
        headers[FrameHeaders.BROADCAST_ID] = broadcast_id
    if members_only:
        headers[FrameHeaders.MEMBERS_ONLY] = "1"
    return headers


def batch_headers(frames: Sequence[tuple[str, int | None]]) -> dict[str, str]:
    """Headers of several frames sent as one message (`(type, seq)` each, in body order);
    the body is `b"\\n".join` of their payloads (JSON text has no raw newline)."""
    listed = ",".join(t if seq is None else f"{t}:{seq}" for t, seq in frames)
    return {FrameHeaders.TYPE: BATCH_TYPE, FrameHeaders.FRAMES: listed}


@dataclass(frozen=True, slots=True)
class FrameRoute:
    """What a replica needs to route a frame without parsing it (its NATS headers)."""

    frame_type: str
    seq: int | None = None
    skip_connection: str | None = None
    skip_user: int | None = None
    about_user: int | None = None
    members_only: bool = False

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> FrameRoute:
        seq = headers.get(FrameHeaders.SEQ)
        skip_user = headers.get(FrameHeaders.EXCLUDE_USER)
        about = headers.get(FrameHeaders.USER)
        return cls(headers.get(FrameHeaders.TYPE, ""), int(seq) if seq else None,
                   headers.get(FrameHeaders.EXCLUDE_CONNECTION),
                   int(skip_user) if skip_user else None, int(about) if about else None,
                   headers.get(FrameHeaders.MEMBERS_ONLY) == "1")


def split_batch(headers: Mapping[str, str], body: bytes) -> Iterator[tuple[FrameRoute, bytes]]:
    """The frames of one message: a batch (`batch_headers`) or a single frame."""
    listed = headers.get(FrameHeaders.FRAMES)
    if listed is None:
        yield FrameRoute.from_headers(headers), body
        return
    for entry, payload in zip(listed.split(","), body.split(b"\n"), strict=True):
        frame_type, _, seq = entry.partition(":")
        yield FrameRoute(frame_type, int(seq) if seq else None), payload


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
