"""The vSphere backend's conformance harness: govmomi's vCenter simulator (vcsim) on 127.0.0.1.

Needs the ``vmware`` extra (pyvmomi drives the simulator) and the simulator binary
(``scripts/build-vcsim.sh``; without it the harness fails and says to run that script).
The ``vmware`` provider declares fixed IPs only: the suite checks that power and disk
requests are refused for it instead of running them.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vcpsdk.controller.backends.vmware import VmwareBackend
from vcpsdk.testing.conformance.harness import POWER_OFF, RUNNING
from vcpsdk.testing.controller import RunningController, running_controller
from vcpsdk.testing.fakes.vmware import (
    DATACENTER,
    DV_PORTGROUP,
    RESOURCE_POOL,
    TEMPLATE,
    RunningVcsim,
    start_vcsim,
)
from vcpsdk.testing.network import loopback_only

#: the conformance network (fixed IPs ``127.66.9.x`` lie in it) and its gateway
PREFIX, GATEWAY = "127.66.0.0/16", "127.66.0.1"

#: the vSphere methods whose SOAP calls :meth:`VcsimHarness.failing` breaks, by backend step;
#: ``create_nodes`` fails halfway through a node (its clone exists, without our annotation on
#: vcsim): the cleanup must find it by name
STEP_METHODS = {
    "create_nodes": ("ReconfigVM_Task",),
    "power": ("PowerOffVM_Task", "PowerOnVM_Task"),
    "delete_nodes": ("Destroy_Task",),
    "create_disks": (),  # no disk API: refused by the controller before any call
    "delete_disks": (),
}


def backend_config(sim: RunningVcsim, **extra: Any) -> dict[str, Any]:
    """The operator section of a VmwareBackend on the simulator ``sim`` (its certificate
    trusted through ``ca_file``, tasks polled every 10 ms)."""
    return {
        "user": sim.user,
        "password": sim.password,
        "ca_file": str(sim.cert_path),
        "task_poll_interval": 0.01,
        "controller_address": "127.66.0.10",
        "vpn_catalog": {
            "default": {
                "vmware_vsphere_server": sim.server,
                "vmware_allow_unverified_ssl": False,
                "vmware_vsphere_datacenter_name": DATACENTER,
                "vmware_vsphere_resource_pool_name": RESOURCE_POOL,
                "vmware_vsphere_network_name": DV_PORTGROUP,
                "vmware_vsphere_network_mask": 16,
                "vmware_template_virtual_machine_name": TEMPLATE,
                "vmware_ipv4_gateway": GATEWAY,
                "vmware_virtual_machine_domain": "vcp.example",
                "private_network_ipmask": PREFIX,
            }
        },
        **extra,
    }


def injected_fault(step: str) -> BaseException:
    """The fault :meth:`VcsimHarness.failing` raises: vSphere's ``InsufficientResourcesFault``
    with the conformance suite's ``InsufficientInstanceCapacity`` in its message."""
    from pyVmomi import vim

    return vim.fault.InsufficientResourcesFault(
        msg=f"InsufficientInstanceCapacity: injected failure in {step}"
    )


@dataclass
class VcsimHarness:
    """The vSphere backend against vcsim.

    One simulator per harness holds the cloud's state; it outlives the controllers of a test
    (a restart sees the same VMs) and is stopped by :meth:`close`.  Any connection to a
    non-loopback address fails the test.
    """

    name: str = "vmware-vcsim"
    provider: str = "vmware"
    disk_provider: str = ""  # vSphere disks are not offered (no disk API)
    mask_prefix: str = "127.66."
    _sim: RunningVcsim | None = None
    _workdir: Any = None

    @property
    def sim(self) -> RunningVcsim:
        """The simulator, started on first use."""
        if self._sim is None:
            self._workdir = tempfile.TemporaryDirectory(prefix="vcsim-conformance-")
            self._sim = start_vcsim(Path(self._workdir.name))
        return self._sim

    def close(self) -> None:
        """Stop the simulator and remove its files."""
        if self._sim is not None:
            self._sim.stop()
            self._sim = None
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    @contextlib.contextmanager
    def controller(self, state: Path) -> Iterator[RunningController]:
        """A controller whose vmware provider uses VmwareBackend on the simulator."""
        sim = self.sim
        with loopback_only() as violations:
            with running_controller(state, backends={"vmware": backend_config(sim)}) as running:
                yield running
        assert not violations, f"connections to non-loopback addresses: {violations}"

    def leftovers(self, running: RunningController) -> list[str]:
        """The VMs the simulator holds besides the template."""
        return [f"vm {name}" for name in self.sim.leftovers()]

    def cloud_state(self, running: RunningController, node_id: str, instance_id: str) -> str | None:
        """The VM's power state in the simulator (found by its managed object id): poweredOn →
        RUNNING, poweredOff → POWER_OFF, gone → None, any other by vSphere's name."""
        for vm in self.sim.vms().values():
            if vm["moref"] == instance_id:
                return {"poweredOn": RUNNING, "poweredOff": POWER_OFF}.get(vm["power"], vm["power"])
        return None

    def failing(
        self, running: RunningController, step: str, times: int = 1, after: int = 0
    ) -> contextlib.AbstractContextManager[None]:
        """Make the backend's SOAP calls of the step's vSphere method fail ``times`` times with
        ``InsufficientResourcesFault`` (message ``InsufficientInstanceCapacity: ...``), after
        ``after`` of them went through (``create_nodes``: the reconfigures, each after its
        node's clone).  vcsim 0.24 cannot be told to fail, so the fault is raised in place of
        the call, before it is sent."""
        return self.breaking(running, STEP_METHODS[step], times, after, step)

    @contextlib.contextmanager
    def breaking(
        self, running: RunningController, methods: tuple[str, ...], times: int, after: int, note: str
    ) -> Iterator[None]:
        """Raise the ``InsufficientResourcesFault`` of :meth:`failing` in place of the calls of
        ``methods`` (``("CustomizeVM_Task",)``), ``note`` ending its message (a test puts a
        secret there, as a vCenter fault may echo one)."""
        backend = running.controller.backends["vmware"]
        assert isinstance(backend, VmwareBackend)
        seen = {"calls": 0}

        def hook(method: str) -> None:
            if method in methods:
                seen["calls"] += 1
                if after < seen["calls"] <= after + times:
                    raise injected_fault(note)

        backend.soap_hooks.append(hook)
        try:
            yield
        finally:
            backend.soap_hooks.remove(hook)
