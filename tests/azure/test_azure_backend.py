"""AzureBackend against the fake ARM: the ARM calls it makes, what ends up in the fake cloud,
how Azure's errors are mapped, and that the client secret stays out of the logs."""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from vcpsdk.controller.backends.azure import TAG_NODE, AzureBackend, bootstrap_script
from vcpsdk.controller.backends.azure.backend import authorized_keys
from vcpsdk.controller.backends.azure.errors import map_error
from vcpsdk.controller.backends.base import DiskInfo, DiskRequest, UnitContext
from vcpsdk.controller.backends.registry import REGISTRY
from vcpsdk.controller.backends.toolkit.errors import (
    BackendError,
    CloudAuthError,
    CloudCapacityError,
    CloudError,
    CloudInvalidParameter,
    CloudNotFoundError,
    CloudQuotaError,
    CloudThrottlingError,
    CloudTimeoutError,
)
from vcpsdk.errors import VcpInvalidArgumentError
from vcpsdk.testing.conformance.azure import PREFIX, SUBNET, backend_config
from vcpsdk.testing.fakes.azure import CLIENT_SECRET, RESOURCE_GROUP, SUBSCRIPTION_ID, VNET, RunningArm
from vcpsdk.testing.units import backend_unit, concurrency_peak, node_requests

CONTROLLER_ID = "c0ffee00-0000-4000-8000-000000000001"
API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(-preview)?")
#: the user's key (what spec.set_ssh_pubkey puts into params_e) and an operator's key
USER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f user@laptop"
OPERATOR_KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 operator@bastion"
ADMIN_KEYS = "/home/vcp/.ssh/authorized_keys"


@pytest.fixture
def config(arm: RunningArm) -> dict[str, Any]:
    arm.fake.add_network(subnet=SUBNET, prefix=PREFIX)
    return backend_config(arm)


@pytest.fixture
def backend(config: dict[str, Any]) -> Iterator[AzureBackend]:
    made = AzureBackend(config, CONTROLLER_ID)
    yield made
    made.close()


def key_file(*lines: str) -> str:
    """``AUTHORIZED_KEYS=<base64 of a key file>``, as ``spec.set_ssh_pubkey`` puts it in params_e."""
    return "AUTHORIZED_KEYS=" + base64.b64encode("".join(f"{line}\n" for line in lines).encode()).decode()


def make_unit(
    config: dict[str, Any], provider: str = "azure", *, keys: tuple[str, ...] = (USER_KEY,), **params: Any
) -> UnitContext:
    """A unit whose params_e carry ``keys`` as ``spec.set_ssh_pubkey`` puts them (none: no key)."""
    unit: UnitContext = backend_unit(config["vpn_catalog"]["default"], provider, **params)
    unit.spec["params_e"] = ["USER_NAME=alice", key_file(*keys)] if keys else ["USER_NAME=alice"]
    return unit


new_nodes = node_requests


def puts(arm: RunningArm, kind: str) -> list[dict[str, Any]]:
    return [{**r, "json": json.loads(r["body"])} for r in arm.fake.calls("PUT", f"/{kind}/")]


def clean(arm: RunningArm) -> bool:
    return all(not ids for ids in arm.fake.leftovers().values())


# -- creates ----------------------------------------------------------------------------------


