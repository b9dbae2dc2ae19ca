"""Sandbox address rules: automatic addresses from the provider's range, fixed ones checked.

'10.1.2.3' appears only as a value the controller must refuse: nothing connects to it.
"""

from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor

import pytest

from vcpsdk.errors import VcpInvalidArgumentError
from vcpsdk.vcpsdk import VcpSDK

from .conftest import MASKS, node_ids

REFUSED = [
    pytest.param("10.1.2.3", "not a loopback address", id="non-loopback"),
    pytest.param("127.0.5.5", "127.0.0.0/16", id="reserved-127.0/16"),
    pytest.param("127.20.2.5", "outside private_network_ipmask 127.30.2.0/24", id="outside-aws-mask"),
]


def _assert_refused(info: pytest.ExceptionInfo, address: str, reason: str) -> None:
    error = info.value
    assert error.args[0] == "VCP"
    assert error.http_status == 400
    assert f"ip_address[{address}]" in str(error)
    assert reason in str(error)


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_bad_fixed_ip_in_spec_is_refused_and_creates_no_unit(ug, compute_spec, address, reason) -> None:
    ug.create_unit("existing", compute_spec())
    before = node_ids(ug)
    with pytest.raises(VcpInvalidArgumentError) as info:
        ug.create_unit("fixed", compute_spec(ip_addresses=[address]))
    _assert_refused(info, address, reason)
    assert ug.get_unit("fixed") is None
    assert [u.name for u in ug.find_units()] == ["existing"]
    assert node_ids(ug) == before


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_bad_fixed_ip_in_add_nodes_is_refused_and_adds_no_node(ug, compute_spec, address, reason) -> None:
    unit = ug.create_unit("existing", compute_spec())
    before = node_ids(unit)
    with pytest.raises(VcpInvalidArgumentError) as info:
        unit.add_nodes(ip_addresses=[address])
    _assert_refused(info, address, reason)
    assert node_ids(unit) == before
    assert unit.state == "RUNNING"


def test_one_bad_address_among_good_ones_creates_nothing(ug, compute_spec, free_ip) -> None:
    good = free_ip("aws")
    with pytest.raises(VcpInvalidArgumentError) as info:
        ug.create_unit("mixed", compute_spec(ip_addresses=[good, "10.1.2.3"]))
    _assert_refused(info, "10.1.2.3", "not a loopback address")
    assert ug.find_units() == []
    # the good address was not taken by the refused request
    unit = ug.create_unit("later", compute_spec(ip_addresses=[good]))
    assert unit.find_ip_addresses() == [good]


def test_address_in_use_is_refused_for_a_new_unit(ug, compute_spec, free_ip) -> None:
    taken = free_ip("aws")
    ug.create_unit("owner", compute_spec(ip_addresses=[taken]))
    before = node_ids(ug)
    with pytest.raises(VcpInvalidArgumentError) as info:
        ug.create_unit("thief", compute_spec(ip_addresses=[taken]))
    _assert_refused(info, taken, "is not available")
    assert ug.get_unit("thief") is None
    assert node_ids(ug) == before


def test_address_in_use_is_refused_for_add_nodes(ug, compute_spec) -> None:
    unit = ug.create_unit("owner", compute_spec())
    [taken] = unit.find_ip_addresses()
    with pytest.raises(VcpInvalidArgumentError) as info:
        unit.add_nodes(ip_address=taken)
    _assert_refused(info, taken, "is not available")
    assert unit.find_ip_addresses() == [taken]


def test_address_in_use_by_another_user_is_refused(
    ug, compute_spec, make_vcp_sdk, vcp_pubkey, free_ip
) -> None:
    taken = free_ip("aws")
    ug.create_unit("mine", compute_spec(ip_addresses=[taken]))
    other = make_vcp_sdk()
    their_group = other.create_ugroup("theirs")
    spec = other.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(vcp_pubkey))
    spec.ip_addresses = [taken]
    with pytest.raises(VcpInvalidArgumentError) as info:
        their_group.create_unit("copy", spec)
    _assert_refused(info, taken, "is not available")
    assert their_group.find_units() == []


def test_duplicate_address_in_one_request_is_refused(ug, compute_spec, free_ip) -> None:
    address = free_ip("aws")
    with pytest.raises(VcpInvalidArgumentError) as info:
        ug.create_unit("twice", compute_spec(ip_addresses=[address, address]))
    _assert_refused(info, address, "is not available")
    assert ug.find_units() == []


@pytest.mark.parametrize("provider", sorted(MASKS))
def test_automatic_addresses_come_from_the_provider_range(ug, compute_spec, provider) -> None:
    unit = ug.create_unit(provider, compute_spec(provider, num_nodes=2))
    addresses = unit.find_ip_addresses()
    assert len(set(addresses)) == 2
    network = ipaddress.ip_network(MASKS[provider])
    for address in addresses:
        assert ipaddress.ip_address(address) in network


def test_fixed_ip_is_honoured(ug, compute_spec, free_ip) -> None:
    wanted = [free_ip("azure"), free_ip("azure")]
    unit = ug.create_unit("pinned", compute_spec("azure", ip_addresses=wanted))
    assert unit.find_ip_addresses() == wanted
    assert [n.no for n in unit.find_nodes()] == [1, 2]


def test_onpremises_without_addresses_is_refused(vcp_sdk: VcpSDK, ug, vcp_pubkey) -> None:
    spec = vcp_sdk.get_spec("onpremises", "default")
    spec.set_ssh_pubkey(str(vcp_pubkey))
    with pytest.raises(VcpInvalidArgumentError) as info:
        ug.create_unit("onprem", spec)
    assert "ip_address_list is required" in str(info.value)
    assert ug.find_units() == []


def test_concurrent_units_never_share_an_address(vcp_sdk: VcpSDK, compute_spec) -> None:
    groups = [vcp_sdk.create_ugroup(f"parallel{i}") for i in range(4)]
    specs = [compute_spec(num_nodes=3) for _ in groups]
    with ThreadPoolExecutor(max_workers=len(groups)) as pool:
        units = list(pool.map(lambda g, s: g.create_unit("u", s), groups, specs))
    addresses = [a for unit in units for a in unit.find_ip_addresses()]
    assert len(addresses) == 12
    assert len(set(addresses)) == 12


@pytest.mark.parametrize("address", ["127.30.2.0", "127.30.2.255"])
def test_network_and_broadcast_addresses_are_refused(ug, compute_spec, address) -> None:
    with pytest.raises(VcpInvalidArgumentError) as info:
        ug.create_unit("edge", compute_spec(ip_addresses=[address]))
    assert f"ip_address[{address}]" in str(info.value)
    assert ug.find_units() == []
