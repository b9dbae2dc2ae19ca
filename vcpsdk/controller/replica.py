"""This process's place among the controller replicas that share one database.

Every controller process is a *replica*: a row in ``replicas`` whose ``lease_until`` it
pushes ahead every ``lease_seconds / 3`` (the heartbeat).  A replica is alive while its
lease is ahead of the database's clock; what a dead replica held is taken over:

- its running operations (``operations.claimed_by``), by any live replica's worker
  (:mod:`vcpsdk.controller.worker`), which runs them again (backends are idempotent by
  node id) — the first replica's late result, if it was only paused, is dropped;
- its named leases (``leases``), e.g. ``sandbox``: the sandbox's node endpoints listen in
  exactly one process at a time, the replica holding that lease.  A lease is held while
  its holder is alive; the heartbeat takes a free or orphaned one and calls the
  ``on_acquire`` callback (restore the endpoints), and calls ``on_lose`` when it finds
  that someone else holds it (after this process was paused past its lease).

Times come from the database's clock on PostgreSQL (replicas on several machines need no
synchronised clocks) and from this process on SQLite, where one process owns the file:
there a new replica takes over the rows of any earlier one at once (a controller restart
resumes interrupted operations immediately, as before replicas existed), and refuses to
start while another live process on this host serves the same file.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.types import DateTime

from vcpsdk.controller.settings import DEFAULT_LEASE_SECONDS, MIN_LEASE_SECONDS
from vcpsdk.controller.store import Lease, Replica, Store, utcnow
from vcpsdk.controller.store.database import driver_message, insert_if_absent

logger = logging.getLogger("vcp.controller")

#: dead replicas' rows are removed once they are this many leases old (their work taken over)
FORGET_AFTER_LEASES = 20
#: seconds between two checks of the fence (leases let go once this replica's lease ran out)
FENCE_CHECK = 0.5


class ReplicaConflict(RuntimeError):
    """Another live controller process on this host serves the same SQLite database."""


def database_now(session: Session) -> ColumnElement[dt.datetime]:
    """ "Now" as SQL: the database's clock in UTC on PostgreSQL, this process's elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        return func.timezone("UTC", func.now()).cast(DateTime())
    return literal(utcnow(), DateTime())


def _later(session: Session, seconds: float) -> ColumnElement[dt.datetime] | dt.datetime:
    if session.get_bind().dialect.name == "postgresql":
        return database_now(session) + dt.timedelta(seconds=seconds)
    return utcnow() + dt.timedelta(seconds=seconds)


def live_replicas(session: Session) -> Any:
    """A subquery of the ids of live replicas (lease ahead of now)."""
    return select(Replica.id).where(Replica.lease_until > database_now(session)).scalar_subquery()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