def test_create_nodes_puts_a_nic_and_a_vm_per_node(arm: RunningArm, backend: AzureBackend, config) -> None:
    unit = make_unit(
        config,
        vm_size="Standard_D2s_v5",
        disk_size_gb=64,
        managed_disk_type="Premium_LRS",
        tags={"Project": "handson", "vcp-unit": "spoofed"},
        cloud_image="Canonical:ubuntu-24_04-lts:server:latest",
    )
    nodes = new_nodes(2, "127.65.9.21")
    results = backend.create_nodes(unit, nodes)

    nics, vms = puts(arm, "networkInterfaces"), puts(arm, "virtualMachines")
    assert len(nics) == len(vms) == 3
    for call in nics:
        assert "/providers/Microsoft.Network/networkInterfaces/" in call["path"]
        assert API_VERSION.fullmatch(call["api_version"])
    for call in vms:
        assert "/providers/Microsoft.Compute/virtualMachines/" in call["path"]
        assert API_VERSION.fullmatch(call["api_version"])
    assert len({c["api_version"] for c in vms}) == 1 and len({c["api_version"] for c in nics}) == 1
    ip = {
        c["path"].rsplit("/", 1)[1]: c["json"]["properties"]["ipConfigurations"][0]["properties"]
        for c in nics
    }
    fixed = ip[f"vcp-{nodes[2].node_id}-nic"]
    assert fixed["privateIPAllocationMethod"] == "Static" and fixed["privateIPAddress"] == "127.65.9.21"
    assert ip[f"vcp-{nodes[0].node_id}-nic"]["privateIPAllocationMethod"] == "Dynamic"
    assert fixed["subnet"]["id"].endswith(f"/virtualNetworks/vcp-vnet/subnets/{SUBNET}")

    by_name = {c["path"].rsplit("/", 1)[1]: c["json"] for c in vms}
    for node in nodes:
        body = by_name[f"vcp-{node.node_id}"]
        props = body["properties"]
        assert props["hardwareProfile"] == {"vmSize": "Standard_D2s_v5"}
        os_disk = props["storageProfile"]["osDisk"]
        assert os_disk["diskSizeGB"] == 64 and os_disk["deleteOption"] == "Delete"
        assert os_disk["managedDisk"] == {"storageAccountType": "Premium_LRS"}
        assert props["storageProfile"]["imageReference"] == {
            "publisher": "Canonical",
            "offer": "ubuntu-24_04-lts",
            "sku": "server",
            "version": "latest",
        }
        assert body["tags"] == {
            "Project": "handson",
            "vcp-controller": CONTROLLER_ID,
            "vcp-vcid": unit.vcid,
            "vcp-ugroup": "group",
            "vcp-unit": "unit",
            TAG_NODE: node.node_id,
        }
        assert props["osProfile"]["adminUsername"] == "vcp"
        assert props["osProfile"]["linuxConfiguration"] == {
            "disablePasswordAuthentication": True,
            "ssh": {"publicKeys": [{"path": ADMIN_KEYS, "keyData": USER_KEY}]},
        }
        script = base64.b64decode(props["osProfile"]["customData"]).decode()
        assert script == bootstrap_script(
            unit, node, controller_id=CONTROLLER_ID, controller_address="127.65.0.10"
        )
        assert f"NODE_ID={node.node_id}" in script
        assert arm.fake.custom_data[f"vcp-{node.node_id}"] == script
    addresses = [r.address for r in results]
    assert addresses[2] == "127.65.9.21" and len(set(addresses)) == 3
    assert all(a.startswith("127.65.") for a in addresses)
    assert all(r.instance_id.endswith(f"/virtualMachines/vcp-{r.node_id}") for r in results)


def test_the_vms_of_one_request_are_created_concurrently_within_the_bound(
    arm: RunningArm, config: dict[str, Any]
) -> None:
    backend = AzureBackend({**config, "max_concurrent_creates": 2}, CONTROLLER_ID)
    unit = make_unit(config)
    compute, _, _ = backend.clients(unit)
    with concurrency_peak(compute.virtual_machines, "begin_create_or_update") as peak:
        assert len(backend.create_nodes(unit, new_nodes(5))) == 5
    backend.close()
    assert peak[0] == 2


def test_power_describe_and_delete(arm: RunningArm, backend: AzureBackend, config) -> None:
    unit = make_unit(config)
    nodes = new_nodes(2)
    backend.create_nodes(unit, nodes)
    backend.power(unit, nodes[:1], "power_off")
    assert len(arm.fake.calls("POST", "/deallocate")) == 1
    assert backend.describe(unit, nodes) == {nodes[0].node_id: "POWER_OFF", nodes[1].node_id: "RUNNING"}
    # a new backend (a restarted controller) finds the VMs again by their tags
    again = AzureBackend(config, CONTROLLER_ID)
    assert again.describe(unit, nodes) == {nodes[0].node_id: "POWER_OFF", nodes[1].node_id: "RUNNING"}
    assert AzureBackend(config, "another-controller").describe(unit, nodes[:1]) == {
        nodes[0].node_id: "DELETED"
    }
    again.close()
    backend.power(unit, nodes[:1], "power_on")
    assert len(arm.fake.calls("POST", "/start")) == 1
    assert set(backend.describe(unit, nodes).values()) == {"RUNNING"}
    with pytest.raises(BackendError, match="unknown power action"):
        backend.power(unit, nodes, "hibernate")
    backend.delete_nodes(unit, nodes)
    assert clean(arm)  # VM, NIC and OS disk
    assert backend.describe(unit, nodes) == dict.fromkeys([n.node_id for n in nodes], "DELETED")
    backend.delete_nodes(unit, nodes)  # again: nothing left to delete is fine


