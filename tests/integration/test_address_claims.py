"""Node addresses are unique across controller replicas: the database enforces it (issue 17).

Two "replicas" are two controllers built (not started: no worker, no node endpoints) on
one database, which every test here makes afresh on SQLite and on the session's
throwaway PostgreSQL (``pg_server``), whatever ``--vcp-database`` says.  Their services
plan addresses from the ``address_claims`` table, whose primary key refuses a second
claim of an address.  The tests at the end use ``live_controller`` (so they follow
``--vcp-database``) and the worker: a deleted node's address is free again.
"""

from __future__ import annotations

import base64
import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vcpsdk.controller import service as service_module
from vcpsdk.controller.errors import ServiceError, User
from vcpsdk.controller.runtime import Controller, build_controller
from vcpsdk.controller.service import Service
from vcpsdk.controller.settings import ControllerSettings, Limits
from vcpsdk.controller.store import AddressClaim, Node, Store, Unit
from vcpsdk.controller.store.addresses import (
    AddressTaken,
    addresses_in_use,
    claim_addresses,
    planning_lock,
    release_addresses,
    release_unwritten,
)
from vcpsdk.controller.worker import Worker
from vcpsdk.core.cci import render_vc_cci
from vcpsdk.errors import VcpInvalidArgumentError
from vcpsdk.spec import SPEC_CLASSES
from vcpsdk.testing.controller import share_keys
from vcpsdk.testing.postgres import PostgresServer

#: nodes the two replicas make at once in the race test
RACE_NODES = 200
#: nodes of one request in the race test (several requests write theirs in batches)
RACE_REQUEST = 5
_databases = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of this test: a SQLite file, or a database of ``pg_server``."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    server: PostgresServer = request.getfixturevalue("pg_server")
    return server.create_database(f"addresses_{next(_databases)}")


@pytest.fixture
def replicas(database_url: str, tmp_path: Path) -> Iterator[list[Controller]]:
    """Two controllers on one database (built, not started), with room for many nodes."""
    limits = Limits(max_nodes_per_request=500, max_nodes_per_unit=500, max_nodes_per_user=1000)
    built: list[Controller] = []
    try:
        for number in (1, 2):
            state_dir = share_keys(tmp_path / "replica1", tmp_path / f"replica{number}") if built else None
            settings = ControllerSettings(
                state_dir=state_dir or tmp_path / f"replica{number}",
                database_url=database_url,
                limits=limits,
                allow_unconfined_nodes=True,  # nodes of several users: no host confinement needed
            )
            built.append(build_controller(settings))
        yield built
    finally:
        for controller in built:
            controller.store.close()


class Pair(NamedTuple):
    """Two replicas' services and a UnitGroup of user ``ann`` (made through the first)."""

    first: Service
    second: Service
    user: User
    vcid: str


@pytest.fixture
def pair(replicas: list[Controller]) -> Pair:
    """The services of :func:`replicas` and a UnitGroup to add units to."""
    first, second = (controller.service for controller in replicas)
    user = User("ann", False)
    return Pair(first, second, user, group_of(first, user, "g"))


def group_of(service: Service, user: User, name: str) -> str:
    """A new compute UnitGroup of ``user``; its vcid."""
    cci = base64.b64encode(render_vc_cci(name, "compute", "1").encode()).decode()
    return str(service.create_vc(user, cci)["vcid"])


def unit_body(name: str, count: int, ips: list[str] | None = None) -> dict[str, Any]:
    """``POST /vcs/{vcid}`` of an ``aws`` unit of ``count`` nodes (``ips``: fixed addresses)."""
    spec = SPEC_CLASSES["aws"]("aws", "small")
    if ips:
        spec.ip_addresses = ips
    spec.num_nodes = count
    return {"unit_name": name, "info": base64.b64encode(spec.cci(name).encode()).decode()}


def add_unit(
    service: Service, user: User, vcid: str, name: str, count: int, ips: list[str] | None = None
) -> list[str]:
    """Add a unit through ``service`` and mark it applied; the addresses of its nodes."""
    service.add_unit(user, vcid, unit_body(name, count, ips))
    applied(service.store, vcid)
    return unit_addresses(service.store, vcid, name)


def applied(store: Store, vcid: str) -> None:
    """Mark the units of ``vcid`` applied, as the worker (not running here) would."""
    with store.transaction() as session:
        session.execute(update(Unit).where(Unit.vcid == vcid).values(processing=False, state="RUNNING"))


