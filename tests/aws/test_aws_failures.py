"""Failures of AwsBackend on moto: typed errors with the cloud's message, and nothing tagged
for the UnitGroup left in the account afterwards, in every failure scenario."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from vcpsdk.controller.backends.aws import AwsBackend
from vcpsdk.controller.backends.base import DiskInfo, DiskRequest, NodeRequest
from vcpsdk.controller.backends.toolkit.errors import (
    BackendError,
    CloudAuthError,
    CloudCapacityError,
    CloudInvalidParameter,
    CloudQuotaError,
    CloudThrottlingError,
    CloudTimeoutError,
)
from vcpsdk.testing.fakes.aws import ZONE, Calls, backend_config


def new_nodes(count: int, *addresses: str) -> list[NodeRequest]:
    made = [NodeRequest(uuid.uuid4().hex, i + 1, None) for i in range(count)]
    made += [NodeRequest(uuid.uuid4().hex, count + i + 1, a) for i, a in enumerate(addresses)]
    return made


def everything(ec2: Any, vcid: str) -> list[str]:
    """What the test's own client sees tagged for the group (instances not terminated)."""
    found = []
    for reservation in ec2.describe_instances(Filters=[{"Name": "tag:vcp:vcid", "Values": [vcid]}])[
        "Reservations"
    ]:
        found += [i["InstanceId"] for i in reservation["Instances"] if i["State"]["Name"] != "terminated"]
    found += [
        v["VolumeId"]
        for v in ec2.describe_volumes(Filters=[{"Name": "tag:vcp:vcid", "Values": [vcid]}])["Volumes"]
    ]
    return found


def assert_nothing_left(backend: AwsBackend, ec2: Any, vcid: str) -> None:
    assert backend.find_tagged(vcid) == []
    assert everything(ec2, vcid) == []


MESSAGES = {
    "InsufficientInstanceCapacity": "We currently do not have sufficient m4.large capacity "
    "in the Availability Zone you requested (ap-northeast-1a).",
    "InstanceLimitExceeded": "You have requested more instances (25) than your current "
    "instance limit of 20 allows for the specified instance type.",
    "VcpuLimitExceeded": "You have requested more vCPU capacity than your current vCPU limit of 32 allows.",
    "AuthFailure": "AWS was not able to validate the provided access credentials",
    "UnauthorizedOperation": "You are not authorized to perform this operation.",
    "InvalidParameterValue": "Value (m4.huge) for parameter instanceType is invalid.",
    "InvalidAMIID.Malformed": 'Invalid id: "ami-zzz"',
    "InvalidSubnetID.NotFound": "The subnet ID 'subnet-123' does not exist",
}
CLASSES = {
    "InsufficientInstanceCapacity": CloudCapacityError,
    "InstanceLimitExceeded": CloudQuotaError,
    "VcpuLimitExceeded": CloudQuotaError,
    "AuthFailure": CloudAuthError,
    "UnauthorizedOperation": CloudAuthError,
    "InvalidParameterValue": CloudInvalidParameter,
    "InvalidAMIID.Malformed": CloudInvalidParameter,
    "InvalidSubnetID.NotFound": CloudInvalidParameter,
}


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_launch_errors_are_typed_with_the_cloud_message(backend, faults, make_unit, ec2, code: str) -> None:
    unit = make_unit()
    sent = faults.error("RunInstances", code, MESSAGES[code])
    with pytest.raises(BackendError) as failure:
        backend.create_nodes(unit, new_nodes(3))
    assert type(failure.value) is CLASSES[code]
    assert str(failure.value) == f"{code}: {MESSAGES[code]}"
    assert sent["sent"] == 1  # not a transient error: not retried
    assert_nothing_left(backend, ec2, unit.vcid)


def test_a_failed_second_fixed_ip_launch_terminates_the_first(backend, calls, faults, make_unit, ec2) -> None:
    unit = make_unit()
    message = "Address 10.77.9.22 is in use."
    faults.error("RunInstances", "InvalidIPAddress.InUse", message, skip=1)
    with pytest.raises(CloudInvalidParameter, match=f"^InvalidIPAddress.InUse: {message}$"):
        backend.create_nodes(unit, new_nodes(0, "10.77.9.21", "10.77.9.22"))
    runs = calls.of("RunInstances")
    assert [r["PrivateIpAddress"] for r in runs] == ["10.77.9.21", "10.77.9.22"]
    [first] = [
        i
        for r in ec2.describe_instances(Filters=[{"Name": "tag:vcp:vcid", "Values": [unit.vcid]}])[
            "Reservations"
        ]
        for i in r["Instances"]
    ]
    assert first["PrivateIpAddress"] == "10.77.9.21"
    assert first["State"]["Name"] == "terminated"
    assert [c["InstanceIds"] for c in calls.of("TerminateInstances")] == [[first["InstanceId"]]]
    names = calls.names()
    assert "DescribeInstances" in names[names.index("TerminateInstances") :]  # waited
    assert_nothing_left(backend, ec2, unit.vcid)


