# The tests call methods on get_ugroup()/get_unit() results they know exist, as a notebook does.
# mypy: disable-error-code="union-attr"
"""One set of lifecycle tests every backend passes through its offline stand-in.

Collected by the :mod:`vcpsdk.testing.conformance` plugin wherever a ``conftest.py``
provides the ``conformance_harness`` fixture; the fixtures below are the suite's own.

The power and disk tests follow the providers' declarations (``capabilities`` in
``providers.yml``): for a provider without a power API (or without a disk provider with a
disk API) they check that the request is refused before anything changes, naming the
provider, instead of running it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vcpsdk.core.providers import get_provider
from vcpsdk.errors import VcpInvalidArgumentError, VcpUnitFailedError
from vcpsdk.testing.conformance.harness import POWER_OFF, RUNNING, ConformanceHarness
from vcpsdk.testing.controller import RunningController
from vcpsdk.testing.keys import write_test_public_key
from vcpsdk.vcpsdk import VcpSDK

# -- the suite's fixtures ----------------------------------------------------------------


@pytest.fixture
def harness(conformance_harness: ConformanceHarness) -> ConformanceHarness:
    """The backend under test (the ``conformance_harness`` of the conftest)."""
    return conformance_harness


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """The controller's state directory (kept across restarts within a test)."""
    return tmp_path / "state"


@pytest.fixture
def running(harness: ConformanceHarness, state: Path) -> Iterator[RunningController]:
    """A controller using the backend under test."""
    with harness.controller(state) as controller:
        yield controller


@pytest.fixture
def vcp(running: RunningController, tmp_path: Path) -> VcpSDK:
    """An SDK of a fresh user of that controller."""
    config = running.write_config(tmp_path / "cfg")
    return VcpSDK(running.create_token("conformer"), config_dir=str(config))


@pytest.fixture
def spec_of(vcp: VcpSDK, harness: ConformanceHarness, tmp_path: Path) -> Callable[..., Any]:
    """``spec_of(**attrs)``: a compute spec of the harness's provider with a key set."""
    key = write_test_public_key(tmp_path / "id.pub")

    def make(**attributes: Any) -> Any:
        spec = vcp.get_spec(harness.provider, "small")
        spec.set_ssh_pubkey(str(key))
        for name, value in attributes.items():
            setattr(spec, name, value)
        return spec

    return make


def two_node_unit(
    harness: ConformanceHarness, running: RunningController, tmp_path: Path, user: str, unit: str
) -> tuple[str, Any]:
    """A token of a new ``user`` of ``running`` and a unit of two nodes in its UnitGroup ``user``
    (for the tests that restart the controller: the token stays valid)."""
    token = running.create_token(user)
    vcp = VcpSDK(token, config_dir=str(running.write_config(tmp_path / "cfg1")))
    spec = vcp.get_spec(harness.provider, "small")
    spec.set_ssh_pubkey(str(write_test_public_key(tmp_path / "id.pub")))
    spec.num_nodes = 2
    return token, vcp.create_ugroup(user).create_unit(unit, spec)


def in_cloud(harness: ConformanceHarness, running: RunningController, nodes: list[Any]) -> list[str | None]:
    """What the stand-in cloud itself holds for each of ``nodes`` (SDK nodes)."""
    return [harness.cloud_state(running, n.id, n.cloud_instance_id) for n in nodes]


def declares(provider: str, capability: str) -> bool:
    """Whether ``provider`` (a name; "" for none) declares ``capability``."""
    return bool(provider) and bool(getattr(get_provider(provider).capabilities, capability))


def assert_power_refused(harness: ConformanceHarness, running: RunningController, unit: Any) -> None:
    """A provider without a power API: powering RUNNING nodes off is refused, naming the provider
    and the capability (power on is refused for their state already), and the nodes stay
    RUNNING in the controller and in the cloud."""
    nodes = unit.find_nodes()
    with pytest.raises(VcpInvalidArgumentError) as refused:
        unit.power_off_nodes()
    assert f"provider {harness.provider} " in str(refused.value)
    assert "capability power_api" in str(refused.value)
    assert [n.state for n in unit.find_nodes()] == ["RUNNING"] * len(nodes)
    assert in_cloud(harness, running, nodes) == [RUNNING] * len(nodes)


def assert_disks_refused(
    vcp: VcpSDK, harness: ConformanceHarness, running: RunningController, spec: Any
) -> None:
    """A provider without a disk provider that has a disk API: a storage unit of its spec is
    refused before anything is created, and nothing is left in the cloud."""
    disks = vcp.create_ugroup("store", ugroup_type="storage")
    with pytest.raises(VcpInvalidArgumentError):
        disks.create_unit("data", spec)
    assert disks.find_units() == []
    assert harness.leftovers(running) == []
    disks.cleanup()


# -- the tests ---------------------------------------------------------------------------


