"""`CachedWordFilters`: this replica's compiled word filters, in memory. Every
`refresh_secs` it reads the rules' stamp (one small query, never per post) and, when it
moved, every live rule, compiled into a new `FilterSet` swapped in at once; a change made
on this replica refreshes it right after its commit. Another replica's change is seen
within `refresh_secs`."""

from __future__ import annotations

import asyncio
import logging

from services.chat.domain.word_filter import EMPTY_FILTERS, FilterSet
from services.chat.ports import ChatUnitOfWork

log = logging.getLogger(__name__)


class CachedWordFilters:
    def __init__(self, uow: ChatUnitOfWork, refresh_secs: float) -> None:
        self._uow = uow
        self.refresh_secs = refresh_secs
        self._filters = EMPTY_FILTERS
        self._stamp: tuple[int, int] | None = None
        self._lock = asyncio.Lock()
        self.loads = 0  # how many times the rules were read and compiled

    def current(self) -> FilterSet:
        return self._filters

    async def refresh(self) -> None:
        async with self._lock:  # one read at a time; a second caller sees its result
            async with self._uow.read() as tx:
                stamp = await tx.word_filters.stamp()
                if stamp == self._stamp:
                    return
                rules = await tx.word_filters.live(None, every_scope=True)
            # Compiled outside the transaction; readers keep the old set until the swap.
            self._filters = FilterSet.of(rules)
            self._stamp = stamp
            self.loads += 1

    async def run(self) -> None:
        """Refresh every `refresh_secs` until cancelled; a failed read keeps the rules it
        has (and is logged) and is tried again next time."""
        while True:
            await asyncio.sleep(self.refresh_secs)
            try:
                await self.refresh()
            except Exception as exc:
                log.warning("word filters not refreshed", extra={"fields": {"error": repr(exc)}})
