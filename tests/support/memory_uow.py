"""What every service's in-memory unit of work shares (`tests/unit/<service>/fakes.py`):
stores that refuse writes inside `read()`, an outbox that records committed events, and
a `write()` that is all or nothing and one at a time, like SQLite's write lock."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from shared.contracts import new_event


class HasEvents(Protocol):
    events: list[BaseModel]


StateT = TypeVar("StateT", bound=HasEvents)
TxT = TypeVar("TxT")


class MemoryStore(Generic[StateT]):
    def __init__(self, state: StateT, read_only: bool) -> None:
        self._state = state
        self._read_only = read_only

    def _writing(self) -> None:
        if self._read_only:
            raise AssertionError("a write inside uow.read(): it would not be committed")


class RecordingOutbox(MemoryStore[Any]):
    def __init__(self, state: HasEvents, read_only: bool, source: str) -> None:
        super().__init__(state, read_only)
        self._source = source

    async def add(self, event: BaseModel, now: datetime) -> None:
        self._writing()
        new_event(event, source=self._source, time=now)  # fails as the real outbox would
        self._state.events.append(event)


class MemoryUnitOfWork(Generic[StateT, TxT]):
    """`write()` is all or nothing and one at a time (like SQLite's write lock); a failed
    write leaves the state as it was (`rollbacks`), a good one counts in `commits`."""

    def __init__(self, state: StateT, make_tx: Callable[[StateT, bool, str], TxT],
                 source: str) -> None:
        self.state = state
        self.source = source
        self.commits = 0
        self.rollbacks = 0
        self._make_tx = make_tx
        self._write_lock = asyncio.Lock()

    def _tx(self, read_only: bool) -> TxT:
        return self._make_tx(self.state, read_only, self.source)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[TxT]:
        async with self._write_lock:
            snapshot = copy.deepcopy(self.state)
            try:
                yield self._tx(read_only=False)
            except BaseException:
                self.state = snapshot
                self.rollbacks += 1
                raise
            self.commits += 1

    @asynccontextmanager
    async def read(self) -> AsyncIterator[TxT]:
        yield self._tx(read_only=True)

    @property
    def events(self) -> list[BaseModel]:
        """Committed outbox events, oldest first."""
        return list(self.state.events)

    def events_of(self, kind: type[BaseModel]) -> list[Any]:
        return [e for e in self.state.events if isinstance(e, kind)]
