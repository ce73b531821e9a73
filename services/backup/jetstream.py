"""A JetStream stream's snapshot and restore over the server's API, which nats-py has no helper
for: `$JS.API.STREAM.SNAPSHOT.<stream>` and `$JS.API.STREAM.RESTORE.<stream>`, the protocol
`nats stream backup` / `nats stream restore` speak (nats-io/jsm.go), with the durable
consumers' configurations read and written through `$JS.API.CONSUMER.*`.

Snapshot: we subscribe to an inbox, ask for the snapshot to be delivered there, and the
server sends the stream's files as an s2-compressed tar in chunks; each chunk's reply subject
is its flow-control ack (the server stops sending while more than its window is unacked).
An empty message ends it; its status header says whether the server finished (204, or none)
or gave up (408 no interest / no flow response, 500 an error reading the store). The bytes are
kept as they came: a restore sends the same bytes back, so nothing here decompresses them.

Restore: the server answers the restore request with a subject to send chunks to; each chunk
is a request (its reply is the flow control), and an empty request ends it, answered with the
stream's `stream_create_response` once the server has unpacked the files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nats.aio.client import Client

API_TIMEOUT_SECS = 10.0
# Waiting for the next chunk: the server gives up after 2 s without acks, so this only has to
# cover a server that is slow to read its own store.
CHUNK_TIMEOUT_SECS = 30.0
# The server unpacks the whole snapshot before it answers the last, empty chunk.
RESTORE_FINISH_TIMEOUT_SECS = 600.0
CHUNK_BYTES = 128 * 1024  # the server's default, and well under NATS' 1 MiB max payload


class JetStreamApiError(RuntimeError):
    """The JetStream API answered with an error, or not in the protocol's shape."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a snapshot wrote: the data file's size and sha256, and what the server said the
    stream was (its config and state, which a restore sends back)."""

    size: int
    sha256: str
    config: dict[str, Any]
    state: dict[str, Any]


async def api(nc: Client, subject: str, body: dict[str, Any] | None = None,
              wait_secs: float = API_TIMEOUT_SECS) -> dict[str, Any]:
    """One JetStream API request; its JSON answer, or JetStreamApiError with the server's words."""
    payload = json.dumps(body).encode() if body is not None else b""
    reply = await nc.request(subject, payload, timeout=wait_secs)
    return _answer(subject, reply.data)


def _answer(subject: str, data: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(data)
    except ValueError:
        raise JetStreamApiError(f"{subject}: not a JSON answer: {data[:200]!r}") from None
    if not isinstance(answer, dict):
        raise JetStreamApiError(f"{subject}: unexpected answer {data[:200]!r}")
    if error := answer.get("error"):
        raise JetStreamApiError(f"{subject}: {error.get('description', error)} "
                                f"(code {error.get('code')}, err_code {error.get('err_code')})")
    return answer


async def snapshot_stream(nc: Client, stream: str, target: Path) -> Snapshot:
    """The stream's files (without consumers) into `target`, as the server sends them."""
    inbox = nc.new_inbox()
    # Subscribed before the request: the server starts sending as soon as it has answered.
    sub = await nc.subscribe(inbox, pending_msgs_limit=-1, pending_bytes_limit=-1)
    digest = hashlib.sha256()
    size = 0
    try:
        answer = await api(nc, f"$JS.API.STREAM.SNAPSHOT.{stream}", {
            "deliver_subject": inbox, "no_consumers": True, "chunk_size": CHUNK_BYTES,
            "jsck": False})
        with target.open("wb") as out:
            while True:
                msg = await sub.next_msg(timeout=CHUNK_TIMEOUT_SECS)
                if not msg.data:
                    status = (msg.headers or {}).get("Status", "")
                    if status and status != "204":
                        description = (msg.headers or {}).get("Description", "")
                        raise JetStreamApiError(
                            f"snapshot of {stream} ended by the server: {status} {description}")
                    break
                out.write(msg.data)
                digest.update(msg.data)
                size += len(msg.data)
                if msg.reply:
                    await nc.publish(msg.reply, b"")
            out.flush()
    finally:
        await sub.unsubscribe()
    return Snapshot(size=size, sha256=digest.hexdigest(),
                    config=answer.get("config") or {}, state=answer.get("state") or {})


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as data:
        while chunk := data.read(CHUNK_BYTES):
            yield chunk


async def restore_stream(nc: Client, stream: str, source: Path, config: dict[str, Any],
                         state: dict[str, Any]) -> dict[str, Any]:
    """The snapshot in `source` as stream `stream` (which must not exist); its new info."""
    answer = await api(nc, f"$JS.API.STREAM.RESTORE.{stream}",
                       {"config": {**config, "name": stream}, "state": state})
    deliver = answer.get("deliver_subject")
    if not deliver:
        raise JetStreamApiError(f"restore of {stream}: no deliver_subject in {answer}")
    for chunk in _chunks(source):
        reply = await nc.request(deliver, chunk, timeout=CHUNK_TIMEOUT_SECS)
        if reply.data:  # a chunk's reply is empty unless the server refuses it
            _answer(deliver, reply.data)
    reply = await nc.request(deliver, b"", timeout=RESTORE_FINISH_TIMEOUT_SECS)
    return _answer(deliver, reply.data)


async def stream_state(nc: Client, stream: str) -> dict[str, Any]:
    """The stream's state now (`last_seq`, `last_ts`, ...)."""
    return (await api(nc, f"$JS.API.STREAM.INFO.{stream}")).get("state") or {}


async def durable_consumers(nc: Client, stream: str) -> list[dict[str, Any]]:
    """Every durable consumer's info on `stream` (config, and where its acknowledgements are)."""
    found: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = await api(nc, f"$JS.API.CONSUMER.LIST.{stream}", {"offset": offset})
        consumers = page.get("consumers") or []
        found += [c for c in consumers if (c.get("config") or {}).get("durable_name")]
        offset += len(consumers)
        if not consumers or offset >= page.get("total", 0):
            return found


def resumed_config(info: dict[str, Any]) -> dict[str, Any]:
    """A consumer's config that starts right after what it had acknowledged when its info was
    read: everything up to its ack floor was applied (consumers ack after they commit)."""
    config = {key: value for key, value in (info.get("config") or {}).items()
              if key not in ("opt_start_seq", "opt_start_time")}
    floor = int((info.get("ack_floor") or {}).get("stream_seq") or 0)
    if floor > 0:
        config["deliver_policy"] = "by_start_sequence"
        config["opt_start_seq"] = floor + 1
    else:
        config["deliver_policy"] = "all"
    return config


async def create_consumer(nc: Client, stream: str, config: dict[str, Any]) -> dict[str, Any]:
    name = config["durable_name"]
    return await api(nc, f"$JS.API.CONSUMER.CREATE.{stream}.{name}",
                     {"stream_name": stream, "config": config})
