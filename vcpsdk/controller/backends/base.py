"""The one small interface every cloud backend implements.

The controller's service decides *what* must happen (which nodes, which state);
a backend only knows *how* to make it so on one cloud.  Every method works on a
batch (all nodes of one request at once) and must be idempotent by ``node_id``,
because the worker re-runs an interrupted operation after a restart.

Backends raise :class:`BackendError` with the cloud's own message (cloud backends a
:class:`~vcpsdk.controller.backends.toolkit.errors.CloudError` of the fitting kind); the
worker puts that message on the unit (``error_message``, state ERROR).  The pieces every
cloud backend needs (error tree, rate limit, retries, waiting, the bootstrap script,
address planning) are in :mod:`vcpsdk.controller.backends.toolkit`.
"""

from __future__ import annotations

import abc
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from vcpsdk.controller.backends.toolkit.addresses import AddressPolicy, plan_addresses
from vcpsdk.controller.backends.toolkit.errors import BackendError, InvalidRequest

__all__ = [
    "DATA_DEVICES",
    "Backend",
    "BackendError",
    "DiskInfo",
    "DiskRequest",
    "DiskResult",
    "InvalidRequest",
    "NodeRequest",
    "NodeResult",
    "UnitContext",
]

#: device names the disks of ``spec.disks`` are attached as, in order (``NodeResult.volumes``)
DATA_DEVICES = [f"/dev/xvd{c}" for c in "fghijklmnop"]


@dataclass
class UnitContext:
    """What a backend knows of the unit it works for."""

    vcid: str
    vc_name: str
    unit_name: str
    provider: str
    owner: str
    spec: dict[str, Any]
    catalog: dict[str, Any]

    @property
    def cloud_params(self) -> dict[str, Any]:
        """``cloud_params`` of the unit CCI."""
        params: dict[str, Any] = self.spec.get("cloud_params", {})
        return params


@dataclass
class NodeRequest:
    """A compute node to create (or to operate on)."""

    node_id: str
    node_no: int
    address: str | None
    disks: list[DiskInfo] = field(default_factory=list)
    backend_data: dict[str, Any] = field(default_factory=dict)


@dataclass
class DiskInfo:
    """A disk a node attaches (``spec.disks``), as the backend sees it."""

    disk_id: str
    cloud_disk_id: str
    backend_data: dict[str, Any] = field(default_factory=dict)


@dataclass
class NodeResult:
    """What the cloud reports for a created node."""

    node_id: str
    instance_id: str
    address: str
    volumes: list[dict[str, str]] = field(default_factory=list)
    backend_data: dict[str, Any] = field(default_factory=dict)
    ssh_port: int | None = None


@dataclass
class DiskRequest:
    """A disk to create in a storage unit."""

    disk_id: str
    disk_no: int
    size_gb: int
    backend_data: dict[str, Any] = field(default_factory=dict)


@dataclass
class DiskResult:
    """What the cloud reports for a created disk."""

    disk_id: str
    cloud_disk_id: str
    size_gb: int
    backend_data: dict[str, Any] = field(default_factory=dict)


class Backend(abc.ABC):
    """Provisioning of nodes and disks on one cloud (or on the sandbox)."""

    #: short name shown in logs and chosen in the controller configuration
    name: str = ""
    #: the backend needs cloud credentials: ``vault://`` references are resolved for it
    uses_credentials: bool = True
    #: the cloud's address rules, used by the default :meth:`plan_addresses`
    address_policy: AddressPolicy = AddressPolicy()
    #: its nodes live in this process (the sandbox's SSH endpoints): with several replicas
    #: on one database, only the replica holding the lease named :attr:`name` runs them
    host_bound: bool = False

    @abc.abstractmethod
    def vpn_catalog(self) -> dict[str, dict[str, dict[str, Any]]]:
        """``{provider: {catalog_name: {key: value}}}`` served on ``/vpn_catalog``."""

    def plan_addresses(
        self,
        provider: str,
        catalog: dict[str, Any],
        fixed: list[str],
        count: int,
        in_use: AbstractSet[str | None],
    ) -> list[str | None]:
        """Check fixed IPs and choose addresses for ``count`` new nodes, before anything is created.

        The default applies :attr:`address_policy` with
        :func:`~vcpsdk.controller.backends.toolkit.addresses.plan_addresses`.

        Returns:
            One entry per node: an address, or None when the cloud assigns it.

        Raises:
            InvalidRequest: naming the bad address and the allowed range.
        """
        return plan_addresses(provider, catalog, fixed, count, in_use, self.address_policy)

    @abc.abstractmethod
    def create_nodes(self, unit: UnitContext, nodes: list[NodeRequest]) -> list[NodeResult]:
        """Create all ``nodes`` in one batch; on failure leave none of them behind."""

    @abc.abstractmethod
    def delete_nodes(self, unit: UnitContext, nodes: list[NodeRequest]) -> None:
        """Delete ``nodes`` and wait until the cloud reports them gone."""

    @abc.abstractmethod
    def power(self, unit: UnitContext, nodes: list[NodeRequest], action: str) -> None:
        """Apply ``action`` (power_off, power_on, suspend, resume, stop, start) to ``nodes``."""

    @abc.abstractmethod
    def create_disks(self, unit: UnitContext, disks: list[DiskRequest]) -> list[DiskResult]:
        """Create all ``disks`` in one batch; on failure leave none of them behind."""

    @abc.abstractmethod
    def delete_disks(self, unit: UnitContext, disks: list[DiskRequest]) -> None:
        """Delete ``disks``."""

    def check_hosting(self, owner: str) -> None:  # noqa: B027 - optional hook
        """Refuse, before anything is created, new nodes of ``owner`` this backend would not host
        (the sandbox on a host that cannot confine nodes while another user's nodes exist).

        Raises:
            InvalidRequest: naming why and what the operator can do.
        """

    def start(self) -> None:  # noqa: B027 - optional hook
        """Called once when the controller starts (connect, open resources)."""

    def restore(self, nodes: list[NodeRequest]) -> None:  # noqa: B027 - optional hook
        """Called after :meth:`start` with the nodes the store says are RUNNING."""

    def describe(self, unit: UnitContext, nodes: list[NodeRequest]) -> dict[str, str]:
        """What the cloud reports now, ``{node_id: RUNNING | POWER_OFF | DELETED}``.

        Used after a controller restart to reconcile the store; nodes missing from the
        answer are left as they are.
        """
        return {}

    def sweep(self, unit: UnitContext) -> None:  # noqa: B027 - optional hook
        """Called when a unit is deleted, after its nodes or disks: delete whatever the cloud
        still holds for the unit (leftovers of failures, found e.g. by tag)."""

    def node_ssh_port(self) -> int | None:
        """Port the nodes' SSH endpoints listen on now, if the backend runs them."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Called once when the controller stops."""
