"""A local fake of Azure Resource Manager (ARM), served over HTTPS on 127.0.0.1 only.

It speaks the REST API and the status contracts the real Azure SDK (``azure-mgmt-compute``,
``azure-mgmt-network``, ``azure-identity``) relies on, so tests and the Azure backend drive
the real SDK against it; the fake itself needs none of those packages.

* **Identity.** ``GET /<tenant>/v2.0/.well-known/openid-configuration`` and
  ``POST /<tenant>/oauth2/v2.0/token`` (client credentials): the MSAL flow of
  ``ClientSecretCredential(authority=<fake>, disable_instance_discovery=True)``. A wrong
  tenant, client id or secret answers 400/401 like Entra ID. Every ARM call needs
  ``Authorization: Bearer <a token the fake issued>``, else 401 ``InvalidAuthenticationToken``.
* **Network** (``Microsoft.Network``): resource groups, virtual networks and subnets are read
  only (seeded with :meth:`FakeArm.add_network`); network interfaces are created (static
  private IP in the subnet, or the next free one), read, listed and deleted. Every address
  lies in 127.0.0.0/8 (the default subnet is :data:`SUBNET_PREFIX`).
* **Compute** (``Microsoft.Compute``): virtual machines (create/update with size, image,
  OS disk, custom data, NICs, data disks at LUNs, tags; get with ``$expand=instanceView``;
  ``deallocate``, ``powerOff``, ``start``, ``restart``; delete honouring each disk's and NIC's
  ``deleteOption``; a new Linux VM needs a login: SSH keys at ``/home/<admin>/.ssh/
  authorized_keys`` or a password, else 400 ``InvalidParameter`` like ARM), managed disks
  (empty, or a copy of a snapshot or disk) and snapshots (a copy of a disk or snapshot, made
  through the SDK or seeded with :meth:`FakeArm.add_snapshot`); lists per resource group
  carry the tags and come in pages of ``page_size`` linked by ``nextLink``.
* **Status contracts.** VM and NIC PUT: 201 (create) or 200 (update) with
  ``Azure-AsyncOperation`` (a NIC made at once already shows provisioningState
  ``Succeeded``, a VM ``Creating``); disk and snapshot PUT 202; POST actions and DELETE 202 with
  ``Azure-AsyncOperation``, ``Location`` and ``Retry-After: 0``; DELETE of nothing 204; errors
  ``{"error": {"code", "message"}}``: 404 ``ResourceNotFound``/``ResourceGroupNotFound``,
  409 ``OperationNotAllowed`` (deleting an attached disk), 400 ``NicInUse``,
  ``PrivateIPAddressInUse``, ``InvalidParameter``. Operations finish at once; the operation
  URLs answer ``InProgress`` (202 for ``Location``) for ``operation_polls`` polls first, and a
  VM create's for ``vm_create_seconds`` (``Retry-After``: the seconds left).
* **Faults.** :meth:`FakeArm.fail` makes an operation (``"virtualMachines.createOrUpdate"``,
  ``"disks.delete"``, ``"virtualMachines.deallocate"``, ...) fail N times with a status and
  code (``QuotaExceeded``, ``SkuNotAvailable``, ``AuthorizationFailed``, 429 with
  ``Retry-After``); with ``in_operation=True`` the request is accepted and its operation ends
  ``Failed`` with the error in the operation's body.
* **Reports.** :meth:`FakeArm.leftovers` lists the VMs, NICs and disks that still exist;
  ``requests`` records every request (method, path, query, ``api_version``, body).

Run it by hand (prints its URL and the certificate to trust)::

    python -m vcpsdk.testing.fakes.azure --port 8997 --cert-dir /tmp/fake-arm-tls

Example::

    from azure.identity import ClientSecretCredential
    from azure.mgmt.compute import ComputeManagementClient

    with running_fake_arm() as arm:
        credential = ClientSecretCredential(**arm.credential_kwargs())
        compute = ComputeManagementClient(credential, SUBSCRIPTION_ID, **arm.client_kwargs())
        print(list(compute.virtual_machines.list(RESOURCE_GROUP)))
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import ipaddress
import math
import secrets
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from vcpsdk.controller.server import bind_socket, make_server
from vcpsdk.controller.tls import issue
from vcpsdk.testing.fakes._runner import HttpError, RunningFake, parse_json, route
from vcpsdk.testing.serving import serving

#: the service principal the fake accepts (``ClientSecretCredential`` arguments)
TENANT_ID, CLIENT_ID = "72f988bf-0000-4000-8000-00000000fa4e", "5e3c1b2a-0000-4000-8000-0000000c11e7"
CLIENT_SECRET = "fake-arm-client-secret"
#: the one subscription it serves
SUBSCRIPTION_ID = "0b1f6471-0000-4000-8000-000000005ab5"
#: the network seeded by ``FakeArm()``: resource group, virtual network, subnet, location
RESOURCE_GROUP, VNET, SUBNET, LOCATION = "vcp-rg", "vcp-vnet", "vcp-subnet", "japaneast"
#: the default subnet's prefix: every address the fake hands out is a loopback address
SUBNET_PREFIX = "127.64.0.0/24"
COMPUTE, NETWORK = "Microsoft.Compute", "Microsoft.Network"
#: the operations a fault can name: "<resource type>.<verb>"
VERBS = {"PUT": "createOrUpdate", "GET": "get", "DELETE": "delete"}
_POWER = {"deallocate": "deallocated", "powerOff": "stopped", "start": "running", "restart": "running"}
_RESERVED_HOSTS = 3  # Azure keeps the first addresses of a subnet (after the network address)


def arm_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> HttpError:
    """An ARM error answer: ``status`` with ``{"error": {"code", "message"}}``."""
    return HttpError(status, {"error": {"code": code, "message": message}}, headers)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _as_int(address: Any) -> int:
    """An IPv4 address as an integer (-1 for anything that is not one)."""
    try:
        return int(ipaddress.IPv4Address(str(address)))
    except ValueError:
        return -1


def _key(resource_id: str) -> str:
    return resource_id.rstrip("/").lower()  # ARM names are case-insensitive


@dataclass
class Fault:
    """An injected failure: the next ``times`` calls of an operation answer this error."""

    status: int
    code: str
    message: str
    times: int
    retry_after: int | None = None
    in_operation: bool = False


class FakeArm:
    """The fake's whole state (in memory) and the knobs tests turn.

    Args:
        operation_polls: how many polls of an operation URL answer "in progress" first.
        unavailable_sizes: VM sizes a create answers 409 ``SkuNotAvailable`` for.
        page_size: items per page of a list answer (more pages are reached by ``nextLink``).
        vm_create_seconds: how long the operation of a VM create stays in progress (Azure takes
            a minute or more; ``Retry-After`` tells the poller when to ask again).
    """

    def __init__(
        self,
        *,
        operation_polls: int = 0,
        unavailable_sizes: tuple[str, ...] = (),
        page_size: int = 100,
        vm_create_seconds: float = 0.0,
    ) -> None:
        self.lock = threading.RLock()
        self.base_url = "https://127.0.0.1:0"  # where it is served (set by the runner)
        self.operation_polls = operation_polls
        self.page_size = page_size
        self.vm_create_seconds = vm_create_seconds
        self.unavailable_sizes = {s.lower() for s in unavailable_sizes}
        self.requests: list[dict[str, Any]] = []
        self.tokens: set[str] = set()
        self.faults: dict[str, list[Fault]] = {}
        # operation id -> [polls still "in progress", the fault it ends with (None: Succeeded),
        #                  the monotonic time it ends at]
        self.operations: dict[str, list[Any]] = {}
        self.resource_groups: dict[str, dict[str, Any]] = {}
        self.vnets: dict[str, dict[str, Any]] = {}
        self.subnets: dict[str, dict[str, Any]] = {}
        self.nics: dict[str, dict[str, Any]] = {}
        self.vms: dict[str, dict[str, Any]] = {}
        self.disks: dict[str, dict[str, Any]] = {}
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.power: dict[str, str] = {}  # VM id key -> running / stopped / deallocated
        self.custom_data: dict[str, str] = {}  # VM name -> decoded osProfile.customData
        self.add_network()

    # ----------------------------------------------------------------- seeding
    def rg_id(self, resource_group: str = RESOURCE_GROUP) -> str:
        """``/subscriptions/<sub>/resourceGroups/<resource_group>``."""
        return f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{resource_group}"

    def resource_id(self, namespace: str, kind: str, name: str, resource_group: str = RESOURCE_GROUP) -> str:
        """The ARM id of ``name`` of type ``namespace/kind`` in ``resource_group``."""
        return f"{self.rg_id(resource_group)}/providers/{namespace}/{kind}/{name}"

    def add_network(
        self,
        resource_group: str = RESOURCE_GROUP,
        vnet: str = VNET,
        subnet: str = SUBNET,
        prefix: str = SUBNET_PREFIX,
        location: str = LOCATION,
    ) -> str:
        """Seed a resource group, a virtual network and a subnet (``prefix`` must lie in
        127.0.0.0/8); returns the subnet's id."""
        network = ipaddress.IPv4Network(prefix)
        if not network.subnet_of(ipaddress.IPv4Network("127.0.0.0/8")):
            raise ValueError(f"the fake ARM only hands out loopback addresses, not {prefix}")
        with self.lock:
            self.resource_groups.setdefault(
                _key(self.rg_id(resource_group)),
                {
                    "id": self.rg_id(resource_group),
                    "name": resource_group,
                    "type": "Microsoft.Resources/resourceGroups",
                    "location": location,
                    "properties": {"provisioningState": "Succeeded"},
                },
            )
            vnet_id = self.resource_id(NETWORK, "virtualNetworks", vnet, resource_group)
            vnet_json = self.vnets.setdefault(
                _key(vnet_id),
                {
                    "id": vnet_id,
                    "name": vnet,
                    "type": f"{NETWORK}/virtualNetworks",
                    "location": location,
                    "properties": {
                        "addressSpace": {"addressPrefixes": []},
                        "provisioningState": "Succeeded",
                    },
                },
            )
            vnet_json["properties"]["addressSpace"]["addressPrefixes"].append(prefix)
            subnet_id = f"{vnet_id}/subnets/{subnet}"
            self.subnets[_key(subnet_id)] = {
                "id": subnet_id,
                "name": subnet,
                "type": f"{NETWORK}/virtualNetworks/subnets",
                "properties": {"addressPrefix": prefix, "provisioningState": "Succeeded"},
            }
            return subnet_id

    def add_snapshot(
        self, name: str, size_gb: int = 30, resource_group: str = RESOURCE_GROUP, location: str = LOCATION
    ) -> str:
        """Seed a snapshot disks can be copied from; returns its id."""
        snapshot_id = self.resource_id(COMPUTE, "snapshots", name, resource_group)
        with self.lock:
            self.snapshots[_key(snapshot_id)] = {
                "id": snapshot_id,
                "name": name,
                "type": f"{COMPUTE}/snapshots",
                "location": location,
                "properties": {"diskSizeGB": size_gb, "provisioningState": "Succeeded"},
            }
        return snapshot_id

    # ------------------------------------------------------------ test knobs
    def fail(
        self,
        operation: str,
        status: int,
        code: str,
        message: str | None = None,
        *,
        times: int = 1,
        retry_after: int | None = None,
        in_operation: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``operation`` answer ``status`` with ``code``.

        With ``in_operation`` the request itself is accepted like a good one (201/202 and the
        LRO headers) and its long-running operation ends ``Failed`` with the error in the
        operation's body, as ARM reports a failure found while provisioning: a VM, NIC or disk
        being created is left in provisioningState ``Failed`` (it exists: whoever created it
        deletes it), a power action or delete changes nothing.

        Args:
            operation: ``"<resource type>.<verb>"``, e.g. ``"virtualMachines.createOrUpdate"``,
                ``"disks.delete"``, ``"virtualMachines.deallocate"``, ``"networkInterfaces.get"``,
                ``"virtualMachines.list"``.
            status: the HTTP status (409 quota/SKU, 403 authorization, 429 throttling, ...).
            code: Azure's error code (``QuotaExceeded``, ``SkuNotAvailable``, ...).
            message: the error message (a default names the code).
            times: how many calls fail.
            retry_after: the ``Retry-After`` seconds sent (a 429 always sends one, default 0).
            in_operation: fail the operation (its status ``Failed``), not the request
                (``status`` is then what its ``Location`` URL answers).

        Example::

            fake.fail("virtualMachines.createOrUpdate", 409, "QuotaExceeded", times=2)
            fake.fail("virtualMachines.createOrUpdate", 409, "AllocationFailed", in_operation=True)
        """
        if status == 429 and retry_after is None and not in_operation:
            retry_after = 0
        with self.lock:
            self.faults.setdefault(operation, []).append(
                Fault(status, code, message or f"injected failure: {code}", times, retry_after, in_operation)
            )

    def leftovers(self) -> dict[str, list[str]]:
        """The ids of the VMs, NICs and disks that still exist (each list empty when clean)."""
        with self.lock:
            return {
                "virtual_machines": sorted(vm["id"] for vm in self.vms.values()),
                "network_interfaces": sorted(nic["id"] for nic in self.nics.values()),
                "disks": sorted(disk["id"] for disk in self.disks.values()),
            }

    def calls(self, method: str | None = None, path_part: str = "") -> list[dict[str, Any]]:
        """The recorded requests with ``method`` (any when ``None``) whose path holds ``path_part``."""
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r["method"] == method) and path_part.lower() in r["path"].lower()
            ]

    # -------------------------------------------------------------- identity
    def openid_configuration(self, base: str, tenant: str) -> dict[str, Any]:
        """The tenant's OpenID configuration (MSAL reads ``token_endpoint`` from it)."""
        if tenant != TENANT_ID:
            raise HttpError(
                400, {"error": "invalid_tenant", "error_description": f"Tenant '{tenant}' not found."}
            )
        return {
            "issuer": f"{base}/{tenant}/v2.0",
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "response_types_supported": ["code", "id_token", "token"],
            "tenant_region_scope": None,
        }

    def issue_token(self, tenant: str, raw: bytes) -> dict[str, Any]:
        """``POST /<tenant>/oauth2/v2.0/token`` with ``grant_type=client_credentials``."""
        form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if tenant != TENANT_ID:
            raise HttpError(
                400, {"error": "invalid_request", "error_description": "AADSTS90002: Tenant not found."}
            )
        if form.get("grant_type") != "client_credentials":
            raise HttpError(400, {"error": "unsupported_grant_type", "error_description": "AADSTS70003"})
        if form.get("client_id") != CLIENT_ID:
            raise HttpError(400, {"error": "unauthorized_client", "error_description": "AADSTS700016"})
        if not secrets.compare_digest(form.get("client_secret", ""), CLIENT_SECRET):
            raise HttpError(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                },
            )
        if self.requests:  # the recorded request must not keep the secret
            self.requests[-1]["body"] = raw.decode().replace(form["client_secret"], "***")
        token = secrets.token_urlsafe(32)
        self.tokens.add(token)
        return {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}

    def check_token(self, authorization: str | None) -> None:
        """401 ``InvalidAuthenticationToken`` unless ``authorization`` is a bearer token issued here."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or token not in self.tokens:
            raise arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.")

    # ------------------------------------------------------------- plumbing
    def check_fault(self, operation: str) -> Fault | None:
        """Raise the next injected failure of ``operation``, if any; a failure of its
        long-running operation (``in_operation``) is returned instead, for the caller to
        hand to :meth:`accepted`."""
        queue = self.faults.get(operation)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        if fault.in_operation:
            return fault
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
        raise arm_error(fault.status, fault.code, fault.message, headers)

    def accepted(
        self,
        base: str,
        namespace: str,
        status: int,
        body: Any = None,
        location: bool = True,
        failure: Fault | None = None,
        seconds: float = 0.0,
    ) -> Response:
        """An LRO's first answer: ``status`` with ``body`` and the headers the SDK pollers
        follow; the operation ends ``Failed`` with ``failure`` when given, not before
        ``seconds`` passed."""
        op = uuid.uuid4().hex
        self.operations[op] = [self.operation_polls, failure, time.monotonic() + seconds]
        prefix = f"{base}/subscriptions/{SUBSCRIPTION_ID}/providers/{namespace}/locations/{LOCATION}"
        headers = {
            "Azure-AsyncOperation": f"{prefix}/operations/{op}?api-version=2024-01-01",
            "Retry-After": "0",
        }
        if location:
            headers["Location"] = f"{prefix}/operationResults/{op}?api-version=2024-01-01"
        if body is None:
            return Response(status_code=status, headers=headers)
        return JSONResponse(body, status_code=status, headers=headers)

    def operation(self, op: str, result: bool) -> Response:
        """A poll of an operation URL (``operations`` or, with ``result``, ``operationResults``)."""
        if op not in self.operations:
            raise arm_error(404, "ResourceNotFound", f"operation {op} not found")
        state = self.operations[op]
        left = state[2] - time.monotonic()
        done, failure = state[0] <= 0 and left <= 0, state[1]
        state[0] -= 1
        retry = {"Retry-After": str(math.ceil(max(left, 0)))}
        if result:
            if not done:
                return Response(status_code=202, headers=retry)
            if failure is not None:  # a failed operation's result is an error answer
                raise arm_error(max(failure.status, 400), failure.code, failure.message)
            return Response(status_code=200)
        answer: dict[str, Any] = {"name": op, "status": "InProgress", "startTime": _now()}
        if done:
            answer.update(status="Failed" if failure else "Succeeded", endTime=_now())
            if failure is not None:
                answer["error"] = {"code": failure.code, "message": failure.message}
        return JSONResponse(answer, headers=retry)

    def _resource_group(self, resource_group: str) -> dict[str, Any]:
        group = self.resource_groups.get(_key(self.rg_id(resource_group)))
        if group is None:
            raise arm_error(
                404, "ResourceGroupNotFound", f"Resource group '{resource_group}' could not be found."
            )
        return group

    @staticmethod
    def _get(table: dict[str, dict[str, Any]], resource_id: str, kind: str) -> dict[str, Any]:
        item = table.get(_key(resource_id))
        if item is None:
            name = resource_id.rsplit("/", 1)[-1]
            raise arm_error(404, "ResourceNotFound", f"The Resource '{kind}/{name}' was not found.")
        return item

    # ------------------------------------------------------------ network
    @staticmethod
    def _subnet_hosts(subnet: dict[str, Any]) -> range:
        """The subnet's usable addresses (as integers): not the network, broadcast or the
        addresses Azure keeps."""
        network = ipaddress.IPv4Network(subnet["properties"]["addressPrefix"])
        return range(int(network.network_address) + 1 + _RESERVED_HOSTS, int(network.broadcast_address))

    def _used_addresses(self, except_nic: str) -> set[str]:
        return {
            ip["properties"]["privateIPAddress"]
            for key, nic in self.nics.items()
            if key != except_nic
            for ip in nic["properties"]["ipConfigurations"]
        }

    def put_nic(self, nic_id: str, name: str, body: Any) -> tuple[dict[str, Any], bool]:
        """Create or update a NIC; returns it and whether it is new."""
        body = body if isinstance(body, dict) else {}
        configs = (body.get("properties") or {}).get("ipConfigurations") or []
        if not configs:
            raise arm_error(400, "InvalidParameter", "A network interface needs an ipConfiguration.")
        existing = self.nics.get(_key(nic_id))
        used = self._used_addresses(_key(nic_id))
        out = []
        for index, config in enumerate(configs):
            props = config.get("properties") or {}
            subnet_id = (props.get("subnet") or {}).get("id", "")
            subnet = self.subnets.get(_key(subnet_id))
            if subnet is None:
                raise arm_error(
                    400,
                    "InvalidResourceReference",
                    f"Resource {subnet_id} referenced by {nic_id} was not found.",
                )
            method = props.get("privateIPAllocationMethod") or "Dynamic"
            hosts = self._subnet_hosts(subnet)
            address = props.get("privateIPAddress")
            if method == "Static":
                if _as_int(address) not in hosts:
                    raise arm_error(
                        400, "PrivateIPAddressNotInSubnet", f"{address} is not in subnet {subnet_id}."
                    )
                if address in used:
                    raise arm_error(400, "PrivateIPAddressInUse", f"IP address {address} is already in use.")
            else:
                old = existing and existing["properties"]["ipConfigurations"][index : index + 1]
                address = old[0]["properties"]["privateIPAddress"] if old else None
                if not address:
                    taken = {_as_int(a) for a in used}
                    free = next((h for h in hosts if h not in taken), None)
                    if free is None:
                        raise arm_error(400, "SubnetIsFull", f"Subnet {subnet_id} has no free address.")
                    address = str(ipaddress.IPv4Address(free))
            used.add(str(address))
            config_name = config.get("name") or f"ipconfig{index + 1}"
            out.append(
                {
                    "id": f"{nic_id}/ipConfigurations/{config_name}",
                    "name": config_name,
                    "properties": {
                        "privateIPAddress": address,
                        "privateIPAllocationMethod": method,
                        "privateIPAddressVersion": "IPv4",
                        "subnet": {"id": subnet["id"]},
                        "primary": index == 0,
                        "provisioningState": "Succeeded",
                    },
                }
            )
        properties: dict[str, Any] = {
            **{k: v for k, v in (body.get("properties") or {}).items() if k != "ipConfigurations"},
            "ipConfigurations": out,
            "provisioningState": "Succeeded",
        }
        if existing and "virtualMachine" in existing["properties"]:
            properties["virtualMachine"] = existing["properties"]["virtualMachine"]
        nic = {
            "id": nic_id,
            "name": name,
            "type": f"{NETWORK}/networkInterfaces",
            "location": body.get("location", LOCATION),
            "tags": body.get("tags") or {},
            "etag": f'W/"{uuid.uuid4()}"',
            "properties": properties,
        }
        self.nics[_key(nic_id)] = nic
        return nic, existing is None

    def delete_nic(self, nic_id: str) -> bool:
        """Delete a NIC (``False``: there was none); 400 ``NicInUse`` while a VM uses it."""
        nic = self.nics.get(_key(nic_id))
        if nic is None:
            return False
        vm = nic["properties"].get("virtualMachine")
        if vm:
            raise arm_error(
                400,
                "NicInUse",
                f"Network Interface {nic_id} is used by existing resource {vm['id']}. In order to "
                "delete the network interface, it must be dissociated from the resource.",
            )
        del self.nics[_key(nic_id)]
        return True

    # ------------------------------------------------------------- disks
    def _new_disk(
        self, disk_id: str, name: str, size: int, sku: str, creation: dict[str, Any], body: dict[str, Any]
    ) -> dict[str, Any]:
        disk: dict[str, Any] = {
            "id": disk_id,
            "name": name,
            "type": f"{COMPUTE}/disks",
            "location": body.get("location", LOCATION),
            "tags": body.get("tags") or {},
            "sku": {"name": sku, "tier": sku.split("_")[0]},
            "properties": {
                "creationData": creation,
                "diskSizeGB": size,
                "diskSizeBytes": size * 1024**3,
                "diskState": "Unattached",
                "provisioningState": "Succeeded",
                "timeCreated": _now(),
                "uniqueId": str(uuid.uuid4()),
            },
        }
        if body.get("zones"):
            disk["zones"] = body["zones"]
        self.disks[_key(disk_id)] = disk
        return disk

    def put_disk(self, disk_id: str, name: str, body: Any) -> dict[str, Any]:
        """Create (empty, or a copy of a snapshot or disk) or update a managed disk."""
        body = body if isinstance(body, dict) else {}
        props = body.get("properties") or {}
        sku = (body.get("sku") or {}).get("name") or "Standard_LRS"
        existing = self.disks.get(_key(disk_id))
        if existing:
            size = props.get("diskSizeGB") or existing["properties"]["diskSizeGB"]
            if size < existing["properties"]["diskSizeGB"]:
                raise arm_error(400, "InvalidParameter", "A disk cannot be shrunk.")
            existing["properties"].update(diskSizeGB=size, diskSizeBytes=size * 1024**3)
            existing["tags"] = body.get("tags", existing["tags"]) or {}
            existing["sku"] = {"name": sku, "tier": sku.split("_")[0]}
            return existing
        creation = props.get("creationData") or {}
        option = creation.get("createOption")
        size = props.get("diskSizeGB")
        if option == "Copy":
            size = size or self._source(creation)["properties"]["diskSizeGB"]
        elif option != "Empty":
            raise arm_error(400, "InvalidParameter", f"createOption '{option}' is not supported here.")
        if not size:
            raise arm_error(400, "InvalidParameter", "Required parameter 'diskSizeGB' is missing (null).")
        return self._new_disk(disk_id, name, size, sku, creation, body)

    def delete_disk(self, disk_id: str) -> bool:
        """Delete a disk (``False``: there was none); 409 ``OperationNotAllowed`` while attached."""
        disk = self.disks.get(_key(disk_id))
        if disk is None:
            return False
        if disk.get("managedBy"):
            raise arm_error(
                409,
                "OperationNotAllowed",
                f"Disk {disk['name']} is attached to VM {disk['managedBy']}.",
            )
        del self.disks[_key(disk_id)]
        return True

    def _source(self, creation: dict[str, Any]) -> dict[str, Any]:
        """The snapshot or managed disk ``creationData.sourceResourceId`` names (404 if none)."""
        source_id = str(creation.get("sourceResourceId") or "")
        table = self.disks if "/providers/microsoft.compute/disks/" in source_id.lower() else self.snapshots
        return self._get(table, source_id, source_id.split("/providers/")[-1].rsplit("/", 1)[0])

    def put_snapshot(self, snapshot_id: str, name: str, rg: str, body: Any) -> dict[str, Any]:
        """Create (``createOption`` ``Copy`` of a managed disk or snapshot) or update (tags) a
        snapshot."""
        body = body if isinstance(body, dict) else {}
        existing = self.snapshots.get(_key(snapshot_id))
        if existing:
            existing["tags"] = body.get("tags", existing.get("tags")) or {}
            return existing
        creation = (body.get("properties") or {}).get("creationData") or {}
        if creation.get("createOption") != "Copy":
            raise arm_error(
                400,
                "InvalidParameter",
                f"createOption '{creation.get('createOption')}' is not supported here (only Copy).",
            )
        source = self._source(creation)
        self.add_snapshot(name, source["properties"]["diskSizeGB"], rg, body.get("location", LOCATION))
        snapshot = self.snapshots[_key(snapshot_id)]
        snapshot["tags"] = body.get("tags") or {}
        snapshot["properties"]["creationData"] = {"createOption": "Copy", "sourceResourceId": source["id"]}
        return snapshot

    def delete_snapshot(self, snapshot_id: str) -> bool:
        """Delete a snapshot (``False``: there was none)."""
        return self.snapshots.pop(_key(snapshot_id), None) is not None

    def _attach(self, disk: dict[str, Any], vm_id: str | None) -> None:
        if vm_id:
            disk["managedBy"] = vm_id
        else:
            disk.pop("managedBy", None)
        disk["properties"]["diskState"] = "Attached" if vm_id else "Unattached"

    # --------------------------------------------------------------- VMs
    def _data_disks(self, vm_id: str, vm_name: str, body: list[Any], rg: str) -> list[dict[str, Any]]:
        """Check the requested data disks and resolve them (creating ``Empty`` ones)."""
        luns: set[int] = set()
        out = []
        for item in body:
            lun = item.get("lun")
            if not isinstance(lun, int) or lun in luns or not 0 <= lun < 64:
                raise arm_error(400, "InvalidParameter", f"LUN {lun} is missing, out of range or used twice.")
            luns.add(lun)
            option = item.get("createOption", "Attach")
            managed = item.get("managedDisk") or {}
            if option == "Attach":
                disk = self._get(self.disks, managed.get("id") or "", f"{COMPUTE}/disks")
                if disk.get("managedBy") and _key(disk["managedBy"]) != _key(vm_id):
                    raise arm_error(
                        409,
                        "OperationNotAllowed",
                        f"Disk {disk['name']} is already attached to VM {disk['managedBy']}.",
                    )
            elif option != "Empty" or not item.get("diskSizeGB"):
                raise arm_error(
                    400,
                    "InvalidParameter",
                    f"dataDisk at LUN {lun}: createOption '{option}' needs diskSizeGB.",
                )
            out.append(item)
        return out

    @staticmethod
    def _check_login(os_profile: dict[str, Any] | None) -> None:
        """ARM's rules for a new Linux VM's login: SSH keys (at the admin's
        ``authorized_keys``) or a password must be enabled; 400 ``InvalidParameter`` otherwise."""
        if not os_profile:
            return
        admin = os_profile.get("adminUsername") or ""
        linux = os_profile.get("linuxConfiguration") or {}
        keys = (linux.get("ssh") or {}).get("publicKeys") or []
        enabled = keys if linux.get("disablePasswordAuthentication") else os_profile.get("adminPassword")
        if not enabled:
            raise arm_error(
                400,
                "InvalidParameter",
                "Authentication using either SSH or by user name and password must be enabled in "
                "Linux profile.",
            )
        for key in keys:
            if key.get("path") != f"/home/{admin}/.ssh/authorized_keys":
                raise arm_error(
                    400,
                    "InvalidParameter",
                    "Destination path for SSH public keys is currently limited to its default value "
                    f"/home/{admin}/.ssh/authorized_keys due to a known issue in Linux provisioning agent.",
                )
            if not str(key.get("keyData") or "").startswith(("ssh-", "ecdsa-")):
                raise arm_error(
                    400,
                    "InvalidParameter",
                    "The value of parameter linuxConfiguration.ssh.publicKeys.keyData is invalid.",
                )

    def put_vm(self, vm_id: str, name: str, rg: str, body: Any) -> tuple[dict[str, Any], bool]:
        """Create or update a VM; returns it and whether it is new."""
        body = body if isinstance(body, dict) else {}
        props = body.get("properties") or {}
        existing = self.vms.get(_key(vm_id))
        size = (props.get("hardwareProfile") or {}).get("vmSize") or (
            existing and existing["properties"]["hardwareProfile"]["vmSize"]
        )
        if not size:
            raise arm_error(
                400, "InvalidParameter", "Required parameter 'hardwareProfile.vmSize' is missing."
            )
        if size.lower() in self.unavailable_sizes:
            raise arm_error(
                409,
                "SkuNotAvailable",
                f"The requested VM size {size} is currently not available in location '{LOCATION}'.",
            )
        storage = props.get("storageProfile") or {}
        if existing is None and not storage.get("imageReference"):
            raise arm_error(
                400, "InvalidParameter", "Required parameter 'storageProfile.imageReference' is missing."
            )
        if existing is None:
            self._check_login(props.get("osProfile"))
        nic_refs = (props.get("networkProfile") or {}).get("networkInterfaces") or (
            existing["properties"]["networkProfile"]["networkInterfaces"] if existing else []
        )
        if not nic_refs:
            raise arm_error(400, "InvalidParameter", "A VM needs at least one network interface.")
        for ref in nic_refs:
            nic = self.nics.get(_key(ref.get("id", "")))
            if nic is None:
                raise arm_error(
                    400,
                    "InvalidResourceReference",
                    f"Resource {ref.get('id')} referenced by {vm_id} was not found.",
                )
            user = nic["properties"].get("virtualMachine")
            if user and _key(user["id"]) != _key(vm_id):
                raise arm_error(400, "NicInUse", f"Network interface {ref['id']} is used by {user['id']}.")
        requested = storage.get("dataDisks")
        data = (
            self._data_disks(vm_id, name, requested, rg)
            if requested is not None
            else (existing["properties"]["storageProfile"]["dataDisks"] if existing else [])
        )
        # --- checked: change the state
        if existing is None:
            os_in = storage.get("osDisk") or {}
            os_name = os_in.get("name") or f"{name}_OsDisk_1_{uuid.uuid4().hex}"
            os_sku = (os_in.get("managedDisk") or {}).get("storageAccountType") or "Premium_LRS"
            os_disk = self._new_disk(
                self.resource_id(COMPUTE, "disks", os_name, rg),
                os_name,
                os_in.get("diskSizeGB") or 30,
                os_sku,
                {"createOption": "FromImage", "imageReference": storage["imageReference"]},
                {"location": body.get("location", LOCATION), "zones": body.get("zones")},
            )
            self._attach(os_disk, vm_id)
            os_profile = dict(props.get("osProfile") or {})
            custom = os_profile.pop("customData", None)
            os_profile.pop("adminPassword", None)  # never returned by ARM
            if custom:
                self.custom_data[name] = base64.b64decode(custom).decode(errors="replace")
            storage_out: dict[str, Any] = {
                "imageReference": storage["imageReference"],
                "osDisk": {
                    "osType": "Linux",
                    "name": os_name,
                    "createOption": "FromImage",
                    "caching": os_in.get("caching", "ReadWrite"),
                    "managedDisk": {"id": os_disk["id"], "storageAccountType": os_sku},
                    "diskSizeGB": os_disk["properties"]["diskSizeGB"],
                    "deleteOption": os_in.get("deleteOption", "Detach"),
                },
            }
            vm: dict[str, Any] = {
                "id": vm_id,
                "name": name,
                "type": f"{COMPUTE}/virtualMachines",
                "location": body.get("location", LOCATION),
                "properties": {
                    "vmId": str(uuid.uuid4()),
                    "osProfile": os_profile,
                    "storageProfile": storage_out,
                    "timeCreated": _now(),
                },
            }
            if body.get("zones"):
                vm["zones"] = body["zones"]
            self.power[_key(vm_id)] = "running"
        else:
            vm = existing
        old_disks = {
            _key(d["managedDisk"]["id"]) for d in vm["properties"]["storageProfile"].get("dataDisks", [])
        }
        new_disks = []
        for item in data:
            if item.get("createOption", "Attach") == "Empty" and not (item.get("managedDisk") or {}).get(
                "id"
            ):
                disk_name = item.get("name") or f"{name}_disk{item['lun']}_{uuid.uuid4().hex}"
                sku = (item.get("managedDisk") or {}).get("storageAccountType") or "Standard_LRS"
                disk = self._new_disk(
                    self.resource_id(COMPUTE, "disks", disk_name, rg),
                    disk_name,
                    item["diskSizeGB"],
                    sku,
                    {"createOption": "Empty"},
                    {"location": vm["location"]},
                )
            else:
                disk = self.disks[_key(item["managedDisk"]["id"])]
            self._attach(disk, vm_id)
            new_disks.append(
                {
                    "lun": item["lun"],
                    "name": disk["name"],
                    "createOption": item.get("createOption", "Attach"),
                    "caching": item.get("caching", "None"),
                    "managedDisk": {"id": disk["id"], "storageAccountType": disk["sku"]["name"]},
                    "diskSizeGB": disk["properties"]["diskSizeGB"],
                    "deleteOption": item.get("deleteOption", "Detach"),
                    "toBeDetached": False,
                }
            )
        for key in old_disks - {_key(d["managedDisk"]["id"]) for d in new_disks}:
            if key in self.disks:
                self._attach(self.disks[key], None)
        for nic in self.nics.values():
            if (nic["properties"].get("virtualMachine") or {}).get("id", "").lower() == _key(vm_id):
                nic["properties"].pop("virtualMachine")
        for ref in nic_refs:
            self.nics[_key(ref["id"])]["properties"]["virtualMachine"] = {"id": vm_id}
        vm["properties"]["hardwareProfile"] = {"vmSize": size}
        vm["properties"]["storageProfile"]["dataDisks"] = new_disks
        vm["properties"]["networkProfile"] = {"networkInterfaces": nic_refs}
        vm["properties"]["provisioningState"] = "Succeeded"
        vm["tags"] = body.get("tags", vm.get("tags")) or {}
        self.vms[_key(vm_id)] = vm
        return vm, existing is None

    def instance_view(self, vm: dict[str, Any]) -> dict[str, Any]:
        """The VM's instance view: provisioning and power state."""
        power = self.power[_key(vm["id"])]
        return {
            "computerName": vm["properties"]["osProfile"].get("computerName", vm["name"]),
            "statuses": [
                {
                    "code": "ProvisioningState/succeeded",
                    "level": "Info",
                    "displayStatus": "Provisioning succeeded",
                },
                {"code": f"PowerState/{power}", "level": "Info", "displayStatus": f"VM {power}"},
            ],
        }

    def delete_vm(self, vm_id: str) -> bool:
        """Delete a VM (``False``: there was none): its disks and NICs go or stay by ``deleteOption``."""
        vm = self.vms.pop(_key(vm_id), None)
        if vm is None:
            return False
        self.power.pop(_key(vm_id), None)
        storage = vm["properties"]["storageProfile"]
        for item in [storage["osDisk"], *storage.get("dataDisks", [])]:
            disk = self.disks.get(_key(item["managedDisk"]["id"]))
            if disk is not None:
                self._attach(disk, None)
                if item.get("deleteOption") == "Delete":
                    del self.disks[_key(disk["id"])]
        for ref in vm["properties"]["networkProfile"]["networkInterfaces"]:
            nic = self.nics.get(_key(ref["id"]))
            if nic is not None:
                nic["properties"].pop("virtualMachine", None)
                if (ref.get("properties") or {}).get("deleteOption") == "Delete":
                    del self.nics[_key(ref["id"])]
        return True

    # ------------------------------------------------------------- dispatch
    def handle(self, request: Request, raw: bytes) -> Any:
        """Answer one request (under the fake's lock)."""
        base = str(request.base_url).rstrip("/")
        parts = [p for p in request.url.path.split("/") if p]
        if request.url.path.endswith("/.well-known/openid-configuration") and parts:
            return self.openid_configuration(base, parts[0])
        if request.method == "POST" and parts[1:] == ["oauth2", "v2.0", "token"]:
            return self.issue_token(parts[0], raw)
        self.check_token(request.headers.get("authorization"))
        if not request.query_params.get("api-version"):
            raise arm_error(400, "MissingApiVersionParameter", "The api-version query parameter is required.")
        if len(parts) < 2 or parts[0].lower() != "subscriptions" or parts[1] != SUBSCRIPTION_ID:
            raise arm_error(
                404, "SubscriptionNotFound", f"The subscription of {request.url.path} could not be found."
            )
        rest = parts[2:]
        if len(rest) == 6 and rest[0] == "providers" and rest[2] == "locations":
            return self.operation(rest[5], result=rest[4] == "operationResults")
        if len(rest) < 2 or rest[0].lower() != "resourcegroups":
            raise arm_error(404, "InvalidResourceType", f"{request.url.path} is not served by the fake ARM.")
        rg = rest[1]
        self._resource_group(rg)
        if len(rest) == 2:
            self.check_fault("resourceGroups.get")
            return self._resource_group(rg)
        if len(rest) < 5 or rest[2] != "providers":
            raise arm_error(404, "InvalidResourceType", f"{request.url.path} is not served by the fake ARM.")
        namespace, kind, tail = rest[3], rest[4], rest[5:]
        handler = self._handlers().get(kind)
        if handler is None:
            raise arm_error(
                404, "InvalidResourceType", f"The resource type '{kind}' is not served by the fake ARM."
            )
        body = parse_json(
            raw, {"error": {"code": "InvalidRequestContent", "message": "The request content was invalid."}}
        )
        return handler(request, base, namespace, kind, rg, tail, body)

    def _handlers(self) -> dict[str, Callable[..., Any]]:
        return {
            "virtualMachines": self._virtual_machines,
            "disks": self._disks,
            "snapshots": self._snapshots,
            "networkInterfaces": self._network_interfaces,
            "virtualNetworks": self._virtual_networks,
        }

    def _list_or_get(
        self,
        table: dict[str, dict[str, Any]],
        request: Request,
        kind: str,
        rg: str,
        tail: list[str],
        namespace: str,
    ) -> dict[str, Any] | None:
        """A list (no name) or a GET of one resource; ``None`` for anything else."""
        if not tail and request.method == "GET":
            self.check_fault(f"{kind}.list")
            prefix = self.rg_id(rg).lower() + "/"
            return self.page(request, [item for key, item in sorted(table.items()) if key.startswith(prefix)])
        if len(tail) == 1 and request.method == "GET":
            self.check_fault(f"{kind}.get")
            return self._get(table, self.resource_id(namespace, kind, tail[0], rg), f"{namespace}/{kind}")
        return None

    def page(self, request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
        """One page of a list answer: ``page_size`` items from ``$skiptoken`` on, and the
        ``nextLink`` of the next page while there is one (what the SDK's pager follows)."""
        start = int(request.query_params.get("$skiptoken") or 0)
        end = start + max(1, self.page_size)
        answer: dict[str, Any] = {"value": items[start:end]}
        if end < len(items):
            query = urlencode({"api-version": request.query_params.get("api-version", ""), "$skiptoken": end})
            answer["nextLink"] = f"{str(request.base_url).rstrip('/')}{request.url.path}?{query}"
        return answer

    def _verb(self, request: Request, kind: str, tail: list[str]) -> tuple[str, Fault | None]:
        if len(tail) != 1 or request.method not in VERBS:
            raise arm_error(
                405, "MethodNotAllowed", f"{request.method} is not supported on {request.url.path}."
            )
        return VERBS[request.method], self.check_fault(f"{kind}.{VERBS[request.method]}")

    def _virtual_machines(
        self, request: Request, base: str, namespace: str, kind: str, rg: str, tail: list[str], body: Any
    ) -> Any:
        if len(tail) == 2:
            vm = self._get(self.vms, self.resource_id(COMPUTE, kind, tail[0], rg), f"{COMPUTE}/{kind}")
            if request.method == "GET" and tail[1] == "instanceView":
                self.check_fault(f"{kind}.instanceView")
                return self.instance_view(vm)
            if request.method == "POST" and tail[1] in _POWER:
                failure = self.check_fault(f"{kind}.{tail[1]}")
                if failure is None:
                    self.power[_key(vm["id"])] = _POWER[tail[1]]
                return self.accepted(base, COMPUTE, 202, failure=failure)
            raise arm_error(404, "InvalidResourceType", f"{request.url.path} is not served by the fake ARM.")
        if len(tail) == 1 and request.method == "GET":
            self.check_fault(f"{kind}.get")
            vm = self._get(self.vms, self.resource_id(COMPUTE, kind, tail[0], rg), f"{COMPUTE}/{kind}")
            if request.query_params.get("$expand") == "instanceView":
                return {**vm, "properties": {**vm["properties"], "instanceView": self.instance_view(vm)}}
            return vm

        def put(resource_id: str, failure: Fault | None) -> Response:
            vm, created = self.put_vm(resource_id, tail[0], rg, body)
            # a VM is never done at once: the SDK follows the operation (CRP's contract)
            shown = self._shown(vm, failure, "Creating" if created else "Updating")
            return self.accepted(
                base,
                COMPUTE,
                201 if created else 200,
                shown,
                location=False,
                failure=failure,
                seconds=self.vm_create_seconds if created else 0.0,
            )

        return self._crud(request, base, COMPUTE, kind, rg, tail, self.vms, self.delete_vm, put)

    def _crud(
        self,
        request: Request,
        base: str,
        namespace: str,
        kind: str,
        rg: str,
        tail: list[str],
        table: dict[str, dict[str, Any]],
        delete: Callable[[str], bool],
        put: Callable[[str, Fault | None], Response],
    ) -> Any:
        """List, get, delete (202, or 204 when there was nothing) or ``put`` one resource."""
        listed = self._list_or_get(table, request, kind, rg, tail, namespace)
        if listed is not None:
            return listed
        verb, failure = self._verb(request, kind, tail)
        resource_id = self.resource_id(namespace, kind, tail[0], rg)
        if verb == "delete":
            if failure is not None:  # the operation fails: the resource stays
                self._get(table, resource_id, f"{namespace}/{kind}")
                return self.accepted(base, namespace, 202, failure=failure)
            return self.accepted(base, namespace, 202) if delete(resource_id) else Response(status_code=204)
        return put(resource_id, failure)

    def _done_at_once(self, failure: Fault | None) -> bool:
        return failure is None and self.operation_polls <= 0

    @staticmethod
    def _shown(resource: dict[str, Any], failure: Fault | None, state: str) -> dict[str, Any]:
        """What a PUT's first answer shows of ``resource``: provisioningState ``state``; the
        resource itself stays ``Failed`` when its operation is to fail."""
        if failure is not None:
            resource["properties"]["provisioningState"] = "Failed"
        return {**resource, "properties": {**resource["properties"], "provisioningState": state}}

    def _disks(
        self, request: Request, base: str, namespace: str, kind: str, rg: str, tail: list[str], body: Any
    ) -> Any:
        put = self._accepting(base, lambda resource_id: self.put_disk(resource_id, tail[0], body))
        return self._crud(request, base, COMPUTE, kind, rg, tail, self.disks, self.delete_disk, put)

    def _snapshots(
        self, request: Request, base: str, namespace: str, kind: str, rg: str, tail: list[str], body: Any
    ) -> Any:
        put = self._accepting(base, lambda resource_id: self.put_snapshot(resource_id, tail[0], rg, body))
        return self._crud(request, base, COMPUTE, kind, rg, tail, self.snapshots, self.delete_snapshot, put)

    def _accepting(
        self, base: str, make: Callable[[str], dict[str, Any]]
    ) -> Callable[[str, Fault | None], Response]:
        """The PUT of a disk or snapshot (``make`` creates or updates it): 202 (Compute's
        contract for them) with the resource shown ``Updating``."""

        def put(resource_id: str, failure: Fault | None) -> Response:
            shown = self._shown(make(resource_id), failure, "Updating")
            return self.accepted(base, COMPUTE, 202, shown, failure=failure)

        return put

    def _network_interfaces(
        self, request: Request, base: str, namespace: str, kind: str, rg: str, tail: list[str], body: Any
    ) -> Any:
        def put(resource_id: str, failure: Fault | None) -> Response:
            nic, created = self.put_nic(resource_id, tail[0], body)
            # NRP answers a NIC it could make at once as Succeeded (still with the LRO header)
            shown = self._shown(nic, failure, "Succeeded" if self._done_at_once(failure) else "Updating")
            return self.accepted(
                base, NETWORK, 201 if created else 200, shown, location=False, failure=failure
            )

        return self._crud(request, base, NETWORK, kind, rg, tail, self.nics, self.delete_nic, put)

    def _virtual_networks(
        self, request: Request, base: str, namespace: str, kind: str, rg: str, tail: list[str], body: Any
    ) -> Any:
        if request.method != "GET":
            raise arm_error(
                405,
                "MethodNotAllowed",
                "the fake ARM only reads virtual networks (seed them with add_network)",
            )
        if len(tail) == 3 and tail[1] == "subnets":
            self.check_fault("subnets.get")
            return self._get(
                self.subnets, f"{self.resource_id(NETWORK, kind, tail[0], rg)}/subnets/{tail[2]}", "subnets"
            )
        if len(tail) == 2 and tail[1] == "subnets":
            self.check_fault("subnets.list")
            vnet = self._get(self.vnets, self.resource_id(NETWORK, kind, tail[0], rg), f"{NETWORK}/{kind}")
            return {"value": self._vnet_subnets(vnet)}
        listed = self._list_or_get(self.vnets, request, kind, rg, tail, NETWORK)
        if listed is None:
            raise arm_error(404, "InvalidResourceType", f"{request.url.path} is not served by the fake ARM.")
        if "value" in listed:
            return {"value": [self._vnet_json(v) for v in listed["value"]]}
        return self._vnet_json(listed)

    def _vnet_subnets(self, vnet: dict[str, Any]) -> list[dict[str, Any]]:
        prefix = _key(vnet["id"]) + "/subnets/"
        return [s for key, s in self.subnets.items() if key.startswith(prefix)]

    def _vnet_json(self, vnet: dict[str, Any]) -> dict[str, Any]:
        return {**vnet, "properties": {**vnet["properties"], "subnets": self._vnet_subnets(vnet)}}


def create_app(fake: FakeArm) -> FastAPI:
    """The ASGI app serving ``fake``: one route that records every request (with its
    ``api-version``) and dispatches it like ARM and Entra ID."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    serve = route(
        fake, fake.handle, 200, lambda request: {"api_version": request.query_params.get("api-version")}
    )
    app.add_api_route(
        "/{path:path}", serve, methods=["GET", "PUT", "POST", "DELETE", "PATCH"], include_in_schema=False
    )
    return app


@dataclass
class RunningArm(RunningFake[FakeArm]):
    """A :class:`FakeArm` served over HTTPS on 127.0.0.1 (yielded by :func:`running_fake_arm`).

    Attributes:
        cert_path: the server's self-signed certificate (PEM): the CA bundle a client trusts.
    """

    cert_path: Path

    @property
    def scheme(self) -> str:
        """``https``."""
        return "https"

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``ComputeManagementClient``/``NetworkManagementClient`` that
        point them at the fake and trust its certificate (``base_url``, ``connection_verify``), polling
        every 10 ms (the SDK waits its default 30 s after an "in progress" answering ``Retry-After: 0``)."""
        return {"base_url": self.base_url, "connection_verify": str(self.cert_path), "polling_interval": 0.01}

    def credential_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``ClientSecretCredential`` that run its token flow against the
        fake only (no instance discovery: no public host is ever looked up)."""
        return {
            "tenant_id": TENANT_ID,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "authority": self.base_url,
            "disable_instance_discovery": True,
            "connection_verify": str(self.cert_path),
        }


@contextmanager
def running_fake_arm(
    fake: FakeArm | None = None, cert_dir: Path | None = None, port: int = 0
) -> Iterator[RunningArm]:
    """Serve ``fake`` (a new :class:`FakeArm` by default) over HTTPS on a free 127.0.0.1 port
    for a ``with`` block.

    Args:
        fake: the fake to serve.
        cert_dir: where the self-signed certificate and key are written (a temporary
            directory, removed afterwards, by default).
        port: the TCP port on 127.0.0.1, 0 for any free port.

    Yields:
        the :class:`RunningArm` (``base_url``, ``cert_path``, ``fake``, client keyword arguments).
    """
    fake = fake or FakeArm()
    with tempfile.TemporaryDirectory(prefix="fake-arm-") as tmp:
        files = issue(["127.0.0.1", "localhost"], Path(cert_dir or tmp))
        with serving(create_app(fake), "fake ARM server", tls=files, port=port) as (port, server):
            fake.base_url = f"https://127.0.0.1:{port}"
            server.config.timeout_graceful_shutdown = 0  # idle TLS keep-alives would hold it 5 s
            yield RunningArm(port=port, server=server, fake=fake, cert_path=files.cert)


def main() -> None:  # pragma: no cover - manual use
    """``python -m vcpsdk.testing.fakes.azure [--port N] [--cert-dir DIR]``: serve a new
    :class:`FakeArm` over HTTPS on 127.0.0.1 until interrupted, after printing where and the
    certificate a client must trust."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=8997)
    parser.add_argument("--cert-dir", type=Path, default=Path("fake-arm-tls"))
    args = parser.parse_args()
    files = issue(["127.0.0.1", "localhost"], args.cert_dir)
    fake = FakeArm()
    fake.base_url = f"https://127.0.0.1:{args.port}"
    print(
        f"fake ARM on {fake.base_url} (trust {files.cert}); tenant {TENANT_ID}, client {CLIENT_ID}, "
        f"subscription {SUBSCRIPTION_ID}, resource group {RESOURCE_GROUP}",
        flush=True,
    )
    make_server(create_app(fake), log_level="info", tls=files).run(
        sockets=[bind_socket("127.0.0.1", args.port)]
    )


if __name__ == "__main__":  # pragma: no cover
    main()
