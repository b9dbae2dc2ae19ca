"""The Azure backend's conformance harness: the fake ARM (HTTPS on 127.0.0.1).

Needs the ``azure`` extra (the real Azure SDK drives the fake).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcpsdk.testing.conformance.harness import POWER_OFF, RUNNING
from vcpsdk.testing.controller import RunningController, running_controller
from vcpsdk.testing.fakes.azure import (
    CLIENT_ID,
    CLIENT_SECRET,
    LOCATION,
    RESOURCE_GROUP,
    SUBSCRIPTION_ID,
    TENANT_ID,
    VNET,
    FakeArm,
    Fault,
    RunningArm,
    running_fake_arm,
)
from vcpsdk.testing.network import loopback_only

#: the conformance subnet (fixed IPs ``127.65.9.x`` lie in it)
SUBNET, PREFIX = "vcp-conformance", "127.65.0.0/16"


def backend_config(arm: RunningArm, **extra: Any) -> dict[str, Any]:
    """The operator section of an AzureBackend on the fake ``arm`` (fast polling)."""
    return {
        "tenant_id": TENANT_ID,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "subscription_id": SUBSCRIPTION_ID,
        "authority": arm.base_url,
        "base_url": arm.base_url,
        "connection_verify": str(arm.cert_path),
        "polling_interval": 0.01,
        "controller_address": "127.65.0.10",
        "vpn_catalog": {
            "default": {
                "azure_resource_group_name": RESOURCE_GROUP,
                "azure_vnet_name": VNET,
                "azure_subnet_name": SUBNET,
                "azure_location": LOCATION,
                "private_network_ipmask": PREFIX,
            }
        },
        **extra,
    }


@dataclass
class AzureFakeHarness:
    """The Azure backend against the fake ARM.

    One :class:`~vcpsdk.testing.fakes.azure.FakeArm` per harness holds the cloud's state; it
    is served (on a new port) while a controller runs, so a restart sees the same VMs.  Any
    connection to a non-loopback address fails the test.
    """

    name: str = "azure-fake"
    provider: str = "azure"
    disk_provider: str = "azure_disk"
    mask_prefix: str = "127.65."
    fake: FakeArm = field(default_factory=FakeArm)
    _certs: Any = None

    def __post_init__(self) -> None:
        self.fake.add_network(subnet=SUBNET, prefix=PREFIX)

    @contextlib.contextmanager
    def controller(self, state: Path) -> Iterator[RunningController]:
        """A controller whose azure and azure_disk providers use AzureBackend on the fake."""
        if self._certs is None:
            self._certs = tempfile.TemporaryDirectory(prefix="fake-arm-conf-")
        with loopback_only() as violations:
            with running_fake_arm(self.fake, cert_dir=Path(self._certs.name)) as arm:
                with running_controller(state, backends={"azure": backend_config(arm)}) as running:
                    yield running
        assert not violations, f"connections to non-loopback addresses: {violations}"

    def leftovers(self, running: RunningController) -> list[str]:
        """The VMs, NICs and disks the fake still holds."""
        return [f"{kind} {rid}" for kind, ids in self.fake.leftovers().items() for rid in ids]

    def cloud_state(self, running: RunningController, node_id: str, instance_id: str) -> str | None:
        """The VM's power state in the fake: running → RUNNING, deallocated or stopped → POWER_OFF,
        gone → None, any other by its ARM name."""
        with self.fake.lock:
            state = self.fake.power.get(instance_id.rstrip("/").lower())
        if state is None:
            return None
        return {"running": RUNNING, "deallocated": POWER_OFF, "stopped": POWER_OFF}.get(state, state)

    @contextlib.contextmanager
    def failing(
        self, running: RunningController, step: str, times: int = 1, after: int = 0
    ) -> Iterator[None]:
        """Make the step's ARM operation fail ``times`` times, after ``after`` of them went
        through (``create_nodes``: VM creates), the way Azure fails while provisioning: ARM
        accepts the request (a VM or disk being created then exists, provisioningState
        ``Failed``, for the backend to clean up) and the operation ends ``Failed`` with
        ``InsufficientInstanceCapacity``; a failed power action or delete changes nothing.

        ``create_nodes`` always fails half-way through a node: at its VM PUT, after its NIC
        exists; with ``after`` > 0 ARM refuses the VM PUT itself (409, no VM made: the NIC is
        the node's only leftover), with ``after`` 0 the VM's operation ends ``Failed``."""
        operation = {
            "create_nodes": "virtualMachines.createOrUpdate",
            "create_disks": "disks.createOrUpdate",
            "power": "virtualMachines.deallocate",
            "delete_nodes": "virtualMachines.delete",
            "delete_disks": "disks.delete",
        }[step]
        fake, original = self.fake, self.fake.check_fault
        seen = {"calls": 0, "armed": False}

        def check_fault(name: str) -> Fault | None:
            if name == operation and not seen["armed"]:
                seen["calls"] += 1
                if seen["calls"] > after:
                    seen["armed"] = True
                    fake.fail(
                        operation,
                        409,
                        "InsufficientInstanceCapacity",
                        f"injected failure in {step}",
                        times=times,
                        in_operation=not (step == "create_nodes" and after),
                    )
            return original(name)

        fake.check_fault = check_fault  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            fake.check_fault = original  # type: ignore[method-assign]
            with fake.lock:
                fake.faults.pop(operation, None)
