"""Units: create (waiting or not), look up, delete, and the refusals that change nothing."""

from __future__ import annotations

import pytest

from vcpsdk.errors import VcpConflictError, VcpInvalidArgumentError, VcpSDKError
from vcpsdk.vcpsdk import VcpSDK, VcpUnitClass

from .conftest import node_ids


def test_create_unit_waits_until_running(ug, compute_spec) -> None:
    unit = ug.create_unit("server", compute_spec(num_nodes=2))
    assert isinstance(unit, VcpUnitClass)
    assert unit.name == "server"
    assert unit.state == "RUNNING"
    nodes = unit.find_nodes()
    assert [n.no for n in nodes] == [1, 2]
    assert {n.state for n in nodes} == {"RUNNING"}
    assert all(n.cloud_instance_address and n.cloud_instance_id for n in nodes)


def test_create_unit_without_waiting_then_wait_unit_applied(ug, compute_spec) -> None:
    started = ug.create_unit("later", compute_spec(), wait_for=False)
    assert started.name == "later"
    unit = ug.wait_unit_applied("later")
    assert unit.name == "later"
    assert unit.state == "RUNNING"
    assert [n.state for n in unit.find_nodes()] == ["RUNNING"]


def test_wait_unit_applied_of_an_unknown_unit_raises(ug) -> None:
    with pytest.raises(VcpInvalidArgumentError) as info:
        ug.wait_unit_applied("ghost")
    assert info.value.args == ("VCP", "no unit unit_name[ghost]")


def test_create_unit_names_the_spec(ug, compute_spec) -> None:
    spec = compute_spec()
    ug.create_unit("named", spec)
    assert spec.name == "named"


def test_unit_with_zero_nodes_is_legal(ug, compute_spec) -> None:
    unit = ug.create_unit("empty", compute_spec(num_nodes=0))
    assert unit.state == "RUNNING"
    assert unit.find_nodes() == []
    assert ug.get_unit("empty") is not None
    assert [n.no for n in unit.add_nodes(1)] == [1]


def test_get_unit_returns_the_named_unit(ug, compute_spec) -> None:
    ug.create_unit("first", compute_spec())
    ug.create_unit("second", compute_spec(num_nodes=0))
    unit = ug.get_unit("first")
    assert unit is not None
    assert unit.name == "first"
    assert len(unit.find_nodes()) == 1


def test_get_unit_unknown_returns_none(ug, compute_spec) -> None:
    ug.create_unit("present", compute_spec(num_nodes=0))
    assert ug.get_unit("absent") is None


def test_find_units(ug, compute_spec) -> None:
    ug.create_unit("x", compute_spec(num_nodes=0))
    ug.create_unit("y", compute_spec(num_nodes=0))
    assert [u.name for u in ug.find_units()] == ["x", "y"]
    assert [u.name for u in ug.find_units("y")] == ["y"]
    assert ug.find_units("z") == []


def test_print_unit(ug, compute_spec, capsys) -> None:
    unit = ug.create_unit("shown", compute_spec(num_nodes=0))
    print(unit)
    assert capsys.readouterr().out == "[VcUnit]\n+ type[compute] name[shown]  state[RUNNING]\n\n"


def test_ugroup_find_nodes_with_mapper_and_unit_name(ug, compute_spec) -> None:
    ug.create_unit("a", compute_spec(num_nodes=2))
    ug.create_unit("b", compute_spec())
    assert ug.find_nodes(mapper=lambda n: (n.unit.name, n.no)) == [("a", 1), ("a", 2), ("b", 1)]
    assert ug.find_nodes(unit_name="b", mapper=lambda n: n.no) == [1]
    [b_node] = ug.find_nodes(unit_name="b")
    assert ug.find_nodes(node_id=b_node.id, mapper=lambda n: n.id) == [b_node.id]
    assert ug.find_nodes(unit_name="a", node_no=2, mapper=lambda n: n.unit.name) == ["a"]
    assert ug.find_nodes(node_state="POWER_OFF") == []


