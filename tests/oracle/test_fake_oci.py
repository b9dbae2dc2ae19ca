"""The fake OCI Core API driven by the real ``oci`` SDK: signatures, OCI's JSON shapes and
headers, pagination, lifecycles the SDK's waiters follow, conflicts, faults and leftovers."""

from __future__ import annotations

import base64
import ipaddress
import json
import time
from typing import Any

import pytest

from vcpsdk.testing.fakes.oracle import (
    AVAILABILITY_DOMAIN,
    COMPARTMENT_ID,
    IMAGE_NAME,
    SUBNET_CIDR,
    FakeOci,
    RunningOci,
    generate_key,
    running_fake_oci,
)

try:
    import oci
except ImportError:  # every test fails in tests/oracle/conftest.py: run scripts/setup.sh
    oci = None
models = oci.core.models if oci is not None else None


def launch_details(served: RunningOci, name: str = "n1", address: str | None = None, **extra: Any) -> Any:
    return models.LaunchInstanceDetails(
        availability_domain=AVAILABILITY_DOMAIN,
        compartment_id=COMPARTMENT_ID,
        shape="VM.Standard.E2.1",
        display_name=name,
        freeform_tags={"vcp-node-id": name},
        metadata={"user_data": base64.b64encode(b"#!/bin/sh\necho secret-params\n").decode()},
        source_details=models.InstanceSourceViaImageDetails(
            image_id=served.fake.image_id, boot_volume_size_in_gbs=60
        ),
        create_vnic_details=models.CreateVnicDetails(
            subnet_id=served.fake.subnet_id, private_ip=address, assign_public_ip=False
        ),
        **extra,
    )


def launch(served: RunningOci, clients: dict[str, Any], name: str = "n1", address: str | None = None) -> Any:
    ops = oci.core.ComputeClientCompositeOperations(clients["compute"])
    return ops.launch_instance_and_wait_for_state(
        launch_details(served, name, address), wait_for_states=["RUNNING"]
    ).data


def volume(
    served: RunningOci, clients: dict[str, Any], size: int | None = 50, source: str | None = None
) -> Any:
    ops = oci.core.BlockstorageClientCompositeOperations(clients["blockstorage"])
    details = models.CreateVolumeDetails(
        availability_domain=AVAILABILITY_DOMAIN,
        compartment_id=COMPARTMENT_ID,
        size_in_gbs=size,
        source_details=models.VolumeSourceFromVolumeDetails(id=source) if source else None,
    )
    return ops.create_volume_and_wait_for_state(details, wait_for_states=["AVAILABLE"]).data


def service_error(call: Any, *args: Any, **kwargs: Any) -> Any:
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        call(*args, **kwargs)
    return failure.value


# -- authentication ---------------------------------------------------------------------------


def test_the_signature_is_verified_against_the_configured_public_key(served: RunningOci) -> None:
    assert oci.config.validate_config(served.config()) is None
    good = oci.core.ComputeClient(served.config(), service_endpoint=served.service_endpoint)
    assert good.list_instances(COMPARTMENT_ID).data == []
    wrong = {**served.config(), "key_content": generate_key()[0]}
    client = oci.core.ComputeClient(
        wrong, service_endpoint=served.service_endpoint, retry_strategy=oci.retry.NoneRetryStrategy()
    )
    error = service_error(client.list_instances, COMPARTMENT_ID)
    assert (error.status, error.code) == (401, "NotAuthenticated")
    # a key of another fingerprint is unknown too, and so is an unsigned request
    other = {**served.config(), "fingerprint": "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"}
    unknown = oci.core.ComputeClient(
        other, service_endpoint=served.service_endpoint, retry_strategy=oci.retry.NoneRetryStrategy()
    )
    assert service_error(unknown.list_instances, COMPARTMENT_ID).status == 401
    import requests

    assert requests.get(f"{served.service_endpoint}/instances", timeout=5).status_code == 401
    assert served.fake.requests[-1]["key_id"] == ""