# -- disks ------------------------------------------------------------------------------------


def test_managed_disks_attach_at_luns_and_detach_on_node_delete(
    arm: RunningArm, backend: AzureBackend, config
) -> None:
    arm.fake.add_snapshot("golden", size_gb=16)
    storage = make_unit(config, "azure_disk", storage_account_type="Premium_LRS", cloud_image="golden")
    requests = [DiskRequest(uuid.uuid4().hex, i + 1, 0) for i in range(2)]
    disks = backend.create_disks(storage, requests)
    [first, second] = puts(arm, "disks")
    assert "/providers/Microsoft.Compute/disks/" in first["path"] and API_VERSION.fullmatch(
        first["api_version"]
    )
    assert first["json"]["sku"] == {"name": "Premium_LRS"}
    assert first["json"]["properties"]["creationData"] == {
        "createOption": "Copy",
        "sourceResourceId": f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}"
        "/providers/Microsoft.Compute/snapshots/golden",
    }
    assert second["json"]["properties"]["creationData"] == first["json"]["properties"]["creationData"]
    assert "diskSizeGB" not in first["json"]["properties"]  # the snapshot's size
    assert [d.size_gb for d in disks] == [16, 16]

    unit = make_unit(config)
    [node] = new_nodes(1, disks=[DiskInfo(d.disk_id, d.cloud_disk_id) for d in disks])
    [result] = backend.create_nodes(unit, [node])
    [vm] = puts(arm, "virtualMachines")
    data = vm["json"]["properties"]["storageProfile"]["dataDisks"]
    assert [(d["lun"], d["managedDisk"]["id"]) for d in data] == [
        (0, disks[0].cloud_disk_id),
        (1, disks[1].cloud_disk_id),
    ]
    assert [v["volume_id"] for v in result.volumes] == [d.cloud_disk_id for d in disks]

    with pytest.raises(CloudInvalidParameter, match="OperationNotAllowed: .*attached"):
        backend.delete_disks(storage, requests)
    backend.delete_nodes(unit, [node])
    assert len(arm.fake.leftovers()["disks"]) == 2  # detached, not deleted
    backend.delete_disks(storage, requests)
    assert clean(arm)


def test_an_empty_disk_and_a_failed_disk_create(arm: RunningArm, backend: AzureBackend, config) -> None:
    storage = make_unit(config, "azure_disk", disk_size_gb=8)
    arm.fake.fail(
        "disks.createOrUpdate",
        409,
        "QuotaExceeded",
        "Operation could not be completed as it results in exceeding approved quota",
        times=1,
    )
    with pytest.raises(CloudQuotaError, match="^QuotaExceeded: "):
        backend.create_disks(storage, [DiskRequest(uuid.uuid4().hex, i + 1, 10) for i in range(3)])
    assert clean(arm)  # the ones that were made are deleted again
    [made] = backend.create_disks(storage, [DiskRequest("d1", 1, 10)])
    assert made.size_gb == 10
    assert puts(arm, "disks")[-1]["json"]["properties"]["creationData"] == {"createOption": "Empty"}


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "message", "kind"),
    [
        (409, "QuotaExceeded", "quota of cores exceeded", CloudQuotaError),
        (409, "OperationNotAllowed", "exceeding approved standardDSv5Family Cores quota", CloudQuotaError),
        (409, "AllocationFailed", "no capacity", CloudCapacityError),
        (403, "AuthorizationFailed", "the client does not have authorization", CloudAuthError),
        (400, "InvalidParameter", "bad vm size", CloudInvalidParameter),
        (400, "BadRequest", "bad request", CloudInvalidParameter),
        (404, "ResourceNotFound", "the image is gone", CloudNotFoundError),
    ],
)
def test_a_failed_create_is_mapped_and_removes_what_it_made(
    arm: RunningArm, backend: AzureBackend, config, status: int, code: str, message: str, kind: type
) -> None:
    arm.fake.fail("virtualMachines.createOrUpdate", status, code, message, times=1)
    with pytest.raises(kind) as failure:
        backend.create_nodes(make_unit(config), new_nodes(3))
    assert str(failure.value) == f"{code}: {message}" and failure.value.provider == "azure"
    assert clean(arm)  # two VMs and three NICs were made: all gone again


