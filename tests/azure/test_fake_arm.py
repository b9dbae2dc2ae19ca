"""The fake ARM under the real Azure SDK (azure-mgmt-compute, azure-mgmt-network,
azure-identity): token flow, NICs, VMs, disks, LRO contracts, error shapes, faults."""

from __future__ import annotations

import base64
import ipaddress
import re
import time
from typing import Any

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError

from vcpsdk.testing.fakes.azure import (
    CLIENT_SECRET,
    LOCATION,
    RESOURCE_GROUP,
    SUBNET,
    SUBNET_PREFIX,
    SUBSCRIPTION_ID,
    VNET,
    RunningArm,
)

IMAGE = {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"}
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f test@vcpsdk"


def make_nic(network: Any, name: str, address: str | None = None) -> Any:
    from azure.mgmt.network import models

    subnet = network.subnets.get(RESOURCE_GROUP, VNET, SUBNET)
    config = models.NetworkInterfaceIPConfiguration(
        name="ipconfig1",
        subnet=models.Subnet(id=subnet.id),
        private_ip_allocation_method="Static" if address else "Dynamic",
        private_ip_address=address,
    )
    body = models.NetworkInterface(location=LOCATION, ip_configurations=[config], tags={"vcp-node": name})
    return network.network_interfaces.begin_create_or_update(RESOURCE_GROUP, name, body).result()


def vm_body(nic_id: str, size: str = "Standard_D2s_v5") -> Any:
    from azure.mgmt.compute import models

    return models.VirtualMachine(
        location=LOCATION,
        tags={"vcp-unitgroup": "g1", "vcp-node": "n1"},
        hardware_profile=models.HardwareProfile(vm_size=size),
        storage_profile=models.StorageProfile(
            image_reference=models.ImageReference(**IMAGE),
            os_disk=models.OSDisk(
                create_option="FromImage",
                disk_size_gb=40,
                managed_disk=models.ManagedDiskParameters(storage_account_type="StandardSSD_LRS"),
                delete_option="Delete",
            ),
        ),
        os_profile=models.OSProfile(
            computer_name="n1",
            admin_username="vcp",
            custom_data=base64.b64encode(b"#!/bin/sh\necho boot\n").decode(),
            linux_configuration=models.LinuxConfiguration(
                disable_password_authentication=True,
                ssh=models.SshConfiguration(
                    public_keys=[models.SshPublicKey(path="/home/vcp/.ssh/authorized_keys", key_data=KEY)]
                ),
            ),
        ),
        network_profile=models.NetworkProfile(
            network_interfaces=[models.NetworkInterfaceReference(id=nic_id, primary=True)]
        ),
    )


def disk_body(size: int | None = None, source: str | None = None, sku: str | None = None, **tags: str) -> Any:
    from azure.mgmt.compute import models

    creation = models.CreationData(create_option="Copy" if source else "Empty", source_resource_id=source)
    return models.Disk(
        location=LOCATION,
        sku=models.DiskSku(name=sku) if sku else None,
        creation_data=creation,
        disk_size_gb=size,
        tags=tags or None,
    )


def attach(lun: int, disk_id: str) -> Any:
    from azure.mgmt.compute import models

    return models.DataDisk(
        lun=lun, create_option="Attach", managed_disk=models.ManagedDiskParameters(id=disk_id)
    )


def power_state(compute: Any, name: str) -> str:
    vm = compute.virtual_machines.get(RESOURCE_GROUP, name, expand="instanceView")
    return next(s.code for s in vm.instance_view.statuses if s.code.startswith("PowerState/"))


def error_code(error: HttpResponseError) -> str:
    assert error.error is not None
    return str(error.error.code)


def test_the_credential_gets_a_token_from_the_fake_only(arm: RunningArm, credential: Any) -> None:
    token = credential.get_token("https://management.azure.com/.default")
    assert token.token in arm.fake.tokens
    paths = [r["path"] for r in arm.fake.requests]
    assert any(p.endswith("/.well-known/openid-configuration") for p in paths)
    assert any(p.endswith("/oauth2/v2.0/token") for p in paths)
    assert all(CLIENT_SECRET not in r["body"] for r in arm.fake.requests)  # recorded redacted


def test_requests_are_recorded_with_the_api_version_the_sdk_sends(arm: RunningArm, compute: Any) -> None:
    list(compute.virtual_machines.list(RESOURCE_GROUP))
    [listed] = arm.fake.calls("GET", "/providers/Microsoft.Compute/virtualMachines")
    assert listed["path"] == f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}" + (
        "/providers/Microsoft.Compute/virtualMachines"
    )
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}(-preview)?", listed["api_version"])