def unit_addresses(store: Store, vcid: str, name: str) -> list[str]:
    """The addresses of the nodes of unit ``name`` of ``vcid``, by node number."""
    with store.read() as session:
        query = (
            select(Node.address)
            .join(Unit, Unit.id == Node.unit_id)
            .where(Unit.vcid == vcid, Unit.name == name)
            .order_by(Node.node_no)
        )
        return [str(address) for address in session.scalars(query)]


def claims(store: Store) -> dict[str, str]:
    """Every claim: ``{address: node_id}``."""
    with store.read() as session:
        return {a: n for a, n in session.execute(select(AddressClaim.address, AddressClaim.node_id))}


def node_addresses(store: Store) -> dict[str, str]:
    """Every node's address: ``{address: node_id}``."""
    with store.read() as session:
        return {a: n for a, n in session.execute(select(Node.address, Node.node_id)) if a is not None}


def node_count(store: Store) -> int:
    with store.read() as session:
        return session.scalar(select(func.count(Node.node_id))) or 0


# -- the store --------------------------------------------------------------------------


def test_the_database_refuses_a_second_claim_of_an_address(replicas: list[Controller]) -> None:
    first, second = (controller.store for controller in replicas)
    with first.transaction() as session:
        claim_addresses(session, {"127.30.2.50": "node1"})
    with pytest.raises(IntegrityError), second.transaction() as session:  # the primary key
        session.execute(insert(AddressClaim).values(address="127.30.2.50", node_id="node2"))
    with second.transaction() as session:
        with pytest.raises(AddressTaken) as refused:
            claim_addresses(session, [("127.30.2.51", "node2"), ("127.30.2.50", "node2")])
        assert refused.value.addresses == ["127.30.2.50"]
        # nothing of the refused claim stays, and the transaction goes on
        claim_addresses(session, {"127.30.2.52": "node3"})
    assert claims(first) == {"127.30.2.50": "node1", "127.30.2.52": "node3"}


def test_an_address_named_twice_in_one_claim_is_refused(replicas: list[Controller]) -> None:
    store = replicas[0].store
    with store.transaction() as session:
        with pytest.raises(AddressTaken) as refused:
            claim_addresses(session, [("127.30.2.60", "a"), ("127.30.2.60", "b")])
    assert refused.value.addresses == ["127.30.2.60"]
    assert claims(store) == {}


def test_addresses_in_use_are_the_claims_and_the_nodes_addresses(replicas: list[Controller]) -> None:
    service = replicas[0].service
    user = User("ann", False)
    vcid = group_of(service, user, "g")
    [planned] = add_unit(service, user, vcid, "web", 1)
    with service.store.transaction() as session:
        claim_addresses(session, {"127.30.2.70": "not-yet-written"})
        # an address a cloud assigned and reported after creation has no claim
        node = session.scalars(select(Node)).one()
        node.address = "127.30.2.71"
    with service.store.transaction() as session:
        planning_lock(session)
        assert addresses_in_use(session) == {planned, "127.30.2.70", "127.30.2.71"}


def test_release_frees_the_claims_of_the_given_nodes_only(replicas: list[Controller]) -> None:
    store = replicas[0].store
    with store.transaction() as session:
        claim_addresses(session, {"127.30.2.80": "a", "127.30.2.81": "a", "127.30.2.82": "b"})
    with store.transaction() as session:
        release_addresses(session, ["a", "unknown"])
        release_addresses(session, [])
    assert claims(store) == {"127.30.2.82": "b"}


def test_release_unwritten_frees_the_claims_of_nodes_that_do_not_exist(replicas: list[Controller]) -> None:
    service = replicas[0].service
    user = User("ann", False)
    [address] = add_unit(service, user, group_of(service, user, "g"), "web", 1)
    with service.store.transaction() as session:
        claim_addresses(session, {"127.30.2.90": "cut-off-1", "127.30.2.91": "cut-off-2"})
    with service.store.transaction() as session:
        assert release_unwritten(session) == 2
    assert list(claims(service.store)) == [address]


# -- planning ----------------------------------------------------------------------------


