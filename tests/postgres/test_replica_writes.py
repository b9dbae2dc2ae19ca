"""Two controllers on one PostgreSQL database serve one user at the same time (issue 17):
no write of one is lost to a concurrent write of the other.

The two controllers run in this process (two apps, two engines, two workers), each with
its own state dir; the sandbox's nodes run on the one holding the ``sandbox`` lease.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from vcpsdk.controller.runtime import build_controller
from vcpsdk.controller.secrets import KeyMismatch
from vcpsdk.controller.settings import ControllerSettings, Limits
from vcpsdk.controller.store import Node, Vc
from vcpsdk.core.polling import poll
from vcpsdk.errors import VcpConflictError
from vcpsdk.testing import RunningController, running_controller
from vcpsdk.testing.controller import share_keys
from vcpsdk.testing.keys import write_test_public_key
from vcpsdk.testing.postgres import PostgresServer
from vcpsdk.testing.units import connect_sdk, create_running_unit
from vcpsdk.vcpsdk import VcpSDK

_databases = itertools.count(1)
THREADS = 8
QUOTA = 30


@pytest.fixture
def two_replicas(pg_server: PostgresServer, tmp_path: Path) -> Iterator[list[RunningController]]:
    url = pg_server.create_database(f"writes_{next(_databases)}")
    with ExitStack() as stack:
        limits = Limits(max_nodes_per_user=QUOTA)
        first = stack.enter_context(running_controller(tmp_path / "a", database_url=url, limits=limits))
        second_dir = share_keys(tmp_path / "a", tmp_path / "b")
        second = stack.enter_context(running_controller(second_dir, database_url=url, limits=limits))
        yield [first, second]


def sdks(replicas: list[RunningController], tmp_path: Path, user: str) -> list[VcpSDK]:
    return [connect_sdk(r, tmp_path / f"{user}-{i}", user) for i, r in enumerate(replicas)]


def run_all(calls: list[tuple[object, ...]]) -> list[BaseException]:
    """Run ``(function, *args)`` calls at the same moment; the errors they raised."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(calls))

    def call(function: object, *args: object) -> None:
        barrier.wait()
        try:
            function(*args)  # type: ignore[operator]
        except BaseException as error:  # collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=call, args=c) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return errors


def test_concurrent_additions_to_one_unit_through_both_replicas_take_turns(
    two_replicas: list[RunningController], tmp_path: Path
) -> None:
    a, b = sdks(two_replicas, tmp_path, "alice")
    pubkey = write_test_public_key(tmp_path / "key.pub")
    group = create_running_unit(a, pubkey, ugroup="g", num_nodes=1).group
    units = [_unit(sdk, "g", "u") for sdk in (a, b)]

    errors = run_all([(units[i % 2].add_nodes, 2) for i in range(THREADS)])

    # a request that finds the unit busy is refused, whichever replica it reaches; the ones
    # let in (at least the first) each made their two nodes, numbered without a gap
    assert all(isinstance(e, VcpConflictError) for e in errors), errors
    assert len(errors) < THREADS
    nodes = _nodes(two_replicas[0], group.vcid)
    assert sorted(n.node_no for n in nodes) == list(range(1, 2 + 2 * (THREADS - len(errors))))
    assert len({n.address for n in nodes}) == len(nodes)
    assert all(n.state == "RUNNING" for n in nodes)


def test_concurrent_units_in_one_group_through_both_replicas_are_all_kept(
    two_replicas: list[RunningController], tmp_path: Path
) -> None:
    a, b = sdks(two_replicas, tmp_path, "carol")
    pubkey = write_test_public_key(tmp_path / "key.pub")
    group = a.create_ugroup("g")
    groups = [group, _group(b, "g")]
    specs = [_spec(sdk, pubkey, 2) for sdk in (a, b)]
    revision_before = _revision(two_replicas[0], group.vcid)

    errors = run_all([(groups[i % 2].create_unit, f"u{i}", specs[i % 2]) for i in range(THREADS)])

    assert errors == []
    nodes = _nodes(two_replicas[0], group.vcid)
    assert len(nodes) == 2 * THREADS
    assert len({n.address for n in nodes}) == len(nodes)
    assert all(n.state == "RUNNING" for n in nodes)
    # each request and each finished creation counted: none lost to a concurrent writer
    assert _revision(two_replicas[0], group.vcid) >= revision_before + 2 * THREADS


