"""The private sandbox network: node addresses of the notebooks' own networks.

``vcc sandbox run`` (``vcpsdk/controller/netns.py``) starts the controller inside a network
namespace of its own, whose only interface is ``lo``, and sets ``VCC_SANDBOX_NETWORK=private``.
The sandbox backend then

* serves the original sample networks (:func:`private_catalog`: the loopback catalog with
  ``127.x`` turned back into ``172.x``, e.g. aws ``172.30.2.0/24``);
* accepts fixed IPs of those networks (and any on-premises address outside 127.0.0.0/8);
* puts a node's address on ``lo`` (``ip addr add <address>/32 dev lo``) only while the node
  is up (:class:`NodeAddresses`): a deleted, powered-off, suspended or stopped node has no
  address, so ping and ssh to it fail with "Network is unreachable".

The controller refuses private mode in a namespace that has any interface but ``lo``
(:func:`check_private_namespace`), so it never adds addresses to a host's interfaces.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from importlib import resources
from typing import Any

import yaml

from vcpsdk.controller.backends.toolkit.addresses import Address, AddressPolicy, Network

#: environment variable set by ``vcc sandbox run`` inside its namespace: ``private``
PRIVATE_NETWORK_ENV = "VCC_SANDBOX_NETWORK"
#: what the loopback catalog's networks become in the private network (``127.30.2.0/24`` → ``172.30.2.0/24``)
LOOPBACK_PREFIX, PRIVATE_PREFIX = "127.", "172."
#: keys of the private catalog that differ from the loopback one turned into 172.x
PRIVATE_OVERRIDES = "sandbox_catalog_private.yml"
#: the only interface a private sandbox namespace has
LOOPBACK_INTERFACE = "lo"


class PrivateNetworkError(RuntimeError):
    """The private network cannot be used here (not inside a namespace of its own, no ``ip``)."""


def private_network_requested() -> bool:
    """True when the controller runs in ``vcc sandbox run``'s namespace (``VCC_SANDBOX_NETWORK=private``)."""
    return os.environ.get(PRIVATE_NETWORK_ENV, "") == "private"


def interfaces() -> list[str]:
    """The names of the network interfaces this process sees."""
    return sorted(name for _, name in socket.if_nameindex())


def check_private_namespace() -> None:
    """Refuse to manage addresses unless this process's network namespace has only ``lo``.

    Raises:
        PrivateNetworkError: another interface exists (this is the host's network) or
            ``ip`` (iproute2) is missing.
    """
    others = [name for name in interfaces() if name != LOOPBACK_INTERFACE]
    if others:
        raise PrivateNetworkError(
            f"{PRIVATE_NETWORK_ENV}=private is only for the namespace of vcc sandbox run, which has "
            f"no interface but lo; this one has {', '.join(others)}"
        )
    if shutil.which("ip") is None:
        raise PrivateNetworkError("the private sandbox network needs ip (apt-get install iproute2)")


def _to_private(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(LOOPBACK_PREFIX):
        return PRIVATE_PREFIX + value.removeprefix(LOOPBACK_PREFIX)
    if isinstance(value, dict):
        return {k: _to_private(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_private(v) for v in value]
    return value


def private_catalog(
    loopback_catalog: dict[str, dict[str, dict[str, Any]]],
) -> dict[str, dict[str, dict[str, Any]]]:
    """The catalog of the private network: every ``127.x`` value of the loopback catalog
    (masks, gateways) becomes ``172.x`` again, as in NII's sample catalogs; the entries of
    ``sandbox_catalog_private.yml`` replace the keys that would leave 172.16.0.0/12.

    Example:
        >>> private_catalog({"aws": {"default": {"private_network_ipmask": "127.30.2.0/24"}}})
        {'aws': {'default': {'private_network_ipmask': '172.30.2.0/24'}}}
    """
    catalog: dict[str, dict[str, dict[str, Any]]] = _to_private(loopback_catalog)
    text = resources.files("vcpsdk.controller").joinpath(PRIVATE_OVERRIDES).read_text()
    for provider, entries in (yaml.safe_load(text) or {}).items():
        for name, values in entries.items():
            if name in catalog.get(provider, {}):
                catalog[provider][name].update(values)
    return catalog


def _private_only(address: Address, network: Network | None) -> str | None:
    """Fixed addresses of the private network: not loopback (kept for the controller), not
    multicast, unspecified, link-local, reserved or broadcast, not the network's gateway (its
    first host: the catalog's gateways, e.g. ``sakura_private_subnet_gateway_ip``)."""
    if address.is_loopback:
        return "is a loopback address, which the private sandbox network keeps for the controller" + (
            f"; use an address in {network}" if network else ""
        )
    if address.is_multicast or address.is_unspecified or address.is_link_local or address.is_reserved:
        # is_reserved: 240.0.0.0/4 with the limited broadcast 255.255.255.255
        return "cannot be a node address" + (f"; use an address in {network}" if network else "")
    if network is not None and int(address) == int(network.network_address) + 1:
        # the clouds' subnet router (aws, azure...), sakura_private_subnet_gateway_ip, vmware's gateway
        return f"is the gateway of {network}; use another host address in {network}"
    return None


#: automatic addresses from host offset 10 of the provider's range, IPv4, never loopback
PRIVATE_ADDRESS_POLICY = AddressPolicy(ipv4_only=True, first_auto_offset=10, check=_private_only)


class NodeAddresses:
    """Adds and removes node addresses on ``lo`` of the private namespace (event loop side)."""

    def __init__(self, ip: str = "ip") -> None:
        self.ip = ip

    async def _ip(self, *args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            self.ip, *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _, err = await process.communicate()
        return process.returncode or 0, err.decode(errors="replace").strip()

    async def add(self, address: str) -> None:
        """Give ``lo`` the node's address (already there: nothing to do).

        Raises:
            OSError: ``ip`` refused the address.
        """
        status, err = await self._ip("addr", "add", f"{address}/32", "dev", LOOPBACK_INTERFACE)
        if status != 0 and "File exists" not in err:
            raise OSError(f"cannot add node address {address} to {LOOPBACK_INTERFACE}: {err}")

    async def remove(self, address: str) -> None:
        """Take the node's address off ``lo`` (already gone: nothing to do)."""
        await self._ip("addr", "del", f"{address}/32", "dev", LOOPBACK_INTERFACE)