class Membership:
    """This replica: its row in ``replicas``, its heartbeat and the named leases it wants.

    Example:
        >>> membership = Membership(store, lease_seconds=15)  # doctest: +SKIP
        >>> membership.want("sandbox", on_acquire=restore, on_lose=close)  # doctest: +SKIP
        >>> membership.join(); membership.start()  # doctest: +SKIP
        >>> membership.holds("sandbox")  # doctest: +SKIP
        True
    """

    def __init__(self, store: Store, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        """Args:
        store: the database the replicas share.
        lease_seconds: how long this replica counts as alive after its last heartbeat.
        """
        if lease_seconds < MIN_LEASE_SECONDS:
            raise ValueError(f"lease_seconds must be at least {MIN_LEASE_SECONDS:g}, not {lease_seconds:g}")
        self.store = store
        self.lease_seconds = lease_seconds
        #: this replica's id (``operations.claimed_by``, ``leases.holder``)
        self.id = uuid.uuid4().hex
        self.host = socket.gethostname()
        self._wanted: dict[str, tuple[Callable[[], None], Callable[[], None]]] = {}
        self._held: set[str] = set()
        self._lock = threading.Lock()  # heartbeats of the thread and of join() never overlap
        self._held_lock = threading.Lock()  # lease callbacks: the heartbeat's and the fence's
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fence_thread: threading.Thread | None = None
        #: heartbeats that found this replica's lease already run out (paused or cut off)
        self.expired_heartbeats = 0
        self._valid_until = 0.0  # time.monotonic() until which the last renewal holds

    @property
    def single_process(self) -> bool:
        """True on SQLite: one process owns the database, no replica can be alive beside it."""
        return self.store.serializes_writes

    def want(self, lease: str, on_acquire: Callable[[], None], on_lose: Callable[[], None]) -> None:
        """Take ``lease`` whenever it is free, calling ``on_acquire()`` after taking it and
        ``on_lose()`` when another replica turns out to hold it (call before :meth:`join`)."""
        self._wanted[lease] = (on_acquire, on_lose)

    def alive(self) -> bool:
        """Whether this replica's lease, as last renewed, has not run out yet (checked
        before claiming work: a replica whose heartbeat stalled claims nothing)."""
        return time.monotonic() < self._valid_until

    def wanted(self) -> set[str]:
        """The leases this replica takes whenever they are free."""
        return set(self._wanted)

    def holds(self, lease: str) -> bool:
        """Whether this replica held ``lease`` at its last heartbeat."""
        return lease in self._held

    def held(self) -> set[str]:
        """The leases this replica held at its last heartbeat."""
        return set(self._held)

    def join(self) -> None:
        """Register this replica and take the free leases it wants.

        Raises:
            ReplicaConflict: SQLite only — another live process on this host serves the file.
        """
        with self.store.transaction(background=True) as session:
            if self.single_process:
                self._take_over_sqlite(session)
            self._register(session)
        logger.info("replica %s joined (lease %.0f s)", self.id, self.lease_seconds)
        self.heartbeat()

    def check(self) -> None:
        """Refuse early, before anything starts, what :meth:`join` would refuse.

        Raises:
            ReplicaConflict: SQLite only — another live process on this host serves the file.
        """
        if self.single_process:
            with self.store.read() as session:
                self._refuse_live_other(session)

    def _refuse_live_other(self, session: Session) -> None:
        for other in session.scalars(select(Replica)):
            if other.host == self.host and other.pid != os.getpid() and _pid_alive(other.pid):
                if other.lease_until > utcnow():
                    raise ReplicaConflict(
                        f"another controller (pid {other.pid}) serves this SQLite database; "
                        "stop it first, or use PostgreSQL (--database-url) for several replicas"
                    )

    def _register(self, session: Session) -> None:
        """This replica's row, alive for one lease from now."""
        session.add(
            Replica(
                id=self.id,
                host=self.host,
                pid=os.getpid(),
                started_at=utcnow(),
                lease_until=_later(session, self.lease_seconds),
            )
        )

    def _take_over_sqlite(self, session: Session) -> None:
        self._refuse_live_other(session)
        # one process owns the file: whatever an earlier run held is this run's at once
        session.execute(delete(Replica))

    def start(self) -> None:
        """Start the heartbeat thread and the fence (see :meth:`_fence`)."""
        self._thread = threading.Thread(target=self._beat, name="vcc-heartbeat", daemon=True)
        self._thread.start()
        self._fence_thread = threading.Thread(target=self._fence, name="vcc-fence", daemon=True)
        self._fence_thread.start()

    def _beat(self) -> None:
        failing = False
        while not self._stop.wait(min(1.0, self.lease_seconds / 3) if failing else self.lease_seconds / 3):
            try:
                self.heartbeat()
            except Exception as error:  # asked again soon; said once per outage, not every second
                if not failing:
                    logger.warning("replica %s cannot renew its lease: %s", self.id, driver_message(error))
                failing = True
                continue
            if failing:
                logger.warning("replica %s renews its lease again", self.id)
            failing = False

    def _fence(self) -> None:
        """Give up the leases held here as soon as this replica's lease may have run out
        (its heartbeat cannot reach the database): another replica may take them from then
        on, so this one must no longer act on them — e.g. close the sandbox's endpoints
        before the next holder binds their addresses.  A heartbeat that gets through again
        takes them back if nobody else did."""
        while not self._stop.wait(FENCE_CHECK):
            if self._held and not self.alive():
                with self._held_lock:
                    for lease in sorted(self._held):
                        logger.warning(
                            "replica %s lets the %s lease go: its own lease ran out", self.id, lease
                        )
                        self._held.discard(lease)
                        self._wanted[lease][1]()

    def heartbeat(self) -> None:
        """Push this replica's lease ahead, take the free leases it wants, forget dead
        replicas long gone; call the lease callbacks of what changed hands.

        A lease counts as held (:meth:`holds`) only once its ``on_acquire`` returned; one
        that raised is given back, to be tried again at the next heartbeat."""
        with self._lock:
            holding = self._renew()
            with self._held_lock:
                for lease in sorted(self._held - holding):
                    logger.warning("replica %s lost the %s lease to another replica", self.id, lease)
                    self._held.discard(lease)
                    self._wanted[lease][1]()
                for lease in sorted(holding - self._held):
                    try:
                        self._wanted[lease][0]()
                    except Exception as error:
                        logger.error("replica %s could not take up the %s lease: %s", self.id, lease, error)
                        self._give_back(lease)
                        continue
                    self._held.add(lease)
                    logger.info("replica %s holds the %s lease", self.id, lease)

    def _give_back(self, lease: str) -> None:
        with self.store.transaction(background=True) as session:
            self._release(session, lease)

    def _release(self, session: Session, lease: str | None = None) -> None:
        """Give ``lease`` (default: every lease this replica holds) back in ``session``."""
        mine = Lease.holder == self.id
        if lease is not None:
            mine = and_(mine, Lease.name == lease)
        session.execute(update(Lease).where(mine).values(holder=None, since=None))

    def _renew(self) -> set[str]:
        started = time.monotonic()  # the lease counts from before the renewal was sent
        with self.store.transaction(background=True) as session:
            now = database_now(session)
            renewed = session.scalar(
                update(Replica)
                .where(Replica.id == self.id, Replica.lease_until > now)
                .values(lease_until=_later(session, self.lease_seconds))
                .returning(Replica.id)
            )
            if renewed is None:  # paused past the lease (or the row was forgotten): alive again
                self.expired_heartbeats += 1
                logger.warning("replica %s found its lease run out; its work may be taken over", self.id)
                session.execute(delete(Replica).where(Replica.id == self.id))
                self._register(session)
                session.flush()
            holding = {lease for lease in self._wanted if self._take(session, lease)}
            forget = _later(session, -self.lease_seconds * FORGET_AFTER_LEASES)
            session.execute(delete(Replica).where(Replica.lease_until < forget))
        self._valid_until = started + self.lease_seconds
        return holding

    def _take(self, session: Session, lease: str) -> bool:
        """Hold ``lease`` if it is free, held by this replica, or held by a dead one."""
        insert_if_absent(session, Lease, "name", name=lease, holder=None)
        row = session.get(Lease, lease, with_for_update=True, populate_existing=True)
        assert row is not None  # inserted above
        if row.holder == self.id:
            return True
        if row.holder is not None:
            alive = and_(Replica.id == row.holder, Replica.lease_until > database_now(session))
            if session.scalar(select(Replica.id).where(alive)) is not None:
                return False
        row.holder = self.id
        row.since = utcnow()
        return True

    def holders(self) -> dict[str, str | None]:
        """Every lease and the replica holding it now (None: free or its holder is dead)."""
        with self.store.read() as session:
            live = live_replicas(session)
            rows = session.execute(select(Lease.name, Lease.holder, Lease.holder.in_(live))).all()
            return {name: holder if alive else None for name, holder, alive in rows}

    def live_count(self) -> int:
        """How many replicas are alive now (this one included)."""
        with self.store.read() as session:
            count = session.scalar(
                select(func.count()).select_from(Replica).where(Replica.lease_until > database_now(session))
            )
            return int(count or 0)

    def leave(self) -> None:
        """Stop the heartbeat, give the leases up and remove this replica's row: the other
        replicas take the leases at their next heartbeat, not after the lease runs out.
        A database that cannot be reached is logged, not raised: the lease then runs out."""
        self._stop.set()
        for thread in (self._thread, self._fence_thread):
            if thread is not None:
                thread.join(timeout=10)
        with self._lock:
            self._held.clear()
            try:
                with self.store.transaction(background=True) as session:
                    session.execute(
                        update(Lease).where(Lease.holder == self.id).values(holder=None, since=None)
                    )
                    session.execute(delete(Replica).where(Replica.id == self.id))
            except Exception as error:  # e.g. the database is gone: the lease runs out on its own
                logger.warning("replica %s left without telling the database: %s", self.id, error)
                return
        logger.info("replica %s left", self.id)