def test_a_wrong_secret_is_refused(arm: RunningArm) -> None:
    from azure.identity import ClientSecretCredential

    wrong = ClientSecretCredential(**{**arm.credential_kwargs(), "client_secret": "wrong"})
    with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
        wrong.get_token("https://management.azure.com/.default")


def test_arm_refuses_requests_without_a_token_and_over_plain_http(arm: RunningArm) -> None:
    url = f"{arm.base_url}/subscriptions/x/resourceGroups/{RESOURCE_GROUP}?api-version=2024-01-01"
    answer = requests.get(url, verify=str(arm.cert_path), timeout=10)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "InvalidAuthenticationToken"
    with pytest.raises(requests.ConnectionError):
        requests.get(url.replace("https://", "http://"), timeout=10)


def test_network_reads(network: Any) -> None:
    vnet = network.virtual_networks.get(RESOURCE_GROUP, VNET)
    assert vnet.address_space.address_prefixes == [SUBNET_PREFIX]
    assert [s.name for s in vnet.subnets] == [SUBNET]
    assert network.subnets.get(RESOURCE_GROUP, VNET, SUBNET).address_prefix == SUBNET_PREFIX
    with pytest.raises(ResourceNotFoundError) as missing:
        network.subnets.get(RESOURCE_GROUP, VNET, "nope")
    assert error_code(missing.value) == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError) as no_group:
        network.virtual_networks.get("no-such-rg", VNET)
    assert error_code(no_group.value) == "ResourceGroupNotFound"


def test_nics_get_loopback_addresses_static_or_dynamic(network: Any) -> None:
    dynamic = make_nic(network, "nic-a")
    static = make_nic(network, "nic-b", "127.64.0.50")
    first = dynamic.ip_configurations[0]
    assert first.private_ip_allocation_method == "Dynamic"
    assert ipaddress.ip_address(first.private_ip_address) in ipaddress.ip_network(SUBNET_PREFIX)
    assert ipaddress.ip_address(first.private_ip_address).is_loopback
    assert static.ip_configurations[0].private_ip_address == "127.64.0.50"
    with pytest.raises(HttpResponseError) as taken:
        make_nic(network, "nic-c", "127.64.0.50")
    assert taken.value.status_code == 400
    assert error_code(taken.value) == "PrivateIPAddressInUse"
    with pytest.raises(HttpResponseError) as outside:
        make_nic(network, "nic-d", "127.65.0.9")
    assert error_code(outside.value) == "PrivateIPAddressNotInSubnet"
    assert network.network_interfaces.get(RESOURCE_GROUP, "nic-b").tags == {"vcp-node": "nic-b"}


