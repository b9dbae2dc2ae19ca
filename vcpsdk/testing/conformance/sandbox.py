"""The sandbox backend's conformance harness: nodes are SSH endpoints, disks are directories."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vcpsdk.controller.backends.base import BackendError
from vcpsdk.testing.conformance.harness import POWER_OFF, RUNNING
from vcpsdk.testing.controller import RunningController, running_controller

#: a catalog with room for every test's nodes
CATALOG = "aws:\n  default:\n    private_network_ipmask: 127.44.0.0/16\n"


@dataclass
class SandboxHarness:
    """The sandbox backend, as the ``aws`` provider of an in-process controller."""

    name: str = "sandbox"
    provider: str = "aws"
    disk_provider: str = "aws_disk"
    mask_prefix: str = "127.44."

    @contextlib.contextmanager
    def controller(self, state: Path) -> Iterator[RunningController]:
        """A controller on ``state`` (re-entering with the same state = a restart)."""
        catalog = state.parent / "catalog.yml"
        catalog.write_text(CATALOG)
        with running_controller(state, vpn_catalog_file=catalog) as running:
            yield running

    def leftovers(self, running: RunningController) -> list[str]:
        """Resources the backend still holds: node files, listeners, disk directories."""
        state = running.state_dir
        nodes = sorted(p.name for p in (state / "nodes").glob("*")) if (state / "nodes").exists() else []
        disks = sorted(p.name for p in (state / "disks").glob("*")) if (state / "disks").exists() else []
        hub = _hub(running)
        listening = sorted(hub._listeners)
        return (
            [f"node files {n}" for n in nodes]
            + [f"disk {d}" for d in disks]
            + [f"listener {n}" for n in listening]
        )

    def cloud_state(self, running: RunningController, node_id: str, instance_id: str) -> str | None:
        """RUNNING while the node's SSH endpoint listens, POWER_OFF while only its files
        are left, None when neither is."""
        hub = _hub(running)
        if hub.is_listening(node_id):
            return RUNNING
        return POWER_OFF if (hub.directory(node_id) / "node.json").is_file() else None

    @contextlib.contextmanager
    def failing(
        self, running: RunningController, step: str, times: int = 1, after: int = 0
    ) -> Iterator[None]:
        """Make backend step ``step`` fail ``times`` times with a cloud-like error.

        With ``after``, ``create_nodes`` fails when it starts the endpoint of node
        ``after + 1`` of the batch (the first ``after`` nodes are up by then); any other
        step fails on its call number ``after + 1``.
        """
        target: Any = _hub(running) if step == "create_nodes" and after else running.controller.backend
        name = "_listen" if target is not running.controller.backend else step
        original: Any = getattr(target, name)
        fail = _countdown(step, times, after)
        if name == "_listen":

            async def listen(*args: Any, **kwargs: Any) -> Any:
                fail()
                return await original(*args, **kwargs)

            replacement: Callable[..., Any] = listen
        else:

            def call(*args: Any, **kwargs: Any) -> Any:
                fail()
                return original(*args, **kwargs)

            replacement = call
        setattr(target, name, replacement)
        try:
            yield
        finally:
            if name == "_listen":
                delattr(target, name)  # the class's method again
            else:
                setattr(target, name, original)


def _hub(running: RunningController) -> Any:
    """The sandbox backend's SSH endpoint hub."""
    backend: Any = running.controller.backend
    return backend.hub


def _countdown(step: str, times: int, after: int) -> Callable[[], None]:
    """A check to call before each call: raises on calls ``after + 1`` to ``after + times``."""
    calls = {"n": 0}

    def check() -> None:
        calls["n"] += 1
        if after < calls["n"] <= after + times:
            raise BackendError(f"InsufficientInstanceCapacity: injected failure in {step}")

    return check