def test_create_n_nodes_with_distinct_addresses(vcp: VcpSDK, harness, running, spec_of) -> None:
    ug = vcp.create_ugroup("many")
    unit = ug.create_unit("web", spec_of(num_nodes=5))
    nodes = unit.find_nodes()
    assert [n.state for n in nodes] == ["RUNNING"] * 5
    addresses = [n.cloud_instance_address for n in nodes]
    assert len(set(addresses)) == 5 and all(a.startswith(harness.mask_prefix) for a in addresses)
    assert len({n.cloud_instance_id for n in nodes}) == 5
    assert in_cloud(harness, running, nodes) == [RUNNING] * 5
    ug.cleanup()
    assert harness.leftovers(running) == []
    assert in_cloud(harness, running, nodes) == [None] * 5


def test_fixed_ips_are_honoured(vcp: VcpSDK, harness, spec_of) -> None:
    wanted = [f"{harness.mask_prefix}9.21", f"{harness.mask_prefix}9.22"]
    unit = vcp.create_ugroup("fixed").create_unit("db", spec_of(ip_addresses=wanted))
    assert sorted(unit.find_ip_addresses()) == wanted


def test_scale_out_and_in(vcp: VcpSDK, harness, running, spec_of) -> None:
    ug = vcp.create_ugroup("elastic")
    unit = ug.create_unit("workers", spec_of(num_nodes=2))
    added = unit.add_nodes(num_add_nodes=2)
    assert len(added) == 2 and len(unit.find_nodes()) == 4
    all_four = unit.find_nodes()
    assert in_cloud(harness, running, all_four) == [RUNNING] * 4
    remaining = unit.delete_nodes(num_delete_nodes=3)
    assert len(remaining) == 1
    deleted = [n for n in all_four if n.id not in {r.id for r in remaining}]
    assert in_cloud(harness, running, deleted) == [None] * 3
    assert in_cloud(harness, running, remaining) == [RUNNING]
    unit.delete_nodes()
    assert unit.find_nodes() == [] and ug.get_unit("workers") is not None
    ug.cleanup()
    assert harness.leftovers(running) == []


def test_power_off_and_on(vcp: VcpSDK, harness, running, spec_of) -> None:
    unit = vcp.create_ugroup("sleepy").create_unit("app", spec_of(num_nodes=2))
    if not declares(harness.provider, "power_api"):
        assert_power_refused(harness, running, unit)
        return
    nodes = unit.power_off_nodes(num_power_off_nodes=2)
    assert [n.state for n in nodes] == ["POWER_OFF", "POWER_OFF"]
    assert in_cloud(harness, running, nodes) == [POWER_OFF, POWER_OFF]  # the cloud agrees
    nodes = unit.power_on_nodes(num_power_on_nodes=2)
    assert [n.state for n in nodes] == ["RUNNING", "RUNNING"]
    assert in_cloud(harness, running, nodes) == [RUNNING, RUNNING]


def test_power_off_survives_a_restart(harness, state, tmp_path) -> None:
    with harness.controller(state) as first:
        token, unit = two_node_unit(harness, first, tmp_path, "sleeper", "app")
        [off, on] = unit.find_nodes()
        if not declares(harness.provider, "power_api"):
            assert_power_refused(harness, first, unit)
            on, off = off, on  # nothing changed: both stay RUNNING across the restart
        else:
            unit.power_off_nodes(node_no=off.no)
    with harness.controller(state) as second:
        if not declares(harness.provider, "power_api"):
            vcp = VcpSDK(token, config_dir=str(second.write_config(tmp_path / "cfg2")))
            again = vcp.get_ugroup("sleeper").get_unit("app")
            assert [n.state for n in again.find_nodes()] == ["RUNNING", "RUNNING"]
            assert in_cloud(harness, second, [off, on]) == [RUNNING, RUNNING]
            vcp.get_ugroup("sleeper").cleanup()
            assert harness.leftovers(second) == []
            return  # restarted: the store is reconciled with the cloud
        vcp = VcpSDK(token, config_dir=str(second.write_config(tmp_path / "cfg2")))
        again = vcp.get_ugroup("sleeper").get_unit("app")
        assert {n.id: n.state for n in again.find_nodes()} == {off.id: "POWER_OFF", on.id: "RUNNING"}
        assert in_cloud(harness, second, [off, on]) == [POWER_OFF, RUNNING]
        nodes = again.power_on_nodes(node_no=off.no)
        assert [n.state for n in nodes] == ["RUNNING", "RUNNING"]
        assert in_cloud(harness, second, [off, on]) == [RUNNING, RUNNING]
        vcp.get_ugroup("sleeper").cleanup()
        assert harness.leftovers(second) == []


