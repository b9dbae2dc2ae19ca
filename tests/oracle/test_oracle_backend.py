"""OracleBackend against the fake OCI Core API: the OCI calls it makes, what ends up in the fake
cloud, how OCI's errors are mapped, and that the private key stays out of the logs."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vcpsdk.controller.backends.base import DiskInfo, DiskRequest, NodeRequest, UnitContext
from vcpsdk.controller.backends.oracle import TAG_NODE, OracleBackend, bootstrap_script
from vcpsdk.controller.backends.oracle.errors import map_error
from vcpsdk.controller.backends.registry import REGISTRY
from vcpsdk.controller.backends.toolkit.errors import (
    BackendError,
    CloudAuthError,
    CloudCapacityError,
    CloudInvalidParameter,
    CloudNotFoundError,
    CloudQuotaError,
    CloudThrottlingError,
)
from vcpsdk.testing.conformance.oracle import backend_config
from vcpsdk.testing.fakes.oracle import IMAGE_NAME, SUBNET_CIDR, RunningOci, generate_key
from vcpsdk.testing.units import backend_unit, concurrency_peak, node_requests

CONTROLLER_ID = "c0ffee00-0000-4000-8000-000000000002"


@pytest.fixture
def config(served: RunningOci) -> dict[str, Any]:
    return backend_config(served, served.fake.subnet_id, SUBNET_CIDR)


@pytest.fixture
def backend(config: dict[str, Any]) -> Iterator[OracleBackend]:
    made = OracleBackend(config, CONTROLLER_ID)
    yield made
    made.close()


def make_unit(config: dict[str, Any], provider: str = "oracle", **params: Any) -> UnitContext:
    unit: UnitContext = backend_unit(config["vpn_catalog"]["default"], provider, **params)
    return unit


def bodies(served: RunningOci, operation: str) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in served.fake.calls(operation)]


def clean(served: RunningOci) -> bool:
    return all(not ids for ids in served.fake.leftovers().values())


def operations(served: RunningOci, since: int = 0) -> list[str]:
    return [r["operation"] for r in served.fake.requests[since:]]


# -- creates ----------------------------------------------------------------------------------


def test_create_nodes_launches_an_instance_per_node(
    served: RunningOci, backend: OracleBackend, config
) -> None:
    unit = make_unit(
        config,
        shape="VM.Standard.E4.Flex",
        boot_volume_size_in_gbs=64,
        cloud_image=IMAGE_NAME,
        tags={"Project": "handson", "vcp-unit": "spoofed"},
    )
    nodes = node_requests(2, "127.66.0.21")
    results = backend.create_nodes(unit, nodes)

    calls = operations(served)
    assert calls.count("ListImages") == 1  # the image name, looked up once for the batch
    for operation in ("LaunchInstance", "GetInstance", "ListVnicAttachments", "GetVnic"):
        assert calls.count(operation) == 3, operation
    assert set(calls) == {"ListImages", "LaunchInstance", "GetInstance", "ListVnicAttachments", "GetVnic"}
    launches = {body["displayName"]: body for body in bodies(served, "LaunchInstance")}
    for node in nodes:
        body = launches[f"vcp-{node.node_id}"]
        assert body["shape"] == "VM.Standard.E4.Flex"
        assert body["compartmentId"] == config["vpn_catalog"]["default"]["oracle_compartment_id"]
        assert body["availabilityDomain"] == config["vpn_catalog"]["default"]["oracle_availability_domain"]
        assert body["sourceDetails"] == {
            "sourceType": "image",
            "imageId": served.fake.image_id,
            "bootVolumeSizeInGBs": 64,
        }
        vnic = body["createVnicDetails"]
        assert vnic["subnetId"] == served.fake.subnet_id and vnic["assignPublicIp"] is False
        assert vnic.get("privateIp") == node.address
        assert body["freeformTags"] == {
            "Project": "handson",
            "vcp-controller": CONTROLLER_ID,
            "vcp-vcid": unit.vcid,
            "vcp-ugroup": "group",
            "vcp-unit": "unit",
            TAG_NODE: node.node_id,
        }
        assert body["metadata"] == {"user_data": "***"}  # recorded masked
    for node, result in zip(nodes, results, strict=True):
        script = served.fake.user_data[result.instance_id]
        assert script == bootstrap_script(
            unit, node, controller_id=CONTROLLER_ID, controller_address=config["controller_address"]
        )
        assert f"NODE_ID={node.node_id}" in script
    addresses = [r.address for r in results]
    assert addresses[2] == "127.66.0.21" and len(set(addresses)) == 3
    assert all(a.startswith("127.66.0.") for a in addresses)
    assert all(r.instance_id.startswith("ocid1.instance.") for r in results)
    assert all(r.backend_data["instance_id"] == r.instance_id for r in results)


def test_an_image_ocid_and_the_catalog_default(served: RunningOci, config: dict[str, Any]) -> None:
    other = served.fake.add_image("Oracle-Linux-9")
    catalog = {**config["vpn_catalog"]["default"], "oracle_default_image": "Oracle-Linux-9"}
    custom = {**config, "vpn_catalog": {"default": catalog}}
    backend = OracleBackend(custom, CONTROLLER_ID)
    backend.create_nodes(make_unit(custom), node_requests(1))
    assert bodies(served, "LaunchInstance")[-1]["sourceDetails"]["imageId"] == other
    before = len(served.fake.calls("ListImages"))
    backend.create_nodes(make_unit(config, cloud_image=served.fake.image_id), node_requests(1))
    assert len(served.fake.calls("ListImages")) == before  # an OCID is used as it is
    assert bodies(served, "LaunchInstance")[-1]["sourceDetails"]["imageId"] == served.fake.image_id
    with pytest.raises(CloudInvalidParameter, match="^InvalidParameter: cloud_image 'no-such-image'"):
        backend.create_nodes(make_unit(config, cloud_image="no-such-image"), node_requests(1))
    backend.close()


def test_the_launches_of_one_request_run_concurrently_within_the_bound(
    served: RunningOci, config: dict[str, Any]
) -> None:
    backend = OracleBackend({**config, "max_concurrent_creates": 2}, CONTROLLER_ID)
    unit = make_unit(config)
    with concurrency_peak(backend.clients(unit).compute, "launch_instance") as peak:
        assert len(backend.create_nodes(unit, node_requests(5))) == 5
    backend.close()
    assert peak[0] == 2


def test_power_describe_and_delete(served: RunningOci, backend: OracleBackend, config) -> None:
    unit = make_unit(config)
    nodes = node_requests(3)
    results = backend.create_nodes(unit, nodes)
    for node, result in zip(nodes, results, strict=True):
        node.backend_data = dict(result.backend_data)
    backend.power(unit, nodes[:1], "power_off")
    backend.power(unit, nodes[1:2], "suspend")
    actions = [r["query"]["action"] for r in served.fake.calls("InstanceAction")]
    assert actions == ["STOP", "SOFTSTOP"]
    expected = {nodes[0].node_id: "POWER_OFF", nodes[1].node_id: "POWER_OFF", nodes[2].node_id: "RUNNING"}
    assert backend.describe(unit, nodes) == expected
    # a new backend (a restarted controller) finds the instances again by their tags
    again = OracleBackend(config, CONTROLLER_ID)
    bare = [NodeRequest(n.node_id, n.node_no, None) for n in nodes]
    assert again.describe(unit, bare) == expected
    assert OracleBackend(config, "another-controller").describe(unit, bare[:1]) == {
        nodes[0].node_id: "DELETED"
    }
    again.power(unit, bare[:2], "power_on")  # found by tag, no backend_data
    assert [r["query"]["action"] for r in served.fake.calls("InstanceAction")][2:] == ["START", "START"]
    again.close()
    assert set(backend.describe(unit, nodes).values()) == {"RUNNING"}
    with pytest.raises(BackendError, match="unknown power action"):
        backend.power(unit, nodes, "hibernate")
    backend.delete_nodes(unit, nodes)
    assert [r["query"].get("preserveBootVolume") for r in served.fake.calls("TerminateInstance")] == [
        "false"
    ] * 3
    assert clean(served)  # instances and boot volumes
    assert backend.describe(unit, nodes) == dict.fromkeys([n.node_id for n in nodes], "DELETED")
    backend.delete_nodes(unit, nodes)  # again: nothing left to delete is fine


# -- disks ------------------------------------------------------------------------------------


def test_volumes_clone_attach_paravirtualized_and_detach_before_delete(
    served: RunningOci, backend: OracleBackend, config
) -> None:
    golden = backend.create_disks(make_unit(config, "oracle_disk"), [DiskRequest("golden", 1, 70)])[0]
    storage = make_unit(config, "oracle_disk", cloud_image=golden.cloud_disk_id)
    requests = [DiskRequest(uuid.uuid4().hex, i + 1, 0) for i in range(2)]
    disks = backend.create_disks(storage, requests)
    [_, first, second] = bodies(served, "CreateVolume")
    assert first["sourceDetails"] == {"type": "volume", "id": golden.cloud_disk_id}
    assert "sizeInGBs" not in first and second["sourceDetails"] == first["sourceDetails"]
    assert {first["freeformTags"][TAG_NODE], second["freeformTags"][TAG_NODE]} == {
        r.disk_id for r in requests
    }
    assert [d.size_gb for d in disks] == [70, 70]
    for request, disk in zip(requests, disks, strict=True):
        request.backend_data = dict(disk.backend_data)

    unit = make_unit(config)
    [node] = node_requests(1, disks=[DiskInfo(d.disk_id, d.cloud_disk_id) for d in disks])
    [result] = backend.create_nodes(unit, [node])
    attaches = bodies(served, "AttachVolume")
    assert [(a["type"], a["volumeId"], a["device"]) for a in attaches] == [
        ("paravirtualized", disks[0].cloud_disk_id, "/dev/oracleoci/oraclevdb"),
        ("paravirtualized", disks[1].cloud_disk_id, "/dev/oracleoci/oraclevdc"),
    ]
    assert all(a["instanceId"] == result.instance_id for a in attaches)
    assert [v["volume_id"] for v in result.volumes] == [d.cloud_disk_id for d in disks]
    backend.create_nodes(unit, [node])  # a re-run (after a restart): the same instance, no new attach
    assert len(served.fake.calls("AttachVolume")) == 2 and len(served.fake.leftovers()["instances"]) == 1

    with pytest.raises(CloudInvalidParameter, match="^IncorrectState: volume .* is attached to instance"):
        backend.delete_disks(storage, requests)
    assert served.fake.calls("DeleteVolume") == []  # refused before asking OCI
    node.backend_data = dict(result.backend_data)
    backend.delete_nodes(unit, [node])
    assert len(served.fake.calls("DetachVolume")) == 2
    assert sorted(served.fake.leftovers()["volumes"]) == sorted(
        [golden.cloud_disk_id, *(d.cloud_disk_id for d in disks)]
    )
    backend.delete_disks(storage, requests)
    backend.delete_disks(make_unit(config, "oracle_disk"), [DiskRequest("golden", 1, 70)])  # found by tag
    assert clean(served)


@pytest.mark.parametrize("size", [49, 32769])
def test_volume_sizes_are_checked_before_anything_is_made(
    served: RunningOci, backend: OracleBackend, config, size: int
) -> None:
    with pytest.raises(CloudInvalidParameter, match=f"size_in_gbs {size} is outside 50..32768"):
        backend.create_disks(make_unit(config, "oracle_disk"), [DiskRequest("d", 1, size)])
    assert served.fake.calls("CreateVolume") == []


def test_a_failed_volume_create_removes_what_it_made(
    served: RunningOci, backend: OracleBackend, config
) -> None:
    served.fake.fail("CreateVolume", 400, "LimitExceeded", "block volume count exceeded", after=2)
    with pytest.raises(CloudQuotaError, match="^LimitExceeded: block volume count exceeded"):
        backend.create_disks(
            make_unit(config, "oracle_disk"), [DiskRequest(uuid.uuid4().hex, i, 50) for i in range(3)]
        )
    assert clean(served)


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "message", "kind"),
    [
        (400, "LimitExceeded", "standard-e2-core-count limit exceeded", CloudQuotaError),
        (500, "InternalError", "Out of host capacity.", CloudCapacityError),
        (401, "NotAuthenticated", "bad signature", CloudAuthError),
        (
            404,
            "NotAuthorizedOrNotFound",
            "Authorization failed or requested resource not found",
            CloudNotFoundError,
        ),
        (400, "InvalidParameter", "bad shape", CloudInvalidParameter),
        (409, "IncorrectState", "instance is not running", CloudInvalidParameter),
    ],
)
def test_a_failed_launch_is_mapped_and_removes_what_it_made(
    served: RunningOci, config, status: int, code: str, message: str, kind: type
) -> None:
    backend = OracleBackend({**config, "retry_max_attempts": 1}, CONTROLLER_ID)
    served.fake.fail("LaunchInstance", status, code, message, after=2)
    with pytest.raises(kind) as failure:
        backend.create_nodes(make_unit(config), node_requests(3))
    backend.close()
    assert str(failure.value).startswith(f"{code}: {message} (opc-request-id ")
    assert failure.value.provider == "oracle"
    assert clean(served)  # two instances were launched: both terminated again


def test_a_failed_wait_terminates_the_launched_instance(
    served: RunningOci, backend: OracleBackend, config
) -> None:
    served.fake.fail("GetInstance", 404, "NotAuthorizedOrNotFound", "gone", after=0)
    with pytest.raises(CloudNotFoundError):
        backend.create_nodes(make_unit(config), node_requests(1))
    assert clean(served) and len(served.fake.calls("TerminateInstance")) == 1


def test_throttling_is_retried_by_the_sdk_then_mapped(
    served: RunningOci, backend: OracleBackend, config
) -> None:
    served.fake.fail("LaunchInstance", 429, "TooManyRequests", "slow down", times=2)
    assert len(backend.create_nodes(make_unit(config), node_requests(1))) == 1  # the retry strategy retried
    assert len(served.fake.calls("LaunchInstance")) == 3
    served.fake.fail("LaunchInstance", 429, "TooManyRequests", "slow down", times=5)
    no_retry = OracleBackend({**config, "retry_max_attempts": 1}, CONTROLLER_ID)
    with pytest.raises(CloudThrottlingError, match="^TooManyRequests: slow down") as failure:
        no_retry.create_nodes(make_unit(config), node_requests(1))
    no_retry.close()
    assert failure.value.retryable


def test_a_power_action_in_the_wrong_state_is_an_incorrect_state(
    served: RunningOci, backend: OracleBackend, config
) -> None:
    unit = make_unit(config)
    [node] = node_requests(1)
    backend.create_nodes(unit, [node])
    served.fake.fail("InstanceAction", 409, "IncorrectState", "instance is STOPPING")
    with pytest.raises(CloudInvalidParameter, match="^IncorrectState: instance is STOPPING"):
        backend.power(unit, [node], "power_off")


def test_a_wrong_key_is_refused_by_the_stand_in_as_an_auth_error(
    served: RunningOci, config, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong, _ = generate_key()
    backend = OracleBackend({**config, "private_key": wrong}, CONTROLLER_ID)
    with pytest.raises(CloudAuthError, match="^NotAuthenticated: ") as failure:
        backend.create_nodes(make_unit(config), node_requests(1))
    backend.close()
    assert failure.value.code == "NotAuthenticated"
    assert served.fake.calls() and all(r["key_id"] == "" for r in served.fake.calls())
    body = wrong.split("-----")[2].strip().splitlines()[3]
    assert body not in str(failure.value) and body not in caplog.text
    garbage = OracleBackend(
        {**config, "private_key": "-----BEGIN PRIVATE KEY-----\nbm9wZQ==\n-----END PRIVATE KEY-----\n"},
        CONTROLLER_ID,
    )
    with pytest.raises(CloudAuthError, match="^InvalidPrivateKey: "):
        garbage.create_nodes(make_unit(config), node_requests(1))


def test_the_private_key_never_appears_in_logs_or_records(
    served: RunningOci, backend: OracleBackend, config, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    unit = make_unit(config)
    nodes = node_requests(2)
    backend.create_nodes(unit, nodes)
    backend.power(unit, nodes, "power_off")
    backend.delete_nodes(unit, nodes)
    assert caplog.records  # the SDK did log
    key_lines = served.fake.private_key_pem.splitlines()[1:-1]
    for line in key_lines[:3]:
        assert line not in caplog.text
        assert all(line not in json.dumps(r) for r in served.fake.requests)


def test_credentials_from_a_file_the_environment_or_the_users_cloud_params(
    served: RunningOci, config: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = served.fake.write_private_key(tmp_path / "key.pem")
    from_file = {k: v for k, v in config.items() if k != "private_key"}
    backend = OracleBackend({**from_file, "private_key_file": str(key_file)}, CONTROLLER_ID)
    assert len(backend.create_nodes(make_unit(config), node_requests(1))) == 1
    backend.close()
    bare = {k: v for k, v in config.items() if k not in ("user_ocid", "fingerprint", "private_key")}
    monkeypatch.setenv("OCI_USER_OCID", config["user_ocid"])
    monkeypatch.setenv("OCI_FINGERPRINT", config["fingerprint"])
    monkeypatch.setenv("OCI_PRIVATE_KEY_FILE", str(key_file))
    from_env = OracleBackend(bare, CONTROLLER_ID)
    assert len(from_env.create_nodes(make_unit(config), node_requests(1))) == 1
    from_env.close()
    for name in ("OCI_USER_OCID", "OCI_FINGERPRINT", "OCI_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(name)
    operatorless = OracleBackend(bare, CONTROLLER_ID)
    with pytest.raises(CloudAuthError, match="no OCI API key"):
        operatorless.create_nodes(
            make_unit(config, private_key="vault://cubbyhole/oci/key"), node_requests(1)
        )
    users = {k: config[k] for k in ("user_ocid", "fingerprint", "private_key")}
    assert len(operatorless.create_nodes(make_unit(config, **users), node_requests(1))) == 1
    operatorless.close()
    with pytest.raises(BackendError, match="cannot read private_key_file"):
        OracleBackend({**bare, "private_key_file": str(tmp_path / "missing.pem")}, CONTROLLER_ID)


def test_registry_catalog_and_the_missing_extra(
    config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert REGISTRY["oracle"].target == "vcpsdk.controller.backends.oracle:OracleBackend"
    backend = OracleBackend(config, CONTROLLER_ID)
    assert set(backend.vpn_catalog()) == {"oracle"}
    assert backend.address_policy.reserved_low == 2 and not backend.address_policy.assign
    assert map_error(ValueError("ours")) is None
    from circuitbreaker import CircuitBreaker, CircuitBreakerError

    tripped = map_error(CircuitBreakerError(CircuitBreaker(name="oci")))
    assert tripped is not None and tripped.code == "CircuitBreakerOpen" and tripped.retryable
    import sys

    monkeypatch.setitem(sys.modules, "oci", None)
    with pytest.raises(BackendError, match=r'pip install "vcpsdk\[oracle\]"'):
        OracleBackend(config, CONTROLLER_ID)


def test_the_bootstrap_script_asks_the_metadata_service_for_an_automatic_address(config) -> None:
    unit = make_unit(config)
    [automatic, fixed] = node_requests(1, "127.66.0.40")
    script = bootstrap_script(unit, automatic, controller_id=CONTROLLER_ID, controller_address="127.66.0.1")
    assert "http://169.254.169.254/opc/v2/vnics/0/privateIp" in script
    assert "MY_PRIVATE_IP=127.66.0.40" in bootstrap_script(unit, fixed, controller_id=CONTROLLER_ID)
    assert base64.b64encode(script.encode())  # what goes into metadata.user_data


def test_oci_is_imported_only_when_an_oracle_backend_is_built() -> None:
    import subprocess
    import sys

    code = (
        "import sys, vcpsdk.vcpsdk, vcpsdk.controller.runtime, vcpsdk.controller.backends.registry, "
        "vcpsdk.controller.backends.oracle, vcpsdk.testing.fakes.oracle, vcpsdk.controller.rehearsal.oracle, "
        "vcpsdk.testing.conformance.oracle\n"
        "assert 'oci' not in sys.modules, 'oci was imported'\n"
        "from vcpsdk.controller.backends.oracle import OracleBackend\n"
        "OracleBackend({}, 'c')\n"
        "assert 'oci' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_what_oci_would_refuse_is_refused_before_any_launch(
    served: RunningOci, backend: OracleBackend, config
) -> None:
    huge = make_unit(config)
    huge.spec["params_e"] = [f"BIG={'x' * 30000}"]
    with pytest.raises(CloudInvalidParameter, match="OCI instance metadata is limited to 32000"):
        backend.create_nodes(huge, node_requests(1))
    with pytest.raises(CloudInvalidParameter, match="boot_volume_size_in_gbs 40 is outside 50..32768"):
        backend.create_nodes(make_unit(config, boot_volume_size_in_gbs=40), node_requests(1))
    entry = {k: v for k, v in config["vpn_catalog"]["default"].items() if k != "oracle_region"}
    unit = make_unit(config)
    unit.catalog = entry
    with pytest.raises(CloudInvalidParameter, match="'default' has no oracle_region"):
        backend.create_nodes(unit, node_requests(1))
    assert served.fake.calls("LaunchInstance") == []


# -- review findings: 404 that is not "gone", sweep, credential order, image cache, masking --


def test_a_404_on_terminate_of_an_instance_that_still_exists_is_an_auth_error(
    served: RunningOci, backend: OracleBackend, config
) -> None:
    unit = make_unit(config)
    nodes = node_requests(1)
    [made] = backend.create_nodes(unit, nodes)
    # OCI answers 404 NotAuthorizedOrNotFound also when the key may not act on the instance
    served.fake.fail("TerminateInstance", 404, "NotAuthorizedOrNotFound", "Authorization failed or not found")
    with pytest.raises(CloudAuthError, match="^NotAuthorizedOrNotFound: .*not allowed to delete") as failure:
        backend.delete_nodes(unit, nodes)
    assert made.instance_id in str(failure.value)
    assert served.fake.leftovers()["instances"] == [made.instance_id]  # reported, not forgotten
    backend.delete_nodes(unit, nodes)
    assert clean(served)
    # a 404 for an instance that is really gone is fine
    gone = [NodeRequest(nodes[0].node_id, 0, None, backend_data={"instance_id": made.instance_id})]
    backend.delete_nodes(unit, gone)


def test_a_404_on_delete_of_a_volume_that_still_exists_is_an_auth_error(
    served: RunningOci, backend: OracleBackend, config
) -> None:
    unit = make_unit(config, "oracle_disk")
    disks = [DiskRequest(uuid.uuid4().hex, 0, 50)]
    [made] = backend.create_disks(unit, disks)
    served.fake.fail("DeleteVolume", 404, "NotAuthorizedOrNotFound", "Authorization failed or not found")
    with pytest.raises(CloudAuthError, match="^NotAuthorizedOrNotFound: "):
        backend.delete_disks(unit, disks)
    assert served.fake.leftovers()["volumes"] == [made.cloud_disk_id]
    backend.delete_disks(unit, disks)
    assert clean(served)
    backend.delete_disks(
        unit, [DiskRequest(disks[0].disk_id, 0, 50, backend_data={"volume_id": made.cloud_disk_id})]
    )


def test_sweep_removes_what_is_tagged_for_the_unit_and_nothing_else(
    served: RunningOci, backend: OracleBackend, config
) -> None:
    unit, other = make_unit(config), make_unit(config)
    backend.create_nodes(unit, node_requests(2))
    [kept] = backend.create_nodes(other, node_requests(1))
    disks = make_unit(config, "oracle_disk")
    disks.vcid, disks.unit_name = unit.vcid, unit.unit_name
    backend.create_disks(disks, [DiskRequest(uuid.uuid4().hex, 0, 50)])
    backend.sweep(unit)
    assert served.fake.leftovers()["instances"] == [kept.instance_id]
    assert served.fake.leftovers()["volumes"] == []
    before = len(served.fake.requests)
    backend.sweep(unit)  # nothing left: only the two listings
    assert set(operations(served, before)) == {"ListInstances", "ListVolumes"}


@pytest.mark.parametrize("size", [10, 49, 32769])
def test_the_sdk_refuses_oracle_sizes_outside_the_declared_range(size: int) -> None:
    from vcpsdk.core.providers import get_provider

    for provider, name in (("oracle", "boot_volume_size_in_gbs"), ("oracle_disk", "size_in_gbs")):
        declared = get_provider(provider).field_named(name)
        assert declared is not None and (declared.minimum, declared.maximum) == (50, 32768)
        with pytest.raises(ValueError, match=name):
            declared.check(size, provider)
        assert declared.check(50, provider) == 50 and declared.check(32768, provider) == 32768


def test_the_spec_objects_refuse_oracle_sizes_before_any_request(tmp_path: Path) -> None:
    from vcpsdk.errors import VcpInvalidArgumentError
    from vcpsdk.spec import make_spec

    compute, storage = make_spec("oracle", "small", tmp_path), make_spec("oracle_disk", "small", tmp_path)
    with pytest.raises(VcpInvalidArgumentError, match="must be at least 50"):
        compute.boot_volume_size_in_gbs = 40
    with pytest.raises(VcpInvalidArgumentError, match="must be at most 32768"):
        storage.size_in_gbs = 40000
    compute.boot_volume_size_in_gbs, storage.size_in_gbs = 50, 32768


def test_the_section_key_wins_over_its_key_file_which_wins_over_the_environment(
    served: RunningOci, config: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = served.fake.write_private_key(tmp_path / "good.pem")
    wrong, _ = generate_key()
    wrong_file = tmp_path / "wrong.pem"
    wrong_file.write_text(wrong, encoding="utf-8")
    monkeypatch.setenv("OCI_PRIVATE_KEY", wrong)
    monkeypatch.setenv("OCI_PRIVATE_KEY_FILE", str(wrong_file))
    bare = {k: v for k, v in config.items() if k != "private_key"}
    cases = [
        {**bare, "private_key_file": str(good)},  # section file beats OCI_PRIVATE_KEY
        {**config, "private_key_file": str(wrong_file)},  # section key beats section file
    ]
    for section in cases:
        backend = OracleBackend(section, CONTROLLER_ID)
        assert len(backend.create_nodes(make_unit(config), node_requests(1))) == 1
        backend.close()
    monkeypatch.setenv("OCI_PRIVATE_KEY", served.fake.private_key_pem)  # env key beats env file
    backend = OracleBackend(bare, CONTROLLER_ID)
    assert len(backend.create_nodes(make_unit(config), node_requests(1))) == 1
    backend.close()


def test_the_image_cache_is_per_region(served: RunningOci, backend: OracleBackend, config) -> None:
    here = make_unit(config, cloud_image=IMAGE_NAME)
    backend.create_nodes(here, node_requests(1))
    backend.create_nodes(make_unit(config, cloud_image=IMAGE_NAME), node_requests(1))
    assert len(served.fake.calls("ListImages")) == 1  # same region: cached
    there = make_unit(config, cloud_image=IMAGE_NAME)
    there.catalog = {**there.catalog, "oracle_region": "ap-osaka-1"}
    backend.create_nodes(there, node_requests(1))
    assert len(served.fake.calls("ListImages")) == 2  # another region: looked up there


def test_clients_repr_leaves_the_private_key_out(backend: OracleBackend, config) -> None:
    clients = backend.clients(make_unit(config))
    assert clients.secrets and "PRIVATE KEY" not in repr(clients)


def test_a_cloud_message_echoing_the_key_is_masked_in_the_error_and_the_logs(
    served: RunningOci, backend: OracleBackend, config, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pem = served.fake.private_key_pem
    body_line = pem.splitlines()[2]
    # one line of the key: OCI's own log redaction only knows whole PEM blocks
    served.fake.fail(
        "LaunchInstance", 400, "InvalidParameter", f"bad request signed with {body_line}", after=1
    )
    served.fake.fail("TerminateInstance", 400, "InvalidParameter", f"cannot terminate, key {body_line}")
    with pytest.raises(CloudInvalidParameter) as failure:
        backend.create_nodes(make_unit(config), node_requests(2))
    message = str(failure.value)  # the unit's error_message
    assert "***" in message and body_line not in message
    cleanup = [r for r in caplog.records if "failed launch made failed" in r.getMessage()]
    assert cleanup and "***" in cleanup[0].getMessage()
    assert body_line not in caplog.text


def test_a_rerun_of_an_interrupted_create_gets_the_same_instances(
    served: RunningOci, backend: OracleBackend, config
) -> None:
    unit = make_unit(config)
    nodes = node_requests(2)
    first = backend.create_nodes(unit, nodes)
    again = backend.create_nodes(unit, nodes)  # the worker re-running it after a restart
    assert [r.instance_id for r in again] == [r.instance_id for r in first]
    assert sorted(served.fake.leftovers()["instances"]) == sorted(r.instance_id for r in first)
    backend.delete_nodes(unit, nodes)
    assert clean(served)


def test_a_list_call_is_retried_by_the_operators_strategy_only(served: RunningOci, config) -> None:
    """``retry_max_attempts`` bounds list calls too (no SDK default retry wrapped around it)."""
    backend = OracleBackend({**config, "retry_max_attempts": 2}, CONTROLLER_ID)
    served.fake.fail("ListInstances", 429, "TooManyRequests", "slow down", times=20)
    with pytest.raises(CloudThrottlingError):
        backend.describe(make_unit(config), node_requests(1))
    backend.close()
    assert len(served.fake.calls("ListInstances")) == 2
