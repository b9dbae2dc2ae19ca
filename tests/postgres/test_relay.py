"""Replicas on one PostgreSQL wake each other's long-polls and workers (vcpsdk/controller/relay.py).

A "replica" here is a :class:`Store` with its :class:`ChangeBus` and :class:`ChangeRelay`
(as ``build_controller`` wires them), or a whole ``running_controller``; two of them share
a fresh database of the session's throwaway server.  Timeouts only bound a failure: no test
asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from vcpsdk.controller.bus import ChangeBus, changed
from vcpsdk.controller.relay import CHANNEL, ChangeRelay
from vcpsdk.controller.store import Store, Vc
from vcpsdk.core.polling import poll
from vcpsdk.testing import running_controller
from vcpsdk.testing.controller import share_keys
from vcpsdk.testing.postgres import PostgresServer

#: seconds after which a wake-up that never came fails the test
TIMEOUT = 60.0
_databases = itertools.count(1)
#: the server processes listening for changes (one per listening replica)
LISTENERS = f"SELECT pid FROM pg_stat_activity WHERE datname = %s AND query = 'LISTEN {CHANNEL}'"


class Rollback(Exception):
    """Raised inside a transaction to roll it back."""


@dataclass
class Replica:
    """A store with its bus and relay; ``woken`` counts the relay's wake-ups of the worker."""

    store: Store
    bus: ChangeBus
    relay: ChangeRelay
    woken: threading.Event = field(default_factory=threading.Event)


@contextmanager
def replica(url: str, loop: asyncio.AbstractEventLoop, listen: bool = True) -> Iterator[Replica]:
    """A replica on ``url`` whose bus lives in ``loop`` (``listen=False``: it only publishes)."""
    store = Store(url)
    bus = ChangeBus()
    bus.attach(store)
    bus.bind(loop)
    woken = threading.Event()
    relay = ChangeRelay(store, bus, woken.set)
    if listen:
        relay.start()
    try:
        yield Replica(store, bus, relay, woken)
    finally:
        relay.close()
        store.close()


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in a thread, as uvicorn's is (the bus's waiters live in it)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=TIMEOUT)
    loop.close()


@pytest.fixture
def database(pg_server: PostgresServer) -> str:
    """The URL of a fresh database for this test."""
    return pg_server.create_database(f"relay_{next(_databases)}")


def in_loop(loop: asyncio.AbstractEventLoop, call: Callable[[], Any]) -> Any:
    """``call()`` run in ``loop``; its result."""

    async def run() -> Any:
        return call()

    return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=TIMEOUT)


def waiter(loop: asyncio.AbstractEventLoop, bus: ChangeBus, vcid: str) -> asyncio.Future[None]:
    """A waiter of ``vcid`` registered on ``bus`` (as a long-poll registers it)."""
    future: asyncio.Future[None] = in_loop(loop, lambda: bus.waiter(vcid))
    return future


def woken(loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
    """Wait until ``future`` is completed (fails after :data:`TIMEOUT`)."""

    async def wait() -> None:
        await future

    asyncio.run_coroutine_threadsafe(wait(), loop).result(timeout=TIMEOUT)


def add_groups(store: Store, *vcids: str) -> None:
    with store.transaction() as session:
        for number, vcid in enumerate(vcids, start=1):
            session.add(Vc(vcid=vcid, vcno=number, name=vcid, owner="dana", type="compute"))


def change(store: Store, vcid: str, commit: bool = True) -> None:
    """Mark ``vcid`` changed in one transaction, committed or rolled back."""
    try:
        with store.transaction() as session:
            vc = session.get(Vc, vcid)
            assert vc is not None
            changed(session, vc)
            if not commit:
                session.flush()  # the revision reached the database, then the rollback
                raise Rollback
    except Rollback:
        pass


def listeners(pg_server: PostgresServer, url: str) -> list[int]:
    """The pids of the server processes listening on the database of ``url``."""
    name = url.rsplit("/", 1)[1]
    with pg_server.connect() as connection:
        return [row[0] for row in connection.execute(LISTENERS, (name,)).fetchall()]


def relay_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "vcc-relay"]


def test_a_commit_on_one_replica_wakes_the_waiters_of_the_other(
    database: str, loop: asyncio.AbstractEventLoop
) -> None:
    with replica(database, loop) as a, replica(database, loop) as b:
        add_groups(a.store, "g1", "g2")
        rolled_back = waiter(loop, b.bus, "g1")
        committed = waiter(loop, b.bus, "g2")

        change(a.store, "g1", commit=False)
        change(a.store, "g2")

        woken(loop, committed)
        # notifications arrive in commit order: had the rollback sent one, g1 was woken first
        assert not rolled_back.done()
        assert b.relay.received == 1
        assert b.woken.is_set()  # the change may have queued an operation for B's worker
        in_loop(loop, lambda: b.bus.discard("g1", rolled_back))


def test_a_replica_does_not_act_on_its_own_notifications(
    database: str, loop: asyncio.AbstractEventLoop
) -> None:
    with replica(database, loop) as a, replica(database, loop) as b:
        add_groups(a.store, "g1", "g2")
        change(a.store, "g1")  # A hears its own notification first, then B's below
        mine = waiter(loop, a.bus, "g2")
        change(b.store, "g2")
        woken(loop, mine)
        assert a.relay.received == 1  # B's change only


