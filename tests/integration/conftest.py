"""Helpers of the integration tests: fixed addresses, ready specs, a group.

More users come from the root ``make_vcp_sdk`` (vcpsdk.testing.pytest_plugin)."""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from vcpsdk.vcpsdk import VcpSDK, VcpUnitGroupClass

#: sandbox masks of the providers the tests use (reference: the controller's VPN catalog)
MASKS = {
    "aws": "127.30.2.0/24",
    "azure": "127.20.2.0/24",
    "oracle": "127.24.2.0/24",
    "sakura": "127.23.1.0/24",
}
# fixed addresses are handed out from the top of each range (host 240 downwards) so that
# they never meet the automatic ones, which the sandbox picks from host 10 upwards
_fixed_hosts = {provider: itertools.count(240, -1) for provider in MASKS}


@pytest.fixture
def free_ip() -> Callable[[str], str]:
    """``free_ip('aws')``: an address of the provider's range that no other test uses."""

    def pick(provider: str) -> str:
        network = ipaddress.ip_network(MASKS[provider])
        return str(network.network_address + next(_fixed_hosts[provider]))

    return pick


@pytest.fixture
def compute_spec(vcp_sdk: VcpSDK, vcp_pubkey: Path) -> Callable[..., object]:
    """``compute_spec(provider='aws', flavor='small', **attributes)``: a ready compute spec."""

    def make(provider: str = "aws", flavor: str = "small", **attributes: object) -> object:
        spec = vcp_sdk.get_spec(provider, flavor)
        spec.set_ssh_pubkey(str(vcp_pubkey))
        for key, value in attributes.items():
            setattr(spec, key, value)
        return spec

    return make


@pytest.fixture
def ug(vcp_sdk: VcpSDK) -> VcpUnitGroupClass:
    """An empty compute UnitGroup of the test's user."""
    return vcp_sdk.create_ugroup("group")


def node_ids(unit_or_group: object) -> set[str]:
    """Ids of every node (or disk) of a unit or UnitGroup."""
    return {n.id for n in unit_or_group.find_nodes()}  # type: ignore[attr-defined]