def _no_capacity(parsed: dict[str, Any]) -> bool:
    changed = False
    for reservation in parsed.get("Reservations", []):
        for instance in reservation["Instances"]:
            instance["State"] = {"Code": 48, "Name": "terminated"}
            instance["StateReason"] = {
                "Code": "Server.InsufficientInstanceCapacity",
                "Message": "Server.InsufficientInstanceCapacity: Insufficient capacity.",
            }
            changed = True
    return changed


@pytest.mark.parametrize("step", ["CreateTags", "boot", "AttachVolume", "lost-response"])
def test_a_failure_after_the_launch_terminates_everything(
    backend, calls, faults, make_unit, ec2, step: str
) -> None:
    unit = make_unit()
    requested = new_nodes(3, "10.77.9.50")
    expected: type[BackendError] = BackendError
    if step == "CreateTags":
        faults.error("CreateTags", "RequestResourceCountExceeded", "too many tags", skip=2)
        expected = BackendError
    elif step == "boot":  # EC2 ends the instances while they start (no capacity after all)
        faults.rewrite("DescribeInstances", _no_capacity)
        expected = CloudCapacityError
    elif step == "AttachVolume":
        volume = ec2.create_volume(Size=4, AvailabilityZone=ZONE)["VolumeId"]
        requested = new_nodes(1)
        requested[0].disks = [DiskInfo(uuid.uuid4().hex, volume)]
        faults.error("AttachVolume", "IncorrectState", f"vol {volume} is 'creating'")
        expected = CloudInvalidParameter
    else:  # EC2 launched, but the answer never arrived
        faults.after("RunInstances", ReadTimeoutError(endpoint_url="http://127.0.0.1/"))
    with pytest.raises(expected) as failure:
        backend.create_nodes(unit, requested)
    if step == "boot":
        assert str(failure.value).startswith("Server.InsufficientInstanceCapacity: instance ")
    if step == "lost-response":
        assert str(failure.value).startswith("ReadTimeoutError: ")
        # the instances were found by their launch tag (the ids never arrived)
        assert calls.of("DescribeInstances")[0]["Filters"][0]["Name"] == "tag:vcp:launch"
    assert calls.of("TerminateInstances")
    assert_nothing_left(backend, ec2, unit.vcid)
    if step == "AttachVolume":
        [volume_state] = ec2.describe_volumes(VolumeIds=[volume])["Volumes"]
        assert volume_state["State"] == "available"  # the disk itself is not ours to delete


class Crash(BaseException):
    """The controller process dies (nothing in the backend runs any more)."""


def test_a_create_interrupted_after_run_instances_is_resumed_with_the_same_token(
    backend, calls, faults, make_unit, ec2
) -> None:
    unit = make_unit()
    requested = new_nodes(4)
    faults.after("RunInstances", Crash())
    with pytest.raises(Crash):
        backend.create_nodes(unit, requested)
    launched = everything(ec2, unit.vcid)
    assert len([i for i in launched if i.startswith("i-")]) == 4  # running, not yet tagged
    assert "CreateTags" not in calls.names() and "TerminateInstances" not in calls.names()

    results = backend.create_nodes(unit, requested)  # the worker re-runs the operation
    first, second = calls.of("RunInstances")
    assert first["ClientToken"] == second["ClientToken"]
    assert first == second  # the very same request: EC2 answers with the first launch
    assert sorted(r.instance_id for r in results) == sorted(i for i in launched if i.startswith("i-"))
    assert len([i for i in everything(ec2, unit.vcid) if i.startswith("i-")]) == 4
    for node, result in zip(requested, results, strict=True):
        node.backend_data = dict(result.backend_data)
    backend.delete_nodes(unit, requested)
    assert_nothing_left(backend, ec2, unit.vcid)


def test_throttling_is_retried_with_backoff(backend, calls, faults, make_unit, ec2) -> None:
    unit = make_unit()
    sent = faults.error("RunInstances", "RequestLimitExceeded", "Request limit exceeded.", status=503)
    results = backend.create_nodes(unit, new_nodes(2))
    assert len(results) == 2
    assert sent == {"sent": 2, "failed": 1}  # botocore retried on the wire...
    assert len(calls.of("RunInstances")) == 1  # ...within one API call
    assert backend.requests["RunInstances"] == 2
    assert len(everything(ec2, unit.vcid)) == 4  # 2 instances + 2 root volumes, no more


