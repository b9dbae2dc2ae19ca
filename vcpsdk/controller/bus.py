"""Wake long-polling requests when a UnitGroup changes.

Writers (request threads and worker threads) call :meth:`ChangeBus.notify`; the
asyncio handlers of "wait for change" requests await :meth:`ChangeBus.waiter`.
A waiter is registered *before* the state is read, so no change is missed.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict


class ChangeBus:
    """Per-UnitGroup wake-ups that cross from threads into the event loop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[str, set[asyncio.Future[None]]] = defaultdict(set)
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach the event loop the waiters live in."""
        self._loop = loop

    def waiter(self, vcid: str) -> asyncio.Future[None]:
        """A future completed at the next change of ``vcid`` (call in the loop)."""
        assert self._loop is not None
        future: asyncio.Future[None] = self._loop.create_future()
        with self._lock:
            self._waiters[vcid].add(future)
        return future

    def discard(self, vcid: str, future: asyncio.Future[None]) -> None:
        """Forget a waiter that timed out."""
        with self._lock:
            waiting = self._waiters.get(vcid)
            if waiting is not None:
                waiting.discard(future)
                if not waiting:
                    del self._waiters[vcid]

    def notify(self, vcid: str) -> None:
        """Wake every waiter of ``vcid`` (safe from any thread)."""
        with self._lock:
            waiting = self._waiters.pop(vcid, set())
        if not waiting or self._loop is None:
            return
        self._loop.call_soon_threadsafe(_complete, waiting)


def _complete(futures: set[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None)
