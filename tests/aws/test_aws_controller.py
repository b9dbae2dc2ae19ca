"""The controller with its aws providers on AwsBackend (moto): what the SDK user sees."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vcpsdk.errors import VcpUnitFailedError
from vcpsdk.testing import write_test_public_key
from vcpsdk.testing.conformance.aws import AwsMotoHarness
from vcpsdk.testing.fakes.aws import ec2_client
from vcpsdk.vcpsdk import VcpSDK


def _tags(instance: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in instance.get("Tags", [])}


def test_sdk_tags_restart_and_outside_termination(endpoint: str, tmp_path: Path) -> None:
    harness = AwsMotoHarness()
    state = tmp_path / "state"
    key = write_test_public_key(tmp_path / "id.pub")
    with harness.controller(state) as first:
        token = first.create_token("alice")
        vcp = VcpSDK(token, config_dir=str(first.write_config(tmp_path / "cfg1")))
        spec = vcp.get_spec("aws", "small")
        spec.set_ssh_pubkey(str(key))
        spec.num_nodes = 3
        spec.set_tag("Project", "handson")
        ug = vcp.create_ugroup("durable")
        unit = ug.create_unit("web", spec)
        nodes = unit.find_nodes()
        vcc_id = first.controller.vcc_id
        ec2 = ec2_client(endpoint)
        tagged = [
            i
            for r in ec2.describe_instances(Filters=[{"Name": "tag:vcp:vcid", "Values": [ug.vcid]}])[
                "Reservations"
            ]
            for i in r["Instances"]
        ]
        assert sorted(i["InstanceId"] for i in tagged) == sorted(n.cloud_instance_id for n in nodes)
        for instance in tagged:
            tags = _tags(instance)
            assert tags["Project"] == "handson" and tags["vcp:ugroup"] == "durable"
            assert tags["vcp:unit"] == "web" and tags["vcp:controller"] == vcc_id
            assert tags["Name"] == f"VCP-{vcc_id[:8]}-{ug.vcid[:8]}"
            assert instance["InstanceType"] == "m4.large"
        gone = nodes[0]
    # while the controller is down, someone terminates one instance in the console
    ec2.terminate_instances(InstanceIds=[gone.cloud_instance_id])
    with harness.controller(state) as second:
        vcp = VcpSDK(token, config_dir=str(second.write_config(tmp_path / "cfg2")))
        ug = vcp.get_ugroup("durable")
        states = {n.id: n.state for n in ug.get_unit("web").find_nodes()}
        assert states.pop(gone.id) == "HOST_ERROR"
        assert set(states.values()) == {"RUNNING"}
        ug.cleanup()
        assert harness.leftovers(second) == []


def test_a_cloud_error_lands_on_the_unit(endpoint: str, tmp_path: Path) -> None:
    harness = AwsMotoHarness()
    key = write_test_public_key(tmp_path / "id.pub")
    with harness.controller(tmp_path / "state") as running:
        vcp = VcpSDK(running.create_token("bob"), config_dir=str(running.write_config(tmp_path)))
        spec = vcp.get_spec("aws_spot", "small")
        spec.set_ssh_pubkey(str(key))
        spec.num_nodes = 2
        spec.cloud_image = "no-such-ami"
        ug = vcp.create_ugroup("broken")
        with pytest.raises(VcpUnitFailedError) as failure:
            ug.create_unit("spot", spec)
        assert "provider.aws_spot: InvalidAMIID.NotFound: no AMI named 'no-such-ami'" in (
            failure.value.server_message or ""
        )
        assert ug.get_unit("spot").state == "ERROR"
        ug.cleanup()
        assert harness.leftovers(running) == []