def test_vm_lifecycle_with_the_status_contracts(arm: RunningArm, compute: Any, network: Any) -> None:
    nic = make_nic(network, "n1-nic")
    vm = compute.virtual_machines.begin_create_or_update(RESOURCE_GROUP, "n1", vm_body(nic.id)).result()
    assert vm.provisioning_state == "Succeeded"
    assert vm.hardware_profile.vm_size == "Standard_D2s_v5"
    assert vm.storage_profile.os_disk.disk_size_gb == 40
    assert vm.storage_profile.os_disk.managed_disk.storage_account_type == "StandardSSD_LRS"
    assert vm.storage_profile.image_reference.offer == IMAGE["offer"]
    assert vm.tags == {"vcp-unitgroup": "g1", "vcp-node": "n1"}
    assert arm.fake.custom_data["n1"] == "#!/bin/sh\necho boot\n"
    put = arm.fake.calls("PUT", "/virtualMachines/n1")[0]
    assert put["api_version"] and put["path"].endswith("/providers/Microsoft.Compute/virtualMachines/n1")
    assert power_state(compute, "n1") == "PowerState/running"

    compute.virtual_machines.begin_deallocate(RESOURCE_GROUP, "n1").result()
    assert power_state(compute, "n1") == "PowerState/deallocated"
    compute.virtual_machines.begin_start(RESOURCE_GROUP, "n1").result()
    assert power_state(compute, "n1") == "PowerState/running"
    compute.virtual_machines.begin_power_off(RESOURCE_GROUP, "n1").result()
    assert (
        compute.virtual_machines.instance_view(RESOURCE_GROUP, "n1").statuses[1].code == "PowerState/stopped"
    )

    listed = list(compute.virtual_machines.list(RESOURCE_GROUP))
    assert [(v.name, v.tags["vcp-unitgroup"]) for v in listed] == [("n1", "g1")]

    with pytest.raises(HttpResponseError) as in_use:
        network.network_interfaces.begin_delete(RESOURCE_GROUP, "n1-nic").result()
    assert error_code(in_use.value) == "NicInUse"

    compute.virtual_machines.begin_delete(RESOURCE_GROUP, "n1").result()
    network.network_interfaces.begin_delete(RESOURCE_GROUP, "n1-nic").result()
    with pytest.raises(ResourceNotFoundError):
        compute.virtual_machines.get(RESOURCE_GROUP, "n1")
    assert arm.fake.leftovers() == {"virtual_machines": [], "network_interfaces": [], "disks": []}

    statuses = {(r["method"], r["path"].rsplit("/", 1)[-1]): r for r in arm.fake.requests}
    assert ("POST", "deallocate") in statuses and ("DELETE", "n1") in statuses


def test_status_codes_and_lro_headers(arm: RunningArm, compute: Any, network: Any) -> None:
    """What the pollers follow: 201 + Azure-AsyncOperation for a new VM, 202 + Location and
    Retry-After for POST/DELETE and a disk PUT, 204 for deleting nothing."""
    seen: list[tuple[str, str, int, Any]] = []

    def hook(response: Any) -> None:
        http = response.http_response
        seen.append((http.request.method, http.request.url.split("?")[0], http.status_code, http.headers))

    nic = make_nic(network, "n2-nic")
    compute.virtual_machines.begin_create_or_update(
        RESOURCE_GROUP, "n2", vm_body(nic.id), raw_response_hook=hook
    ).result()
    compute.virtual_machines.begin_deallocate(RESOURCE_GROUP, "n2", raw_response_hook=hook).result()
    compute.disks.begin_create_or_update(RESOURCE_GROUP, "d2", disk_body(8), raw_response_hook=hook).result()
    compute.disks.begin_delete(RESOURCE_GROUP, "d2", raw_response_hook=hook).result()
    compute.disks.begin_delete(RESOURCE_GROUP, "never-there", raw_response_hook=hook).result()

    first = {(m, url.rsplit("/", 1)[-1]): (status, headers) for m, url, status, headers in reversed(seen)}
    status, headers = first[("PUT", "n2")]
    assert status == 201 and "/operations/" in headers["Azure-AsyncOperation"]
    status, headers = first[("POST", "deallocate")]
    assert status == 202 and "/operationResults/" in headers["Location"] and headers["Retry-After"] == "0"
    assert first[("PUT", "d2")][0] == 202
    assert first[("DELETE", "d2")][0] == 202 and "Location" in first[("DELETE", "d2")][1]
    assert first[("DELETE", "never-there")][0] == 204
    for _method, url, _status, _headers in seen:
        assert url.startswith(arm.base_url)


