"""What the conformance suite needs from a backend's offline stand-in (its *harness*).

A harness runs a controller whose providers use the backend under test, lists the
resources the backend still holds (to prove "zero leftovers"), and injects failures
at each step.  :class:`~vcpsdk.testing.conformance.sandbox.SandboxHarness` and
:class:`~vcpsdk.testing.conformance.aws.AwsMotoHarness` are the two of this repository.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from vcpsdk.testing.controller import RunningController

#: the backend steps :meth:`ConformanceHarness.failing` must be able to break
STEPS = ("create_nodes", "create_disks", "power", "delete_nodes", "delete_disks")


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
        """The resources the backend still holds for ``running`` (empty after a cleanup)."""
        ...

    def failing(self, running: RunningController, step: str, times: int = 1) -> AbstractContextManager[None]:
        """Make backend step ``step`` (one of :data:`STEPS`) fail ``times`` times with a
        cloud-like ``InsufficientInstanceCapacity`` error while the block runs."""
        ...
