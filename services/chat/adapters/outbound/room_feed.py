"""One room's frames on this replica, handed on in `seq` order and once (`RoomFeed`).

A `message` frame can arrive ahead of a missing `seq`: another replica's message still on
its way through NATS, or lost on the way. The feed holds it, and the frames without a
`seq` (edits, typing, membership) that arrive behind it, until the gap fills; a gap still
open after `GAP_WAIT_SECS` is read from the database. Every `seq` below one that was
committed is already committed (they are handed out under the room's lock), so the read
finds them. A late copy of a frame already handed on is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from shared.contracts.live import FrameRoute

log = logging.getLogger(__name__)

# How long a frame waits for an earlier `seq` to arrive over NATS before the gap is read
# from the database. Replicas publish right after their commit, so a gap normally closes in
# well under a millisecond; this only bounds the wait when a publish was lost.
GAP_WAIT_SECS = 0.1
Socket = TypeVar("Socket")


# What a replica needs to route a frame without parsing it: the wire codec's reading of
# its NATS headers.
Routing = FrameRoute


# (room_id, after_seq, before_seq) -> the `message` frames of that range, oldest first.
MissedFrames = Callable[[int, int, int], Awaitable[list[tuple[int, bytes]]]]


class RoomFeed(Generic[Socket]):
    """This replica's sockets in one room, and the room's `seq` as handed to them.

    `hand_on(feed, payload, routing)` gives a frame to the sockets; `on_gap(feed)` is called
    once a gap has waited `GAP_WAIT_SECS` (it should `fill` it)."""

    __slots__ = ("_backlog", "_filling", "_gap_timer", "_hand_on", "_on_gap", "delivered",
                 "room_id", "sockets")

    def __init__(self, room_id: int, hand_on: Callable[[RoomFeed[Socket], bytes, Routing], None],
                 on_gap: Callable[[RoomFeed[Socket]], None]) -> None:
        self.room_id = room_id
        self.sockets: set[Socket] = set()
        # The highest `seq` handed on in order; None until a join has read the room.
        self.delivered: int | None = None
        self._backlog: list[tuple[Routing, bytes]] = []  # waiting, in arrival order
        self._gap_timer: asyncio.TimerHandle | None = None
        self._filling = False
        self._hand_on = hand_on
        self._on_gap = on_gap

    def offer(self, payload: bytes, routing: Routing) -> None:
        if routing.seq is None and not self._backlog:
            self._hand_on(self, payload, routing)
        elif self.delivered is not None and routing.seq == self.delivered + 1 \
                and not self._backlog:
            self.delivered += 1
            self._hand_on(self, payload, routing)
        else:
            self._backlog.append((routing, payload))
            self._drain()

    def start_at(self, seq: int) -> None:
        """The first read of the room on this replica: everything up to `seq` is known."""
        if self.delivered is None:
            self.delivered = seq
            self._drain()

    def waiting_for(self) -> tuple[int, int] | None:
        """The gap that holds frames back: (the last `seq` handed on, the first waiting)."""
        waiting = [r.seq for r, _ in self._backlog if r.seq is not None]
        if not waiting or self.delivered is None:
            return None
        return self.delivered, min(waiting)

    def fill(self, missed: list[tuple[int, bytes]], before: int) -> None:
        """Hand on the gap's frames read from the database, then what waited behind them."""
        for seq, payload in missed:
            if self.delivered is not None and seq == self.delivered + 1:
                self.delivered = seq
                self._hand_on(self, payload, Routing("message", seq))
        if self.delivered is not None and self.delivered < before - 1:
            # Not in the database either (cannot happen while seqs are gapless): go on.
            log.warning("seq gap not found in the database",
                        extra={"fields": {"room_id": self.room_id, "after": self.delivered,
                                          "before": before}})
            self.delivered = before - 1
        self._filling = False
        self._drain()

    def filling(self) -> None:
        """The gap is being read (until `fill`)."""
        self._filling = True

    def close(self) -> None:
        if self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None

    def _drain(self) -> None:
        """Hand on the backlog's frames that are next in `seq` (or carry none), in order."""
        while self._backlog and self.delivered is not None:
            index = self._next_index()
            if index is None:
                break
            routing, payload = self._backlog.pop(index)
            if routing.seq is not None:
                if routing.seq <= self.delivered:
                    continue  # already handed on (from the database, or a duplicate)
                self.delivered = routing.seq
            self._hand_on(self, payload, routing)
        self.close()
        if self._backlog and self.delivered is not None and not self._filling:
            self._gap_timer = asyncio.get_running_loop().call_later(
                GAP_WAIT_SECS, self._gap_waited)

    def _next_index(self) -> int | None:
        assert self.delivered is not None
        head = self._backlog[0][0]
        if head.seq is None or head.seq <= self.delivered + 1:
            return 0
        # The head waits for an earlier seq; that one may have arrived behind it.
        for i, (routing, _payload) in enumerate(self._backlog):
            if routing.seq == self.delivered + 1:
                return i
        return None

    def _gap_waited(self) -> None:
        self._gap_timer = None
        if not self._filling:
            self._on_gap(self)
