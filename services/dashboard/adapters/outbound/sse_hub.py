"""Server-Sent Events fan-out: event ids, a ring of recent deltas for `Last-Event-ID`
resume, and one bounded queue per client. A client whose queue is full is dropped (its
stream ends) instead of being waited on; it can reconnect and resume or start over.

An id is `<position>.<n>`: the EVENTS stream sequence the numbers reflect, which means the
same on every instance (each folds the whole stream), and this instance's own counter. The
same instance replays its ring; another resumes from the position (`open`'s `resume`)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from fastapi.sse import ServerSentEvent

from services.dashboard.adapters.metrics import DashboardMetrics
from services.dashboard.adapters.views import Delta, deltas
from services.dashboard.domain import Changes, DashboardState

# Renders what a client that saw everything up to a stream position missed; None: unknown.
Resume = Callable[[int], list[Delta] | None]

KEEPALIVE = ServerSentEvent(comment="keep-alive")
# The kinds a resume from any position renders from the live state as it is now
# (`DashboardState.changes_since`): a client cut off before one of them loses nothing.
RESENT = frozenset({"connections", "user_stats", "notification_stats", "service_health"})


def _encode(event_type: str, data: dict[str, Any]) -> str:
    # The exercise's envelope: the type travels inside `data`, so `onmessage` sees it all.
    return orjson.dumps({"type": event_type, "data": data},
                        option=orjson.OPT_NON_STR_KEYS).decode()


@dataclass(eq=False, slots=True)
class SseClient:
    queue: asyncio.Queue[ServerSentEvent | None]
    # What to send before live deltas: a snapshot, or the deltas missed since Last-Event-ID.
    backlog: list[ServerSentEvent]
    resumed: bool
    dropped: bool = False
    session_id: str | None = None  # the token's session: its revocation ends the stream

    async def next(self, keepalive_secs: float) -> ServerSentEvent | None:
        """The next delta; a keep-alive comment after `keepalive_secs` of silence; None
        once the client was dropped or the hub closed."""
        try:
            async with asyncio.timeout(keepalive_secs):
                return await self.queue.get()
        except TimeoutError:
            return KEEPALIVE


class SseHub:
    """The `DeltaFeed` for SSE clients.

    Ids are integers that keep increasing across restarts (the first one is derived from the
    start time), so an id from a previous run is never mistaken for one of this run's.
    """

    def __init__(self, metrics: DashboardMetrics, *, queue_size: int, ring_size: int,
                 retry_ms: int, first_id: int) -> None:
        self._metrics = metrics
        self._queue_size = queue_size
        self._retry_ms = retry_ms
        self._ring: deque[tuple[int, int, ServerSentEvent]] = deque(maxlen=ring_size)
        self._last_id = first_id
        self._position = 0  # the stream position of the newest event sent
        self._clients: set[SseClient] = set()

    @property
    def last_id(self) -> int:
        return self._last_id

    @property
    def newest(self) -> str:
        """The id a client that has everything sent so far stands at."""
        return f"{self._position}.{self._last_id}"

    @property
    def clients(self) -> int:
        return len(self._clients)

    def publish(self, state: DashboardState, changes: Changes, now: datetime) -> None:
        self.send(deltas(state, changes, now), state.position)

    def send(self, deltas: list[Delta], position: int | None = None) -> None:
        """One drain's deltas, all rendered at stream position `position`. A delta carries
        the new position once nothing after it in the batch would be lost by resuming
        from there (only kinds every resume sends, `RESENT`); the ones before keep the
        previous position, so a client cut off among them is told some twice, never not.
        (Only the last carrying it made a client that stopped at `message_stats` with a
        `service_health` after it hear its messages again elsewhere.)"""
        new_from = max((i for i, d in enumerate(deltas) if d.type not in RESENT), default=0)
        for i, delta in enumerate(deltas):
            self._last_id += 1
            if position is not None and i == new_from:
                self._position = position
            event = ServerSentEvent(raw_data=_encode(delta.type, delta.data),
                                    id=f"{self._position}.{self._last_id}")
            self._ring.append((self._last_id, self._position, event))
            self._metrics.sse_deltas.labels(delta.type).inc()
            for client in list(self._clients):
                try:
                    client.queue.put_nowait(event)
                except asyncio.QueueFull:
                    self._drop(client)

    def open(self, last_event_id: str | None, snapshot: Callable[[], dict[str, Any]],
             session_id: str | None = None, resume: Resume | None = None) -> SseClient:
        """Register a client: it gets the deltas after `last_event_id` if they are all still
        kept, else (an id of another instance) what it missed since that id's position,
        else a snapshot. No await between reading and registering: nothing is lost or
        repeated between the backlog and the queue."""
        backlog = self._replay(last_event_id)
        if backlog is None and resume is not None:
            backlog = self._resume(last_event_id, resume)
        resumed = backlog is not None
        if backlog is None:
            backlog = [ServerSentEvent(raw_data=_encode("initial_data", snapshot()),
                                       id=self.newest, retry=self._retry_ms)]
        else:
            self._metrics.sse_resumed.inc()
        client = SseClient(asyncio.Queue(self._queue_size), backlog, resumed,
                           session_id=session_id)
        self._clients.add(client)
        self._metrics.sse_clients.set(len(self._clients))
        return client

    def close(self, client: SseClient) -> None:
        self._clients.discard(client)
        self._metrics.sse_clients.set(len(self._clients))

    def end_session(self, session_id: str) -> None:
        """End the streams of a revoked session (a reconnect is refused with 401)."""
        for client in list(self._clients):
            if client.session_id == session_id:
                self._end(client)
        self._metrics.sse_clients.set(len(self._clients))

    def close_all(self) -> None:
        """End every stream (shutting down)."""
        for client in list(self._clients):
            self._end(client)
        self._metrics.sse_clients.set(0)

    def _drop(self, client: SseClient) -> None:
        self._end(client)
        self._metrics.sse_clients_dropped.inc()
        self._metrics.sse_clients.set(len(self._clients))

    def _end(self, client: SseClient) -> None:
        self._clients.discard(client)
        client.dropped = True
        # Free what it never read; the None tells its stream to end when it next looks.
        while not client.queue.empty():
            client.queue.get_nowait()
        client.queue.put_nowait(None)

    def _replay(self, last_event_id: str | None) -> list[ServerSentEvent] | None:
        parsed = parse_id(last_event_id)
        if parsed is None:
            return None
        position, last = parsed
        if last == self._last_id:
            return [] if position in (None, self._position) else None
        oldest = self._ring[0][0] if self._ring else self._last_id + 1
        if not oldest - 1 <= last < self._last_id:
            return None
        if position is not None and last >= oldest and not any(
                event_id == last and at == position for event_id, at, _ in self._ring):
            return None  # the same number from another instance: not our event
        return [event for event_id, _, event in self._ring if event_id > last]

    def _resume(self, last_event_id: str | None, resume: Resume) -> list[ServerSentEvent] | None:
        parsed = parse_id(last_event_id)
        if parsed is None or parsed[0] is None:
            return None
        missed = resume(parsed[0])
        if missed is None:
            return None
        # All but the last keep the client's own id: cut off among them, it starts again.
        events = [ServerSentEvent(raw_data=_encode(d.type, d.data), id=last_event_id)
                  for d in missed]
        if events:
            events[-1] = ServerSentEvent(raw_data=events[-1].raw_data, id=self.newest)
        return events


def parse_id(last_event_id: str | None) -> tuple[int | None, int] | None:
    """`<position>.<n>` (or a bare `<n>`, as ids were before instances shared the work)."""
    if last_event_id is None:
        return None
    head, dot, tail = last_event_id.strip().partition(".")
    try:
        return (int(head), int(tail)) if dot else (None, int(head))
    except ValueError:
        return None