def test_one_statement_notifies_every_group_of_a_transaction(
    database: str, loop: asyncio.AbstractEventLoop
) -> None:
    with replica(database, loop) as a, replica(database, loop) as b:
        add_groups(a.store, "g1", "g2", "g3")
        futures = [waiter(loop, b.bus, vcid) for vcid in ("g1", "g2", "g3")]
        with a.store.transaction() as session:
            for vc in session.query(Vc).all():
                changed(session, vc)
        for future in futures:
            woken(loop, future)
        assert b.relay.received == 3


def test_a_lost_listener_reconnects_and_wakes_every_waiter(
    pg_server: PostgresServer, database: str, loop: asyncio.AbstractEventLoop
) -> None:
    with replica(database, loop, listen=False) as a, replica(database, loop) as b:
        add_groups(a.store, "g1", "g2")
        [before] = listeners(pg_server, database)
        unchanged = waiter(loop, b.bus, "g1")
        assert b.relay.listening and not b.woken.is_set()

        with pg_server.connect() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (before,))

        woken(loop, unchanged)  # nothing changed, but something might have while deaf
        assert b.woken.is_set()
        assert b.relay.reconnects == 1
        [after] = poll(
            lambda: listeners(pg_server, database), lambda pids: len(pids) == 1, timeout=TIMEOUT, interval=0.1
        )
        assert after != before
        assert b.relay.listening

        later = waiter(loop, b.bus, "g2")  # listening again: the next change is heard
        change(a.store, "g2")
        woken(loop, later)
        assert b.relay.received == 1


def test_the_listener_keeps_trying_while_the_database_refuses_connections(
    pg_server: PostgresServer, database: str, loop: asyncio.AbstractEventLoop
) -> None:
    name = database.rsplit("/", 1)[1]
    with replica(database, loop, listen=False) as a, replica(database, loop) as b:
        add_groups(a.store, "g1")
        unchanged = waiter(loop, b.bus, "g1")
        with pg_server.connect() as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
            )
            poll(
                lambda: b.relay.connect_failures,
                lambda failures: failures >= 2,
                timeout=TIMEOUT,
                interval=0.1,
            )
            assert not b.relay.listening
            assert not unchanged.done()  # woken only once listening again
            assert b.relay.reconnects == 0
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        woken(loop, unchanged)
        assert b.relay.reconnects == 1 and b.relay.listening


def test_close_leaves_no_thread_and_no_connection(
    pg_server: PostgresServer, database: str, loop: asyncio.AbstractEventLoop
) -> None:
    threads_before = relay_threads()
    with replica(database, loop) as b:
        assert len(relay_threads()) == len(threads_before) + 1
        assert len(listeners(pg_server, database)) == 1
        b.relay.close()
        b.relay.close()  # idempotent
        assert relay_threads() == threads_before
        assert not b.relay.listening
        poll(lambda: listeners(pg_server, database), lambda pids: pids == [], timeout=TIMEOUT, interval=0.1)


def test_on_sqlite_the_relay_does_nothing(tmp_path: Path, loop: asyncio.AbstractEventLoop) -> None:
    threads_before = relay_threads()
    with replica(f"sqlite:///{tmp_path / 'vcc.db'}", loop) as only:
        assert not only.relay.enabled
        assert relay_threads() == threads_before
        add_groups(only.store, "g1")
        future = waiter(loop, only.bus, "g1")
        change(only.store, "g1")
        woken(loop, future)  # the bus alone, as before
        assert only.relay.received == 0 and not only.woken.is_set()


def ugroup_cci(name: str) -> str:
    """The ``cci`` of ``POST``/``PUT /vcs`` for an empty compute UnitGroup."""
    return base64.b64encode(yaml.safe_dump([{"vc": {"name": name, "description": ""}}]).encode()).decode()


def test_a_long_poll_on_one_replica_returns_when_another_changes_the_group(
    pg_server: PostgresServer, database: str, tmp_path: Path
) -> None:
    with (
        running_controller(tmp_path / "a", database_url=database) as a,
        running_controller(share_keys(tmp_path / "a", tmp_path / "b"), database_url=database) as b,
    ):
        assert len(listeners(pg_server, database)) == 2
        headers = {"x-vcc-access-token": a.create_token("dana")}  # tokens live in the database
        created = requests.post(
            f"{a.base_url}/vcs", headers=headers, json={"cci": ugroup_cci("g")}, timeout=60
        )
        assert created.status_code == 202, created.text
        vcid = created.json()["vcid"]
        revision = requests.get(f"{b.base_url}/vcs/{vcid}", headers=headers, timeout=60).json()["revision"]

        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(
                requests.get,
                f"{b.base_url}/vcs/{vcid}",
                headers=headers,
                params={"wait_revision": revision, "wait_sec": TIMEOUT},
                timeout=TIMEOUT + 30,
            )
            renamed = requests.put(
                f"{a.base_url}/vcs/{vcid}", headers=headers, json={"cci": ugroup_cci("renamed")}, timeout=60
            )
            assert renamed.status_code == 202, renamed.text
            answer = waiting.result(timeout=TIMEOUT + 60)

        assert answer.status_code == 200, answer.text
        assert answer.json()["revision"] > revision
        assert answer.json()["name"] == "renamed"
        relay_b = b.controller.relay
        assert relay_b is not None
        poll(lambda: relay_b.received, lambda received: received >= 1, timeout=TIMEOUT, interval=0.1)
    poll(lambda: listeners(pg_server, database), lambda pids: pids == [], timeout=TIMEOUT, interval=0.1)