def test_disks_create_attach_detach_delete(vcp: VcpSDK, harness, running, spec_of) -> None:
    if not declares(harness.disk_provider, "disk_api"):
        assert_disks_refused(vcp, harness, running, spec_of())
        return
    disks = vcp.create_ugroup("store", ugroup_type="storage")
    disk_spec = vcp.get_spec(harness.disk_provider, "small")
    disks.create_unit("data", disk_spec)
    [disk] = disks.find_nodes()
    assert disk.state == "RUNNING" and disk.cloud_disk_id
    compute = vcp.create_ugroup("user")
    unit = compute.create_unit("server", spec_of(disks=disks.find_nodes()))
    [node] = unit.find_nodes()
    assert [v["volume_id"] for v in node.volumes] == [disk.cloud_disk_id]
    assert disks.find_nodes()[0].used_state == "in-use"
    disks.cleanup()  # attached: the storage group stays
    assert vcp.get_ugroup("store") is not None
    compute.cleanup()  # detaches
    assert vcp.get_ugroup("store").find_nodes()[0].used_state == "un-use"
    vcp.get_ugroup("store").cleanup()
    assert vcp.get_ugroup("store") is None
    assert harness.leftovers(running) == []


@pytest.mark.parametrize("step", ["create_nodes", "create_disks"])
def test_failed_creation_leaves_nothing_behind(vcp: VcpSDK, harness, running, spec_of, step: str) -> None:
    storage = step == "create_disks"
    if storage and not declares(harness.disk_provider, "disk_api"):
        assert_disks_refused(vcp, harness, running, spec_of(num_nodes=3))
        return
    ug = vcp.create_ugroup("broken", ugroup_type="storage" if storage else "compute")
    spec = vcp.get_spec(harness.disk_provider, "small") if storage else spec_of(num_nodes=3)
    with harness.failing(running, step), pytest.raises(VcpUnitFailedError) as failure:
        ug.create_unit("doomed", spec)
    assert "InsufficientInstanceCapacity" in (failure.value.server_message or "")
    unit = ug.get_unit("doomed")
    assert unit is not None and unit.state == "ERROR"
    assert harness.leftovers(running) == []  # the backend cleaned up, not the controller
    ug.cleanup()
    assert vcp.get_ugroup("broken") is None
    assert harness.leftovers(running) == []


@pytest.mark.parametrize(("addresses", "after"), [("automatic", 1), ("fixed", 2)])
def test_partly_created_batch_leaves_nothing_behind(
    vcp: VcpSDK, harness, running, spec_of, addresses: str, after: int
) -> None:
    # the failure comes after `after` successful cloud calls: part of the batch exists
    fixed = [f"{harness.mask_prefix}9.{31 + i}" for i in range(3)] if addresses == "fixed" else None
    spec = spec_of(ip_addresses=fixed) if fixed else spec_of(num_nodes=3)
    ug = vcp.create_ugroup("half")
    with harness.failing(running, "create_nodes", after=after), pytest.raises(VcpUnitFailedError) as failure:
        ug.create_unit("doomed", spec)
    assert "InsufficientInstanceCapacity" in (failure.value.server_message or "")
    assert ug.get_unit("doomed").state == "ERROR"
    assert harness.leftovers(running) == []  # before any cleanup by the controller
    ug.cleanup()
    assert vcp.get_ugroup("half") is None
    assert harness.leftovers(running) == []


@pytest.mark.parametrize("step", ["power", "delete_nodes"])
def test_failed_operation_marks_the_unit_and_cleanup_still_works(
    vcp: VcpSDK, harness, running, spec_of, step: str
) -> None:
    ug = vcp.create_ugroup("flaky")
    unit = ug.create_unit("svc", spec_of(num_nodes=2))
    if step == "power" and not declares(harness.provider, "power_api"):
        assert_power_refused(harness, running, unit)  # refused before any backend call
        ug.cleanup()
        assert harness.leftovers(running) == []
        return
    with harness.failing(running, step), pytest.raises(VcpUnitFailedError):
        if step == "power":
            unit.power_off_nodes()
        else:
            unit.delete_nodes()
    assert ug.get_unit("svc").state == "ERROR"
    ug.cleanup()
    assert vcp.get_ugroup("flaky") is None
    assert harness.leftovers(running) == []


def test_restart_reconciles_running_nodes(harness, state, tmp_path) -> None:
    with harness.controller(state) as first:
        token, unit = two_node_unit(harness, first, tmp_path, "durable", "web")
        before = {n.id: n.cloud_instance_address for n in unit.find_nodes()}
    with harness.controller(state) as second:  # same state: a restarted controller
        vcp = VcpSDK(token, config_dir=str(second.write_config(tmp_path / "cfg2")))
        ug = vcp.get_ugroup("durable")
        again = ug.get_unit("web").find_nodes()
        assert {n.id: n.cloud_instance_address for n in again} == before
        assert all(n.state == "RUNNING" for n in again)
        ug.cleanup()
        assert harness.leftovers(second) == []
