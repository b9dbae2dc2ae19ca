"""Rehearsal stand-in of VMware vSphere: govmomi's vCenter simulator (vcsim) on 127.0.0.1.

The simulator is the binary ``scripts/build-vcsim.sh`` builds (see
:mod:`vcpsdk.testing.fakes.vmware`); the controller needs ``vcpsdk[vmware]`` (pyvmomi) to
drive it.  Its certificate is written to the state directory (a temporary directory by
default) and trusted by the backends file only (``ca_file``).
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from vcpsdk.controller.rehearsal import NETWORKS, FakeCloud, RehearsalError

#: the rehearsal network (loopback addresses only), its gateway and the controller address
NETWORK, GATEWAY, CONTROLLER_ADDRESS = (
    NETWORKS["vmware"].network,
    NETWORKS["vmware"].gateway,
    NETWORKS["vmware"].controller_address,
)


def vmware_backend_config(sim: Any) -> dict[str, Any]:
    """The ``vmware`` backends section that points the vSphere backend at a running simulator.

    Args:
        sim: a :class:`~vcpsdk.testing.fakes.vmware.RunningVcsim`.

    Returns:
        The section: the simulator's fake credentials and certificate, and a catalog entry
        ``default`` naming its datacenter, resource pool, network and template VM on the
        rehearsal network.
    """
    from vcpsdk.testing.fakes import vmware as fake

    return {
        "user": sim.user,
        "password": sim.password,
        "ca_file": str(sim.cert_path),
        "task_poll_interval": 0.05,
        "controller_address": CONTROLLER_ADDRESS,
        "vpn_catalog": {
            "default": {
                "vmware_vsphere_server": sim.server,
                "vmware_allow_unverified_ssl": False,
                "vmware_vsphere_datacenter_name": fake.DATACENTER,
                "vmware_vsphere_resource_pool_name": fake.RESOURCE_POOL,
                "vmware_vsphere_network_name": fake.NETWORK,
                "vmware_vsphere_network_mask": 24,
                "vmware_template_virtual_machine_name": fake.TEMPLATE,
                "vmware_ipv4_gateway": GATEWAY,
                "vmware_virtual_machine_domain": "rehearsal.example",
                "private_network_ipmask": NETWORK,
            }
        },
    }


def start(port: int, state_dir: Path | None) -> FakeCloud:
    """The vCenter simulator on ``127.0.0.1:port`` with the template VM; its leftovers are the
    VMs besides the template (``{"type": "virtual_machine", "id": name, "state": power}``).

    Raises:
        RehearsalError: the simulator is not built (run ``scripts/build-vcsim.sh``).
    """
    from vcpsdk.testing.fakes.vmware import VcsimMissing, start_vcsim

    with ExitStack() as on_error:  # the temporary directory goes if the simulator fails
        workdir = state_dir
        if workdir is None:
            workdir = Path(on_error.enter_context(tempfile.TemporaryDirectory(prefix="vcc-fake-vmware-")))
        try:
            sim = start_vcsim(workdir, port=port)
        except VcsimMissing as error:
            raise RehearsalError(f"vcc fake-cloud vmware: {error}") from None
        on_error.callback(sim.stop)  # stopped before its directory is removed
        stack = on_error.pop_all()  # started: closed by ``stop`` from now on

    def leftovers() -> list[dict[str, Any]]:
        return [
            {"type": "virtual_machine", "id": name, "state": vm["power"]}
            for name, vm in sorted(sim.vms().items())
            if name != sim.template
        ]

    return FakeCloud("vmware", sim.url, {"vmware": vmware_backend_config(sim)}, leftovers, stack.close)
