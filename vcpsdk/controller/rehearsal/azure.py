"""Rehearsal stand-in of Azure: the fake ARM over HTTPS on 127.0.0.1."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from vcpsdk.controller.rehearsal import NETWORKS, FakeCloud

#: the rehearsal subnet of the fake ARM (loopback addresses only) and the controller address
NETWORK, CONTROLLER_ADDRESS = NETWORKS["azure"].network, NETWORKS["azure"].controller_address


def azure_rehearsal_arm() -> Any:
    """A new ``FakeArm`` whose only subnet is :data:`NETWORK` (room for 250 nodes)."""
    from vcpsdk.testing.fakes import azure as fake

    arm = fake.FakeArm()
    arm.subnets.clear()  # the rehearsal subnet replaces the default one
    arm.vnets.clear()
    arm.add_network(prefix=NETWORK)
    return arm


def azure_backend_config(running: Any) -> dict[str, Any]:
    """The ``azure`` backends section that points the Azure backend at a served fake ARM.

    Args:
        running: the ``RunningArm`` of ``running_fake_arm(azure_rehearsal_arm())``.

    Returns:
        The section: endpoint, certificate and fake service principal, and a catalog entry
        ``default`` on the rehearsal subnet.
    """
    from vcpsdk.testing.fakes import azure as fake

    section = {
        **running.credential_kwargs(),
        **running.client_kwargs(),
        "subscription_id": fake.SUBSCRIPTION_ID,
        "controller_address": CONTROLLER_ADDRESS,
        "vpn_catalog": {
            "default": {
                "azure_resource_group_name": fake.RESOURCE_GROUP,
                "azure_vnet_name": fake.VNET,
                "azure_subnet_name": fake.SUBNET,
                "azure_location": fake.LOCATION,
                "private_network_ipmask": NETWORK,
            }
        },
    }
    section.pop("disable_instance_discovery")  # implied by ``authority``
    return section


def start(port: int, state_dir: Path | None) -> FakeCloud:
    """The fake ARM over HTTPS on ``127.0.0.1:port``; its self-signed certificate is written
    to ``state_dir`` (a temporary directory by default) and trusted only by the backends file
    (``connection_verify``)."""
    from vcpsdk.testing.fakes.azure import running_fake_arm

    arm = azure_rehearsal_arm()
    stack = ExitStack()
    if state_dir is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
    running = stack.enter_context(running_fake_arm(arm, cert_dir=state_dir, port=port))
    kinds = {
        "virtual_machines": "virtual_machine",
        "network_interfaces": "network_interface",
        "disks": "disk",
    }

    def leftovers() -> list[dict[str, Any]]:
        return [{"type": kinds[kind], "id": rid} for kind, ids in arm.leftovers().items() for rid in ids]

    return FakeCloud(
        "azure", running.base_url, {"azure": azure_backend_config(running)}, leftovers, stack.close
    )