def test_an_unavailable_size_is_a_capacity_error(arm: RunningArm, backend: AzureBackend, config) -> None:
    with pytest.raises(CloudCapacityError, match="^SkuNotAvailable: "):
        backend.create_nodes(make_unit(config, vm_size="Standard_NV6"), new_nodes(1))
    assert clean(arm)


def test_throttling_is_retried_by_the_sdk_then_mapped(arm: RunningArm, config) -> None:
    arm.fake.fail("virtualMachines.createOrUpdate", 429, "TooManyRequests", "slow down", times=2)
    backend = AzureBackend(config, CONTROLLER_ID)
    assert len(backend.create_nodes(make_unit(config), new_nodes(1))) == 1  # azure-core retried
    backend.close()
    arm.fake.fail("virtualMachines.createOrUpdate", 429, "TooManyRequests", "slow down", times=5)
    no_retry = AzureBackend({**config, "retry_total": 0}, CONTROLLER_ID)
    with pytest.raises(CloudThrottlingError, match="^TooManyRequests: slow down") as failure:
        no_retry.create_nodes(make_unit(config), new_nodes(1))
    no_retry.close()
    assert failure.value.retryable


def test_a_fixed_address_in_use_is_an_invalid_parameter(
    arm: RunningArm, backend: AzureBackend, config
) -> None:
    unit = make_unit(config)
    backend.create_nodes(unit, new_nodes(0, "127.65.9.30"))
    with pytest.raises(CloudInvalidParameter, match="^PrivateIPAddressInUse: "):
        backend.create_nodes(unit, new_nodes(0, "127.65.9.30"))


