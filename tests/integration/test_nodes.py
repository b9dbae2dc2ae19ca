"""Nodes of a unit: add, delete, power off/on, find, print; refusals that change nothing."""

from __future__ import annotations

import re

import pytest

from vcpsdk.errors import VcpInvalidArgumentError, VcpSDKError
from vcpsdk.vcpsdk import VcpSDK

from .conftest import node_ids

ONE_CONDITION = "invalid argment, one condition parameter allowed"
MULTI_NO_WAIT = "invalid argment, delete multi-node must be wait_for=True"


def nos(unit) -> list[int]:
    return [n.no for n in unit.find_nodes()]


def test_add_nodes_returns_exactly_the_new_nodes(ug, compute_spec) -> None:
    unit = ug.create_unit("grow", compute_spec())
    [old] = unit.find_nodes()
    added = unit.add_nodes(num_add_nodes=2)
    assert [n.no for n in added] == [2, 3]
    assert old.id not in {n.id for n in added}
    assert {n.state for n in added} == {"RUNNING"}
    assert nos(unit) == [1, 2, 3]
    assert unit.state == "RUNNING"


def test_add_nodes_default_is_one_node(ug, compute_spec) -> None:
    unit = ug.create_unit("grow", compute_spec())
    [added] = unit.add_nodes()
    assert added.no == 2
    assert nos(unit) == [1, 2]


def test_add_nodes_with_ip_address(ug, compute_spec, free_ip) -> None:
    unit = ug.create_unit("fixed", compute_spec())
    address = free_ip("aws")
    [added] = unit.add_nodes(ip_address=address)
    assert added.cloud_instance_address == address
    assert unit.find_ip_addresses(node_no=2) == [address]


def test_add_nodes_with_ip_addresses_ignores_the_count(ug, compute_spec, free_ip) -> None:
    unit = ug.create_unit("fixed", compute_spec(num_nodes=0))
    addresses = [free_ip("aws"), free_ip("aws")]
    added = unit.add_nodes(num_add_nodes=5, ip_addresses=addresses)
    assert [n.cloud_instance_address for n in added] == addresses
    assert sorted(unit.find_ip_addresses()) == sorted(addresses)


def test_add_nodes_without_waiting_returns_the_new_nodes(ug, compute_spec) -> None:
    unit = ug.create_unit("grow", compute_spec())
    [added] = unit.add_nodes(wait_for=False)
    assert added.no == 2
    ug.wait_unit_applied("grow")
    assert [n.state for n in unit.find_nodes()] == ["RUNNING", "RUNNING"]


def test_delete_nodes_by_count(ug, compute_spec) -> None:
    unit = ug.create_unit("shrink", compute_spec(num_nodes=3))
    left = unit.delete_nodes(num_delete_nodes=2)
    assert [n.no for n in left] == [3]  # the first two in node_no order, as the original
    assert nos(unit) == [3]


def test_delete_nodes_by_node_no(ug, compute_spec) -> None:
    unit = ug.create_unit("shrink", compute_spec(num_nodes=3))
    left = unit.delete_nodes(node_no=2)
    assert [n.no for n in left] == [1, 3]
    assert nos(unit) == [1, 3]


def test_delete_nodes_by_ip_address(ug, compute_spec) -> None:
    unit = ug.create_unit("shrink", compute_spec(num_nodes=3))
    target = unit.find_ip_addresses(node_no=1)[0]
    left = unit.delete_nodes(ip_address=target)
    assert [n.no for n in left] == [2, 3]
    assert target not in unit.find_ip_addresses()


def test_delete_nodes_by_ip_addresses(ug, compute_spec) -> None:
    unit = ug.create_unit("shrink", compute_spec(num_nodes=3))
    targets = unit.find_ip_addresses(node_no=1) + unit.find_ip_addresses(node_no=3)
    left = unit.delete_nodes(ip_addresses=targets)
    assert [n.no for n in left] == [2]


def test_delete_nodes_without_argument_deletes_one_node(ug, compute_spec) -> None:
    unit = ug.create_unit("shrink", compute_spec(num_nodes=3))
    left = unit.delete_nodes()
    assert [n.no for n in left] == [2, 3]  # the first node in node_no order, as the original


def test_delete_one_node_without_waiting(ug, compute_spec) -> None:
    unit = ug.create_unit("shrink", compute_spec(num_nodes=2))
    unit.delete_nodes(node_no=2, wait_for=False)
    ug.wait_unit_applied("shrink")
    assert nos(unit) == [1]


