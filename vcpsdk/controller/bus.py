"""One place for "something changed": the revision bump and the long-poll wake-up.

Writers (request threads and worker threads) call :func:`changed` inside their
transaction: it bumps the UnitGroup's ``revision`` and remembers the group on the
session.  The :class:`ChangeBus` attached to the store wakes the long-polling
requests of those groups once the transaction has committed (never before, so a
woken reader sees the change; never after a rollback).  The asyncio handlers of
"wait for change" requests await :meth:`ChangeBus.waiter`; a waiter is registered
*before* the state is read, so no change is missed.  Changes committed by other replicas
reach the bus through :class:`~vcpsdk.controller.relay.ChangeRelay` (PostgreSQL only).
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict

from sqlalchemy.orm import Session

from vcpsdk.controller.store import Store, Vc

_CHANGED = "vcp_changed_vcids"


def changed(session: Session, vc: Vc) -> None:
    """Record that UnitGroup ``vc`` changed in this transaction.

    Bumps ``vc.revision``; its long-polling readers are woken after the commit.

    Args:
        session: the open transaction (of a store a :class:`ChangeBus` is attached to).
        vc: the changed UnitGroup.
    """
    changed_here = session.info.setdefault(_CHANGED, set())
    if vc in session.new:  # not in the database yet
        vc.revision = (vc.revision or 0) + 1
    elif vc.vcid not in changed_here:  # once per transaction is enough for the waiters
        # in SQL (``revision = revision + 1``): concurrent writers on other replicas each count
        vc.revision = Vc.revision + 1
    changed_here.add(vc.vcid)


def changed_vcids(session: Session) -> set[str]:
    """The UnitGroups :func:`changed` recorded in the open transaction of ``session`` so far.

    Args:
        session: the open transaction.

    Returns:
        their vcids (empty when nothing changed).
    """
    return set(session.info.get(_CHANGED, ()))


class ChangeBus:
    """Per-UnitGroup wake-ups that cross from threads into the event loop."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[str, set[asyncio.Future[None]]] = defaultdict(set)
        self._lock = threading.Lock()

    def attach(self, store: Store) -> None:
        """Wake the readers of every group :func:`changed` marked, after each commit of ``store``."""
        store.on_commit(self._after_commit)

    def _after_commit(self, session: Session) -> None:
        for vcid in session.info.pop(_CHANGED, ()):
            self.notify(vcid)

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

    def notify_all(self) -> None:
        """Wake every waiter of every group (safe from any thread): a change may have been
        missed, e.g. while the connection that hears other replicas was lost."""
        with self._lock:
            waiting = {future for futures in self._waiters.values() for future in futures}
            self._waiters.clear()
        if waiting and self._loop is not None:
            self._loop.call_soon_threadsafe(_complete, waiting)


def _complete(futures: set[asyncio.Future[None]]) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None)