def test_wrong_credentials_are_an_auth_error_without_the_secret(
    arm: RunningArm, config, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-secret-value-1234"
    backend = AzureBackend({**config, "client_secret": wrong}, CONTROLLER_ID)
    with pytest.raises(CloudAuthError) as failure:
        backend.create_nodes(make_unit(config), new_nodes(1))
    backend.close()
    assert failure.value.code in ("invalid_client", "AuthenticationFailed")
    assert wrong not in str(failure.value) and wrong not in caplog.text


def test_the_client_secret_never_appears_in_logs(
    arm: RunningArm, backend: AzureBackend, config, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    unit = make_unit(config)
    nodes = new_nodes(2)
    backend.create_nodes(unit, nodes)
    backend.power(unit, nodes, "power_off")
    backend.delete_nodes(unit, nodes)
    assert caplog.records  # the SDK did log (requests, token acquisition)
    assert CLIENT_SECRET not in caplog.text
    assert all(CLIENT_SECRET not in str(r.args) for r in caplog.records)
    # nor the custom data (it carries params_e) or the keys
    for call in puts(arm, "virtualMachines"):
        assert call["json"]["properties"]["osProfile"]["customData"] not in caplog.text
    assert "AUTHORIZED_KEYS" not in caplog.text and USER_KEY not in caplog.text


def test_the_users_literal_credentials_are_used_and_vault_references_are_not(arm: RunningArm, config) -> None:
    operatorless = {k: v for k, v in config.items() if k != "client_secret"}
    backend = AzureBackend(operatorless, CONTROLLER_ID)
    with pytest.raises(CloudAuthError, match="no Azure credentials"):
        backend.create_nodes(make_unit(config, client_secret="vault://azure/secret"), new_nodes(1))
    users = {k: config[k] for k in ("tenant_id", "client_id", "client_secret", "subscription_id")}
    assert len(backend.create_nodes(make_unit(config, **users), new_nodes(1))) == 1
    backend.close()


def test_map_error_leaves_our_own_bugs_alone() -> None:
    assert map_error(KeyError("x")) is None
    error = BackendError("already typed")
    assert map_error(error) is error


# -- wiring -----------------------------------------------------------------------------------


def test_registry_and_catalog(config: dict[str, Any]) -> None:
    assert REGISTRY["azure"].load() is AzureBackend
    backend = AzureBackend(config, CONTROLLER_ID)
    assert set(backend.vpn_catalog()) == {"azure"}
    assert backend.vpn_catalog()["azure"]["default"]["azure_subnet_name"] == SUBNET
    backend.close()


def test_without_the_sdk_the_backend_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "azure.identity", None)
    with pytest.raises(BackendError, match=re.escape('pip install "vcpsdk[azure]"')):
        AzureBackend({}, CONTROLLER_ID)


def test_credentials_from_the_environment(arm: RunningArm, config, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("tenant_id", "client_id", "client_secret", "subscription_id"):
        monkeypatch.setenv(f"AZURE_{key.upper()}", config[key])
    section = {k: v for k, v in config.items() if k not in ("tenant_id", "client_id", "client_secret")}
    backend = AzureBackend({**section, "subscription_id": "vault://not/resolved"}, CONTROLLER_ID)
    assert len(backend.create_nodes(make_unit(config), new_nodes(1))) == 1
    backend.close()


def test_spec_disks_may_name_a_managed_disk(arm: RunningArm, backend: AzureBackend, config) -> None:
    storage = make_unit(config, "azure_disk")
    [disk] = backend.create_disks(storage, [DiskRequest("named", 1, 4)])
    unit = make_unit(config)
    [node] = new_nodes(1, disks=[DiskInfo("named", "vcp-named")])  # a name, not an id
    backend.create_nodes(unit, [node])
    [vm] = puts(arm, "virtualMachines")
    [data] = vm["json"]["properties"]["storageProfile"]["dataDisks"]
    assert data["lun"] == 0 and data["managedDisk"]["id"] == disk.cloud_disk_id
    backend.delete_nodes(unit, [node])
    backend.delete_disks(storage, [DiskRequest("named", 1, 4)])
    assert clean(arm)


# -- requests per node --------------------------------------------------------------------------


def test_a_node_costs_a_nic_put_a_vm_put_and_one_operation_poll(
    arm: RunningArm, backend: AzureBackend, config
) -> None:
    """The NIC answered Succeeded at once is not polled, and the created VM is not read back."""
    unit = make_unit(config)
    list(backend.clients(unit)[0].virtual_machines.list(RESOURCE_GROUP))  # no token request below
    before = len(arm.fake.requests)
    [node] = new_nodes(1)
    [result] = backend.create_nodes(unit, [node])
    made = [(r["method"], r["path"].split("/providers/")[-1]) for r in arm.fake.requests[before:]]
    assert [m for m in made if not m[1].startswith("Microsoft.Compute/locations/")] == [
        ("PUT", f"Microsoft.Network/networkInterfaces/vcp-{node.node_id}-nic"),
        ("PUT", f"Microsoft.Compute/virtualMachines/vcp-{node.node_id}"),
    ]
    assert [m[0] for m in made if m[1].startswith("Microsoft.Compute/locations/")] == ["GET"]
    assert result.instance_id == (
        f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}"
        f"/providers/Microsoft.Compute/virtualMachines/vcp-{node.node_id}"
    )
    assert result.address.startswith("127.65.")


def test_a_nic_still_provisioning_is_followed_to_its_end(
    arm: RunningArm, backend: AzureBackend, config
) -> None:
    arm.fake.operation_polls = 2  # every operation answers "in progress" twice
    [result] = backend.create_nodes(make_unit(config), new_nodes(1))
    assert result.address.startswith("127.65.")
    assert len(arm.fake.calls("GET", "/operations/")) == 2 * 3  # the NIC's and the VM's operations
    assert len(arm.fake.calls("GET", "/networkInterfaces/")) == 1  # the NIC read after its operation


# -- the VMs' login ---------------------------------------------------------------------------


def test_authorized_keys_are_read_from_params_e() -> None:
    spec = {
        "params_e": [
            "USER_NAME=alice",
            key_file("# a comment", f'command="uptime",no-pty {USER_KEY}', "", OPERATOR_KEY, "garbage"),
        ]
    }
    assert authorized_keys(spec) == [USER_KEY, OPERATOR_KEY]
    assert authorized_keys({"params_e": ["AUTHORIZED_KEYS=%%%not-base64"]}) == []
    assert authorized_keys({}) == []


def test_a_unit_without_any_ssh_key_is_refused_before_anything_is_made(
    arm: RunningArm, backend: AzureBackend, config
) -> None:
    with pytest.raises(CloudInvalidParameter, match="needs an SSH public key .*set_ssh_pubkey"):
        backend.create_nodes(make_unit(config, keys=()), new_nodes(2))
    assert arm.fake.calls("PUT") == [] and clean(arm)


def test_the_operators_keys_join_the_users(arm: RunningArm, config) -> None:
    operator = AzureBackend({**config, "admin_ssh_public_keys": [OPERATOR_KEY, USER_KEY]}, CONTROLLER_ID)
    operator.create_nodes(make_unit(config, keys=()), new_nodes(1))
    operator.create_nodes(make_unit(config), new_nodes(1))
    operator.close()
    [alone, both] = [
        c["json"]["properties"]["osProfile"]["linuxConfiguration"] for c in puts(arm, "virtualMachines")
    ]
    assert [k["keyData"] for k in alone["ssh"]["publicKeys"]] == [OPERATOR_KEY, USER_KEY]
    assert [k["keyData"] for k in both["ssh"]["publicKeys"]] == [USER_KEY, OPERATOR_KEY]
    assert {k["path"] for k in alone["ssh"]["publicKeys"] + both["ssh"]["publicKeys"]} == {ADMIN_KEYS}


# -- power off without deallocation ------------------------------------------------------------


def test_power_off_mode_power_off_keeps_the_vm_allocated(
    arm: RunningArm, backend: AzureBackend, config
) -> None:
    unit = make_unit(config, power_off_mode="power_off")
    nodes = new_nodes(2)
    backend.create_nodes(unit, nodes)
    backend.power(unit, nodes, "power_off")
    assert len(arm.fake.calls("POST", "/powerOff")) == 2 and not arm.fake.calls("POST", "/deallocate")
    assert {arm.fake.power[r.lower()] for r in arm.fake.leftovers()["virtual_machines"]} == {"stopped"}
    assert set(backend.describe(unit, nodes).values()) == {"POWER_OFF"}
    backend.power(unit, nodes, "power_on")
    assert set(backend.describe(unit, nodes).values()) == {"RUNNING"}
    backend.power(unit, nodes[:1], "suspend")  # suspend powers off the same way
    backend.power(unit, nodes[1:], "stop")  # stop always releases the host
    assert len(arm.fake.calls("POST", "/powerOff")) == 3 and len(arm.fake.calls("POST", "/deallocate")) == 1
    assert sorted(arm.fake.power.values()) == ["deallocated", "stopped"]
    with pytest.raises(CloudInvalidParameter, match="power_off_mode 'hibernate'"):
        backend.power(make_unit(config, power_off_mode="hibernate"), nodes, "power_off")


def test_the_default_power_off_deallocates(arm: RunningArm, backend: AzureBackend, config) -> None:
    unit = make_unit(config)  # power_off_mode not given: what an older SDK sends
    nodes = new_nodes(1)
    backend.create_nodes(unit, nodes)
    backend.power(unit, nodes, "power_off")
    backend.power(make_unit(config, power_off_mode="deallocate"), nodes, "suspend")
    assert len(arm.fake.calls("POST", "/deallocate")) == 2 and not arm.fake.calls("POST", "/powerOff")
    assert list(arm.fake.power.values()) == ["deallocated"]


# -- failures inside an operation ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "code", "kind"),
    [
        ("virtualMachines.createOrUpdate", "AllocationFailed", CloudCapacityError),
        ("virtualMachines.createOrUpdate", "OSProvisioningTimedOut", CloudError),
        ("networkInterfaces.createOrUpdate", "InternalServerError", CloudError),
    ],
)
def test_an_operation_that_ends_failed_is_mapped_and_cleaned_up(
    arm: RunningArm, backend: AzureBackend, config, operation: str, code: str, kind: type
) -> None:
    """ARM accepted the request (the resource exists, provisioningState Failed) and the
    operation ends Failed: the node's error is the operation's code and message, and what the
    create made (the failed VM or NIC included) is deleted."""
    arm.fake.fail(operation, 409, code, f"{code} while provisioning", in_operation=True)
    with pytest.raises(kind) as failure:
        backend.create_nodes(make_unit(config), new_nodes(3))
    assert str(failure.value) == f"{code}: {code} while provisioning"
    assert failure.value.code == code
    assert clean(arm)


