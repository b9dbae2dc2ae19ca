"""The AWS backend's conformance harness: EC2 on moto (server mode on 127.0.0.1).

Needs the ``test`` extra (``boto3``, ``moto[server,ec2]``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcpsdk.testing.conformance.harness import POWER_OFF, RUNNING
from vcpsdk.testing.controller import RunningController, running_controller
from vcpsdk.testing.fakes.aws import Faults, backend_config, ec2_client, make_network, moto_endpoint
from vcpsdk.testing.network import loopback_only


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
        if not self._network:
            endpoint = moto_endpoint()
            self._network.update(endpoint=endpoint, entry=make_network(ec2_client(endpoint)))
        return self._network["endpoint"], self._network["entry"]

    @contextlib.contextmanager
    def controller(self, state: Path) -> Iterator[RunningController]:
        """A controller whose aws, aws_spot and aws_disk providers use AwsBackend on moto."""
        endpoint, entry = self._entry()
        with loopback_only() as violations:
            with running_controller(state, backends={"aws": backend_config(endpoint, entry)}) as running:
                yield running
        assert not violations, f"connections to non-loopback addresses: {violations}"

    def leftovers(self, running: RunningController) -> list[str]:
        """Instances (not terminated) and volumes tagged with this controller's id."""
        ec2 = ec2_client(self._network["endpoint"])
        tag = [{"Name": "tag:vcp:controller", "Values": [running.controller.vcc_id]}]
        found = [
            f"instance {i['InstanceId']} ({i['State']['Name']})"
            for r in ec2.describe_instances(Filters=tag)["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ]
        return found + [f"volume {v['VolumeId']}" for v in ec2.describe_volumes(Filters=tag)["Volumes"]]

    def cloud_state(self, running: RunningController, node_id: str, instance_id: str) -> str | None:
        """The instance's state as EC2 (moto) reports it: running → RUNNING, stopped →
        POWER_OFF, terminated or unknown → None, any other state by its EC2 name."""
        ec2 = ec2_client(self._network["endpoint"])
        found = ec2.describe_instances(Filters=[{"Name": "instance-id", "Values": [instance_id]}])
        states = [i["State"]["Name"] for r in found["Reservations"] for i in r["Instances"]]
        if not states or states == ["terminated"]:
            return None
        return {"running": RUNNING, "stopped": POWER_OFF}.get(states[0], states[0])

    @contextlib.contextmanager
    def failing(
        self, running: RunningController, step: str, times: int = 1, after: int = 0
    ) -> Iterator[None]:
        """Make EC2 answer the requests of backend step ``step`` with an error ``times`` times,
        after ``after`` of them went through (``create_nodes``: RunInstances and the wait's
        DescribeInstances are counted, so ``after=1`` of a single launch fails the wait)."""
        operations = {
            "create_nodes": ["RunInstances", "DescribeInstances"] if after else ["RunInstances"],
            "create_disks": ["CreateVolume"],
            "power": ["StopInstances", "StartInstances"],
            "delete_nodes": ["TerminateInstances"],
            "delete_disks": ["DeleteVolume"],
        }[step]
        faults = Faults(running.controller.backends["aws"])
        faults.error(
            operations, "InsufficientInstanceCapacity", f"injected failure in {step}", times=times, skip=after
        )
        try:
            yield
        finally:
            faults.clear()
