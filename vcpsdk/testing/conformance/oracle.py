"""The Oracle Cloud backend's conformance harness: the fake OCI Core API (HTTP on 127.0.0.1).

Needs the ``oracle`` extra (the real ``oci`` SDK drives the fake).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcpsdk.testing.conformance.harness import POWER_OFF, RUNNING
from vcpsdk.testing.controller import RunningController, running_controller
from vcpsdk.testing.fakes.oracle import (
    AVAILABILITY_DOMAIN,
    COMPARTMENT_ID,
    REGION,
    TENANCY_ID,
    USER_ID,
    FakeOci,
    RunningOci,
    running_fake_oci,
)
from vcpsdk.testing.network import loopback_only

#: the conformance subnet (fixed IPs ``127.67.9.x`` lie in it)
PREFIX = "127.67.0.0/16"
#: the OCI operation a failure of ``create_nodes`` part-way (``after`` > 0) hits: the instance
#: is launched and RUNNING, its address not read yet (half-way through the node)
MIDWAY_OPERATION = "GetVnic"
#: the OCI operation each backend step sends first, and what an injected failure answers
STEP_OPERATIONS = {
    "create_nodes": "LaunchInstance",
    "create_disks": "CreateVolume",
    "power": "InstanceAction",
    "delete_nodes": "TerminateInstance",
    "delete_disks": "DeleteVolume",
}
INJECTED = (400, "InsufficientInstanceCapacity")


def backend_config(served: RunningOci, subnet_id: str, network: str, **extra: Any) -> dict[str, Any]:
    """The operator section of an OracleBackend on the fake ``served`` (its generated key as a
    literal ``private_key``; waits and retries kept short).

    Args:
        served: the running fake.
        subnet_id: the catalog entry's subnet.
        network: its CIDR (``private_network_ipmask``).
        extra: more settings (they win).
    """
    return {
        "user_ocid": USER_ID,
        "fingerprint": served.fake.fingerprint,
        "private_key": served.fake.private_key_pem,
        "service_endpoint": served.service_endpoint,
        "max_interval_seconds": 0.05,
        "retry_base_sleep_seconds": 0.01,
        "retry_max_sleep_seconds": 0.05,
        "controller_address": network.split("/")[0].rsplit(".", 1)[0] + ".1",
        "vpn_catalog": {
            "default": {
                "oracle_tenancy_ocid": TENANCY_ID,
                "oracle_compartment_id": COMPARTMENT_ID,
                "oracle_subnet_id": subnet_id,
                "oracle_region": REGION,
                "oracle_availability_domain": AVAILABILITY_DOMAIN,
                "private_network_ipmask": network,
            }
        },
        **extra,
    }


@dataclass
class OracleFakeHarness:
    """The Oracle backend against the fake OCI Core API.

    One :class:`~vcpsdk.testing.fakes.oracle.FakeOci` per harness holds the cloud's state; it
    is served (on a new port) while a controller runs, so a restart sees the same instances.
    Any connection to a non-loopback address fails the test.
    """

    name: str = "oracle-fake"
    provider: str = "oracle"
    disk_provider: str = "oracle_disk"
    mask_prefix: str = "127.67."
    fake: FakeOci = field(default_factory=FakeOci)
    subnet_id: str = ""

    def __post_init__(self) -> None:
        self.subnet_id = self.fake.add_subnet(PREFIX, name="vcp-conformance")

    @contextlib.contextmanager
    def controller(self, state: Path) -> Iterator[RunningController]:
        """A controller whose oracle and oracle_disk providers use OracleBackend on the fake."""
        with loopback_only() as violations:
            with running_fake_oci(self.fake) as served:
                config = backend_config(served, self.subnet_id, PREFIX)
                with running_controller(state, backends={"oracle": config}) as running:
                    yield running
        assert not violations, f"connections to non-loopback addresses: {violations}"

    def leftovers(self, running: RunningController) -> list[str]:
        """The instances, boot volumes, volumes and attachments the fake still holds."""
        return [f"{kind} {ocid}" for kind, ocids in self.fake.leftovers().items() for ocid in ocids]

    def cloud_state(self, running: RunningController, node_id: str, instance_id: str) -> str | None:
        """The instance's state in the fake: RUNNING → RUNNING, STOPPED → POWER_OFF, terminated
        or unknown → None, any other by its OCI name."""
        with self.fake.lock:
            instance = self.fake.tables["instances"].items.get(instance_id)
            state = self.fake.state(instance) if instance else None
        if state in (None, "TERMINATED", "TERMINATING"):
            return None
        return {"RUNNING": RUNNING, "STOPPED": POWER_OFF}.get(str(state), state)

    @contextlib.contextmanager
    def failing(
        self, running: RunningController, step: str, times: int = 1, after: int = 0
    ) -> Iterator[None]:
        """Make OCI answer the step's operation with 400 ``InsufficientInstanceCapacity``
        ``times`` times, after ``after`` of them went through.

        ``create_nodes`` with ``after`` > 0 fails half-way through a node: at its
        :data:`MIDWAY_OPERATION` (``GetVnic``), after its instance was launched and is RUNNING
        (``after`` nodes get that far whole); with ``after`` 0 at the first launch."""
        operation = MIDWAY_OPERATION if step == "create_nodes" and after else STEP_OPERATIONS[step]
        self.fake.fail(operation, *INJECTED, f"injected failure in {step}", times=times, after=after)
        try:
            yield
        finally:
            self.fake.clear_faults()
