"""The controller's database: an engine, sessions and a few shared queries.

SQLite (a file in the state directory) by default; any SQLAlchemy URL, e.g.
PostgreSQL, with ``vcc serve --database-url``.  Opening a :class:`Store` brings the
schema to the newest revision (see :mod:`vcpsdk.controller.store.schema`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import tenacity
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from vcpsdk.controller.store.models import Base, Meta
from vcpsdk.controller.store.schema import upgrade_to_head

#: pooled SQLite connections: the HTTP thread pool (40) and the worker's threads (8)
SQLITE_POOL_SIZE = 48


#: ``session.info`` key marking a write transaction
_WRITING = "vcc_writing"
#: :func:`lock_name` namespace of UnitGroup owners (the writes of one user take turns)
OWNER_LOCKS = 0x7663

#: seconds between two passive checkpoints of the SQLite write-ahead log
CHECKPOINT_INTERVAL = 1.0


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (see _sqlite_begin), not the sqlite3 driver
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # no checkpoint (and its fsync) inside a writer's commit: Store runs them aside
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # Writers take the write lock up front: a deferred transaction that read first
    # cannot upgrade once another writer committed (SQLITE_BUSY), so two concurrent
    # requests would fail instead of queueing.  Read-only sessions stay deferred.
    if connection.get_execution_options().get("readonly"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


#: seconds a background writer (the worker) lets request writers go first at most
BACKGROUND_MAX_WAIT = 0.2


class WriterQueue:
    """Write transactions take turns: requests first come, first served; background last.

    SQLite lets one writer at a time in and makes the others poll with growing sleeps
    (its busy handler): under load a writer can miss its turn again and again and wait
    seconds.  Queueing the writers of this process in order instead makes each one
    wait only for the transactions that arrived before it.  A *background* writer (the
    worker recording what a backend did) lets request writers that arrived after it go
    first, for at most ``background_max_wait`` seconds: a user's request does not wait
    for the worker's bookkeeping, and the worker is never starved.  A thread that already
    holds its turn may open a nested transaction (it keeps its turn).

    Example:
        >>> queue = WriterQueue()
        >>> with queue.turn():
        ...     pass
        >>> with queue.turn(background=True):
        ...     pass
    """

    def __init__(self, background_max_wait: float = BACKGROUND_MAX_WAIT) -> None:
        """Args:
        background_max_wait: seconds a background writer waits at most for request
            writers that arrived after it.
        """
        self.background_max_wait = background_max_wait
        self._cond = threading.Condition()
        self._next_ticket = 0
        #: waiting tickets: (background?, when it started waiting)
        self._waiting: dict[int, tuple[bool, float]] = {}
        #: the ticket whose turn it is, chosen when the previous writer left
        self._chosen: int | None = None
        self._owner: int | None = None
        self._depth = 0

    def _choose(self) -> int | None:
        """The next ticket: the oldest request, unless the oldest background ticket has
        waited its longest (or no request waits)."""
        requests = [t for t, (background, _) in self._waiting.items() if not background]
        background = [t for t, (bg, _) in self._waiting.items() if bg]
        if background:
            oldest = min(background)
            if not requests or (
                oldest < min(requests)
                and time.monotonic() - self._waiting[oldest][1] >= self.background_max_wait
            ):
                return oldest
        return min(requests) if requests else None

    @contextmanager
    def turn(self, background: bool = False) -> Iterator[None]:
        """Wait for this thread's turn to write and hold it for the block.

        Args:
            background: a writer no user waits for: request writers go first (see above).
        """
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
            else:
                ticket = self._next_ticket
                self._next_ticket += 1
                self._waiting[ticket] = (background, time.monotonic())
                if self._owner is None and self._chosen is None:
                    self._chosen = self._choose()
                try:
                    while self._chosen != ticket:
                        self._cond.wait()
                except BaseException:  # interrupted while waiting: pass the turn on
                    del self._waiting[ticket]
                    if self._chosen == ticket:
                        self._chosen = self._choose()
                        self._cond.notify_all()
                    raise
                del self._waiting[ticket]
                self._chosen = None
                self._owner, self._depth = me, 1
        try:
            yield
        finally:
            with self._cond:
                self._depth -= 1
                if not self._depth:
                    self._owner = None
                    self._chosen = self._choose()
                    self._cond.notify_all()


class Store:
    """Database access: an engine, a session factory and a few shared queries."""

    def __init__(self, url: str) -> None:
        """Open the database at ``url`` and bring its schema to the newest revision.

        Args:
            url: a SQLAlchemy URL (``sqlite:///...`` by default, PostgreSQL works too).

        Raises:
            SchemaError: the database was made by a newer vcpsdk.
        """
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            # every request thread keeps its connection: an overflow connection is closed
            # after use, and opening one (pragmas, WAL index) costs more than the query
            kwargs["pool_size"] = SQLITE_POOL_SIZE
            kwargs["max_overflow"] = SQLITE_POOL_SIZE
        else:  # a server restarted meanwhile: a pooled connection is checked before it is used
            kwargs["pool_pre_ping"] = True
        self.url = url
        #: SQLite: this process's writers take turns in order (PostgreSQL locks rows itself)
        self._writers: WriterQueue | None = WriterQueue() if url.startswith("sqlite") else None
        # units.spec holds cloud credentials: SQL logging must never show parameters or rows
        self.engine: Engine = create_engine(url, hide_parameters=True, **kwargs)
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
        # the embedded sandbox opens the store in the notebook's own process: Alembic's
        # INFO lines ("Running upgrade -> 0001") would land in the notebook's log
        logging.getLogger("alembic").setLevel(logging.WARNING)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        try:
            upgrade_to_head(self.engine)
        except BaseException:
            self.engine.dispose()
            raise
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(readonly=True), expire_on_commit=False
        )
        self._closed = threading.Event()
        if self._writers is not None:
            threading.Thread(target=self._checkpoints, name="vcc-checkpoint", daemon=True).start()

    def _checkpoints(self) -> None:
        """Copy the SQLite write-ahead log into the database now and then, beside the
        writers (a passive checkpoint never waits for them nor makes them wait)."""
        while not self._closed.wait(CHECKPOINT_INTERVAL):
            try:
                if self._closed.is_set():  # closed meanwhile: open no new connection
                    return
                raw = self.engine.raw_connection()
                try:
                    raw.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # type: ignore[union-attr]
                finally:
                    raw.close()
            except Exception:  # the next round tries again
                logging.getLogger("vcp.controller").debug("checkpoint failed", exc_info=True)

    @property
    def serializes_writes(self) -> bool:
        """True when write transactions take turns (SQLite): no two ever overlap."""
        return self._writers is not None

    def on_commit(self, callback: Callable[[Session], None]) -> None:
        """Call ``callback(session)`` after every committed write transaction."""
        event.listen(self._sessions, "after_commit", callback)

    def before_commit(self, callback: Callable[[Session], None]) -> None:
        """Call ``callback(session)`` just before every write transaction commits, inside it
        (what it executes commits or rolls back with the transaction)."""
        event.listen(self._sessions, "before_commit", callback)

    @contextmanager
    def transaction(self, background: bool = False) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error.

        Keep it short (no cloud calls, no file I/O inside): on SQLite every other writer
        waits for it.

        Args:
            background: a write no user waits for (the worker's): on SQLite, request
                writes that arrive meanwhile go first (see :class:`WriterQueue`).
        """
        if self._writers is None:
            with self._sessions() as session, session.begin():
                session.info[_WRITING] = True
                yield session
            return
        with self._writers.turn(background), self._sessions() as session, session.begin():
            session.info[_WRITING] = True
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading only (never blocks writers, sees committed data)."""
        with self._read_sessions() as session, session.begin():
            yield session

    def get_meta(self, key: str) -> str | None:
        """Value of ``meta[key]``, or None."""
        with self.read() as session:
            row = session.get(Meta, key)
            return row.value if row else None

    def set_meta_default(self, key: str, value: str) -> str:
        """Store ``value`` under ``key`` unless a value exists; return the stored value."""
        with self.transaction() as session:
            _insert_meta_if_absent(session, key, value)
            return session.execute(select(Meta.value).where(Meta.key == key)).scalar_one()

    def next_vcno(self, session: Session) -> int:
        """The next UnitGroup number (1, 2, ...); numbers are never reused."""
        # insert-if-absent first: a row lock cannot guard a row that does not exist yet, so
        # two first UnitGroups (or replicas) would both insert it
        _insert_meta_if_absent(session, "vcno_seq", "0")
        row = session.get(Meta, "vcno_seq", with_for_update=True, populate_existing=True)
        assert row is not None  # inserted above
        number = int(row.value) + 1
        row.value = str(number)
        return number

    def close(self) -> None:
        """Release the engine's connections."""
        self._closed.set()
        self.engine.dispose()


#: PostgreSQL's deadlock_detected and serialization_failure: running the transaction again works
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
#: how often a transaction a transient error stopped is run at most
TRANSIENT_ATTEMPTS = 5


def transient(error: BaseException) -> bool:
    """Whether ``error`` is a deadlock or serialization failure of PostgreSQL: the
    database rolled the transaction back, and running it again is expected to work."""
    return isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) in TRANSIENT_SQLSTATES


