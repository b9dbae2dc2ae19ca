"""The Sakura Cloud backend's conformance harness: the fake IaaS API 1.1 on 127.0.0.1.

Needs nothing beyond the base dependencies (the backend's client is ``requests``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vcpsdk.testing.conformance.harness import POWER_OFF, RUNNING
from vcpsdk.testing.controller import RunningController, running_controller
from vcpsdk.testing.fakes.sakura import FakeSakura, backend_section, running_fake_sakura
from vcpsdk.testing.network import loopback_only

#: the operations of the fake that each backend step's failure is injected into;
#: ``create_nodes`` fails halfway through a node (its server, NIC and note exist)
STEP_OPERATIONS = {
    "create_nodes": "disk.create",
    "create_disks": "disk.create",
    "power": "server.shutdown",
    "delete_nodes": "server.delete",
    "delete_disks": "disk.delete",
}


@dataclass
class SakuraFakeHarness:
    """The Sakura backend against the fake IaaS API.

    One :class:`~vcpsdk.testing.fakes.sakura.FakeSakura` per harness holds the cloud's state;
    it is served (on a new port) while a controller runs, so a restart sees the same servers.
    Any connection to a non-loopback address fails the test.
    """

    name: str = "sakura-fake"
    provider: str = "sakura"
    disk_provider: str = "sakura_disk"
    mask_prefix: str = "127.66."
    fake: FakeSakura = field(default_factory=lambda: FakeSakura(migrating_reads=1, power_reads=1))

    @contextlib.contextmanager
    def controller(self, state: Path) -> Iterator[RunningController]:
        """A controller whose sakura and sakura_disk providers use SakuraBackend on the fake."""
        with loopback_only() as violations:
            with running_fake_sakura(self.fake) as api:
                with running_controller(state, backends={"sakura": backend_section(api.api_root)}) as running:
                    yield running
        assert not violations, f"connections to non-loopback addresses: {violations}"

    def leftovers(self, running: RunningController) -> list[str]:
        """The servers, disks, NICs and notes the fake still holds."""
        return [f"{kind} {rid}" for kind, ids in self.fake.leftovers().items() for rid in ids]

    def cloud_state(self, running: RunningController, node_id: str, instance_id: str) -> str | None:
        """The server's ``Instance.Status`` in the fake: up → RUNNING, down → POWER_OFF, gone → None."""
        status = self.fake.status(instance_id)
        return None if status is None else {"up": RUNNING, "down": POWER_OFF}.get(status, status)

    @contextlib.contextmanager
    def failing(
        self, running: RunningController, step: str, times: int = 1, after: int = 0
    ) -> Iterator[None]:
        """Make the step's operation (:data:`STEP_OPERATIONS`) answer 409
        ``InsufficientInstanceCapacity`` ``times`` times after ``after`` calls went through."""
        operation = STEP_OPERATIONS[step]
        self.fake.fail(
            operation,
            409,
            "InsufficientInstanceCapacity",
            f"injected failure in {step}",
            times=times,
            after=after,
        )
        try:
            yield
        finally:
            with self.fake.lock:
                self.fake.faults.pop(operation, None)
