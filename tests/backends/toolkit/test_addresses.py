"""Address planning inside the private network, one implementation for every backend."""

from __future__ import annotations

import ipaddress

import pytest

from vcpsdk.controller.backends.toolkit.addresses import AddressPolicy, candidate_hosts, plan_addresses
from vcpsdk.controller.backends.toolkit.errors import InvalidRequest

CATALOG = {"private_network_ipmask": "10.1.0.0/28"}  # 16 addresses: .0 network, .15 broadcast
POLICY = AddressPolicy()


def plan(fixed: list[str], count: int, in_use: set[str] | None = None, policy: AddressPolicy = POLICY):
    return plan_addresses("demo", CATALOG, fixed, count, in_use or set(), policy)


def test_automatic_addresses_start_at_offset_10_then_the_low_ones() -> None:
    assert plan([], 3) == ["10.1.0.10", "10.1.0.11", "10.1.0.12"]
    hosts = [str(h) for h in candidate_hosts(ipaddress.ip_network("10.1.0.0/28"), POLICY)]
    assert hosts == [f"10.1.0.{n}" for n in (10, 11, 12, 13, 14, 2, 3, 4, 5, 6, 7, 8, 9)]


def test_addresses_in_use_and_fixed_ones_are_skipped() -> None:
    assert plan(["10.1.0.11"], 3, {"10.1.0.10"}) == ["10.1.0.11", "10.1.0.12", "10.1.0.13"]


def test_no_free_address_left() -> None:
    with pytest.raises(InvalidRequest, match="no free address left in 10.1.0.0/28 for 14 node"):
        plan([], 14)
    assert len(plan([], 13)) == 13


def test_without_a_mask_addresses_must_be_given() -> None:
    with pytest.raises(InvalidRequest, match="ip_address_list is required"):
        plan_addresses("onpremises", {}, [], 1, set(), POLICY)
    assert plan_addresses("onpremises", {}, ["192.0.2.7"], 1, set(), POLICY) == ["192.0.2.7"]


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("10.1.0.0", "ip_address[10.1.0.0] is the network or broadcast address of 10.1.0.0/28"),
        ("10.1.0.15", "ip_address[10.1.0.15] is the network or broadcast address of 10.1.0.0/28"),
        ("10.1.1.3", "ip_address[10.1.1.3] is outside private_network_ipmask 10.1.0.0/28 of provider demo"),
        (
            "10.1.0.300",
            "ip_address[10.1.0.300] is not an IPv4 address; use an address in private_network_ipmask",
        ),
        ("::1", "ip_address[::1] is not an IPv4 address"),
        (
            "10.1.0.5",
            "ip_address[10.1.0.5] is not available; choose another address in private_network_ipmask",
        ),
    ],
)
def test_bad_fixed_addresses(address: str, message: str) -> None:
    with pytest.raises(InvalidRequest) as failure:
        plan([address], 1, {"10.1.0.5"})
    assert str(failure.value).startswith(message)


def test_the_same_address_twice() -> None:
    with pytest.raises(InvalidRequest, match=r"ip_address\[10.1.0.9\] is not available"):
        plan(["10.1.0.9", "10.1.0.9"], 2)


def test_a_cloud_that_assigns_and_reserves_more() -> None:
    cloud = AddressPolicy(reserved_low=4, reserved_reason="is reserved in {network}", assign=False)
    assert plan(["10.1.0.4"], 3, policy=cloud) == ["10.1.0.4", None, None]
    with pytest.raises(InvalidRequest, match=r"^ip_address\[10.1.0.3\] is reserved in 10.1.0.0/28$"):
        plan(["10.1.0.3"], 1, policy=cloud)


def test_an_extra_check() -> None:
    def even_only(address, network) -> str | None:
        return "is odd" if int(address) % 2 else None

    policy = AddressPolicy(ipv4_only=False, check=even_only)
    with pytest.raises(InvalidRequest, match=r"^ip_address\[10.1.0.3\] is odd$"):
        plan(["10.1.0.3"], 1, policy=policy)
    assert plan(["10.1.0.4"], 1, policy=policy) == ["10.1.0.4"]