#: decorator: run a function whose transactions a transient error stopped again (all of it,
#: so it must be safe to repeat: each of its transactions was rolled back or is idempotent)
retry_transient = tenacity.retry(
    retry=tenacity.retry_if_exception(transient),
    stop=tenacity.stop_after_attempt(TRANSIENT_ATTEMPTS),
    wait=tenacity.wait_random(0.01, 0.2),
    reraise=True,
)


def driver_message(error: BaseException) -> str:
    """The database driver's message of ``error`` on one line (SQLAlchemy's own wrapping,
    statement and link left out).

    Example:
        >>> driver_message(OSError("connection failed: refused\\n\\tIs the server running?"))
        'connection failed: refused Is the server running?'
    """
    cause = getattr(error, "orig", None) or error
    return " ".join(line.strip() for line in str(cause).splitlines() if line.strip()) or type(cause).__name__


def writing(session: Session) -> bool:
    """Whether ``session`` is a write transaction (:meth:`Store.transaction`)."""
    return bool(session.info.get(_WRITING))


def lock_name(session: Session, namespace: int, name: str) -> None:
    """Hold a lock on ``name`` until the transaction ends, so that the writers of several
    replicas that touch the same thing (e.g. one user's quota) take turns.

    PostgreSQL: an advisory lock ``pg_advisory_xact_lock(namespace, hashtext(name))`` (two
    names with the same hash only take turns needlessly).  SQLite: nothing, its one writer
    at a time already serializes them.

    Args:
        session: the open write transaction.
        namespace: what kind of name (a constant per use, e.g. :data:`OWNER_LOCKS`).
        name: the name.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:name))"),
            {"namespace": namespace, "name": name},
        )


def insert_if_absent(session: Session, model: type[Base], primary_key: str, **values: Any) -> None:
    """``INSERT ... ON CONFLICT (key) DO NOTHING``: a first insert that is race-free between
    connections and replicas (a row lock cannot guard a row that does not exist yet).

    Args:
        session: the open transaction.
        model: the table's model (e.g. ``Meta``).
        primary_key: the primary-key column the conflict is on.
        **values: the row.
    """
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=[primary_key]))


def _insert_meta_if_absent(session: Session, key: str, value: str) -> None:
    insert_if_absent(session, Meta, "key", key=key, value=value)