def test_the_user_quota_holds_across_replicas(two_replicas: list[RunningController], tmp_path: Path) -> None:
    a, b = sdks(two_replicas, tmp_path, "bob")
    pubkey = write_test_public_key(tmp_path / "key.pub")
    groups = [a.create_ugroup("ga"), b.create_ugroup("gb")]
    specs = [_spec(sdk, pubkey, 4) for sdk in (a, b)]

    # 8 units of 4 nodes in two groups through both replicas: 32 nodes, the quota is 30
    errors = run_all([(groups[i % 2].create_unit, f"u{i}", specs[i % 2]) for i in range(THREADS)])

    total = sum(len(_nodes(two_replicas[0], vc)) for vc in _vcids(two_replicas[0], "bob"))
    assert total == 4 * (QUOTA // 4)
    assert len(errors) == THREADS - QUOTA // 4  # the one that did not fit was refused
    assert all("max_nodes_per_user" in str(e) for e in errors), errors


def _group(sdk: VcpSDK, name: str) -> Any:
    group = sdk.get_ugroup(name)
    assert group is not None
    return group


def _unit(sdk: VcpSDK, group: str, name: str) -> Any:
    unit = _group(sdk, group).get_unit(name)
    assert unit is not None
    return unit


def _spec(sdk: VcpSDK, pubkey: Path, nodes: int) -> object:
    spec = sdk.get_spec("aws", "small")
    spec.num_nodes = nodes
    spec.set_ssh_pubkey(str(pubkey))
    return spec


def _nodes(controller: RunningController, vcid: str) -> list[Node]:
    with controller.controller.store.read() as session:
        return list(session.scalars(select(Node).where(Node.vcid == vcid)))


def _vcids(controller: RunningController, owner: str) -> list[str]:
    with controller.controller.store.read() as session:
        return list(session.scalars(select(Vc.vcid).where(Vc.owner == owner)))


def _revision(controller: RunningController, vcid: str) -> int:
    with controller.controller.store.read() as session:
        return int(session.scalar(select(Vc.revision).where(Vc.vcid == vcid)) or 0)


def test_metrics_of_two_replicas_show_the_sandbox_lease_holder_and_the_relay(
    two_replicas: list[RunningController],
) -> None:
    holder, other = (r.controller.membership for r in two_replicas)
    text = requests.get(f"{two_replicas[1].origin}/metrics", timeout=30).text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("vcc_replicas", ())] == 2
    lease = (("host", holder.host), ("lease", "sandbox"), ("pid", str(os.getpid())), ("replica", holder.id))
    assert samples[("vcc_lease_holder", lease)] == 1
    # the second replica's state dir is not the sandbox's: it does not even want the lease
    assert ("vcc_replica_lease_held", (("lease", "sandbox"),)) not in samples
    assert (
        samples[
            ("vcc_replica_info", (("host", other.host), ("pid", str(os.getpid())), ("replica", other.id)))
        ]
        == 1
    )
    assert samples[("vcc_relay_listening", ())] == 1


def test_a_replica_with_another_secrets_key_is_refused(pg_server: PostgresServer, tmp_path: Path) -> None:
    url = pg_server.create_database(f"writes_{next(_databases)}")
    with running_controller(tmp_path / "a", database_url=url):
        with pytest.raises(KeyMismatch, match=r"b/secrets.key is not the key the other replicas"):
            build_controller(ControllerSettings(state_dir=tmp_path / "b", database_url=url))


def test_only_replicas_of_the_sandbox_state_dir_host_the_sandbox(
    pg_server: PostgresServer, tmp_path: Path
) -> None:
    url = pg_server.create_database(f"writes_{next(_databases)}")
    with ExitStack() as first_stack, ExitStack() as rest:
        first = first_stack.enter_context(
            running_controller(tmp_path / "a", database_url=url, lease_seconds=2.0)
        )
        elsewhere = share_keys(tmp_path / "a", tmp_path / "b")  # the keys, not the nodes' files
        other = rest.enter_context(running_controller(elsewhere, database_url=url, lease_seconds=2.0))
        same = rest.enter_context(running_controller(tmp_path / "a", database_url=url, lease_seconds=2.0))
        assert first.controller.membership.holds("sandbox")
        assert other.controller.membership.wanted() == set()  # never takes it
        assert same.controller.membership.wanted() == {"sandbox"}
        first_stack.close()  # the holder stops: the replica of the same state dir takes over
        poll(
            lambda: same.controller.membership.holds("sandbox"),
            bool,
            timeout=60,
            interval=0.1,
            timeout_message="the sandbox lease did not move to the replica of the same state dir",
        )
        assert not other.controller.membership.holds("sandbox")