def test_a_power_operation_that_ends_failed_is_an_error(
    arm: RunningArm, backend: AzureBackend, config
) -> None:
    unit = make_unit(config)
    nodes = new_nodes(1)
    backend.create_nodes(unit, nodes)
    arm.fake.fail("virtualMachines.deallocate", 409, "OperationPreempted", "preempted", in_operation=True)
    with pytest.raises(CloudError, match="^OperationPreempted: preempted"):
        backend.power(unit, nodes, "power_off")
    assert backend.describe(unit, nodes) == {nodes[0].node_id: "RUNNING"}


# -- leftovers ----------------------------------------------------------------------------------


def test_find_tagged_and_sweep_follow_next_links(arm: RunningArm, backend: AzureBackend, config) -> None:
    arm.fake.page_size = 2  # every list below is two pages or more
    unit = make_unit(config)
    other = make_unit(config)  # another group: never swept with this one
    backend.create_nodes(unit, new_nodes(3))
    backend.create_nodes(other, new_nodes(1))
    storage = make_unit(config, "azure_disk")
    storage.vcid, storage.unit_name = unit.vcid, "disks"
    [disk] = backend.create_disks(storage, [DiskRequest("d1", 1, 4)])
    assert len(backend.find_tagged(unit.vcid)) == 3 * 2 + 1  # a VM and a NIC per node; the disk
    assert any("$skiptoken" in r["query"] for r in arm.fake.calls("GET", "/virtualMachines"))

    backend.sweep(unit)  # e.g. nodes the controller lost track of: VM, NIC and OS disk go
    assert backend.find_tagged(unit.vcid) == [disk.cloud_disk_id]
    assert len(arm.fake.leftovers()["disks"]) == 1 + 1  # the other group's OS disk, the disk
    backend.sweep(storage)
    assert backend.find_tagged(unit.vcid) == []
    assert len(backend.find_tagged(other.vcid)) == 2
    deletes = len(arm.fake.calls("DELETE"))
    backend.sweep(unit)  # nothing left: nothing deleted
    assert len(arm.fake.calls("DELETE")) == deletes