def test_deleting_every_node_leaves_an_empty_unit(ug, compute_spec) -> None:
    unit = ug.create_unit("emptied", compute_spec(num_nodes=2))
    assert unit.delete_nodes(num_delete_nodes=2) == []
    kept = ug.get_unit("emptied")
    assert kept is not None
    assert kept.state == "RUNNING"
    assert kept.find_nodes() == []
    assert kept.df_nodes() == []
    assert [u.name for u in ug.find_units()] == ["emptied"]


def test_deleted_node_addresses_are_released(ug, compute_spec) -> None:
    unit = ug.create_unit("recycle", compute_spec())
    [address] = unit.find_ip_addresses()
    unit.delete_nodes()
    [again] = unit.add_nodes(ip_address=address)
    assert again.cloud_instance_address == address


def test_power_off_then_on(ug, compute_spec) -> None:
    unit = ug.create_unit("power", compute_spec(num_nodes=2))
    after_off = unit.power_off_nodes(node_no=1)
    assert [(n.no, n.state) for n in after_off] == [(1, "POWER_OFF"), (2, "RUNNING")]
    assert unit.find_nodes(node_state="POWER_OFF", mapper=lambda n: n.no) == [1]
    after_on = unit.power_on_nodes()
    assert [(n.no, n.state) for n in after_on] == [(1, "RUNNING"), (2, "RUNNING")]
    assert unit.state == "RUNNING"


def test_power_off_all_nodes_makes_the_unit_power_off(ug, compute_spec) -> None:
    unit = ug.create_unit("power", compute_spec(num_nodes=2))
    after = unit.power_off_nodes(num_power_off_nodes=2)
    assert {n.state for n in after} == {"POWER_OFF"}
    assert unit.state == "POWER_OFF"
    after = unit.power_on_nodes(num_power_on_nodes=2)
    assert {n.state for n in after} == {"RUNNING"}
    assert unit.state == "RUNNING"


def test_power_on_without_powered_off_node_does_nothing(ug, compute_spec) -> None:
    unit = ug.create_unit("power", compute_spec())
    assert [n.state for n in unit.power_on_nodes()] == ["RUNNING"]  # no error, as the original


def test_unit_find_nodes_and_ip_addresses(ug, compute_spec) -> None:
    unit = ug.create_unit("finder", compute_spec(num_nodes=3))
    ug.create_unit("other", compute_spec())
    nodes = unit.find_nodes()
    assert [n.no for n in nodes] == [1, 2, 3]
    assert unit.find_nodes(node_no=2, mapper=lambda n: n.id) == [nodes[1].id]
    assert unit.find_nodes(node_id=nodes[2].id, mapper=lambda n: n.no) == [3]
    assert unit.find_nodes(cloud_instance_id=nodes[0].cloud_instance_id, mapper=lambda n: n.no) == [1]
    assert unit.find_ip_addresses() == [n.cloud_instance_address for n in nodes]
    assert unit.find_ip_addresses(node_state="RUNNING", node_no=3) == [nodes[2].cloud_instance_address]
    assert unit.find_nodes(node_state="POWER_OFF") == []


def test_print_node(ug, compute_spec, capsys) -> None:
    unit = ug.create_unit("printed", compute_spec())
    [node] = unit.find_nodes()
    print(node)
    out = capsys.readouterr().out
    assert out == (
        f"[VcNode]\n+ type[compute] no(1) state[RUNNING] id[{node.id}] "
        f"cloud_instance_address[{node.cloud_instance_address}] "
        f"cloud_instance_id[{node.cloud_instance_id}] boot_date[{node.boot_date}] "
        f"container_date[{node.container_date}] watch_mode[True]\n"
    )
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} UTC", node.boot_date)


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "selectors",
    [
        {"num_delete_nodes": 1, "node_no": 1},
        {"node_no": 1, "ip_address": "127.30.2.250"},
        {"ip_addresses": ["127.30.2.250"], "ip_address": "127.30.2.251"},
    ],
)
def test_delete_nodes_with_several_selectors_raises_and_deletes_nothing(ug, compute_spec, selectors) -> None:
    unit = ug.create_unit("safe", compute_spec(num_nodes=2))
    before = node_ids(unit)
    with pytest.raises(VcpInvalidArgumentError) as info:
        unit.delete_nodes(**selectors)
    assert info.value.args == ("VCP", ONE_CONDITION)
    assert node_ids(unit) == before


