"""Network reservations and subnets: ``vcp.get_extension("chameleon_network")``."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from typing import Any

from vcpsdk.extensions.chameleon.errors import (
    ChameleonConflictError,
    ChameleonError,
    ChameleonInvalidArgumentError,
    ChameleonNotFoundError,
    fail,
    logger,
)
from vcpsdk.extensions.chameleon.leases import LeaseOwner, VcpExtResourceChameleonHostLeaseInfo
from vcpsdk.extensions.chameleon.openrc import catalog_entry
from vcpsdk.extensions.chameleon.settings import DEFAULT_PHYSICAL_NETWORK, NETWORK_RESOURCE_TYPE


class VcpExtResourceChameleonNetwork(LeaseOwner):
    """Reserve a Chameleon VLAN network and give it a subnet: ``vcp.get_extension("chameleon_network")``.

    Not needed when the nodes use a shared network such as ``sharedwan1``.  The network is
    named by the VPN catalog; Blazar creates it when its lease starts, then
    :meth:`create_subnet` adds the subnet ``private_network_ipmask``.

    VPN catalog keys read by :meth:`setup` (the manual does not document Chameleon's; these
    are this SDK's):

    * ``chameleon_network_name`` (or ``network_name``): the network's name, required;
    * ``private_network_ipmask``: the subnet's CIDR, e.g. ``"192.168.10.0/24"``;
    * ``chameleon_subnet_name``: the subnet's name (default ``<network_name>-subnet``);
    * ``chameleon_physical_network``: the physical network to reserve a VLAN on (default
      ``physnet1``);
    * ``cloud_instance_dns_servers``: DNS servers of the subnet (optional).

    Attributes (after :meth:`setup`):
        network_name, subnet_name, subnet_cidr, physical_network, dns_servers, vpn_catalog.

    Args:
        provider_name, config_dir, token, verbose: as :class:`VcpChameleonOpenrc`.

    Example::

        net = vcp.get_extension("chameleon_network")
        net.setup(vcp.get_vpn_catalog("chameleon"))
        if not net.network_exists():
            net_lease = net.create_network(end_date="2020-08-07 09:00")
    """

    def _init_attributes(self) -> None:
        self.network_name: str | None = None
        self.subnet_name: str | None = None
        self.subnet_cidr: str | None = None
        self.physical_network: str = DEFAULT_PHYSICAL_NETWORK
        self.dns_servers: list[str] = []
        self.vpn_catalog: Any = None

    def setup(self, vpn_catalog: Any) -> None:
        """Read the network's settings from the VPN catalog (nothing is sent).

        Args:
            vpn_catalog: ``vcp.get_vpn_catalog("chameleon")``: the catalog entry itself, or
                the provider-level mapping ``{entry_name: {...}}`` (the entry named by
                ``chameleon.private_network`` is used).

        Returns:
            ``None``; :attr:`network_name` and the other attributes are set.

        Raises:
            ChameleonInvalidArgumentError: not a dict, no ``chameleon_network_name`` /
                ``network_name``, an invalid ``private_network_ipmask``.

        Example::

            net.setup({"chameleon_network_name": "vcp-net",
                       "private_network_ipmask": "192.168.10.0/24"})
        """
        entry = catalog_entry(vpn_catalog, self._private_network)
        name = entry.get("chameleon_network_name") or entry.get("network_name")
        if not isinstance(name, str) or not name.strip():
            fail(
                ChameleonInvalidArgumentError,
                "chameleon: setup: the VPN catalog names no network: add "
                "chameleon_network_name (e.g. 'sharedwan1', or the name of the network to "
                f"reserve); keys present: {', '.join(sorted(entry)) or '(none)'}",
            )
        cidr = entry.get("private_network_ipmask")
        if cidr:
            try:
                cidr = str(ipaddress.ip_network(str(cidr), strict=False))
            except ValueError:
                fail(
                    ChameleonInvalidArgumentError,
                    f"chameleon: setup: private_network_ipmask {cidr!r} is not a CIDR like '192.168.10.0/24'",
                )
        dns = entry.get("cloud_instance_dns_servers") or []
        if isinstance(dns, str):
            dns = [d.strip() for d in dns.split(",") if d.strip()]
        self.network_name = name.strip()
        self.subnet_cidr = cidr or None
        self.subnet_name = str(entry.get("chameleon_subnet_name") or f"{self.network_name}-subnet")
        self.physical_network = str(entry.get("chameleon_physical_network") or DEFAULT_PHYSICAL_NETWORK)
        self.dns_servers = [str(d) for d in dns]
        self.vpn_catalog = vpn_catalog

    def _require_setup(self, what: str) -> str:
        if not self.network_name:
            fail(ChameleonError, f"chameleon: {what}: call setup(vpn_catalog) first")
        return self.network_name

    def get_network(self) -> dict[str, Any] | None:
        """The Neutron network named :attr:`network_name` (``GET /v2.0/networks?name=...``).

        Returns:
            the network as Neutron shows it (``id``, ``name``, ``status``, ``shared``,
            ``subnets``, ...), or ``None`` when the project sees no such network.

        Raises:
            ChameleonError: :meth:`setup` was not called.
            ChameleonConfigError, ChameleonAuthError, ChameleonConnectionError: as
                :meth:`VcpChameleonOpenrc.authenticate`.

        Example::

            print(net.get_network()["id"])
        """
        name = self._require_setup("get_network")
        answer = self._api("network", "GET", "/v2.0/networks", f"get_network({name})", params={"name": name})
        networks = answer.get("networks") if isinstance(answer, Mapping) else None
        matching = [n for n in networks or [] if isinstance(n, Mapping) and n.get("name") == name]
        return dict(matching[0]) if matching else None

    def network_exists(self) -> bool:
        """Whether the network :attr:`network_name` exists (a shared one counts).

        Returns:
            ``True`` if Neutron lists a network of that name for the project.

        Raises:
            as :meth:`get_network`.

        Example::

            assert net.network_exists()
        """
        return self.get_network() is not None

    def create_network(
        self,
        start_date: str | None = None,
        end_date: str | None = None,
        *,
        wait: bool = True,
        lease_name_prefix: str | None = None,
    ) -> VcpExtResourceChameleonHostLeaseInfo:
        """Reserve a VLAN network named :attr:`network_name` (a Blazar ``network`` lease).

        Blazar creates the network when the lease starts.  With ``wait=True`` this waits
        until the lease is ACTIVE (see ``VcpExtResourceChameleonHostLeaseInfo.wait``), then
        adds the subnet with :meth:`create_subnet` (when the catalog gives
        ``private_network_ipmask``).  With ``wait=False`` it returns at once; call the
        lease's ``wait()`` and then :meth:`create_subnet` later.

        Args:
            start_date: UTC ``"YYYY-mm-dd HH:MM"``; ``None``: now.
            end_date: UTC ``"YYYY-mm-dd HH:MM"``; ``None``: one day after the start.
            wait: wait for the lease and create the subnet (see above).
            lease_name_prefix: the lease name is ``<prefix>-network-<YYYYmmddHHMM>-<random>``.

        Returns:
            the network lease as a :class:`VcpExtResourceChameleonHostLeaseInfo` (its
            ``reservation_id`` is the network reservation's); ``extend()`` and ``delete()``
            work on it as on a host lease.  Deleting it deletes the network.

        Raises:
            ChameleonError: :meth:`setup` was not called.
            ChameleonConflictError: the network already exists, or no VLAN is free (409).
            ChameleonInvalidArgumentError: wrong dates.
            ChameleonLeaseError, ChameleonTimeoutError: as ``wait()`` (``wait=True``).
            ChameleonConfigError, ChameleonAuthError, ChameleonConnectionError: as
                :meth:`VcpChameleonOpenrc.authenticate`.

        Example::

            if not net.network_exists():
                net_lease = net.create_network()
            ...
            net_lease.delete()
        """
        name = self._require_setup("create_network")
        _, sent_start, end = self._lease_dates(start_date, end_date)
        if self.network_exists():
            fail(
                ChameleonConflictError,
                f"chameleon: create_network: network {name!r} already exists; use it, or "
                "name another one in the VPN catalog (chameleon_network_name)",
            )
        body = {
            "name": self._lease_name(lease_name_prefix, "network"),
            "start_date": sent_start,
            "end_date": end,
            "reservations": [
                {
                    "resource_type": NETWORK_RESOURCE_TYPE,
                    "network_name": name,
                    "network_description": "VCP network",
                    "resource_properties": json.dumps(["==", "$physical_network", self.physical_network]),
                }
            ],
            "events": [],
        }
        lease = self._create_lease(body, f"create_network({name})")
        info = self._new_lease_info()
        info.vpn_catalog = self.vpn_catalog
        info._apply(lease)
        if wait:
            info.wait()
            if self.subnet_cidr:
                self.create_subnet()
        return info

    def create_subnet(self) -> dict[str, Any]:
        """Give the network its subnet :attr:`subnet_cidr` (``POST /v2.0/subnets``).

        Does nothing but return the subnet if one named :attr:`subnet_name` is already on
        the network.

        Returns:
            the subnet as Neutron shows it (``id``, ``name``, ``cidr``, ``network_id``, ...).

        Raises:
            ChameleonError: :meth:`setup` was not called.
            ChameleonInvalidArgumentError: the VPN catalog gave no ``private_network_ipmask``,
                or Neutron refused the subnet (400).
            ChameleonNotFoundError: the network does not exist (yet: its lease is not ACTIVE).
            ChameleonConfigError, ChameleonAuthError, ChameleonConnectionError: as
                :meth:`VcpChameleonOpenrc.authenticate`.

        Example::

            net_lease = net.create_network(wait=False)
            net_lease.wait()
            net.create_subnet()
        """
        name = self._require_setup("create_subnet")
        if not self.subnet_cidr:
            fail(
                ChameleonInvalidArgumentError,
                "chameleon: create_subnet: the VPN catalog gives no private_network_ipmask for the subnet",
            )
        network = self.get_network()
        if network is None:
            fail(
                ChameleonNotFoundError,
                f"chameleon: create_subnet: network {name!r} does not exist (yet): Blazar "
                "creates it when its lease becomes ACTIVE",
            )
        answer = self._api(
            "network",
            "GET",
            "/v2.0/subnets",
            f"create_subnet({name})",
            params={"network_id": network["id"], "name": self.subnet_name},
        )
        for subnet in (answer or {}).get("subnets") or []:
            if isinstance(subnet, Mapping) and subnet.get("name") == self.subnet_name:
                return dict(subnet)
        request: dict[str, Any] = {
            "network_id": network["id"],
            "name": self.subnet_name,
            "cidr": self.subnet_cidr,
            "ip_version": 4,
            "enable_dhcp": True,
        }
        if self.dns_servers:
            request["dns_nameservers"] = list(self.dns_servers)
        answer = self._api(
            "network",
            "POST",
            "/v2.0/subnets",
            f"create_subnet({name})",
            body={"subnet": request},
            expected=(200, 201),
        )
        subnet = answer.get("subnet") if isinstance(answer, Mapping) else None
        if not isinstance(subnet, Mapping):
            fail(ChameleonError, f"chameleon: create_subnet({name}): Neutron's answer holds no subnet")
        logger.info(
            "chameleon: subnet %s (%s) created on network %s", self.subnet_name, self.subnet_cidr, name
        )
        return dict(subnet)
