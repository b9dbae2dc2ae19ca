"""The conformance harness of the toy backend: a controller whose aws and aws_disk
providers use toy_backend.ToyBackend (enabled with the ``class:`` key)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from toy_backend import CODES, ToyCloud

from vcpsdk.testing.controller import RunningController, running_controller

#: the toy cloud's requests each backend step makes (failures are injected there)
REQUESTS = {
    "create_nodes": ("run", "describe"),
    "create_disks": ("create_volume",),
    "power": ("set_state",),
    "delete_nodes": ("terminate",),
    "delete_disks": ("delete_volume",),
}


class ToyHarness:
    """The toy backend under the conformance suite; the cloud is asked through its JSON file."""

    name = "toy"
    provider = "aws"
    disk_provider = "aws_disk"
    mask_prefix = "10.99."

    @contextlib.contextmanager
    def controller(self, state: Path) -> Iterator[RunningController]:
        toy = {"class": "toy_backend:ToyBackend", "providers": ["aws", "aws_disk"]}
        toy["cloud_file"] = str(state.parent / "toycloud.json")  # the same cloud after a restart
        with running_controller(state, backends={"toy": toy}) as running:
            yield running

    def _cloud(self, running: RunningController) -> ToyCloud:
        backend: Any = running.controller.backends["toy"]
        return backend.cloud

    def leftovers(self, running: RunningController) -> list[str]:
        data = self._cloud(running).read()
        return [f"instance {i}" for i in data["instances"]] + [f"volume {v}" for v in data["volumes"]]

    def cloud_state(self, running: RunningController, node_id: str, instance_id: str) -> str | None:
        instance = self._cloud(running).read()["instances"].get(instance_id)
        if instance is None:
            return None
        return {"running": "RUNNING", "stopped": "POWER_OFF"}.get(instance["state"], instance["state"])

    @contextlib.contextmanager
    def failing(
        self, running: RunningController, step: str, times: int = 1, after: int = 0
    ) -> Iterator[None]:
        cloud = self._cloud(running)
        seen = {"n": 0}

        def before(operation: str) -> None:
            if operation in REQUESTS[step]:
                seen["n"] += 1
                if after < seen["n"] <= after + times:
                    raise CODES.error("InsufficientInstanceCapacity", f"injected failure in {step}")

        cloud.before = before
        try:
            yield
        finally:
            cloud.before = None