def test_sweep_leaves_a_disk_another_vm_holds(arm: RunningArm, backend: AzureBackend, config) -> None:
    storage = make_unit(config, "azure_disk")
    [disk] = backend.create_disks(storage, [DiskRequest("held", 1, 4)])
    user = make_unit(config)
    [node] = new_nodes(1, disks=[DiskInfo("held", disk.cloud_disk_id)])
    backend.create_nodes(user, [node])
    backend.sweep(storage)
    assert disk.cloud_disk_id in arm.fake.leftovers()["disks"]
    backend.delete_nodes(user, [node])
    backend.sweep(storage)
    assert clean(arm)


def test_cleanup_of_the_unit_group_removes_strays_tagged_for_it(arm: RunningArm, config, tmp_path) -> None:
    """A NIC tagged for a unit but unknown to the controller (left by a failure it never saw)
    is gone after ug.cleanup(); one tagged for another group stays."""
    from vcpsdk.testing import running_controller, write_test_public_key
    from vcpsdk.testing.units import connect_sdk

    key = write_test_public_key(tmp_path / "id.pub")
    with running_controller(tmp_path / "state", backends={"azure": config}) as running:
        vcp = connect_sdk(running, tmp_path / "cfg", "alice")
        spec = vcp.get_spec("azure", "small")
        spec.set_ssh_pubkey(str(key))
        ug = vcp.create_ugroup("swept")
        ug.create_unit("web", spec)
        [vm] = arm.fake.vms.values()
        subnet = arm.fake.resource_id("Microsoft.Network", "virtualNetworks", VNET) + f"/subnets/{SUBNET}"
        for name, vcid in (("stray", vm["tags"]["vcp-vcid"]), ("foreign", "another-group")):
            arm.fake.put_nic(
                arm.fake.resource_id("Microsoft.Network", "networkInterfaces", name),
                name,
                {
                    "tags": {**vm["tags"], "vcp-vcid": vcid, TAG_NODE: "lost"},
                    "properties": {"ipConfigurations": [{"properties": {"subnet": {"id": subnet}}}]},
                },
            )
        ug.cleanup()
    assert arm.fake.leftovers() == {
        "virtual_machines": [],
        "network_interfaces": [arm.fake.resource_id("Microsoft.Network", "networkInterfaces", "foreign")],
        "disks": [],
    }