def test_operation_urls_report_in_progress_first(arm: RunningArm, compute: Any, network: Any) -> None:
    arm.fake.operation_polls = 2  # the client polls every 10 ms (client_kwargs)
    nic = make_nic(network, "n3-nic")
    compute.virtual_machines.begin_create_or_update(RESOURCE_GROUP, "n3", vm_body(nic.id)).result()
    compute.virtual_machines.begin_deallocate(RESOURCE_GROUP, "n3").result()
    assert len(arm.fake.calls("GET", "/operations/")) >= 3 * 2
    assert power_state(compute, "n3") == "PowerState/deallocated"


def test_disks_attach_at_a_lun_refuse_delete_while_attached_and_detach(
    arm: RunningArm, compute: Any, network: Any
) -> None:
    snapshot = arm.fake.add_snapshot("base-snap", size_gb=16)
    empty = compute.disks.begin_create_or_update(
        RESOURCE_GROUP, "data1", disk_body(32, sku="Premium_LRS", unitgroup="g1")
    ).result()
    copy = compute.disks.begin_create_or_update(RESOURCE_GROUP, "data2", disk_body(source=snapshot)).result()
    assert (empty.disk_size_gb, empty.sku.name, empty.disk_state) == (32, "Premium_LRS", "Unattached")
    assert copy.disk_size_gb == 16 and copy.creation_data.source_resource_id == snapshot

    nic = make_nic(network, "n4-nic")
    compute.virtual_machines.begin_create_or_update(RESOURCE_GROUP, "n4", vm_body(nic.id)).result()
    vm = compute.virtual_machines.get(RESOURCE_GROUP, "n4")
    vm.storage_profile.data_disks = [attach(0, empty.id), attach(3, copy.id)]
    vm = compute.virtual_machines.begin_create_or_update(RESOURCE_GROUP, "n4", vm).result()
    assert sorted((d.lun, d.name) for d in vm.storage_profile.data_disks) == [(0, "data1"), (3, "data2")]
    attached = compute.disks.get(RESOURCE_GROUP, "data1")
    assert attached.disk_state == "Attached" and attached.managed_by == vm.id

    with pytest.raises(HttpResponseError) as refused:
        compute.disks.begin_delete(RESOURCE_GROUP, "data1").result()
    assert refused.value.status_code == 409
    assert error_code(refused.value) == "OperationNotAllowed"

    vm.storage_profile.data_disks = [d for d in vm.storage_profile.data_disks if d.lun != 0]
    compute.virtual_machines.begin_create_or_update(RESOURCE_GROUP, "n4", vm).result()
    assert compute.disks.get(RESOURCE_GROUP, "data1").disk_state == "Unattached"
    compute.disks.begin_delete(RESOURCE_GROUP, "data1").result()

    listed = {d.name: d.tags for d in compute.disks.list_by_resource_group(RESOURCE_GROUP)}
    assert listed == {"data2": {}, vm.storage_profile.os_disk.name: {}}
    compute.virtual_machines.begin_delete(RESOURCE_GROUP, "n4").result()  # os disk: deleteOption Delete
    assert compute.disks.get(RESOURCE_GROUP, "data2").disk_state == "Unattached"
    compute.disks.begin_delete(RESOURCE_GROUP, "data2").result()
    network.network_interfaces.begin_delete(RESOURCE_GROUP, "n4-nic").result()
    assert arm.fake.leftovers() == {"virtual_machines": [], "network_interfaces": [], "disks": []}


@pytest.mark.parametrize(
    ("status", "code"),
    [(409, "QuotaExceeded"), (409, "SkuNotAvailable"), (403, "AuthorizationFailed")],
)
def test_injected_errors_reach_the_sdk_with_their_code(
    arm: RunningArm, compute: Any, network: Any, status: int, code: str
) -> None:
    nic = make_nic(network, "n5-nic")
    arm.fake.fail("virtualMachines.createOrUpdate", status, code, f"{code} in the fake")
    with pytest.raises(HttpResponseError) as failed:
        compute.virtual_machines.begin_create_or_update(RESOURCE_GROUP, "n5", vm_body(nic.id)).result()
    assert failed.value.status_code == status
    assert error_code(failed.value) == code
    assert f"{code} in the fake" in str(failed.value)
    assert arm.fake.leftovers()["virtual_machines"] == []
    compute.virtual_machines.begin_create_or_update(
        RESOURCE_GROUP, "n5", vm_body(nic.id)
    ).result()  # once only


