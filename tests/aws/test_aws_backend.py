"""AwsBackend against EC2 on moto: the exact calls it makes and what ends up in the account."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from vcpsdk.controller.backends.aws import TAG_NODE, AwsBackend, bootstrap_script
from vcpsdk.controller.backends.base import DiskInfo, DiskRequest, NodeRequest
from vcpsdk.controller.backends.toolkit.ratelimit import RateLimiter
from vcpsdk.core.polling import FakeClock
from vcpsdk.testing.fakes.aws import IMAGE_NAME, ZONE, Calls, backend_config, restate


def new_nodes(count: int, *addresses: str) -> list[NodeRequest]:
    """``count`` automatic nodes, then one node per fixed address."""
    made = [NodeRequest(uuid.uuid4().hex, i + 1, None) for i in range(count)]
    made += [NodeRequest(uuid.uuid4().hex, count + i + 1, a) for i, a in enumerate(addresses)]
    return made


def tags_of(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def by_vcid(ec2: Any, vcid: str) -> list[dict[str, Any]]:
    found = []
    for reservation in ec2.describe_instances(Filters=[{"Name": "tag:vcp:vcid", "Values": [vcid]}])[
        "Reservations"
    ]:
        found += reservation["Instances"]
    return found


# -- launches ---------------------------------------------------------------------------------


def test_n_automatic_nodes_are_one_run_instances_call(backend, calls, make_unit, ec2, controller_id) -> None:
    unit = make_unit(
        instance_type="m5.large",
        volume_size=32,
        volume_type="gp3",
        tags={"Project": "handson", "vcp:unit": "spoofed"},
    )
    requested = new_nodes(5)
    results = backend.create_nodes(unit, requested)

    [run] = calls.of("RunInstances")
    assert run["MinCount"] == run["MaxCount"] == 5
    assert "PrivateIpAddress" not in run
    assert run["InstanceType"] == "m5.large"
    [image] = ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [IMAGE_NAME]}])[
        "Images"
    ]
    assert run["ImageId"] == image["ImageId"]  # "default" → the catalog's AMI name → its id
    assert run["BlockDeviceMappings"] == [
        {
            "DeviceName": image["RootDeviceName"],
            "Ebs": {"VolumeSize": 32, "VolumeType": "gp3", "DeleteOnTermination": True},
        }
    ]
    assert run["SubnetId"] == unit.catalog["aws_vpc_subnet_id"]
    assert run["SecurityGroupIds"] == [unit.catalog["aws_vpc_security_group_id"]]
    assert run["Placement"] == {"AvailabilityZone": ZONE}
    assert run["ClientToken"].startswith("vcp-") and len(run["ClientToken"]) <= 64
    expected = {
        "vcp:controller": controller_id,
        "vcp:vcid": unit.vcid,
        "vcp:ugroup": unit.vc_name,
        "vcp:unit": unit.unit_name,
        "Name": f"VCP-{controller_id[:8]}-{unit.vcid[:8]}",
        "Project": "handson",
        "vcp:launch": run["ClientToken"],
    }
    assert [s["ResourceType"] for s in run["TagSpecifications"]] == ["instance", "volume"]
    for spec in run["TagSpecifications"]:
        assert {t["Key"]: t["Value"] for t in spec["Tags"]} == expected
    # one CreateTags per instance: the only per-node value of a batched launch
    tagging = calls.of("CreateTags")
    assert len(tagging) == 5
    assert sorted(t["Tags"][0]["Value"] for t in tagging) == sorted(n.node_id for n in requested)
    assert calls.names().count("RunInstances") == 1

    live = {i["InstanceId"]: i for i in by_vcid(ec2, unit.vcid)}
    assert len(live) == 5
    for result in results:
        instance = live[result.instance_id]
        assert tags_of(instance)[TAG_NODE] == result.node_id
        assert tags_of(instance)["vcp:unit"] == unit.unit_name  # the spec cannot spoof ours
        assert instance["State"]["Name"] == "running"
        assert instance["InstanceType"] == "m5.large"
        assert result.address == instance["PrivateIpAddress"]
        assert result.address.startswith("10.77.")
        assert result.backend_data == {"instance_id": result.instance_id, "region": "ap-northeast-1"}
        assert result.ssh_port is None
    assert [r.node_id for r in results] == [n.node_id for n in requested]
    # the root volumes carry the group's tags too
    volumes = ec2.describe_volumes(Filters=[{"Name": "tag:vcp:vcid", "Values": [unit.vcid]}])
    assert len(volumes["Volumes"]) == 5
    assert {v["Size"] for v in volumes["Volumes"]} == {32}


def test_fixed_ips_get_one_call_each(backend, calls, make_unit, ec2) -> None:
    unit = make_unit()
    requested = new_nodes(2, "10.77.9.21", "10.77.9.22")
    results = backend.create_nodes(unit, requested)
    runs = calls.of("RunInstances")
    assert len(runs) == 3
    assert [(r["MinCount"], r.get("PrivateIpAddress")) for r in runs] == [
        (2, None),
        (1, "10.77.9.21"),
        (1, "10.77.9.22"),
    ]
    assert len({r["ClientToken"] for r in runs}) == 3
    addresses = {r.node_id: r.address for r in results}
    assert addresses[requested[2].node_id] == "10.77.9.21"
    assert addresses[requested[3].node_id] == "10.77.9.22"
    assert len(calls.of("CreateTags")) == 4


def test_user_data_starts_the_base_container(backend, make_unit, ec2, controller_id) -> None:
    unit = make_unit(
        spec={
            "params_v": ["/opt/data:/data"],
            "params_e": ["AUTHORIZED_KEYS=c3NoLWVkMjU1MTkgQUFBQQ==", "MSG=hello world"],
            "docker_opt": {
                "dns": ["1.1.1.1"],
                "dns_search": ["example.org"],
                "options": ["ndots:2"],
                "add_host": ["db:10.77.0.50"],
                "hostname": "server01",
                "gpus": "all",
            },
        }
    )
    automatic, fixed = new_nodes(2), new_nodes(0, "10.77.9.30")
    backend.create_nodes(unit, automatic + fixed)
    scripts = {}
    for instance in by_vcid(ec2, unit.vcid):
        raw = ec2.describe_instance_attribute(InstanceId=instance["InstanceId"], Attribute="userData")[
            "UserData"
        ]["Value"]
        scripts[tags_of(instance)[TAG_NODE]] = base64.b64decode(raw).decode()
    # the batch shares one script; the node id comes from the instance's tag at boot
    assert scripts[automatic[0].node_id] == scripts[automatic[1].node_id]
    script = scripts[automatic[0].node_id]
    assert script == bootstrap_script(
        unit, automatic[0], controller_id=controller_id, controller_address="10.77.0.10"
    )
    assert script.startswith("#!/bin/sh\n")
    assert (
        "docker run -d --name vcp-base --restart always --privileged --net=host -v /dev:/dev"
    ) in script.replace(" \\\n  ", " ")
    flat = script.replace(" \\\n  ", " ")
    for part in (
        "-v /opt/data:/data",
        "-e AUTHORIZED_KEYS=c3NoLWVkMjU1MTkgQUFBQQ==",
        "-e 'MSG=hello world'",
        '-e "MY_PRIVATE_IP=$MY_PRIVATE_IP"',
        "-e VCCCTR_IPADDR=10.77.0.10",
        f"-e VCCC_ID={controller_id}",
        '-e "SERF_NODE_ID=$NODE_ID"',
        "--dns 1.1.1.1",
        "--dns-search example.org",
        "--dns-opt ndots:2",
        "--add-host db:10.77.0.50",
        "--hostname server01",
        "--gpus all",
        "tags/instance/vcp:node_id",
        "local-ipv4",
    ):
        assert part in flat, part
    assert flat.rstrip().endswith("harbor.vcloud.nii.ac.jp/vcp/base:3.0.0-alpine3.22-x86_64")
    # a fixed address is written in; nothing of another node is
    assert "MY_PRIVATE_IP=10.77.9.30" in scripts[fixed[0].node_id]
    assert "local-ipv4" not in scripts[fixed[0].node_id]


def test_cloud_image_by_id_and_unknown_name(backend, calls, make_unit, ec2) -> None:
    [image] = ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [IMAGE_NAME]}])[
        "Images"
    ]
    unit = make_unit(cloud_image=image["ImageId"])
    backend.create_nodes(unit, new_nodes(1))
    assert calls.of("DescribeImages")[0] == {"ImageIds": [image["ImageId"]]}
    assert calls.of("RunInstances")[0]["ImageId"] == image["ImageId"]
    from vcpsdk.controller.backends.toolkit.errors import CloudInvalidParameter

    calls.clear()
    with pytest.raises(CloudInvalidParameter, match="InvalidAMIID.NotFound: no AMI named 'no-such-ami'"):
        backend.create_nodes(make_unit(cloud_image="no-such-ami"), new_nodes(2))
    assert "RunInstances" not in calls.names()


def test_spot_options_and_tags(backend, calls, make_unit, ec2) -> None:
    unit = make_unit("aws_spot", spot_type="persistent", spot_price="0.05", block_duration_minutes=60)
    backend.create_nodes(unit, new_nodes(2))
    [run] = calls.of("RunInstances")
    assert run["InstanceMarketOptions"] == {
        "MarketType": "spot",
        "SpotOptions": {
            "MaxPrice": "0.05",
            "SpotInstanceType": "persistent",
            "InstanceInterruptionBehavior": "stop",
            "BlockDurationMinutes": 60,
        },
    }
    assert [s["ResourceType"] for s in run["TagSpecifications"]] == [
        "instance",
        "volume",
        "spot-instances-request",
    ]
    assert {i.get("InstanceLifecycle") for i in by_vcid(ec2, unit.vcid)} == {"spot"}

    calls.clear()
    backend.create_nodes(make_unit("aws_spot", spot_type="one-time"), new_nodes(1))
    [run] = calls.of("RunInstances")
    assert run["InstanceMarketOptions"] == {
        "MarketType": "spot",
        "SpotOptions": {"SpotInstanceType": "one-time"},
    }
    calls.clear()
    backend.create_nodes(make_unit(), new_nodes(1))  # on-demand: no market options
    assert "InstanceMarketOptions" not in calls.of("RunInstances")[0]


def test_a_retried_create_returns_the_same_instances(backend, calls, make_unit, ec2) -> None:
    unit = make_unit()
    requested = new_nodes(3, "10.77.9.40")
    first = backend.create_nodes(unit, requested)
    second = backend.create_nodes(unit, requested)  # the worker re-running the operation
    assert [(r.node_id, r.instance_id, r.address) for r in first] == [
        (r.node_id, r.instance_id, r.address) for r in second
    ]
    runs = calls.of("RunInstances")
    assert len(runs) == 4
    assert runs[0]["ClientToken"] == runs[2]["ClientToken"]
    assert runs[1]["ClientToken"] == runs[3]["ClientToken"]
    assert len(by_vcid(ec2, unit.vcid)) == 4


# -- power, delete, describe -------------------------------------------------------------------


def test_power_off_and_on_are_stop_and_start(backend, calls, make_unit, ec2) -> None:
    unit = make_unit()
    requested = new_nodes(2)
    results = backend.create_nodes(unit, requested)
    ids = sorted(r.instance_id for r in results)
    for r, n in zip(results, requested, strict=True):
        n.backend_data = dict(r.backend_data)
    calls.clear()
    backend.power(unit, requested, "power_off")
    assert [sorted(c["InstanceIds"]) for c in calls.of("StopInstances")] == [ids]
    assert {i["State"]["Name"] for i in by_vcid(ec2, unit.vcid)} == {"stopped"}
    assert set(backend.describe(unit, requested).values()) == {"POWER_OFF"}
    backend.power(unit, requested, "power_off")  # idempotent: nothing left to stop
    assert len(calls.of("StopInstances")) == 1
    calls.clear()
    backend.power(unit, requested, "power_on")
    assert [sorted(c["InstanceIds"]) for c in calls.of("StartInstances")] == [ids]
    assert {i["State"]["Name"] for i in by_vcid(ec2, unit.vcid)} == {"running"}
    for action, call in (
        ("stop", "StopInstances"),
        ("start", "StartInstances"),
        ("suspend", "StopInstances"),
        ("resume", "StartInstances"),
    ):
        calls.clear()
        backend.power(unit, requested, action)
        assert calls.names().count(call) == 1, action


def test_delete_waits_until_ec2_reports_terminated(backend, calls, faults, make_unit, ec2) -> None:
    unit = make_unit()
    requested = new_nodes(3)
    backend.create_nodes(unit, requested)  # backend_data unknown: found by tag vcp:node_id

    calls.clear()
    # EC2 answers "shutting-down" to the first two polls after TerminateInstances
    faults.rewrite("DescribeInstances", restate("terminated", "shutting-down", 32), times=2)
    backend.delete_nodes(unit, requested)
    names = calls.names()
    assert names.count("TerminateInstances") == 1
    after = names[names.index("TerminateInstances") + 1 :]
    assert after == ["DescribeInstances"] * 3  # polled until EC2 said terminated
    assert backend.find_tagged(unit.vcid) == []
    assert {i["State"]["Name"] for i in by_vcid(ec2, unit.vcid)} == {"terminated"}
    calls.clear()
    backend.delete_nodes(unit, requested)  # again: nothing to terminate
    assert "TerminateInstances" not in calls.names()


def test_describe_reports_instances_terminated_outside(backend, make_unit, ec2) -> None:
    unit = make_unit()
    requested = new_nodes(3)
    results = backend.create_nodes(unit, requested)
    for r, n in zip(results, requested, strict=True):
        n.backend_data = dict(r.backend_data)
    ec2.terminate_instances(InstanceIds=[results[0].instance_id])  # someone in the console
    ec2.stop_instances(InstanceIds=[results[1].instance_id])
    report = backend.describe(unit, requested)
    assert report == {
        requested[0].node_id: "DELETED",
        requested[1].node_id: "POWER_OFF",
        requested[2].node_id: "RUNNING",
    }
    # a node recorded with an instance id EC2 no longer knows at all
    ghost = NodeRequest(
        uuid.uuid4().hex, 9, "10.77.0.99", backend_data={"instance_id": "i-0123456789abcdef0"}
    )
    assert backend.describe(unit, [ghost]) == {ghost.node_id: "DELETED"}
    # a restarted controller (new backend object) re-discovers the instances by tag alone
    fresh = [NodeRequest(n.node_id, n.node_no, None) for n in requested]
    again = AwsBackend(backend_config(backend.endpoint_url, unit.catalog), backend.controller_id)
    assert again.describe(unit, fresh) == report
    again.close()


def test_per_unit_credentials(backend, make_unit, ec2) -> None:
    seen: list[str] = []

    def capture(request: Any, **_: Any) -> None:
        seen.append(
            request.headers["Authorization"].decode()
            if isinstance(request.headers["Authorization"], bytes)
            else request.headers["Authorization"]
        )

    backend.register_hook("before-send.ec2", capture)
    backend.create_nodes(make_unit(access_key="AKIAUNITKEY", secret_key="unit-secret"), new_nodes(1))
    assert seen and all("Credential=AKIAUNITKEY/" in header for header in seen)
    seen.clear()
    backend.create_nodes(
        make_unit(
            access_key="vault://cubbyhole/aws/access_key", secret_key="vault://cubbyhole/aws/secret_key"
        ),
        new_nodes(1),
    )
    assert seen and all("Credential=testing/" in header for header in seen)


# -- disks ------------------------------------------------------------------------------------


def test_disks_create_attach_detach_delete(backend, calls, make_unit, ec2) -> None:
    volume = ec2.create_volume(Size=8, AvailabilityZone=ZONE)["VolumeId"]
    snap = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    ec2.create_tags(Resources=[snap], Tags=[{"Key": "Name", "Value": "dataset-v1"}])
    storage = make_unit(
        "aws_disk", size=20, type="gp3", cloud_image="dataset-v1", tags={"Project": "handson"}
    )
    requested = [DiskRequest(uuid.uuid4().hex, 1, 20), DiskRequest(uuid.uuid4().hex, 2, 20)]
    created = backend.create_disks(storage, requested)
    made = calls.of("CreateVolume")
    assert len(made) == 2
    for call, disk in zip(made, requested, strict=True):
        assert call["Size"] == 20 and call["VolumeType"] == "gp3"
        assert call["AvailabilityZone"] == ZONE and call["SnapshotId"] == snap
        tags = {t["Key"]: t["Value"] for t in call["TagSpecifications"][0]["Tags"]}
        assert tags["vcp:node_id"] == disk.disk_id and tags["vcp:vcid"] == storage.vcid
        assert tags["Project"] == "handson"
    ids = [d.cloud_disk_id for d in created]
    states = {v["VolumeId"]: v["State"] for v in ec2.describe_volumes(VolumeIds=ids)["Volumes"]}
    assert states == {i: "available" for i in ids}
    assert backend.create_disks(storage, requested)[0].cloud_disk_id == ids[0]  # idempotent
    assert len(calls.of("CreateVolume")) == 2

    compute = make_unit()
    [node] = new_nodes(1)
    node.disks = [DiskInfo(d.disk_id, d.cloud_disk_id, dict(d.backend_data)) for d in created]
    calls.clear()
    [result] = backend.create_nodes(compute, [node])
    assert result.volumes == [
        {"volume_id": ids[0], "device_name": "/dev/xvdf"},
        {"volume_id": ids[1], "device_name": "/dev/xvdg"},
    ]
    assert [(c["VolumeId"], c["Device"]) for c in calls.of("AttachVolume")] == [
        (ids[0], "/dev/xvdf"),
        (ids[1], "/dev/xvdg"),
    ]
    for v in ec2.describe_volumes(VolumeIds=ids)["Volumes"]:
        assert v["State"] == "in-use"
        assert v["Attachments"][0]["InstanceId"] == result.instance_id

    # deleting a disk that is still attached detaches it first
    calls.clear()
    backend.delete_disks(storage, [DiskRequest(created[1].disk_id, 2, 20, dict(created[1].backend_data))])
    assert calls.names().index("DetachVolume") < calls.names().index("DeleteVolume")
    # deleting the node releases the other one
    node.backend_data = dict(result.backend_data)
    backend.delete_nodes(compute, [node])
    [left] = ec2.describe_volumes(VolumeIds=[ids[0]])["Volumes"]
    assert left["State"] == "available" and not left["Attachments"]
    calls.clear()
    backend.delete_disks(storage, [DiskRequest(d.disk_id, 1, 20, dict(d.backend_data)) for d in created])
    assert [c["VolumeId"] for c in calls.of("DeleteVolume")] == [ids[0]]
    assert "DetachVolume" not in calls.names()
    assert backend.find_tagged(storage.vcid) == []
    assert backend.find_tagged(compute.vcid) == []


def test_calls_are_rate_limited_on_the_client_side(endpoint, entry, controller_id, make_unit) -> None:
    slow = AwsBackend(backend_config(endpoint, entry, max_requests_per_second=10), controller_id)
    # the backend's own limiter (10 requests/s, from its settings) on a clock that only the
    # limiter's waits move: the bound below then holds however slow the machine is
    assert (slow.limiter.rate, slow.limiter.capacity) == (10, 10)
    clock = FakeClock()
    slow.limiter = RateLimiter(slow.limiter.rate, slow.limiter.capacity, clock=clock)
    recorder = Calls(slow)
    unit = make_unit()
    slow.create_nodes(unit, new_nodes(12))  # DescribeImages + RunInstances + 12 CreateTags...
    sent = sum(slow.requests.values())
    assert sent >= 15 and slow.limiter.waited > 0
    # a bucket of 10 refilled at 10 requests/s: never more than 10 + 10 * elapsed requests
    assert sent <= 10 + 10 * clock.now() + 0.5
    recorder.close()
    slow.close()
