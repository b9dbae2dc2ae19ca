"""Host reservations: ``vcp.get_extension("chameleon")``."""

from __future__ import annotations

import copy
import json
from typing import Any

from vcpsdk.extensions.chameleon.errors import ChameleonError, ChameleonInvalidArgumentError, fail
from vcpsdk.extensions.chameleon.leases import LeaseOwner, VcpExtResourceChameleonHostLeaseInfo
from vcpsdk.extensions.chameleon.openrc import catalog_entry
from vcpsdk.extensions.chameleon.settings import HOST_RESOURCE_TYPE


class VcpExtResourceChameleon(LeaseOwner):
    """Reserve Chameleon bare-metal hosts: ``vcp.get_extension("chameleon")``.

    :meth:`setup` prepares a reservation (nothing is sent), :meth:`reserve_host` makes it
    and returns a :class:`VcpExtResourceChameleonHostLeaseInfo`.

    Attributes (after :meth:`setup`):
        node_type, start_date, end_date, min_instances, max_instances, lease_name,
        vpn_catalog: as given or defaulted; the dates are UTC ``"YYYY-mm-dd HH:MM"``.
        vcpus, memory_mb, disk_gb: kept as given, not used (future use).

    Args:
        provider_name, config_dir, token, verbose: as :class:`VcpChameleonOpenrc`.

    Example::

        ext = vcp.get_extension("chameleon")
        ext.setup("compute_skylake", end_date="2020-08-01 12:00")
        lease = ext.reserve_host()
        lease.wait()
    """

    def _init_attributes(self) -> None:
        self.node_type: str | None = None
        self.start_date: str | None = None
        self.end_date: str | None = None
        self.min_instances: int = 1
        self.max_instances: int = 1
        self.vcpus: Any = None
        self.memory_mb: Any = None
        self.disk_gb: Any = None
        self.lease_name: str | None = None
        self.vpn_catalog: Any = None
        self._request: dict[str, Any] | None = None

    def setup(
        self,
        node_type: str,
        start_date: str | None = None,
        end_date: str | None = None,
        min_instances: int = 1,
        max_instances: int = 1,
        vcpus: Any = None,
        memory_mb: Any = None,
        disk_gb: Any = None,
        lease_name_prefix: str | None = None,
        vpn_catalog: Any = None,
    ) -> None:
        """Prepare a host reservation; nothing is sent until :meth:`reserve_host`.

        Args:
            node_type: the Chameleon node type, e.g. ``"compute_skylake"``; hosts are
                chosen with ``resource_properties ["==", "$node_type", node_type]``.
            start_date: UTC ``"YYYY-mm-dd HH:MM"``; ``None``: now.
            end_date: UTC ``"YYYY-mm-dd HH:MM"``; ``None``: one day after the start.
            min_instances: fewest hosts to reserve (≥ 1).
            max_instances: most hosts to reserve (≥ ``min_instances``).
            vcpus, memory_mb, disk_gb: accepted and ignored (future use).
            lease_name_prefix: the lease name is ``<prefix>-host-<YYYYmmddHHMM>-<random>``
                (prefix ``vcp`` by default).
            vpn_catalog: the VPN catalog (``vcp.get_vpn_catalog("chameleon")``); kept for
                reference, optional.

        Returns:
            ``None``.

        Raises:
            ChameleonInvalidArgumentError: an empty ``node_type``, a date not in the format,
                a start in the past, an end not after the start, wrong instance counts.

        Example::

            ext.setup("compute_skylake", start_date="2020-07-31 09:00",
                      end_date="2020-08-01 09:00", min_instances=2, max_instances=2)
        """
        if not isinstance(node_type, str) or not node_type.strip():
            fail(
                ChameleonInvalidArgumentError,
                f"chameleon: setup: node_type must be a non-empty string (e.g. "
                f"'compute_skylake'), not {node_type!r}",
            )
        for name, value in (("min_instances", min_instances), ("max_instances", max_instances)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                fail(
                    ChameleonInvalidArgumentError,
                    f"chameleon: setup: {name} must be a positive integer, not {value!r}",
                )
        if min_instances > max_instances:
            fail(
                ChameleonInvalidArgumentError,
                f"chameleon: setup: min_instances ({min_instances}) is larger than "
                f"max_instances ({max_instances})",
            )
        if lease_name_prefix is not None and (
            not isinstance(lease_name_prefix, str) or not lease_name_prefix.strip()
        ):
            fail(
                ChameleonInvalidArgumentError,
                f"chameleon: setup: lease_name_prefix must be a non-empty string, not {lease_name_prefix!r}",
            )
        catalog_entry(vpn_catalog, self._private_network)  # a wrong shape fails now
        start, sent_start, end = self._lease_dates(start_date, end_date)
        self.node_type = node_type.strip()
        self.start_date, self.end_date = start, end
        self.min_instances, self.max_instances = min_instances, max_instances
        self.vcpus, self.memory_mb, self.disk_gb = vcpus, memory_mb, disk_gb
        self.vpn_catalog = vpn_catalog
        self.lease_name = self._lease_name(lease_name_prefix and lease_name_prefix.strip(), "host")
        self._request = {
            "name": self.lease_name,
            "start_date": sent_start,
            "end_date": end,
            "reservations": [
                {
                    "resource_type": HOST_RESOURCE_TYPE,
                    "min": min_instances,
                    "max": max_instances,
                    "resource_properties": json.dumps(["==", "$node_type", self.node_type]),
                    "hypervisor_properties": "",
                }
            ],
            "events": [],
        }

    @property
    def lease_request(self) -> dict[str, Any] | None:
        """The body :meth:`reserve_host` will send to ``POST /v1/leases`` (a copy), or None
        before :meth:`setup`.  ``start_date`` is ``"now"`` when the start was not given."""
        return copy.deepcopy(self._request)

    def reserve_host(self) -> VcpExtResourceChameleonHostLeaseInfo:
        """Reserve the hosts prepared by :meth:`setup` (``POST /v1/leases``).

        Returns:
            a :class:`VcpExtResourceChameleonHostLeaseInfo` with ``host_lease_id``,
            ``reservation_id`` and ``status`` (usually ``STARTING``; call its ``wait()``).

        Raises:
            ChameleonError: :meth:`setup` was not called, or Blazar failed.
            ChameleonConflictError: not enough hosts of that type are free then (409).
            ChameleonInvalidArgumentError: Blazar refused the dates or the request (400).
            ChameleonConfigError, ChameleonAuthError, ChameleonConnectionError: as
                :meth:`VcpChameleonOpenrc.authenticate`.

        Example::

            lease = ext.reserve_host()
            print(lease.host_lease_id, lease.reservation_id, lease.status)
        """
        if self._request is None:
            fail(ChameleonError, "chameleon: reserve_host: call setup(node_type, ...) first")
        lease = self._create_lease(copy.deepcopy(self._request), f"reserve_host({self.node_type})")
        info = self._new_lease_info()
        info.vpn_catalog = self.vpn_catalog
        info._apply(lease)
        return info


# --------------------------------------------------------------------- networks