def test_an_unavailable_size_is_refused_like_azure(compute: Any, network: Any) -> None:
    nic = make_nic(network, "n6-nic")
    with pytest.raises(HttpResponseError) as failed:
        compute.virtual_machines.begin_create_or_update(
            RESOURCE_GROUP, "n6", vm_body(nic.id, size="Standard_NV6")
        ).result()
    assert (failed.value.status_code, error_code(failed.value)) == (409, "SkuNotAvailable")


def test_throttling_is_retried_after_retry_after(arm: RunningArm, compute: Any, network: Any) -> None:
    nic = make_nic(network, "n7-nic")
    arm.fake.fail("virtualMachines.createOrUpdate", 429, "TooManyRequests", times=2, retry_after=1)
    started = time.monotonic()
    vm = compute.virtual_machines.begin_create_or_update(RESOURCE_GROUP, "n7", vm_body(nic.id)).result()
    assert vm.provisioning_state == "Succeeded"
    assert time.monotonic() - started >= 1.8  # waited Retry-After (1 s) twice
    assert len(arm.fake.calls("PUT", "/virtualMachines/n7")) == 3


def test_missing_resources_answer_404_and_get_faults(arm: RunningArm, compute: Any) -> None:
    with pytest.raises(ResourceNotFoundError) as missing:
        compute.virtual_machines.get(RESOURCE_GROUP, "ghost")
    assert missing.value.status_code == 404 and error_code(missing.value) == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError):
        compute.virtual_machines.begin_deallocate(RESOURCE_GROUP, "ghost").result()
    compute.virtual_machines.begin_delete(RESOURCE_GROUP, "ghost").result()  # 204: nothing to delete
    arm.fake.fail("disks.list", 403, "AuthorizationFailed")
    with pytest.raises(HttpResponseError) as denied:
        list(compute.disks.list_by_resource_group(RESOURCE_GROUP))
    assert error_code(denied.value) == "AuthorizationFailed"


def test_a_power_action_can_be_made_to_fail(arm: RunningArm, compute: Any, network: Any) -> None:
    nic = make_nic(network, "n8-nic")
    compute.virtual_machines.begin_create_or_update(RESOURCE_GROUP, "n8", vm_body(nic.id)).result()
    arm.fake.fail("virtualMachines.deallocate", 409, "OperationNotAllowed", "busy", times=1)
    with pytest.raises(HttpResponseError) as busy:
        compute.virtual_machines.begin_deallocate(RESOURCE_GROUP, "n8").result()
    assert (busy.value.status_code, error_code(busy.value)) == (409, "OperationNotAllowed")
    assert power_state(compute, "n8") == "PowerState/running"
    compute.virtual_machines.begin_deallocate(RESOURCE_GROUP, "n8").result()
    assert power_state(compute, "n8") == "PowerState/deallocated"


def test_nic_and_os_disk_go_with_the_vm_when_their_delete_option_says_so(
    arm: RunningArm, compute: Any, network: Any
) -> None:
    from azure.mgmt.compute import models

    arm.fake.operation_polls = 1
    nic = make_nic(network, "n9-nic")
    body = vm_body(nic.id)
    body.network_profile.network_interfaces = [
        models.NetworkInterfaceReference(id=nic.id, primary=True, delete_option="Delete")
    ]
    compute.virtual_machines.begin_create_or_update(RESOURCE_GROUP, "n9", body).result()
    assert len(arm.fake.leftovers()["disks"]) == 1  # the OS disk
    compute.virtual_machines.begin_delete(RESOURCE_GROUP, "n9").result()
    assert arm.fake.leftovers() == {"virtual_machines": [], "network_interfaces": [], "disks": []}


