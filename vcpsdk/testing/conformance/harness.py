"""What the conformance suite needs from a backend's offline stand-in (its *harness*).

A harness runs a controller whose providers use the backend under test, answers what
the stand-in cloud really holds (so the suite checks the cloud, not only the
controller's records), and injects failures at each step, also part-way through a
batch.  :class:`~vcpsdk.testing.conformance.sandbox.SandboxHarness`,
:class:`~vcpsdk.testing.conformance.aws.AwsMotoHarness`,
:class:`~vcpsdk.testing.conformance.azure.AzureFakeHarness`,
:class:`~vcpsdk.testing.conformance.oracle.OracleFakeHarness` and
:class:`~vcpsdk.testing.conformance.vmware.VcsimHarness` are those of this repository.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from vcpsdk.testing.controller import RunningController

#: the backend steps :meth:`ConformanceHarness.failing` must be able to break
STEPS = ("create_nodes", "create_disks", "power", "delete_nodes", "delete_disks")

#: what :meth:`ConformanceHarness.cloud_state` answers for a node that is up
RUNNING = "RUNNING"
#: what :meth:`ConformanceHarness.cloud_state` answers for a node that exists but is off
POWER_OFF = "POWER_OFF"


class ConformanceHarness(Protocol):
    """A backend under test, run offline.

    Attributes:
        name: how the harness is called in test ids.
        provider: the compute provider whose units use the backend (e.g. ``aws``).
        disk_provider: the storage provider whose units use the backend (e.g. ``aws_disk``).
        mask_prefix: the prefix of every node address the backend hands out
            (fixed IPs are taken from ``<mask_prefix>9.21`` upwards).
    """

    name: str
    provider: str
    disk_provider: str
    mask_prefix: str

    def controller(self, state: Path) -> AbstractContextManager[RunningController]:
        """A controller on ``state`` using the backend; re-entering with the same
        ``state`` is a restart of that controller."""
        ...

    def leftovers(self, running: RunningController) -> list[str]:
        """The resources the stand-in cloud still holds for ``running`` (instances, volumes,
        endpoints...), asked of the cloud itself: empty after a cleanup, and empty after a
        creation that failed part-way."""
        ...

    def cloud_state(self, running: RunningController, node_id: str, instance_id: str) -> str | None:
        """What the stand-in cloud holds for a compute node, asked of the cloud itself
        (never of the controller's records).

        Args:
            running: the controller.
            node_id: the node's id (``VcNode.id``).
            instance_id: the cloud's id of it (``VcNode.cloud_instance_id``).

        Returns:
            :data:`RUNNING`, :data:`POWER_OFF`, None when the cloud holds nothing for
            the node any more, or the cloud's own word for any other state.
        """
        ...

    def failing(
        self, running: RunningController, step: str, times: int = 1, after: int = 0
    ) -> AbstractContextManager[None]:
        """Make backend step ``step`` (one of :data:`STEPS`) fail ``times`` times with a
        cloud-like ``InsufficientInstanceCapacity`` error while the block runs.

        Args:
            running: the controller.
            step: the backend method to break.
            times: how many calls fail before the step works again.
            after: how many of the step's cloud calls succeed before the first failure.
                With ``after >= 1`` a ``create_nodes`` of three nodes with automatic
                addresses (``after=1``) or fixed IPs (``after=2``) has already created
                something in the cloud when it fails, so the backend must remove it.
                What a "cloud call" is belongs to the harness (the sandbox: one node's
                endpoint; AWS: a RunInstances or the wait's DescribeInstances).
        """
        ...
