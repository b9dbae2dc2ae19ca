"""The sandbox backend's private network mode, without namespaces: catalog, fixed IPs, guard.

The loopback catalog stays the default outside ``vcc sandbox run``; inside it
(``VCC_SANDBOX_NETWORK=private``) the original sample networks are served.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

from vcpsdk.controller.backends.base import InvalidRequest
from vcpsdk.controller.backends.sandbox import SandboxBackend
from vcpsdk.controller.backends.sandbox.network import PRIVATE_NETWORK_ENV, PrivateNetworkError

ORIGINAL = {
    "aws": "172.30.2.0/24",
    "aws_spot": "172.30.2.0/24",
    "azure": "172.20.2.0/24",
    "oracle": "172.24.2.0/24",
    "sakura": "172.23.1.0/24",
}


@pytest.fixture
def private(monkeypatch: pytest.MonkeyPatch) -> None:
    """Look like the inside of ``vcc sandbox run``: the variable set, lo the only interface."""
    monkeypatch.setenv(PRIVATE_NETWORK_ENV, "private")
    monkeypatch.setattr(socket, "if_nameindex", lambda: [(1, "lo")])


def _masks(backend: SandboxBackend) -> dict[str, str]:
    return {
        provider: entries["default"]["private_network_ipmask"]
        for provider, entries in backend.vpn_catalog().items()
        if "private_network_ipmask" in entries.get("default", {})
    }


def test_outside_the_loopback_catalog_stays_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PRIVATE_NETWORK_ENV, raising=False)
    backend = SandboxBackend(tmp_path)
    masks = _masks(backend)
    assert masks["aws"] == "127.30.2.0/24"
    assert all(ipaddress.ip_network(m).subnet_of(ipaddress.ip_network("127.0.0.0/8")) for m in masks.values())
    with pytest.raises(InvalidRequest, match="is not a loopback address"):
        backend.plan_addresses("aws", backend.vpn_catalog()["aws"]["default"], ["172.30.2.100"], 1, set())


@pytest.mark.usefixtures("private")
def test_inside_the_original_sample_networks_are_served(tmp_path: Path) -> None:
    backend = SandboxBackend(tmp_path)
    masks = _masks(backend)
    assert {p: masks[p] for p in ORIGINAL} == ORIGINAL
    others = {p: ipaddress.ip_network(m) for p, m in masks.items() if p not in ORIGINAL}
    assert len(others) >= 8  # vmware, gcp, hokudai, aic, abc, chameleon, proxmox, mdx2
    networks = [ipaddress.ip_network(m) for p, m in masks.items() if p != "aws_spot"]
    for i, network in enumerate(networks):  # each compute provider its own private /24
        assert network.prefixlen == 24 and network.is_private and not network.is_loopback
        assert not any(network.overlaps(other) for other in networks[i + 1 :]), network
    catalog = backend.vpn_catalog()
    assert catalog["sakura"]["default"]["sakura_private_subnet_gateway_ip"] == "172.23.1.1"
    assert catalog["onpremises"]["default"] == {}


@pytest.mark.usefixtures("private")
def test_inside_fixed_ips_of_the_notebooks_are_accepted(tmp_path: Path) -> None:
    backend = SandboxBackend(tmp_path)
    aws = backend.vpn_catalog()["aws"]["default"]
    assert backend.plan_addresses("aws", aws, ["172.30.2.100", "172.30.2.120"], 3, set()) == [
        "172.30.2.100",
        "172.30.2.120",
        "172.30.2.10",
    ]
    with pytest.raises(InvalidRequest, match="outside private_network_ipmask 172.30.2.0/24"):
        backend.plan_addresses("aws", aws, ["172.31.0.5"], 1, set())
    with pytest.raises(InvalidRequest, match="keeps for the controller"):
        backend.plan_addresses("onpremises", {}, ["127.30.2.5"], 1, set())
    # on-premises addresses as given
    assert backend.plan_addresses("onpremises", {}, ["192.168.1.10"], 1, set()) == ["192.168.1.10"]


@pytest.mark.usefixtures("private")
@pytest.mark.parametrize(
    ("provider", "address", "reason"),
    [
        ("aws", "172.30.2.1", "is the gateway of 172.30.2.0/24"),
        ("sakura", "172.23.1.1", "is the gateway of 172.23.1.0/24"),
        ("onpremises", "255.255.255.255", "cannot be a node address"),
        ("onpremises", "240.0.0.7", "cannot be a node address"),
        ("onpremises", "0.0.0.0", "cannot be a node address"),
        ("onpremises", "224.0.0.5", "cannot be a node address"),
        ("aws", "172.30.2.255", "network or broadcast address"),
    ],
)
def test_inside_gateways_and_broadcast_addresses_are_refused(
    tmp_path: Path, provider: str, address: str, reason: str
) -> None:
    backend = SandboxBackend(tmp_path)
    entry = backend.vpn_catalog()[provider]["default"]
    with pytest.raises(InvalidRequest, match=reason):
        backend.plan_addresses(provider, entry, [address], 1, set())


def test_outside_a_private_address_points_to_the_private_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PRIVATE_NETWORK_ENV, raising=False)
    backend = SandboxBackend(tmp_path)
    aws = backend.vpn_catalog()["aws"]["default"]
    with pytest.raises(InvalidRequest, match="vcc sandbox run -- jupyter lab"):
        backend.plan_addresses("aws", aws, ["172.30.2.100"], 1, set())


def test_private_mode_is_refused_outside_a_namespace_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PRIVATE_NETWORK_ENV, "private")
    monkeypatch.setattr(socket, "if_nameindex", lambda: [(1, "lo"), (2, "eth0")])
    with pytest.raises(PrivateNetworkError, match="has no interface but lo; this one has eth0"):
        SandboxBackend(tmp_path)
