"""`GapFiller`: when a room's feed on this replica has waited in vain for a missing `seq`
(another replica's frame that never came), the missed messages are read from the database
once, and the feed goes on with them and then with what waited behind them. A read that
fails is logged and the feed goes on without them (a client that sees the gap rejoins
with `since_seq` or fetches with `after_seq`)."""

from __future__ import annotations

import asyncio
import logging

from services.chat.adapters.metrics import ChatMetrics
from services.chat.adapters.outbound.connection import Connection
from services.chat.adapters.outbound.room_feed import MissedFrames, RoomFeed

log = logging.getLogger(__name__)


class GapFiller:
    """Works on the hub's own map of feeds (a feed closed meanwhile is left alone) and puts
    its reads in the hub's tasks, which the hub waits for when it stops."""

    def __init__(self, missed_frames: MissedFrames | None, metrics: ChatMetrics,
                 feeds: dict[int, RoomFeed[Connection]], tasks: set[asyncio.Task[None]]) -> None:
        self._missed_frames = missed_frames
        self._metrics = metrics
        self._feeds = feeds
        self._tasks = tasks

    def start(self, feed: RoomFeed[Connection]) -> None:
        """The feed's gap timer ran out (`RoomFeed`'s `on_gap`)."""
        gap = feed.waiting_for()
        if self._feeds.get(feed.room_id) is not feed or gap is None:
            return
        feed.filling()
        task = asyncio.create_task(self._fill(feed, *gap))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fill(self, feed: RoomFeed[Connection], after: int, before: int) -> None:
        missed: list[tuple[int, bytes]] = []
        try:
            if self._missed_frames is not None:
                missed = await self._missed_frames(feed.room_id, after, before)
        except Exception:
            log.exception("could not read missed messages",
                          extra={"fields": {"room_id": feed.room_id}})
        finally:
            self._metrics.seq_gaps_filled.inc()
            if self._feeds.get(feed.room_id) is feed:
                feed.fill(missed, before)