def test_a_key_file_written_0600_works_and_a_body_changed_after_signing_is_refused(
    served: RunningOci, tmp_path: Any
) -> None:
    key = served.fake.write_private_key(tmp_path / "oci" / "key.pem")
    assert key.stat().st_mode & 0o777 == 0o600
    compute = oci.core.ComputeClient(served.config(key), service_endpoint=served.service_endpoint)
    assert compute.list_images(COMPARTMENT_ID).data[0].display_name == IMAGE_NAME
    signer = oci.signer.Signer(
        served.config()["tenancy"], served.config()["user"], served.fake.fingerprint, None,
        private_key_content=served.fake.private_key_pem,
    )  # fmt: skip
    import requests

    body = json.dumps({"compartmentId": COMPARTMENT_ID, "availabilityDomain": AVAILABILITY_DOMAIN})
    prepared = requests.Request("POST", f"{served.service_endpoint}/volumes", data=body).prepare()
    signer(prepared)
    prepared.body = body.replace("Uocm", "Xocm")  # content changed after signing
    prepared.headers["content-length"] = str(len(prepared.body))
    with requests.Session() as session:
        answer = session.send(prepared, timeout=5)
    assert answer.status_code == 401 and answer.json()["code"] == "NotAuthenticated"
    assert served.fake.leftovers()["volumes"] == []


# -- compute ------------------------------------------------------------------------------------


def test_launch_answers_in_ocis_shapes_with_request_ids(served: RunningOci, clients: dict[str, Any]) -> None:
    compute, network = clients["compute"], clients["network"]
    first = compute.launch_instance(launch_details(served, "web-1", "127.66.0.21"))
    assert first.data.lifecycle_state == "PROVISIONING"
    assert first.headers["opc-request-id"] and first.data.id.startswith("ocid1.instance.oc1.")
    assert isinstance(first.data.source_details, models.InstanceSourceViaImageDetails)
    assert first.data.source_details.boot_volume_size_in_gbs == 60
    got = compute.get_instance(first.data.id)
    assert got.data.lifecycle_state == "RUNNING" and got.data.freeform_tags == {"vcp-node-id": "web-1"}
    [attachment] = compute.list_vnic_attachments(COMPARTMENT_ID, instance_id=first.data.id).data
    vnic = network.get_vnic(attachment.vnic_id).data
    assert vnic.private_ip == "127.66.0.21" and vnic.is_primary
    second = launch(served, clients, "web-2")
    [attachment] = compute.list_vnic_attachments(COMPARTMENT_ID, instance_id=second.id).data
    address = ipaddress.ip_address(network.get_vnic(attachment.vnic_id).data.private_ip)
    assert address in ipaddress.ip_network(SUBNET_CIDR) and address.is_loopback
    subnet = network.get_subnet(served.fake.subnet_id).data
    assert subnet.cidr_block == SUBNET_CIDR
    assert served.fake.user_data[first.data.id] == "#!/bin/sh\necho secret-params\n"
    recorded = served.fake.calls("LaunchInstance")[0]
    assert (
        "secret-params" not in recorded["body"]
        and json.loads(recorded["body"])["metadata"]["user_data"] == "***"
    )
    assert all("signature" not in json.dumps(r) for r in served.fake.requests)


def test_fixed_addresses_are_checked(served: RunningOci, clients: dict[str, Any]) -> None:
    compute = clients["compute"]
    launch(served, clients, "a", "127.66.0.30")
    error = service_error(compute.launch_instance, launch_details(served, "b", "127.66.0.30"))
    assert (error.status, error.code) == (409, "Conflict")
    for outside in ("127.66.1.5", "127.66.0.1", "127.66.0.255"):
        error = service_error(compute.launch_instance, launch_details(served, "c", outside))
        assert (error.status, error.code) == (400, "InvalidParameter")


