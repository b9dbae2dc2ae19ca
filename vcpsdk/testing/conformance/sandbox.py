"""The sandbox backend's conformance harness: nodes are SSH endpoints, disks are directories."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vcpsdk.controller.backends.base import Backend, BackendError
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
        backend: Any = running.controller.backend  # the SandboxBackend, with its SSH hub
        hub = backend.hub
        listening = sorted(hub._listeners)
        return (
            [f"node files {n}" for n in nodes]
            + [f"disk {d}" for d in disks]
            + [f"listener {n}" for n in listening]
        )

    @contextlib.contextmanager
    def failing(self, running: RunningController, step: str, times: int = 1) -> Iterator[None]:
        """Make backend step ``step`` fail ``times`` times with a cloud-like error."""
        backend: Backend = running.controller.backend
        original: Any = getattr(backend, step)
        calls = {"n": 0}

        def broken(*args: Any, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] <= times:
                raise BackendError(f"InsufficientInstanceCapacity: injected failure in {step}")
            return original(*args, **kwargs)

        setattr(backend, step, broken)
        try:
            yield
        finally:
            setattr(backend, step, original)
