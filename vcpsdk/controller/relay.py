"""Changes committed on one replica wake the long-polls and the worker of every other one.

Several replicas on one PostgreSQL database each have their own
:class:`~vcpsdk.controller.bus.ChangeBus`, which hears only the commits of its own process.
The :class:`ChangeRelay` carries "UnitGroup X changed" between them with PostgreSQL's
``LISTEN``/``NOTIFY``:

* **publish** — just before a write transaction commits, one statement sends a notification
  on the channel :data:`CHANNEL` for every UnitGroup :func:`~vcpsdk.controller.bus.changed`
  recorded in it.  ``NOTIFY`` is transactional: the notifications are delivered when the
  transaction commits, never after a rollback, and never before the change is visible.
* **listen** — one connection per replica, taken out of the store's pool, runs
  ``LISTEN``; a daemon thread receives the notifications of the *other* replicas (each
  payload names the replica that sent it) and wakes the bus's waiters of that UnitGroup and
  the worker (the change may have queued an operation this replica can run).  When the
  connection is lost, the thread reconnects with exponential backoff (tenacity), then wakes
  every waiter and the worker once: a change may have been missed meanwhile, and a woken
  long-poll only re-reads.

On SQLite (one process) and with drivers other than psycopg 3 the relay does nothing: the
bus alone wakes everyone, as before.  The relay counts what it did (:attr:`received`,
:attr:`reconnects`, :attr:`connect_failures`, :attr:`listening`), for ``/metrics``.

Example::

    bus = ChangeBus()
    bus.attach(store)
    relay = ChangeRelay(store, bus, worker.wake)
    relay.start()       # listening (PostgreSQL), or nothing (SQLite)
    ...
    relay.close()       # the thread and its connection are gone
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import tenacity
from sqlalchemy import text
from sqlalchemy.orm import Session

from vcpsdk.controller.bus import ChangeBus, changed_vcids
from vcpsdk.controller.store import Store

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger("vcp.controller")

#: the PostgreSQL notification channel of UnitGroup changes
CHANNEL = "vcc_changed"
#: seconds the listener waits for notifications before it checks whether it was closed
RECEIVE_TIMEOUT = 0.5
#: seconds before the first reconnection attempt at most (full jitter; it doubles from there)
BACKOFF_INITIAL = 0.1
#: seconds between two reconnection attempts at most
BACKOFF_MAX = 5.0
#: seconds :meth:`ChangeRelay.close` waits for the listener beyond one receive timeout
CLOSE_GRACE = 10.0

# one round trip for all the groups of a transaction; the payload is "<origin> <vcid>"
_PUBLISH = text(
    "SELECT pg_notify(:channel, :origin || ' ' || vcid) FROM unnest(CAST(:vcids AS text[])) AS vcid"
)
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class ChangeRelay:
    """UnitGroup changes between the replicas of one PostgreSQL database (see the module doc).

    Attributes:
        enabled: True on PostgreSQL with psycopg 3; False otherwise (then it does nothing).
        origin: this replica's id in the payloads it sends (its own are not acted on).
        received: notifications of other replicas acted on so far.
        reconnects: times the listening connection was made again after being lost.
        connect_failures: attempts to make the listening connection that failed.
    """

    def __init__(
        self,
        store: Store,
        bus: ChangeBus,
        wake_worker: Callable[[], None],
        *,
        channel: str = CHANNEL,
        receive_timeout: float = RECEIVE_TIMEOUT,
        backoff_max: float = BACKOFF_MAX,
    ) -> None:
        """Publish the changes of ``store``'s transactions from now on (PostgreSQL only).

        Args:
            store: the store whose commits are published and whose engine listens.
            bus: the bus whose waiters notifications wake.
            wake_worker: called for every notification (e.g. ``Worker.wake``).
            channel: the notification channel (lower-case letters, digits and ``_``).
            receive_timeout: seconds between two checks of :meth:`close` by the listener.
            backoff_max: seconds between two reconnection attempts at most.

        Raises:
            ValueError: an unusable channel name.
        """
        if not _IDENTIFIER.fullmatch(channel):
            raise ValueError(f"channel {channel!r}: use lower-case letters, digits and _")
        self.bus = bus
        self.wake_worker = wake_worker
        self.channel = channel
        self.receive_timeout = receive_timeout
        self.backoff_max = backoff_max
        self.origin = uuid.uuid4().hex
        self.received = 0
        self.reconnects = 0
        self.connect_failures = 0
        self._engine = store.engine
        dialect = store.engine.dialect
        self.enabled = dialect.name == "postgresql" and dialect.driver == "psycopg"
        if dialect.name == "postgresql" and not self.enabled:
            logger.warning(
                "database driver %s cannot listen for other replicas' changes; use postgresql+psycopg://",
                dialect.driver,
            )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: psycopg.Connection[Any] | None = None
        if self.enabled:
            store.before_commit(self._publish)

    @property
    def listening(self) -> bool:
        """True while the listening connection is up."""
        return self._connection is not None

    def start(self) -> None:
        """Listen for other replicas' changes (nothing on SQLite, nothing when started already).

        The first connection is made here, so changes committed elsewhere after ``start``
        returns are heard; when it cannot be made, the listener keeps trying in the
        background (see the module doc).
        """
        if not self.enabled or self._thread is not None:
            return
        try:
            self._connection = self._listen()
        except Exception:
            self.connect_failures += 1
            logger.warning("cannot listen for other replicas' changes yet; retrying", exc_info=True)
        self._thread = threading.Thread(target=self._receive, name="vcc-relay", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop listening: the thread ends and its connection is closed (idempotent).

        Publishing goes on while the store is open (other replicas still hear this one).
        """
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=self.receive_timeout + CLOSE_GRACE)
            if thread.is_alive():
                logger.warning("the change relay's listener did not stop")

    def _publish(self, session: Session) -> None:
        """``before_commit``: notify the groups this transaction changed (the outermost commit)."""
        if session.in_nested_transaction():
            return
        vcids = changed_vcids(session)
        if vcids:
            session.execute(
                _PUBLISH, {"channel": self.channel, "origin": self.origin, "vcids": sorted(vcids)}
            )

    def _listen(self) -> psycopg.Connection[Any]:
        """A new connection of its own (out of the pool), in autocommit, listening."""
        pooled = self._engine.raw_connection()
        connection: psycopg.Connection[Any] = pooled.driver_connection  # type: ignore[assignment]
        pooled.detach()  # closed for real by us, never handed to a request
        try:
            connection.rollback()
            connection.autocommit = True
            connection.execute(f"LISTEN {self.channel}")
        except BaseException:
            connection.close()
            raise
        return connection

    def _receive(self) -> None:
        """The listener thread: deliver notifications until closed, reconnecting when lost."""
        import psycopg

        connection = self._connection
        try:
            while not self._stop.is_set():
                if connection is None:
                    connection = self._reconnect()  # None: closed meanwhile
                    continue
                try:
                    for notification in connection.notifies(timeout=self.receive_timeout):
                        self._deliver(notification.payload)
                except psycopg.Error:
                    logger.warning("lost the connection hearing other replicas; reconnecting", exc_info=True)
                    self._connection = None
                    connection.close()
                    connection = None
        finally:
            self._connection = None
            if connection is not None:
                connection.close()

    def _reconnect(self) -> psycopg.Connection[Any] | None:
        """Listen again, with backoff; then wake everyone once.  None when closed meanwhile."""
        retrying = tenacity.Retrying(
            wait=tenacity.wait_random_exponential(multiplier=BACKOFF_INITIAL, max=self.backoff_max),
            stop=lambda _state: self._stop.is_set(),
            sleep=self._pause,
            after=self._failed,
        )
        try:
            connection = retrying(self._listen)
        except tenacity.RetryError:
            return None
        self._connection = connection
        self.reconnects += 1
        logger.info("listening for other replicas' changes again")
        self.wake_worker()
        self.bus.notify_all()  # what changed while deaf is not known: every long-poll re-reads
        return connection

    def _failed(self, state: tenacity.RetryCallState) -> None:
        """After a failed attempt to listen again: count and say it."""
        self.connect_failures += 1
        error = state.outcome.exception() if state.outcome else None
        logger.info("cannot listen for other replicas' changes (attempt %d): %s", state.attempt_number, error)

    def _pause(self, seconds: float) -> None:
        """The backoff between two attempts, cut short by :meth:`close`."""
        self._stop.wait(seconds)

    def _deliver(self, payload: str) -> None:
        """Wake the waiters of the group in ``payload`` and the worker (not for our own)."""
        origin, _, vcid = payload.partition(" ")
        if origin == self.origin:  # this process's bus heard it already
            return
        self.received += 1
        self.wake_worker()
        self.bus.notify(vcid)