def test_lists_are_paginated_by_opc_next_page(served: RunningOci, clients: dict[str, Any]) -> None:
    compute = clients["compute"]
    for i in range(5):
        launch(served, clients, f"n{i}")
    page = compute.list_instances(COMPARTMENT_ID)
    assert len(page.data) == 2 and page.has_next_page and page.next_page
    everything = oci.pagination.list_call_get_all_results(compute.list_instances, COMPARTMENT_ID).data
    assert sorted(i.display_name for i in everything) == [f"n{i}" for i in range(5)]
    assert [r["query"].get("page") for r in served.fake.calls("ListInstances")][-3:] == [None, "2", "4"]
    named = compute.list_instances(COMPARTMENT_ID, display_name="n3").data
    assert [i.display_name for i in named] == ["n3"]


def test_power_and_terminate_follow_the_lifecycle_with_the_sdks_waiters() -> None:
    with running_fake_oci(FakeOci(settle_reads=1)) as served:  # one read still shows the change going on
        compute = oci.core.ComputeClient(served.config(), service_endpoint=served.service_endpoint)
        ops = oci.core.ComputeClientCompositeOperations(compute)
        started = time.monotonic()
        instance = ops.launch_instance_and_wait_for_state(
            launch_details(served), wait_for_states=["RUNNING"], waiter_kwargs={"max_interval_seconds": 1}
        ).data
        assert instance.lifecycle_state == "RUNNING" and time.monotonic() - started >= 1  # the waiter slept
        assert len(served.fake.calls("GetInstance")) == 2
        stopped = compute.instance_action(instance.id, "SOFTSTOP").data
        assert stopped.lifecycle_state == "STOPPING"
        assert compute.get_instance(instance.id).data.lifecycle_state == "STOPPING"
        assert compute.get_instance(instance.id).data.lifecycle_state == "STOPPED"
        assert compute.instance_action(instance.id, "STOP").data.lifecycle_state == "STOPPED"  # no-op
        assert compute.instance_action(instance.id, "START").data.lifecycle_state == "STARTING"
        error = service_error(compute.instance_action, instance.id, "SOFTSTOP")
        assert (error.status, error.code) == (409, "IncorrectState")
        compute.get_instance(instance.id)
        compute.get_instance(instance.id)
        compute.terminate_instance(instance.id, preserve_boot_volume=False)
        assert served.fake.leftovers()["instances"] == []  # on its way
        done = oci.wait_until(
            compute,
            compute.get_instance(instance.id),
            "lifecycle_state",
            "TERMINATED",
            max_interval_seconds=1,
        )
        assert done.data.lifecycle_state == "TERMINATED"
        assert service_error(compute.terminate_instance, instance.id).code == "NotAuthorizedOrNotFound"
        assert served.fake.leftovers() == {
            "instances": [],
            "bootVolumes": [],
            "volumes": [],
            "volumeAttachments": [],
        }


def test_a_retry_token_answers_the_first_launch(served: RunningOci, clients: dict[str, Any]) -> None:
    compute = clients["compute"]
    one = compute.launch_instance(launch_details(served), opc_retry_token="node-1").data
    again = compute.launch_instance(launch_details(served), opc_retry_token="node-1").data
    assert one.id == again.id and len(served.fake.leftovers()["instances"]) == 1


# -- block storage ----------------------------------------------------------------------------