def test_power_off_with_several_selectors_raises_and_changes_nothing(ug, compute_spec) -> None:
    unit = ug.create_unit("safe", compute_spec(num_nodes=2))
    with pytest.raises(VcpInvalidArgumentError) as info:
        unit.power_off_nodes(num_power_off_nodes=1, node_no=2)
    assert info.value.args == ("VCP", ONE_CONDITION)
    assert [n.state for n in unit.find_nodes()] == ["RUNNING", "RUNNING"]


def test_delete_several_nodes_without_waiting_raises_and_deletes_nothing(ug, compute_spec) -> None:
    unit = ug.create_unit("safe", compute_spec(num_nodes=3))
    before = node_ids(unit)
    with pytest.raises(VcpInvalidArgumentError) as info:
        unit.delete_nodes(num_delete_nodes=2, wait_for=False)
    assert info.value.args == ("VCP", MULTI_NO_WAIT)
    assert node_ids(unit) == before
    assert {n.state for n in unit.find_nodes()} == {"RUNNING"}


def test_delete_two_ip_addresses_without_waiting_raises(ug, compute_spec) -> None:
    unit = ug.create_unit("safe", compute_spec(num_nodes=2))
    before = node_ids(unit)
    with pytest.raises(VcpInvalidArgumentError) as info:
        unit.delete_nodes(ip_addresses=unit.find_ip_addresses(), wait_for=False)
    assert info.value.args == ("VCP", MULTI_NO_WAIT)
    assert node_ids(unit) == before


def test_power_off_several_nodes_without_waiting_raises(ug, compute_spec) -> None:
    unit = ug.create_unit("safe", compute_spec(num_nodes=2))
    with pytest.raises(VcpInvalidArgumentError) as info:
        unit.power_off_nodes(num_power_off_nodes=2, wait_for=False)
    assert info.value.args == ("VCP", MULTI_NO_WAIT)
    assert {n.state for n in unit.find_nodes()} == {"RUNNING"}


def test_a_count_larger_than_the_unit_acts_on_every_node(ug, compute_spec) -> None:
    unit = ug.create_unit("safe", compute_spec(num_nodes=3))
    assert [n.state for n in unit.power_off_nodes(num_power_off_nodes=4)] == ["POWER_OFF"] * 3
    assert unit.delete_nodes(num_delete_nodes=5) == []


def test_delete_unknown_node_no_raises_and_deletes_nothing(ug, compute_spec) -> None:
    unit = ug.create_unit("safe", compute_spec(num_nodes=2))
    before = node_ids(unit)
    with pytest.raises(VcpInvalidArgumentError):
        unit.delete_nodes(node_no=9)
    assert node_ids(unit) == before


def test_delete_nodes_with_one_unknown_ip_deletes_nothing(ug, compute_spec) -> None:
    unit = ug.create_unit("safe", compute_spec(num_nodes=2))
    before = node_ids(unit)
    known = unit.find_ip_addresses(node_no=1)
    with pytest.raises(VcpInvalidArgumentError):
        unit.delete_nodes(ip_addresses=[*known, "127.30.2.253"])
    assert node_ids(unit) == before


def test_ip_address_on_a_storage_unit_raises_and_adds_nothing(vcp_sdk: VcpSDK) -> None:
    storage = vcp_sdk.create_ugroup("disks", "storage")
    unit = storage.create_unit("vols", vcp_sdk.get_spec("aws_disk", "small"))
    before = node_ids(unit)
    for kwargs in ({"ip_address": "127.30.2.249"}, {"ip_addresses": ["127.30.2.249"]}):
        with pytest.raises(VcpInvalidArgumentError) as info:
            unit.add_nodes(**kwargs)
        assert info.value.args == ("VCP", "can't set ip_address(es) to storage")
    assert node_ids(unit) == before


def test_ip_addresses_not_a_list_raises(ug, compute_spec) -> None:
    unit = ug.create_unit("safe", compute_spec())
    before = node_ids(unit)
    with pytest.raises(VcpSDKError) as info:
        unit.add_nodes(ip_addresses="127.30.2.248")
    assert info.value.args == ("VCP", "ip_addresses is not list")
    assert node_ids(unit) == before


def test_add_zero_nodes_raises_and_adds_nothing(ug, compute_spec) -> None:
    unit = ug.create_unit("safe", compute_spec())
    before = node_ids(unit)
    with pytest.raises(VcpInvalidArgumentError):
        unit.add_nodes(num_add_nodes=0)
    assert node_ids(unit) == before
