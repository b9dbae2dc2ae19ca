"""Address planning: fixed IPs checked against the private network, automatic ones chosen.

Before anything is created, the controller asks the backend for one address per new node
(:meth:`vcpsdk.controller.backends.base.Backend.plan_addresses`).  The rules are the same
for every cloud and only a few facts differ, which an :class:`AddressPolicy` states:

* a fixed address must be an IP address (IPv4 only, for most clouds) inside the catalog
  entry's ``private_network_ipmask``;
* the network's first ``reserved_low`` and last ``reserved_high`` addresses are not
  usable (network and broadcast addresses; AWS also keeps the first four);
* an address already used by a node of this controller, or named twice, is refused;
* the other nodes get the next free addresses of the network (from host offset
  ``first_auto_offset`` on, then the low ones), or ``None`` when the cloud assigns them.

Every refusal is an :class:`~vcpsdk.controller.backends.toolkit.errors.InvalidRequest`
naming the address (``ip_address[...]``) and the allowed range.

Example::

    plan_addresses("aws", {"private_network_ipmask": "10.1.0.0/24"}, ["10.1.0.20"], 3,
                   {"10.1.0.10"}, AddressPolicy())
    # ['10.1.0.20', '10.1.0.11', '10.1.0.12']
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from vcpsdk.controller.backends.toolkit.errors import InvalidRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: extra check of a fixed address: returns the reason to refuse it, or None
AddressCheck = Callable[[Address, Network | None], str | None]


@dataclass(frozen=True)
class AddressPolicy:
    """What differs between clouds in address planning.

    Attributes:
        ipv4_only: refuse IPv6 addresses.
        reserved_low: host offsets below this are not usable (1: the network address).
        reserved_high: this many addresses at the top are not usable (1: broadcast).
        reserved_reason: why a reserved address is refused (``{network}`` is filled in).
        assign: choose automatic addresses (False: the cloud assigns them, ``None``).
        first_auto_offset: automatic addresses start at this host offset.
        check: an extra check of every fixed address (e.g. "loopback only").
    """

    ipv4_only: bool = True
    reserved_low: int = 1
    reserved_high: int = 1
    reserved_reason: str = "is the network or broadcast address of {network}; use a host address"
    assign: bool = True
    first_auto_offset: int = 10
    check: AddressCheck | None = None


def cloud_assigned(cloud: str, reserved_low: int = 4) -> AddressPolicy:
    """The policy of a cloud that assigns automatic addresses itself and keeps the first
    ``reserved_low`` addresses and the last one of a subnet (AWS, Azure).

    Example::

        >>> cloud_assigned("Azure").assign
        False
    """
    return AddressPolicy(
        reserved_low=reserved_low,
        reserved_reason=f"is reserved by {cloud} in {{network}} (the first {reserved_low} addresses "
        "and the last one); use another address",
        assign=False,
    )


def catalog_network(catalog: dict[str, Any]) -> Network | None:
    """The ``private_network_ipmask`` of a VPN catalog entry, or None when it has none."""
    mask = catalog.get("private_network_ipmask")
    return ipaddress.ip_network(str(mask), strict=False) if mask else None


def plan_addresses(
    provider: str,
    catalog: dict[str, Any],
    fixed: list[str],
    count: int,
    in_use: AbstractSet[str | None],
    policy: AddressPolicy,
) -> list[str | None]:
    """One address per new node: the ``fixed`` ones (checked), then automatic ones.

    Args:
        provider: the unit's provider (named in messages).
        catalog: the unit's VPN catalog entry (its ``private_network_ipmask``).
        fixed: addresses the user asked for.
        count: how many nodes are created (at least ``len(fixed)``).
        in_use: addresses of the controller's existing nodes.
        policy: the cloud's rules.

    Returns:
        ``count`` entries (at least ``len(fixed)``): an address, or None when the cloud
        assigns it.

    Raises:
        InvalidRequest: a bad or taken fixed address, no mask to choose from, or no
            free address left.
    """
    network = catalog_network(catalog)
    where = f" in private_network_ipmask {network}" if network else ""
    chosen: list[str | None] = []
    for text in fixed:
        address = check_fixed(text, provider, network, policy)
        if address in in_use or address in chosen:
            raise InvalidRequest(f"ip_address[{address}] is not available; choose another address{where}")
        chosen.append(address)
    missing = max(0, count - len(chosen))
    if not missing:
        return chosen
    if not policy.assign:
        return chosen + [None] * missing
    if network is None:
        raise InvalidRequest(
            f"provider {provider} has no private_network_ipmask: "
            "ip_address_list is required (one address per node)"
        )
    taken = set(in_use) | {a for a in chosen if a}
    for host in candidate_hosts(network, policy):
        if str(host) not in taken:
            chosen.append(str(host))
            missing -= 1
            if not missing:
                return chosen
    raise InvalidRequest(
        f"no free address left in {network} for {count} node(s) of provider {provider}; "
        "delete nodes you no longer need, or ask the operator for a larger private_network_ipmask"
    )


def check_fixed(text: str, provider: str, network: Network | None, policy: AddressPolicy) -> str:
    """``text`` as a usable fixed address of ``network``, or :class:`InvalidRequest`."""
    where = f" in private_network_ipmask {network}" if network else ""
    kind = "an IPv4 address" if policy.ipv4_only else "an IP address"
    try:
        address: Address = ipaddress.ip_address(str(text).strip())
    except ValueError:
        raise InvalidRequest(f"ip_address[{text}] is not {kind}; use an address{where}") from None
    if policy.ipv4_only and address.version != 4:
        raise InvalidRequest(f"ip_address[{text}] is not {kind}; use an address{where}")
    if policy.check is not None:
        reason = policy.check(address, network)
        if reason:
            raise InvalidRequest(f"ip_address[{address}] {reason}")
    if network is not None:
        if address not in network:
            raise InvalidRequest(
                f"ip_address[{address}] is outside private_network_ipmask {network} of provider {provider}"
            )
        offset = int(address) - int(network.network_address)
        if offset < policy.reserved_low or offset >= network.num_addresses - policy.reserved_high:
            raise InvalidRequest(f"ip_address[{address}] {policy.reserved_reason.format(network=network)}")
    return str(address)


def candidate_hosts(network: Network, policy: AddressPolicy) -> Iterator[Address]:
    """Usable hosts of ``network`` from ``first_auto_offset`` upwards, then the low ones.

    The low ones start at offset 2 at the earliest (offset 1 is usually a gateway).
    """
    first = int(network.network_address)
    end = network.num_addresses - policy.reserved_high
    start = policy.first_auto_offset
    for offset in range(start, end):
        yield ipaddress.ip_address(first + offset)
    for offset in range(max(policy.reserved_low, 2), min(start, end)):
        yield ipaddress.ip_address(first + offset)
