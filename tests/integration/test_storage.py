"""Storage UnitGroups: disks, attaching them to a node, and the cleanup order."""

from __future__ import annotations

import pytest
from pandas.io.formats.style import Styler

from tests.columns import STORAGE_COLUMNS as STORAGE_NODE_COLUMNS
from vcpsdk.errors import VcpConflictError, VcpInvalidArgumentError
from vcpsdk.vcpsdk import VcpSDK

from .conftest import node_ids


def _disks(sdk: VcpSDK, count: int = 1):
    storage = sdk.create_ugroup("storage", "storage")
    spec = sdk.get_spec("aws_disk", "small")
    spec.num_disks = count
    unit = storage.create_unit("data", spec)
    return storage, unit


def test_storage_unit_creates_disks(vcp_sdk: VcpSDK) -> None:
    storage, unit = _disks(vcp_sdk, count=2)
    assert unit.state == "RUNNING"
    disks = storage.find_nodes()
    assert [d.no for d in disks] == [1, 2]
    assert {d.type for d in disks} == {"storage"}
    assert {d.state for d in disks} == {"RUNNING"}
    assert {d.used_state for d in disks} == {"un-use"}
    assert all(d.cloud_disk_id for d in disks)
    assert {d.cloud_disk_size for d in disks} == {8}


def test_storage_df_nodes_has_disk_columns(vcp_sdk: VcpSDK) -> None:
    storage, unit = _disks(vcp_sdk, count=2)
    for styled in (storage.df_nodes(), unit.df_nodes(), vcp_sdk.df_nodes()):
        assert isinstance(styled, Styler)
        frame = styled.data
        assert list(frame.columns) == STORAGE_NODE_COLUMNS
        assert list(frame["disk_no"]) == [1, 2]
        assert list(frame["cloud_disk_size"]) == [8, 8]
        assert set(frame["node_state"]) == {"RUNNING"}
        assert sorted(frame["cloud_disk_id"]) == sorted(storage.find_nodes(mapper=lambda d: d.cloud_disk_id))


def test_storage_add_nodes_adds_disks(vcp_sdk: VcpSDK) -> None:
    storage, unit = _disks(vcp_sdk)
    [added] = unit.add_nodes(1)
    assert added.no == 2
    assert added.type == "storage"
    assert len(storage.find_nodes()) == 2


def test_print_disk(vcp_sdk: VcpSDK) -> None:
    storage, _ = _disks(vcp_sdk)
    [disk] = storage.find_nodes()
    assert str(disk) == (
        f"[VcNode]\n+ type[storage] no(1) state[RUNNING] id[{disk.id}] cdate[{disk.cdate}] "
        f"used_state[un-use] cloud_disk_id[{disk.cloud_disk_id}] cloud_disk_size[8]"
    )


def test_compute_node_with_an_attached_disk(vcp_sdk: VcpSDK, compute_spec) -> None:
    storage, _ = _disks(vcp_sdk)
    compute = vcp_sdk.create_ugroup("compute")
    spec = compute_spec()
    spec.disks = storage.find_nodes()
    compute.create_unit("server", spec)
    frame = compute.df_nodes().data
    assert list(frame["volumes"]) == ["exists"]
    [node] = compute.find_nodes()
    [disk] = storage.find_nodes()
    assert node.volumes == [{"volume_id": disk.cloud_disk_id, "device_name": "/dev/xvdf"}]
    assert disk.used_state == "in-use"


def test_cleanup_order_storage_stays_while_attached(vcp_sdk: VcpSDK, compute_spec) -> None:
    storage, _ = _disks(vcp_sdk)
    compute = vcp_sdk.create_ugroup("compute")
    spec = compute_spec()
    spec.disks = storage.find_nodes()
    compute.create_unit("server", spec)
    disks_before = node_ids(storage)

    storage.cleanup()
    kept = vcp_sdk.get_ugroup("storage")
    assert kept is not None
    assert kept.get_unit("data").state == "RUNNING"
    assert node_ids(kept) == disks_before

    compute.cleanup()
    assert vcp_sdk.get_ugroup("compute") is None
    [disk] = kept.find_nodes()
    assert disk.used_state == "un-use"

    kept.cleanup()
    assert vcp_sdk.get_ugroup("storage") is None
    assert vcp_sdk.find_ugroups() == []


def test_attached_disk_cannot_be_attached_twice(vcp_sdk: VcpSDK, compute_spec) -> None:
    storage, _ = _disks(vcp_sdk)
    compute = vcp_sdk.create_ugroup("compute")
    first = compute_spec()
    first.disks = storage.find_nodes()
    compute.create_unit("first", first)
    second = compute_spec()
    second.disks = storage.find_nodes()
    before = node_ids(compute)
    with pytest.raises(VcpConflictError) as info:
        compute.create_unit("second", second)
    assert "in-use" in str(info.value)
    assert compute.get_unit("second") is None
    assert node_ids(compute) == before


def test_disks_on_a_unit_of_several_nodes_is_refused(vcp_sdk: VcpSDK, compute_spec) -> None:
    storage, _ = _disks(vcp_sdk)
    compute = vcp_sdk.create_ugroup("compute")
    spec = compute_spec(num_nodes=2)
    spec.disks = storage.find_nodes()
    with pytest.raises(VcpInvalidArgumentError) as info:
        compute.create_unit("pair", spec)
    assert "one node" in str(info.value)
    assert compute.find_units() == []
    assert storage.find_nodes(mapper=lambda d: d.used_state) == ["un-use"]


def test_unit_with_an_attached_disk_cannot_grow(vcp_sdk: VcpSDK, compute_spec) -> None:
    storage, _ = _disks(vcp_sdk)
    compute = vcp_sdk.create_ugroup("compute")
    spec = compute_spec()
    spec.disks = storage.find_nodes()
    unit = compute.create_unit("server", spec)
    before = node_ids(unit)
    with pytest.raises(VcpInvalidArgumentError):
        unit.add_nodes()
    assert node_ids(unit) == before