def test_throttling_that_does_not_stop_becomes_a_typed_error(
    backend, endpoint, entry, controller_id, make_unit, ec2
) -> None:
    from vcpsdk.testing.fakes.aws import Faults

    # max_attempts counts retries (botocore's meaning): 1 → two requests in all
    impatient = AwsBackend(backend_config(endpoint, entry, max_attempts=1), controller_id)
    faults = Faults(impatient)
    unit = make_unit()
    faults.error("RunInstances", "RequestLimitExceeded", "Request limit exceeded.", times=5, status=503)
    with pytest.raises(CloudThrottlingError, match="^RequestLimitExceeded: Request limit exceeded.$"):
        impatient.create_nodes(unit, new_nodes(2))
    assert impatient.requests["RunInstances"] == 2
    impatient.close()
    assert_nothing_left(backend, ec2, unit.vcid)


def test_missing_credentials_are_an_auth_error(
    endpoint, entry, controller_id, make_unit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    config = backend_config(endpoint, entry)
    del config["access_key"], config["secret_key"]
    anonymous = AwsBackend(config, controller_id)
    with pytest.raises(CloudAuthError, match="^NoCredentials: "):
        anonymous.create_nodes(make_unit(), new_nodes(1))
    anonymous.close()


def test_a_failed_disk_creation_deletes_the_disks_it_made(backend, calls, faults, make_unit, ec2) -> None:
    storage = make_unit("aws_disk", size=8, type="standard")
    faults.error(
        "CreateVolume",
        "VolumeLimitExceeded",
        "You have exceeded your maximum gp2 storage limit of 1 TiB.",
        skip=1,
    )
    disks = [DiskRequest(uuid.uuid4().hex, i, 8) for i in range(1, 4)]
    with pytest.raises(CloudQuotaError, match="^VolumeLimitExceeded: You have exceeded"):
        backend.create_disks(storage, disks)
    assert len(calls.of("CreateVolume")) == 2
    assert len(calls.of("DeleteVolume")) == 1
    assert_nothing_left(backend, ec2, storage.vcid)


@pytest.mark.parametrize("operation", ["StopInstances", "TerminateInstances"])
def test_failed_power_or_delete_then_cleanup_leaves_nothing(
    backend, faults, make_unit, ec2, operation: str
) -> None:
    unit = make_unit()
    requested = new_nodes(2)
    backend.create_nodes(unit, requested)
    faults.error(operation, "UnauthorizedOperation", "You are not authorized to perform this operation.")
    with pytest.raises(CloudAuthError, match="^UnauthorizedOperation: You are not authorized"):
        if operation == "StopInstances":
            backend.power(unit, requested, "power_off")
        else:
            backend.delete_nodes(unit, requested)
    backend.delete_nodes(unit, requested)  # the UnitGroup's cleanup()
    assert_nothing_left(backend, ec2, unit.vcid)


def test_power_on_a_node_whose_instance_is_gone(backend, make_unit, ec2) -> None:
    unit = make_unit()
    requested = new_nodes(1)
    [result] = backend.create_nodes(unit, requested)
    ec2.terminate_instances(InstanceIds=[result.instance_id])
    with pytest.raises(CloudInvalidParameter, match="^InvalidInstanceID.NotFound: no instance"):
        backend.power(unit, requested, "power_on")


def test_calls_and_faults_only_touch_this_backend(
    backend, endpoint, entry, controller_id, make_unit, faults
) -> None:
    """Sanity check of the test tools: a fault of one backend does not hit another."""
    other = AwsBackend(backend_config(endpoint, entry), controller_id)
    recorder = Calls(other)
    faults.error("RunInstances", "InsufficientInstanceCapacity", "no", times=5)
    assert len(other.create_nodes(make_unit(), new_nodes(1))) == 1
    assert recorder.names().count("RunInstances") == 1
    recorder.close()
    other.close()


def test_too_much_user_data_is_refused_before_launching(backend, calls, make_unit) -> None:
    unit = make_unit(spec={"params_e": ["BIG=" + "x" * 17000]})
    with pytest.raises(CloudInvalidParameter, match="EC2 user data is limited to 16384 bytes"):
        backend.create_nodes(unit, new_nodes(1))
    assert "RunInstances" not in calls.names()


def test_instances_that_never_run_time_out_and_are_terminated(
    endpoint, entry, controller_id, make_unit, ec2
) -> None:
    from vcpsdk.testing.fakes.aws import Faults, restate

    patient = AwsBackend(backend_config(endpoint, entry, wait_timeout=0.5, waiter_delay=0.05), controller_id)
    faults = Faults(patient)

    faults.rewrite("DescribeInstances", restate("running", "pending", 0), times=1000)
    unit = make_unit()
    with pytest.raises(CloudTimeoutError, match=r"^Timeout: 2 instance\(s\) not running after 0.5 s: i-"):
        patient.create_nodes(unit, new_nodes(2))
    faults.clear()
    patient.close()
    assert everything(ec2, unit.vcid) == []