def test_the_spec_chooses_power_off_without_deallocation(arm: RunningArm, config, tmp_path) -> None:
    """spec.power_off_mode (declared in providers.yml) through the SDK and the controller."""
    from vcpsdk.testing import running_controller, write_test_public_key
    from vcpsdk.testing.units import connect_sdk

    key = write_test_public_key(tmp_path / "id.pub")
    with running_controller(tmp_path / "state", backends={"azure": config}) as running:
        vcp = connect_sdk(running, tmp_path / "cfg", "alice")
        spec = vcp.get_spec("azure", "small")
        assert spec.power_off_mode == "deallocate"
        spec.power_off_mode = "power_off"
        spec.set_ssh_pubkey(str(key))
        spec.num_nodes = 2
        ug = vcp.create_ugroup("kept")
        unit = ug.create_unit("web", spec)
        unit.power_off_nodes(num_power_off_nodes=1)
        assert sorted(n.state for n in unit.find_nodes()) == ["POWER_OFF", "RUNNING"]
        assert sorted(arm.fake.power.values()) == ["running", "stopped"]
        assert len(arm.fake.calls("POST", "/powerOff")) == 1 and not arm.fake.calls("POST", "/deallocate")
        unit.power_on_nodes(num_power_on_nodes=1)
        assert {n.state for n in unit.find_nodes()} == {"RUNNING"}
        assert sorted(arm.fake.power.values()) == ["running", "running"]
        with pytest.raises(VcpInvalidArgumentError, match="power_off_mode"):
            spec.power_off_mode = "hibernate"
        ug.cleanup()
    assert clean(arm)


def test_a_nic_answered_without_its_address_is_read_back(
    arm: RunningArm, backend: AzureBackend, config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should ARM's first answer of a NIC lack the dynamic address, the NIC is read once."""
    shown = arm.fake._shown

    def without_address(resource: dict[str, Any], failure: Any, state: str) -> dict[str, Any]:
        answer = shown(resource, failure, state)
        if resource["type"].endswith("networkInterfaces"):
            configs = [
                {**c, "properties": {**c["properties"], "privateIPAddress": None}}
                for c in answer["properties"]["ipConfigurations"]
            ]
            answer = {**answer, "properties": {**answer["properties"], "ipConfigurations": configs}}
        return answer

    monkeypatch.setattr(arm.fake, "_shown", without_address)
    [result] = backend.create_nodes(make_unit(config), new_nodes(1))
    assert result.address.startswith("127.65.")
    assert len(arm.fake.calls("GET", "/networkInterfaces/")) == 1


# -- review findings: bounded waits, conflicts, masking of echoed secrets ---------------------


def test_an_operation_that_never_finishes_is_a_timeout_and_is_cleaned_up(arm: RunningArm, config) -> None:
    backend = AzureBackend({**config, "wait_timeout": 0.5}, CONTROLLER_ID)
    arm.fake.vm_create_seconds = 3600.0  # the VM create operation stays InProgress
    unit = make_unit(config)
    with pytest.raises(CloudTimeoutError, match="^Timeout: the operation did not finish within 0.5 s"):
        backend.create_nodes(unit, new_nodes(1))
    backend.close()
    assert all(not ids for ids in arm.fake.leftovers().values())  # the cleanup ran


@pytest.mark.parametrize("code", ["Conflict", "ResourceExists"])
def test_a_conflict_is_an_invalid_parameter(
    arm: RunningArm, backend: AzureBackend, config, code: str
) -> None:
    arm.fake.fail("networkInterfaces.createOrUpdate", 409, code, "the NIC exists in another state")
    with pytest.raises(CloudInvalidParameter, match=f"^{code}: the NIC exists"):
        backend.create_nodes(make_unit(config), new_nodes(1))
    from azure.core.exceptions import ResourceExistsError

    mapped = map_error(ResourceExistsError("already there"))
    assert isinstance(mapped, CloudInvalidParameter) and mapped.code == "Conflict"


def test_a_cloud_message_echoing_the_secret_is_masked_in_the_error_and_the_logs(
    arm: RunningArm, backend: AzureBackend, config, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    arm.fake.fail(
        "virtualMachines.createOrUpdate", 400, "InvalidParameter", f"client {CLIENT_SECRET} refused"
    )
    arm.fake.fail("networkInterfaces.delete", 400, "InvalidParameter", f"cannot delete with {CLIENT_SECRET}")
    with pytest.raises(CloudInvalidParameter) as failure:
        backend.create_nodes(make_unit(config), new_nodes(1))
    message = str(failure.value)  # the unit's error_message
    assert message == "InvalidParameter: client *** refused"
    cleanup = [r for r in caplog.records if "failed create made failed" in r.getMessage()]
    assert cleanup and "***" in cleanup[0].getMessage()
    assert CLIENT_SECRET not in caplog.text
