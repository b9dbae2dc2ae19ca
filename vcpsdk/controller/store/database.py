"""The controller's database: an engine, sessions and a few shared queries.

SQLite (a file in the state directory) by default; any SQLAlchemy URL, e.g.
PostgreSQL, with ``vcc serve --database-url``.  Opening a :class:`Store` brings the
schema to the newest revision (see :mod:`vcpsdk.controller.store.schema`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from vcpsdk.controller.store.models import Meta
from vcpsdk.controller.store.schema import upgrade_to_head


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN itself (see _sqlite_begin), not the sqlite3 driver
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
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
        self.url = url
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

    def on_commit(self, callback: Callable[[Session], None]) -> None:
        """Call ``callback(session)`` after every committed write transaction."""
        event.listen(self._sessions, "after_commit", callback)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading only (never blocks writers, sees committed data)."""
        with self._read_sessions() as session, session.begin():
            yield session

    def get_meta(self, key: str) -> str | None:
        """Value of ``meta[key]``, or None."""
        with self._sessions() as session:
            row = session.get(Meta, key)
            return row.value if row else None

    def set_meta_default(self, key: str, value: str) -> str:
        """Store ``value`` under ``key`` unless a value exists; return the stored value."""
        with self.transaction() as session:
            row = session.get(Meta, key)
            if row is None:
                session.add(Meta(key=key, value=value))
                return value
            return row.value

    def next_vcno(self, session: Session) -> int:
        """The next UnitGroup number (1, 2, ...); numbers are never reused."""
        row = session.get(Meta, "vcno_seq", with_for_update=True)
        if row is None:
            row = Meta(key="vcno_seq", value="0")
            session.add(row)
        number = int(row.value) + 1
        row.value = str(number)
        return number

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()
