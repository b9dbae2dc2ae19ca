"""Workers of several replicas on one PostgreSQL database drain one queue (issue 17).

Each "replica" here is what a ``vcc serve`` process has: its own engine (:class:`Store`),
its own :class:`Membership` and :class:`Worker`.  The backend records every call, so the
tests count how often each operation ran, in which order per unit, and on which replica.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from vcpsdk.controller.backends import base
from vcpsdk.controller.replica import Membership
from vcpsdk.controller.secrets import SecretBox
from vcpsdk.controller.store import Node, Operation, Replica, Store, Unit, Vc, utcnow
from vcpsdk.controller.worker import Worker
from vcpsdk.core.polling import poll
from vcpsdk.testing.postgres import PostgresServer

_databases = itertools.count(1)
UNITS = 24
#: kinds queued per unit, in this order
KINDS = ("create", "power_off", "power_on")


@dataclass
class Recorder:
    """Every backend call of every replica, in the order they happened."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)  # (replica, kind, unit)
    lock: threading.Lock = field(default_factory=threading.Lock)
    gate: threading.Event = field(default_factory=threading.Event)

    def record(self, replica: str, kind: str, unit: str) -> None:
        with self.lock:
            self.calls.append((replica, kind, unit))


class RecordingBackend(base.Backend):
    """A backend that records its calls (optionally waiting at ``gate`` first)."""

    name = "recording"

    def __init__(
        self, recorder: Recorder, replica: str, host_bound: bool = False, wait: bool = False
    ) -> None:
        self.recorder = recorder
        self.replica = replica
        self.host_bound = host_bound
        self.wait = wait

    def vpn_catalog(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {}

    def _call(self, kind: str, unit: base.UnitContext) -> None:
        if self.wait:
            self.recorder.gate.wait(60)
        self.recorder.record(self.replica, kind, unit.unit_name)

    def create_nodes(self, unit: base.UnitContext, nodes: list[base.NodeRequest]) -> list[base.NodeResult]:
        self._call("create", unit)
        return [base.NodeResult(n.node_id, f"i-{n.node_id}", f"127.0.9.{n.node_no}") for n in nodes]

    def delete_nodes(self, unit: base.UnitContext, nodes: list[base.NodeRequest]) -> None:
        self._call("delete", unit)

    def power(self, unit: base.UnitContext, nodes: list[base.NodeRequest], action: str) -> None:
        self._call(action, unit)

    def create_disks(self, unit: base.UnitContext, disks: list[base.DiskRequest]) -> list[base.DiskResult]:
        raise NotImplementedError

    def delete_disks(self, unit: base.UnitContext, disks: list[base.DiskRequest]) -> None:
        raise NotImplementedError


@dataclass
class ReplicaUnderTest:
    """One replica's store, membership and worker."""

    store: Store
    membership: Membership
    worker: Worker

    def stop(self) -> None:
        self.worker.stop()
        self.membership.leave()
        self.store.close()


@pytest.fixture
def database(pg_server: PostgresServer) -> str:
    return pg_server.create_database(f"claims_{next(_databases)}")


@pytest.fixture
def replicas(database: str, tmp_path: Path) -> Iterator[Callable[..., ReplicaUnderTest]]:
    """A factory of replicas on ``database``; each is stopped at the end."""
    with ExitStack() as stack:

        def start(
            backend: Callable[[str], base.Backend], lease_seconds: float = 3.0, name: str = ""
        ) -> ReplicaUnderTest:
            store = Store(database)
            membership = Membership(store, lease_seconds)
            replica_backend = backend(membership.id)
            worker = Worker(
                store,
                lambda provider: replica_backend,
                lambda *_: {},
                SecretBox(tmp_path),
                membership,
                threads=4,
            )
            if replica_backend.host_bound:
                membership.want(replica_backend.name, on_acquire=lambda: None, on_lose=lambda: None)
            membership.join()
            worker.start()
            membership.start()
            replica = ReplicaUnderTest(store, membership, worker)
            stack.callback(replica.stop)
            return replica

        yield start


def queue_units(database: str, units: int = UNITS, kinds: tuple[str, ...] = KINDS) -> list[str]:
    """``units`` units of one node each, with one operation per kind queued in order."""
    store = Store(database)
    names = []
    try:
        with store.transaction() as session:
            vcid = uuid.uuid4().hex
            session.add(Vc(vcid=vcid, vcno=1, name="g", owner="u", type="compute"))
            session.flush()
            for i in range(units):
                unit = Unit(
                    vcid=vcid,
                    name=f"unit{i:02d}",
                    type="compute",
                    provider="aws",
                    state="BOOTING",
                    processing=True,
                    info="",
                    spec={"private_network": "default"},
                )
                session.add(unit)
                session.flush()
                node_id = uuid.uuid4().hex
                session.add(
                    Node(
                        node_id=node_id,
                        unit_id=unit.id,
                        vcid=vcid,
                        kind="compute",
                        node_no=1,
                        provider="aws",
                        state="BOOTING",
                    )
                )
                for kind in kinds:
                    session.add(Operation(vcid=vcid, unit_id=unit.id, kind=kind, node_ids=[node_id]))
                names.append(unit.name)
    finally:
        store.close()
    return names


def remaining_operations(database: str) -> int:
    store = Store(database)
    try:
        with store.read() as session:
            return int(session.scalar(select(func.count()).select_from(Operation)) or 0)
    finally:
        store.close()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Wait until ``condition()`` holds; fail naming ``what`` after ``timeout`` seconds."""
    poll(condition, bool, timeout=timeout, interval=0.1, timeout_message=f"timed out waiting for {what}")


def drained(database: str, timeout: float = 120) -> None:
    wait_for(lambda: remaining_operations(database) == 0, "queue drained", timeout=timeout)


def test_three_replicas_run_every_operation_once_in_unit_order(
    database: str, replicas: Callable[..., ReplicaUnderTest]
) -> None:
    recorder = Recorder()
    names = queue_units(database)
    for _ in range(3):
        replicas(lambda rid: RecordingBackend(recorder, rid))

    drained(database)

    per_unit: dict[str, list[str]] = {}
    for _, kind, unit in recorder.calls:
        per_unit.setdefault(unit, []).append(kind)
    assert sorted(per_unit) == names
    assert all(kinds == list(KINDS) for kinds in per_unit.values()), per_unit  # once each, in order
    assert len({replica for replica, _, _ in recorder.calls}) >= 2  # the work was shared


def test_host_bound_operations_run_only_on_the_lease_holder(
    database: str, replicas: Callable[..., ReplicaUnderTest]
) -> None:
    recorder = Recorder()
    queue_units(database, units=12)
    started = [replicas(lambda rid: RecordingBackend(recorder, rid, host_bound=True)) for _ in range(3)]

    drained(database)

    holders = [r.membership.id for r in started if r.membership.holds("recording")]
    assert len(holders) == 1
    assert {replica for replica, _, _ in recorder.calls} == set(holders)
    assert len(recorder.calls) == 12 * len(KINDS)


def test_operations_of_a_dead_replica_are_run_again_and_its_late_result_dropped(
    database: str, replicas: Callable[..., ReplicaUnderTest]
) -> None:
    recorder = Recorder()
    queue_units(database, units=1, kinds=("create",))
    first = replicas(lambda rid: RecordingBackend(recorder, rid, wait=True), lease_seconds=2.0)
    wait_for(lambda: first.worker.started == 1, "first replica claims", timeout=30)
    # the first replica stops renewing its lease (as if frozen) while its backend call hangs
    first.membership._stop.set()
    second = replicas(lambda rid: RecordingBackend(recorder, rid), lease_seconds=2.0)

    drained(database)  # the second replica ran it once the first one's lease ran out
    assert recorder.calls == [(second.membership.id, "create", "unit00")]
    recorder.gate.set()  # the first replica's call returns: its result must not count
    wait_for(lambda: first.worker.dropped == 1, "late result dropped", timeout=30)
    assert [replica for replica, _, _ in recorder.calls] == [second.membership.id, first.membership.id]
    store = Store(database)
    try:
        with store.read() as session:
            node = session.scalars(select(Node)).one()
            assert node.state == "RUNNING"
            assert node.instance_id == f"i-{node.node_id}"
    finally:
        store.close()


def test_a_live_replica_keeps_its_claims(database: str, replicas: Callable[..., ReplicaUnderTest]) -> None:
    recorder = Recorder()
    queue_units(database, units=1, kinds=("create",))
    first = replicas(lambda rid: RecordingBackend(recorder, rid, wait=True), lease_seconds=2.0)
    wait_for(lambda: first.worker.started == 1, "first replica claims", timeout=30)
    second = replicas(lambda rid: RecordingBackend(recorder, rid), lease_seconds=2.0)
    # several lease periods go by: the first replica renews, so nobody takes its operation
    first_expiry = _lease_until(database, first.membership.id)
    wait_for(
        lambda: _lease_until(database, first.membership.id) > first_expiry, "a renewed lease", timeout=30
    )
    assert second.worker.started == 0
    recorder.gate.set()
    drained(database)
    assert recorder.calls == [(first.membership.id, "create", "unit00")]


def _lease_until(database: str, replica_id: str) -> Any:
    store = Store(database)
    try:
        with store.read() as session:
            return session.scalar(select(Replica.lease_until).where(Replica.id == replica_id))
    finally:
        store.close()


def test_a_replica_that_leaves_hands_its_lease_over_at_once(
    database: str, replicas: Callable[..., ReplicaUnderTest]
) -> None:
    recorder = Recorder()
    # a long lease: only leaving (not the lease running out) can move it within the bound
    first = replicas(lambda rid: RecordingBackend(recorder, rid, host_bound=True), lease_seconds=300.0)
    second = replicas(lambda rid: RecordingBackend(recorder, rid, host_bound=True), lease_seconds=3.0)
    assert first.membership.holds("recording") and not second.membership.holds("recording")
    first.stop()
    wait_for(lambda: second.membership.holds("recording"), "lease handed over", timeout=30)
    assert second.membership.holders() == {"recording": second.membership.id}


def test_a_replica_paused_past_its_lease_loses_the_host_lease(
    database: str, replicas: Callable[..., ReplicaUnderTest]
) -> None:
    lost = threading.Event()
    recorder = Recorder()
    first = replicas(lambda rid: RecordingBackend(recorder, rid, host_bound=True), lease_seconds=2.0)
    first.membership._wanted["recording"] = (lambda: None, lost.set)
    first.membership._stop.set()  # frozen: no heartbeat
    store = Store(database)
    try:  # its lease runs out
        with store.transaction() as session:
            session.execute(
                update(Replica).where(Replica.id == first.membership.id).values(lease_until=utcnow())
            )
    finally:
        store.close()
    second = replicas(lambda rid: RecordingBackend(recorder, rid, host_bound=True), lease_seconds=2.0)
    assert second.membership.holds("recording")
    first.membership.heartbeat()  # it wakes up: finds the lease gone and stops hosting
    assert lost.is_set() and not first.membership.holds("recording")
    assert first.membership.expired_heartbeats == 1


def test_a_replica_that_cannot_renew_lets_its_host_lease_go_and_takes_it_back(
    database: str, replicas: Callable[..., ReplicaUnderTest], monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    recorder = Recorder()
    first = replicas(lambda rid: RecordingBackend(recorder, rid, host_bound=True), lease_seconds=2.0)
    first.membership._wanted["recording"] = (lambda: events.append("acquire"), lambda: events.append("lose"))
    renew = first.membership._renew

    def unreachable() -> set[str]:
        raise OSError("connection refused\nmore detail")

    monkeypatch.setattr(first.membership, "_renew", unreachable)  # the database cannot be reached
    wait_for(lambda: events == ["lose"], "the fence letting the lease go")
    assert not first.membership.holds("recording") and not first.membership.alive()
    monkeypatch.setattr(first.membership, "_renew", renew)  # reachable again: nobody took it
    wait_for(lambda: events == ["lose", "acquire"], "the lease taken back")
    assert first.membership.holds("recording")