def test_a_linux_vm_needs_a_login_like_azure(compute: Any, network: Any) -> None:
    """Password login off and no SSH key, or a key outside the admin's authorized_keys: ARM's
    400 InvalidParameter, and nothing is made."""
    from azure.mgmt.compute import models

    nic = make_nic(network, "n10-nic")
    keyless = vm_body(nic.id)
    keyless.os_profile.linux_configuration.ssh = None
    with pytest.raises(HttpResponseError) as refused:
        compute.virtual_machines.begin_create_or_update(RESOURCE_GROUP, "n10", keyless).result()
    assert (refused.value.status_code, error_code(refused.value)) == (400, "InvalidParameter")
    assert "Authentication using either SSH or by user name and password" in str(refused.value)
    elsewhere = vm_body(nic.id)
    elsewhere.os_profile.linux_configuration.ssh.public_keys = [
        models.SshPublicKey(path="/root/.ssh/authorized_keys", key_data=KEY)
    ]
    with pytest.raises(HttpResponseError) as wrong_path:
        compute.virtual_machines.begin_create_or_update(RESOURCE_GROUP, "n10", elsewhere).result()
    assert error_code(wrong_path.value) == "InvalidParameter"
    assert "/home/vcp/.ssh/authorized_keys" in str(wrong_path.value)
    assert list(compute.virtual_machines.list(RESOURCE_GROUP)) == []
    made = compute.virtual_machines.begin_create_or_update(RESOURCE_GROUP, "n10", vm_body(nic.id)).result()
    [key] = made.os_profile.linux_configuration.ssh.public_keys
    assert (key.path, key.key_data) == ("/home/vcp/.ssh/authorized_keys", KEY)


def test_an_operation_can_end_failed(arm: RunningArm, compute: Any, network: Any) -> None:
    """in_operation: the request is accepted (201 + Azure-AsyncOperation), the operation's
    status is Failed with ARM's error; the VM exists in provisioningState Failed; a failed
    deallocate or delete changes nothing."""
    seen: list[tuple[int, Any]] = []
    nic = make_nic(network, "n11-nic")
    arm.fake.fail(
        "virtualMachines.createOrUpdate", 409, "AllocationFailed", "no capacity in zone 1", in_operation=True
    )
    with pytest.raises(HttpResponseError) as failed:
        compute.virtual_machines.begin_create_or_update(
            RESOURCE_GROUP,
            "n11",
            vm_body(nic.id),
            raw_response_hook=lambda r: seen.append((r.http_response.status_code, r.http_response.headers)),
        ).result()
    assert seen[0][0] == 201 and "Azure-AsyncOperation" in seen[0][1]
    assert error_code(failed.value) == "AllocationFailed" and "no capacity in zone 1" in str(failed.value)
    [status] = arm.fake.calls("GET", "/Microsoft.Compute/locations/")
    assert compute.virtual_machines.get(RESOURCE_GROUP, "n11").provisioning_state == "Failed"
    assert status["path"].startswith(
        f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Compute/locations/"
    )

    compute.virtual_machines.begin_create_or_update(RESOURCE_GROUP, "n11", vm_body(nic.id)).result()  # once
    assert compute.virtual_machines.get(RESOURCE_GROUP, "n11").provisioning_state == "Succeeded"
    arm.fake.fail("virtualMachines.deallocate", 409, "OperationPreempted", in_operation=True)
    with pytest.raises(HttpResponseError) as preempted:
        compute.virtual_machines.begin_deallocate(RESOURCE_GROUP, "n11").result()
    assert error_code(preempted.value) == "OperationPreempted"
    assert power_state(compute, "n11") == "PowerState/running"
    arm.fake.fail("virtualMachines.delete", 500, "InternalExecutionError", in_operation=True)
    with pytest.raises(HttpResponseError):
        compute.virtual_machines.begin_delete(RESOURCE_GROUP, "n11").result()
    assert [vm.name for vm in compute.virtual_machines.list(RESOURCE_GROUP)] == ["n11"]


