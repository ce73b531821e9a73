"""Posting with group commit: posts that arrive together are stored together.

A post is acknowledged only once it is committed. While one batch is being committed, new
posts wait; when it is done, all of them go in the next transaction, so the batch grows
with the load and is one post when the server is idle. `post_plan.plan_batch` is the rule;
the `PostLog` adapter runs it inside its transaction. After the commit, the batch's frames
go out in `seq` order (`LiveFeed`), then every poster gets its outcome.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from services.chat.domain import Frame
from services.chat.ports import Clock, LiveFeed, PostLog
from services.chat.post_plan import PostOutcome, PostRequest, plan_batch

log = logging.getLogger(__name__)

MAX_BATCH_POSTS = 256


class PostQueue:
    """The group commit: one batch in flight; a runner task exists while posts wait."""

    def __init__(self, log: PostLog, live: LiveFeed, clock: Clock, *,
                 max_batch: int = MAX_BATCH_POSTS,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self._log = log
        self._live = live
        self._clock = clock
        self._on_batch = on_batch
        self._max_batch = max_batch
        self._waiting: list[tuple[PostRequest, asyncio.Future[PostOutcome]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, request: PostRequest) -> PostOutcome:
        future: asyncio.Future[PostOutcome] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, future))
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="post-batches")
        # A poster that goes away (socket closed) cancels only its wait: the batch commits
        # whatever happens to the one who asked (the runner skips a cancelled future).
        return await future

    async def drain(self) -> None:
        """Wait until every submitted post is stored and delivered (shutdown)."""
        while self._runner is not None:
            await asyncio.shield(self._runner)

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[:self._max_batch]
                del self._waiting[:self._max_batch]
                if self._on_batch is not None:
                    self._on_batch(len(batch))
                outcomes = await self._commit([request for request, _ in batch])
                await self._publish([o for o in outcomes
                                     if isinstance(o, PostOutcome) and o.created])
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, BaseException):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
        finally:
            self._runner = None

    async def _commit(self, requests: list[PostRequest]) -> list[PostOutcome | BaseException]:
        try:
            return list(await self._log.commit(requests, plan_batch, self._clock.now()))
        except Exception as exc:
            # A post the database refused (another replica committed the same client_msg_id
            # a moment ago, say) must not fail the others; alone, it sees what the other
            # transaction did. Each post gets one more try on its own.
            log.warning("post batch failed; storing its posts one at a time",
                        extra={"fields": {"posts": len(requests), "error": repr(exc)}})
        results: list[PostOutcome | BaseException] = []
        for request in requests:
            try:
                results.extend(await self._log.commit([request], plan_batch,
                                                      self._clock.now()))
            except Exception as exc:
                results.append(exc)
        return results

    async def _publish(self, created: list[PostOutcome]) -> None:
        """Each room's frames of the batch, in seq order: `member_joined` before the post
        that made the member, then the message; last, each thread root's new count."""
        by_room: dict[int, list[Frame]] = {}
        threads: dict[int, dict[int, Frame]] = {}
        for outcome in created:
            message = outcome.message
            assert message is not None
            frames = by_room.setdefault(message.room_id, [])
            if outcome.joined is not None:
                frames.append(Frame("member_joined", outcome.joined))
            frames.append(Frame("message", message, seq=message.seq))
            if outcome.thread is not None:
                # One `thread_updated` per root per batch, after its replies: the latest count.
                threads.setdefault(message.room_id, {})[outcome.thread.root_id] = Frame(
                    "thread_updated", outcome.thread)
        for room_id, updates in threads.items():
            by_room[room_id].extend(updates.values())
        for room_id, frames in by_room.items():
            try:
                await self._live.to_room_many(room_id, frames)
            except Exception:
                # Stored and acknowledged all the same: whoever missed a frame recovers it.
                log.exception("live delivery of stored messages failed")