def test_ugroup_find_ip_addresses_filters(ug, compute_spec) -> None:
    ug.create_unit("a", compute_spec(num_nodes=2))
    ug.create_unit("b", compute_spec())
    a_ips = ug.find_ip_addresses(node_state="RUNNING", unit_name="a")
    b_ips = ug.find_ip_addresses(unit_name="b")
    assert len(a_ips) == 2
    assert len(b_ips) == 1
    assert sorted(ug.find_ip_addresses()) == sorted(a_ips + b_ips)
    assert ug.find_ip_addresses(node_state="POWER_OFF") == []
    assert ug.find_nodes(ip_address=b_ips[0], mapper=lambda n: n.unit.name) == ["b"]
    assert ug.find_ip_addresses(ip_addresses=a_ips) == a_ips


def test_delete_units_with_force_removes_unit_and_nodes(ug, compute_spec) -> None:
    ug.create_unit("gone", compute_spec(num_nodes=2))
    ug.create_unit("kept", compute_spec())
    ug.delete_units("gone", force=True)
    assert ug.get_unit("gone") is None
    assert [u.name for u in ug.find_units()] == ["kept"]
    assert ug.find_nodes(mapper=lambda n: n.unit.name) == ["kept"]


def test_delete_units_of_an_empty_unit_without_force(ug, compute_spec) -> None:
    ug.create_unit("empty", compute_spec(num_nodes=0))
    ug.delete_units("empty")
    assert ug.find_units() == []


def test_delete_units_with_nodes_without_force_is_refused(ug, compute_spec) -> None:
    ug.create_unit("busy", compute_spec())
    before = node_ids(ug)
    with pytest.raises(VcpConflictError) as info:
        ug.delete_units("busy")
    assert info.value.args == ("VCP", "delete unit failed")
    assert info.value.http_status == 409
    assert node_ids(ug) == before
    assert ug.get_unit("busy").state == "RUNNING"


def test_delete_units_unknown_name_raises_and_changes_nothing(ug, compute_spec) -> None:
    ug.create_unit("real", compute_spec())
    before = node_ids(ug)
    with pytest.raises(VcpInvalidArgumentError) as info:
        ug.delete_units("x", force=True)
    assert info.value.args == ("VCP", "no unit unit_name[x]")
    assert [u.name for u in ug.find_units()] == ["real"]
    assert node_ids(ug) == before


def test_duplicate_unit_name_raises_and_creates_nothing(ug, compute_spec) -> None:
    ug.create_unit("x", compute_spec())
    before = node_ids(ug)
    with pytest.raises(VcpInvalidArgumentError) as info:
        ug.create_unit("x", compute_spec(num_nodes=3))
    assert info.value.args == ("VCP", "already exist unit[x]")
    assert node_ids(ug) == before
    assert [u.name for u in ug.find_units()] == ["x"]


def test_storage_spec_in_a_compute_group_raises_and_creates_nothing(vcp_sdk: VcpSDK, ug) -> None:
    with pytest.raises(VcpInvalidArgumentError) as info:
        ug.create_unit("disks", vcp_sdk.get_spec("aws_disk", "small"))
    assert info.value.args == ("VCP", "not much ugroup_type vc[compute] and spec[storage]")
    assert ug.find_units() == []


def test_compute_spec_in_a_storage_group_raises_and_creates_nothing(vcp_sdk: VcpSDK, compute_spec) -> None:
    storage = vcp_sdk.create_ugroup("disks", "storage")
    with pytest.raises(VcpInvalidArgumentError) as info:
        storage.create_unit("server", compute_spec())
    assert info.value.args == ("VCP", "not much ugroup_type vc[storage] and spec[compute]")
    assert storage.find_units() == []


def test_invalid_unit_name_raises_and_creates_nothing(ug, compute_spec) -> None:
    with pytest.raises(VcpSDKError):
        ug.create_unit("bad name!", compute_spec())
    assert ug.find_units() == []


def test_create_unit_in_a_cleaned_group_raises(vcp_sdk: VcpSDK, compute_spec) -> None:
    ug = vcp_sdk.create_ugroup("cleaned")
    ug.cleanup()
    with pytest.raises(VcpSDKError) as info:
        ug.create_unit("late", compute_spec())
    assert info.value.args == ("VCP", "no yet setup unit_group")
    assert vcp_sdk.find_ugroups() == []


@pytest.mark.parametrize("name", ["123", "true", "null", "-"])
def test_yaml_ambiguous_unit_names_round_trip(ug, compute_spec, name: str) -> None:
    unit = ug.create_unit(name, compute_spec(num_nodes=0))
    assert unit.name == name
    assert [u.name for u in ug.find_units()] == [name]
    assert list(ug.df_units()["unit_name"]) == [name]