def test_two_replicas_planning_at_once_never_give_an_address_twice(replicas: list[Controller]) -> None:
    services = [controller.service for controller in replicas]
    for service in services:  # several requests write their nodes in batches meanwhile
        service.batch_size = 3
    users = [User(f"user{i}", False) for i in range(4)]
    groups = [
        (services[i % 2], user, group_of(services[i % 2], user, "race")) for i, user in enumerate(users)
    ]
    requests = RACE_NODES // RACE_REQUEST
    start = threading.Barrier(len(groups))

    def make(index: int) -> None:
        service, user, vcid = groups[index]
        start.wait()
        for number in range(index, requests, len(groups)):
            if number < len(groups):
                service.add_unit(user, vcid, unit_body("web", RACE_REQUEST))
            else:  # the others grow the unit, half of them through the other replica
                other = services[number % 2]
                other.add_nodes(user, vcid, "web", {"num_nodes": RACE_REQUEST})
            applied(service.store, vcid)

    with ThreadPoolExecutor(max_workers=len(groups)) as pool:
        list(pool.map(make, range(len(groups))))
    with services[0].store.read() as session:
        addresses = [a for a in session.scalars(select(Node.address)) if a is not None]
    duplicates = [address for address, times in Counter(addresses).items() if times > 1]
    assert len(addresses) == RACE_NODES
    assert duplicates == []
    assert claims(services[1].store) == node_addresses(services[1].store)  # each claimed by its node


