"""A deadlock between two replicas' transactions is run again, not answered with a 500."""

from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy.exc import OperationalError

from vcpsdk.controller.store import Meta, Store
from vcpsdk.controller.store.database import retry_transient, transient
from vcpsdk.testing.postgres import PostgresServer

_databases = itertools.count(1)


def _lock_both(
    store: Store, first: str, second: str, both_hold_one: threading.Barrier, attempts: list[str]
) -> None:
    """Lock meta row ``first`` then ``second``; on the first attempt only once the other
    thread holds its first row (so the two wait for each other: a deadlock)."""
    attempts.append(first)
    with store.transaction() as session:
        row = session.get(Meta, first, with_for_update=True)
        assert row is not None
        if attempts.count(first) == 1:
            both_hold_one.wait(timeout=30)
        other = session.get(Meta, second, with_for_update=True)
        assert other is not None
        other.value = f"{other.value}+{first}"


@pytest.fixture
def store(pg_server: PostgresServer) -> Store:
    store = Store(pg_server.create_database(f"transient_{next(_databases)}"))
    with store.transaction() as session:
        session.add_all([Meta(key="a", value="a"), Meta(key="b", value="b")])
    return store


def run_pair(function: object, store: Store) -> tuple[list[BaseException], list[str]]:
    barrier = threading.Barrier(2)
    attempts: list[str] = []
    errors: list[BaseException] = []

    def run(first: str, second: str) -> None:
        try:
            function(store, first, second, barrier, attempts)  # type: ignore[operator]
        except BaseException as error:  # collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=run, args=pair) for pair in (("a", "b"), ("b", "a"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors, attempts


def test_without_retry_one_of_two_crossing_transactions_is_a_deadlock(store: Store) -> None:
    try:
        errors, _ = run_pair(_lock_both, store)
    finally:
        store.close()
    assert len(errors) == 1
    assert isinstance(errors[0], OperationalError) and transient(errors[0])


def test_with_retry_both_crossing_transactions_commit(store: Store) -> None:
    try:
        errors, attempts = run_pair(retry_transient(_lock_both), store)
        with store.read() as session:
            values = {row.key: row.value for row in session.query(Meta)}
    finally:
        store.close()
    assert errors == []
    assert len(attempts) == 3  # the one the database picked as the victim ran again
    assert values == {"a": "a+b", "b": "b+a"}


def test_other_database_errors_are_not_transient() -> None:
    assert not transient(ValueError("x"))
