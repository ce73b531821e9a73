"""One thread that runs blocking calls in order, for an adapter that owns a connection.

`loop.run_in_executor` chains a `concurrent.futures.Future` to an asyncio one (locks and a
callback on each side) for every call; on the message path that is two calls per batch.
Here a call is a tuple on a `SimpleQueue`, and its result comes back with one
`call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
_STOP = object()


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return  # the caller went away; the call ran all the same
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class WorkerThread:
    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._calls.put((fn, args, future, loop))
        return await future

    async def stop(self) -> None:
        """Run what is queued, then end the thread."""
        if self._thread.is_alive():
            await self.run(lambda: None)
            self._calls.put(_STOP)

    def _serve(self) -> None:
        while True:
            call = self._calls.get()
            if call is _STOP:
                return
            fn, args, future, loop = call
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to the caller, whatever it is
                loop.call_soon_threadsafe(_settle, future, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, future, result, None)