def test_a_claim_lost_to_another_request_is_planned_again(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, user, vcid = pair
    taken = add_unit(first, user, vcid, "one", 2)
    real = service_module.addresses_in_use
    plans: list[set[str]] = []

    def stale_once(session: Session) -> set[str]:
        """The first plan does not see the other request's claims."""
        plans.append(real(session) if plans else set())
        return plans[-1]

    monkeypatch.setattr(service_module, "addresses_in_use", stale_once)
    again = add_unit(second, user, vcid, "two", 2)
    assert len(plans) == 2  # planned again after the database refused the first claim
    assert not set(again) & set(taken) and len(set(again)) == 2
    assert set(claims(first.store)) == set(taken) | set(again)


def test_a_request_whose_claims_keep_losing_gets_409_and_makes_nothing(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, user, vcid = pair
    [taken] = add_unit(first, user, vcid, "one", 1)
    monkeypatch.setattr(service_module, "addresses_in_use", lambda session: set())  # always stale
    with pytest.raises(ServiceError) as refused:
        second.add_unit(user, vcid, unit_body("two", 3))
    assert refused.value.status == 409
    assert f"address(es) {taken} were claimed by other requests" in refused.value.detail
    with first.store.read() as session:  # nothing half-made: no unit, no node, no claim
        assert list(session.scalars(select(Unit.name))) == ["one"]
    assert list(claims(first.store)) == [taken]
    with pytest.raises(ServiceError) as grown:
        second.add_nodes(user, vcid, "one", {"num_nodes": 2})
    assert grown.value.status == 409
    assert node_count(first.store) == 1


def test_a_fixed_address_claimed_on_another_replica_keeps_the_message(pair: Pair) -> None:
    first, second, user, vcid = pair
    add_unit(first, user, vcid, "one", 1, ["127.30.2.200"])
    with first.store.transaction() as session:  # a large request's node not written yet
        claim_addresses(session, {"127.30.2.201": "coming"})
    for address in ("127.30.2.200", "127.30.2.201"):
        with pytest.raises(ServiceError) as refused:
            add_unit(second, user, vcid, "two", 1, [address])
        assert refused.value.status == 400
        assert f"ip_address[{address}] is not available; choose another address" in refused.value.detail
        with pytest.raises(ServiceError) as grown:
            second.add_nodes(user, vcid, "one", {"ip_address_list": [address]})
        assert f"ip_address[{address}] is not available" in grown.value.detail
    assert node_count(second.store) == 1


def test_replicas_asking_for_one_fixed_address_at_once_give_it_once(replicas: list[Controller]) -> None:
    services = [controller.service for controller in replicas]
    user = User("ann", False)
    vcid = group_of(services[0], user, "g")
    askers = 8
    start = threading.Barrier(askers)

    def ask(number: int) -> str:
        start.wait()
        try:
            services[number % 2].add_unit(user, vcid, unit_body(f"u{number}", 1, ["127.30.2.199"]))
        except ServiceError as e:
            return f"{e.status} {e.detail}"
        return "made"

    with ThreadPoolExecutor(max_workers=askers) as pool:
        answers = list(pool.map(ask, range(askers)))
    assert answers.count("made") == 1
    refused = [a for a in answers if a != "made"]
    assert all(a.startswith("400 ") and "ip_address[127.30.2.199] is not available" in a for a in refused)
    assert node_count(services[1].store) == 1


def test_a_deleted_nodes_address_can_be_chosen_again(pair: Pair) -> None:
    first, second, user, vcid = pair
    [address] = add_unit(first, user, vcid, "one", 1, ["127.30.2.210"])
    with first.store.read() as session:
        node_ids = list(session.scalars(select(Node.node_id)))
    with first.store.transaction() as session:  # what the worker does once the node is gone
        Worker._drop_nodes(session, node_ids)
    assert claims(first.store) == {}
    assert add_unit(second, user, vcid, "two", 1, [address]) == [address]


# -- large requests ----------------------------------------------------------------------


@dataclass
class Held:
    """A large request held between its first and second batch."""

    between: threading.Event
    resume: threading.Event


def hold_after_first_batch(service: Service, monkeypatch: pytest.MonkeyPatch) -> Held:
    """Make ``service`` pause a large request after its first batch of nodes."""
    held = Held(threading.Event(), threading.Event())
    write_batch = service._write_batch

    def pausing(pending: Any, rows: list[dict[str, Any]]) -> None:
        held.between.set()
        assert held.resume.wait(timeout=120)
        write_batch(pending, rows)

    monkeypatch.setattr(service, "_write_batch", pausing)
    return held


def test_a_large_request_claims_all_its_addresses_in_its_first_transaction(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, user, vcid = pair
    first.batch_size = 4
    held = hold_after_first_batch(first, monkeypatch)
    wanted = [f"127.30.2.{host}" for host in range(220, 231)]  # 11 nodes: 4 now, 7 later
    big = threading.Thread(target=add_unit, args=(first, user, vcid, "big", 11, wanted))
    big.start()
    try:
        assert held.between.wait(timeout=120)
        assert node_count(first.store) == 4
        assert sorted(claims(first.store)) == sorted(wanted)
        with pytest.raises(ServiceError) as refused:  # a node not written yet still holds it
            add_unit(second, user, vcid, "thief", 1, [wanted[-1]])
        assert f"ip_address[{wanted[-1]}] is not available" in refused.value.detail
        automatic = add_unit(second, user, vcid, "auto", 3)
        assert not set(automatic) & set(wanted)
    finally:
        held.resume.set()
        big.join(timeout=120)
    assert unit_addresses(first.store, vcid, "big") == wanted
    assert claims(first.store) == node_addresses(first.store)


def test_a_failed_large_request_releases_all_its_addresses(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, user, vcid = pair
    first.batch_size = 4
    [kept] = add_unit(first, user, vcid, "small", 1)

    def failing(pending: Any, rows: list[dict[str, Any]]) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(first, "_write_batch", failing)
    with pytest.raises(RuntimeError):
        first.add_unit(user, vcid, unit_body("big", 11))
    with pytest.raises(RuntimeError):
        first.add_nodes(user, vcid, "small", {"num_nodes": 9})
    assert claims(first.store) == {kept: unit_node_ids(first.store)[0]}
    assert node_count(first.store) == 1
    # the addresses are free again: the other replica gets the same ones
    again = add_unit(second, user, vcid, "again", 11)
    assert len(set(again)) == 11 and kept not in again


def unit_node_ids(store: Store) -> list[str]:
    with store.read() as session:
        return list(session.scalars(select(Node.node_id).order_by(Node.cdate)))


# -- through the worker (live_controller: follows --vcp-database) ------------------------


def test_a_deleted_node_frees_its_fixed_address(
    ug: Any, compute_spec: Callable[..., object], free_ip: Callable[[str], str]
) -> None:
    kept, freed = free_ip("aws"), free_ip("aws")
    unit = ug.create_unit("first", compute_spec(ip_addresses=[kept, freed]))
    unit.delete_nodes(ip_address=freed)
    assert unit.find_ip_addresses() == [kept]
    with pytest.raises(VcpInvalidArgumentError, match=rf"ip_address\[{kept}\] is not available"):
        ug.create_unit("copy", compute_spec(ip_addresses=[kept]))
    again = ug.create_unit("second", compute_spec(ip_addresses=[freed]))
    assert again.find_ip_addresses() == [freed]


def test_a_deleted_unit_frees_its_addresses(
    ug: Any, compute_spec: Callable[..., object], free_ip: Callable[[str], str]
) -> None:
    addresses = [free_ip("aws"), free_ip("aws")]
    ug.create_unit("first", compute_spec(ip_addresses=addresses))
    ug.delete_units("first", force=True)
    assert ug.create_unit("second", compute_spec(ip_addresses=addresses)).find_ip_addresses() == addresses