def test_volumes_clone_attach_detach_and_delete(served: RunningOci, clients: dict[str, Any]) -> None:
    compute, storage = clients["compute"], clients["blockstorage"]
    instance = launch(served, clients)
    golden = volume(served, clients, size=80)
    clone = volume(served, clients, size=None, source=golden.id)
    assert clone.size_in_gbs == 80 and clone.source_details.id == golden.id
    assert service_error(volume, served, clients, size=49).code == "InvalidParameter"
    assert service_error(volume, served, clients, size=32769).code == "InvalidParameter"
    ops = oci.core.ComputeClientCompositeOperations(compute)
    attachment = ops.attach_volume_and_wait_for_state(
        models.AttachParavirtualizedVolumeDetails(
            instance_id=instance.id, volume_id=clone.id, device="/dev/oracleoci/oraclevdb"
        ),
        wait_for_states=["ATTACHED"],
    ).data
    assert isinstance(attachment, models.ParavirtualizedVolumeAttachment)
    assert attachment.device == "/dev/oracleoci/oraclevdb"
    again = models.AttachParavirtualizedVolumeDetails(instance_id=instance.id, volume_id=clone.id)
    assert service_error(compute.attach_volume, again).code == "Conflict"
    error = service_error(storage.delete_volume, clone.id)
    assert (error.status, error.code) == (409, "IncorrectState")
    listed = compute.list_volume_attachments(COMPARTMENT_ID, volume_id=clone.id).data
    assert [a.id for a in listed] == [attachment.id]
    compute.detach_volume(attachment.id)
    assert compute.get_volume_attachment(attachment.id).data.lifecycle_state == "DETACHED"
    for made in (clone, golden):
        storage.delete_volume(made.id)
        assert storage.get_volume(made.id).data.lifecycle_state == "TERMINATED"
    assert served.fake.leftovers()["volumes"] == []
    assert len(served.fake.leftovers()["instances"]) == 1


def test_terminating_an_instance_detaches_its_volumes(served: RunningOci, clients: dict[str, Any]) -> None:
    compute = clients["compute"]
    instance = launch(served, clients)
    data = volume(served, clients)
    attachment = compute.attach_volume(
        models.AttachParavirtualizedVolumeDetails(instance_id=instance.id, volume_id=data.id)
    ).data
    compute.terminate_instance(instance.id)
    assert compute.get_volume_attachment(attachment.id).data.lifecycle_state == "DETACHED"
    assert served.fake.leftovers()["volumes"] == [data.id]
    clients["blockstorage"].delete_volume(data.id)


# -- faults -------------------------------------------------------------------------------------


def test_faults_fail_after_some_calls_then_stop(served: RunningOci, clients: dict[str, Any]) -> None:
    compute = clients["compute"]
    served.fake.fail("LaunchInstance", 400, "LimitExceeded", "standard-e2-core-count", times=2, after=1)
    launch(served, clients, "ok")
    for _ in range(2):
        error = service_error(compute.launch_instance, launch_details(served, "no"))
        assert (error.status, error.code, error.message) == (400, "LimitExceeded", "standard-e2-core-count")
        assert error.request_id
    launch(served, clients, "ok-again")
    assert len(served.fake.leftovers()["instances"]) == 2


def test_throttling_is_retried_by_the_sdks_retry_strategy(served: RunningOci) -> None:
    retry = oci.retry.RetryStrategyBuilder(
        max_attempts=4, retry_base_sleep_time_seconds=0.01, retry_max_wait_between_calls_seconds=0.02
    ).get_retry_strategy()
    compute = oci.core.ComputeClient(
        served.config(), service_endpoint=served.service_endpoint, retry_strategy=retry
    )
    served.fake.fail("ListInstances", 429, "TooManyRequests", "slow down", times=2)
    assert compute.list_instances(COMPARTMENT_ID).data == []
    assert len(served.fake.calls("ListInstances")) == 3


def test_a_change_may_also_take_time() -> None:
    with running_fake_oci(FakeOci(settle_seconds=0.3)) as served:
        compute = oci.core.ComputeClient(served.config(), service_endpoint=served.service_endpoint)
        instance = compute.launch_instance(launch_details(served)).data
        assert compute.get_instance(instance.id).data.lifecycle_state == "PROVISIONING"
        time.sleep(0.35)
        assert compute.get_instance(instance.id).data.lifecycle_state == "RUNNING"