def test_a_nic_made_at_once_is_answered_succeeded(arm: RunningArm, network: Any) -> None:
    """NRP's answer to a NIC it made at once: provisioningState Succeeded in the first answer
    (with the Azure-AsyncOperation header all the same); Updating while it is in progress."""
    seen: list[Any] = []
    hook = {"raw_response_hook": lambda r: seen.append(r.http_response)}
    from azure.mgmt.network import models

    subnet = network.subnets.get(RESOURCE_GROUP, VNET, SUBNET)
    config = models.NetworkInterfaceIPConfiguration(name="ipconfig1", subnet=models.Subnet(id=subnet.id))
    body = models.NetworkInterface(location=LOCATION, ip_configurations=[config])
    network.network_interfaces.begin_create_or_update(RESOURCE_GROUP, "n12-nic", body, **hook).result()
    arm.fake.operation_polls = 1
    network.network_interfaces.begin_create_or_update(RESOURCE_GROUP, "n13-nic", body, **hook).result()
    first = [r for r in seen if r.request.method == "PUT"]
    assert [r.json()["properties"]["provisioningState"] for r in first] == ["Succeeded", "Updating"]
    assert all("Azure-AsyncOperation" in r.headers for r in first)


def test_snapshots_are_made_through_the_sdk_and_disks_copied_from_them(arm: RunningArm, compute: Any) -> None:
    from azure.mgmt.compute import models

    disk = compute.disks.begin_create_or_update(RESOURCE_GROUP, "golden-disk", disk_body(12)).result()
    body = models.Snapshot(
        location=LOCATION,
        creation_data=models.CreationData(create_option="Copy", source_resource_id=disk.id),
        tags={"purpose": "golden"},
    )
    snapshot = compute.snapshots.begin_create_or_update(RESOURCE_GROUP, "golden", body).result()
    assert (snapshot.disk_size_gb, snapshot.tags) == (12, {"purpose": "golden"})
    assert snapshot.creation_data.source_resource_id == disk.id
    copy = compute.disks.begin_create_or_update(
        RESOURCE_GROUP, "copy", disk_body(source=snapshot.id)
    ).result()
    assert copy.disk_size_gb == 12
    with pytest.raises(HttpResponseError) as empty:
        compute.snapshots.begin_create_or_update(
            RESOURCE_GROUP,
            "nothing",
            models.Snapshot(location=LOCATION, creation_data=models.CreationData(create_option="Empty")),
        ).result()
    assert error_code(empty.value) == "InvalidParameter"
    assert [s.name for s in compute.snapshots.list_by_resource_group(RESOURCE_GROUP)] == ["golden"]
    compute.snapshots.begin_delete(RESOURCE_GROUP, "golden").result()
    with pytest.raises(ResourceNotFoundError):
        compute.snapshots.get(RESOURCE_GROUP, "golden")


def test_lists_come_in_pages_linked_by_next_link(arm: RunningArm, network: Any) -> None:
    arm.fake.page_size = 2
    for index in range(5):
        make_nic(network, f"paged-{index}")
    assert sorted(n.name for n in network.network_interfaces.list(RESOURCE_GROUP)) == [
        f"paged-{i}" for i in range(5)
    ]
    pages = [r for r in arm.fake.calls("GET") if r["path"].endswith("/Microsoft.Network/networkInterfaces")]
    assert [p["query"].get("$skiptoken") for p in pages] == [None, "2", "4"]
    assert all(p["api_version"] for p in pages)


def test_a_vm_create_can_take_its_time(arm: RunningArm, compute: Any, network: Any) -> None:
    """vm_create_seconds: the create's operation answers InProgress with a Retry-After of the
    seconds left, which the SDK's poller waits."""
    arm.fake.vm_create_seconds = 1.0
    nic = make_nic(network, "n14-nic")
    started = time.monotonic()
    poller = compute.virtual_machines.begin_create_or_update(RESOURCE_GROUP, "n14", vm_body(nic.id))
    assert poller.result().provisioning_state == "Succeeded"
    assert time.monotonic() - started >= 1.0
    polls = arm.fake.calls("GET", "/Microsoft.Compute/locations/")
    assert len(polls) == 2  # "in progress, ask again in 1 s", then "Succeeded"
