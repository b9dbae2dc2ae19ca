"""What the conformance suite needs from each backend's offline stand-in.

A harness runs a controller whose providers use the backend under test, lists the
resources the backend still holds (to prove "zero leftovers"), and injects failures
at each step.  The sandbox harness is here; cloud backends add theirs (AWS on moto).
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcpsdk.controller.backends.base import Backend, BackendError
from vcpsdk.testing import RunningController, running_controller

#: a catalog with room for every test's nodes
CATALOG = "aws:\n  default:\n    private_network_ipmask: 127.44.0.0/16\n"


@dataclass
class SandboxHarness:
    """The sandbox backend: nodes are SSH endpoints, disks are directories."""

    name: str = "sandbox"
    provider: str = "aws"
    disk_provider: str = "aws_disk"
    mask_prefix: str = "127.44."
    _tmp: Path = field(default_factory=Path)

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
        hub = running.controller.backend.hub  # type: ignore[attr-defined]
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


@dataclass
class AwsMotoHarness:
    """The AWS backend against EC2 on moto (server mode on 127.0.0.1).

    Each harness gets its own VPC/subnet (10.77.0.0/16), security group and AMI on the
    process's moto server; the controller runs with ``backends={"aws": ...}``.  While it
    runs, any connection to a non-loopback address (such as the 10.x addresses moto
    hands out) is refused and fails the test.
    """

    name: str = "aws-moto"
    provider: str = "aws"
    disk_provider: str = "aws_disk"
    mask_prefix: str = "10.77."
    _network: dict[str, Any] = field(default_factory=dict)

    def _entry(self) -> tuple[str, dict[str, Any]]:
        from tests.aws.moto_env import ec2_client, make_network, moto_endpoint

        if not self._network:
            endpoint = moto_endpoint()
            self._network.update(endpoint=endpoint, entry=make_network(ec2_client(endpoint)))
        return self._network["endpoint"], self._network["entry"]

    @contextlib.contextmanager
    def controller(self, state: Path) -> Iterator[RunningController]:
        """A controller whose aws, aws_spot and aws_disk providers use AwsBackend on moto."""
        from tests.aws.moto_env import backend_config, loopback_only

        endpoint, entry = self._entry()
        with loopback_only() as violations:
            with running_controller(state, backends={"aws": backend_config(endpoint, entry)}) as running:
                yield running
        assert not violations, f"connections to non-loopback addresses: {violations}"

    def leftovers(self, running: RunningController) -> list[str]:
        """Instances (not terminated) and volumes tagged with this controller's id."""
        from tests.aws.moto_env import ec2_client

        ec2 = ec2_client(self._network["endpoint"])
        tag = [{"Name": "tag:vcp:controller", "Values": [running.controller.vcc_id]}]
        found = [
            f"instance {i['InstanceId']} ({i['State']['Name']})"
            for r in ec2.describe_instances(Filters=tag)["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ]
        return found + [f"volume {v['VolumeId']}" for v in ec2.describe_volumes(Filters=tag)["Volumes"]]

    @contextlib.contextmanager
    def failing(self, running: RunningController, step: str, times: int = 1) -> Iterator[None]:
        """Make EC2 answer the requests of backend step ``step`` with an error ``times`` times."""
        from tests.aws.moto_env import Faults

        operations = {
            "create_nodes": ["RunInstances"],
            "create_disks": ["CreateVolume"],
            "power": ["StopInstances", "StartInstances"],
            "delete_nodes": ["TerminateInstances"],
            "delete_disks": ["DeleteVolume"],
        }[step]
        faults = Faults(running.controller.backends["aws"])
        for operation in operations:
            faults.error(
                operation, "InsufficientInstanceCapacity", f"injected failure in {step}", times=times
            )
        try:
            yield
        finally:
            faults.clear()


HARNESSES: dict[str, Any] = {"sandbox": SandboxHarness}
if importlib.util.find_spec("boto3") and importlib.util.find_spec("moto"):
    HARNESSES["aws-moto"] = AwsMotoHarness
