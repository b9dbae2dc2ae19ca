"""The Azure backend: ``azure`` and ``azure_disk`` on Azure Resource Manager (ARM).

Operators enable it with a ``backends`` section (``vcc serve --backends FILE``)::

    azure:
      tenant_id: 72f988bf-...            # the service principal (or the users' cloud_params)
      client_id: 5e3c1b2a-...
      client_secret: ...                 # never logged
      subscription_id: 0b1f6471-...
      max_concurrent_creates: 16         # VMs of one request created at once
      controller_address: 172.30.2.10    # VCCCTR_IPADDR given to the Base containers
      image_reference: Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest
      admin_ssh_public_keys: []          # the operator's keys for the VMs' admin user (vcp)
      vpn_catalog:
        default:
          azure_resource_group_name: vcp-rg
          azure_vnet_name: vcp-vnet
          azure_subnet_name: vcp-subnet
          azure_security_group_name: vcp-nsg    # optional
          azure_location: japaneast
          azure_zone: "1"                       # optional
          private_network_ipmask: 172.30.2.0/24
          azure_default_image: ...               # optional: cloud_image 'default'

``authority``, ``base_url``, ``connection_verify`` and ``polling_interval`` point the SDK at
another endpoint (the fake ARM of the tests).  ``wait_timeout`` (seconds, default 1800)
bounds every wait for an operation: one that has not finished by then is a
``CloudTimeoutError`` (and a create's cleanup runs).  What each operation sends to ARM is described
in ``docs/azure.md``.  Every resource is named after its node or disk id, so a repeated
create is an update of the same resources (ARM's PUT is create-or-update).  Retries are
azure-core's (its retry policy honours ``Retry-After``), waits are the SDK's pollers (with
two savings: a PUT answered ``Succeeded`` at once is not polled, and a VM create is not
read back after its operation succeeded: nothing of that answer is used).

The VMs' admin user ``vcp`` logs in with SSH keys only: the unit's ``AUTHORIZED_KEYS``
(``spec.set_ssh_pubkey``) and the section's ``admin_ssh_public_keys``; a unit with neither
is refused before anything is created (Azure refuses a Linux VM without a login).
"""

from __future__ import annotations

import base64
import functools
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from vcpsdk.controller.backends import base
from vcpsdk.controller.backends.azure.errors import ARM_CODES, is_not_found, map_error, translated
from vcpsdk.controller.backends.base import Backend, NodeRequest, NodeResult, UnitContext
from vcpsdk.controller.backends.toolkit import batches, bootstrap, settings
from vcpsdk.controller.backends.toolkit.addresses import cloud_assigned
from vcpsdk.controller.backends.toolkit.errors import (
    BackendError,
    CloudTimeoutError,
    ignore_missing,
    masked_text,
)
from vcpsdk.controller.backends.toolkit.tags import (
    TAG_CONTROLLER,
    TAG_NODE,
    TAG_UNIT,
    TAG_VCID,
    resource_tags,
)
from vcpsdk.core.providers import get_provider

logger = logging.getLogger("vcp.controller.azure")

NEEDS_AZURE = 'the Azure backend needs the Azure SDK: pip install "vcpsdk[azure]"'
COMPUTE, NETWORK = "Microsoft.Compute", "Microsoft.Network"
#: the image of cloud_image 'default' when neither the catalog nor the section names one
DEFAULT_IMAGE = "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest"
#: Azure's custom data limit (base64 encoded)
CUSTOM_DATA_LIMIT = 87380
ADMIN_USER = "vcp"
#: where Azure puts the admin's SSH keys (the only path it accepts)
ADMIN_KEYS_PATH = f"/home/{ADMIN_USER}/.ssh/authorized_keys"
#: what power_off and suspend do with ``power_off_mode`` (``stop`` always deallocates)
POWER_OFF_VERBS = {"deallocate": "begin_deallocate", "power_off": "begin_power_off"}
#: the first words of OpenSSH public keys
KEY_TYPES = ("ssh-", "ecdsa-", "sk-")
#: VMs of one request created at once by default: a VM create lasts a minute or more, so the
#: bound sets how many such waves N nodes take (100 nodes: 7 waves); far below ARM's write limits
MAX_CONCURRENT_CREATES = 16
#: the resource kinds a sweep looks for, in the order they are deleted
_KINDS = ("vm", "nic", "disk")
_DECLARED, _DISK_DECLARED = get_provider("azure"), get_provider("azure_disk")
#: the service principal's settings (backends section, cloud_params or AZURE_<NAME> variables),
#: as providers.yml declares them, and those of them that are secret
CREDENTIALS, SECRETS = _DECLARED.credentials, _DECLARED.secrets
#: the longest wait for one operation, by default (seconds)
WAIT_TIMEOUT = 1800.0

#: fixed addresses: inside the subnet, not one of the five Azure keeps; Azure assigns the others
ADDRESS_POLICY = cloud_assigned("Azure")

#: Azure's instance metadata service, for the node's own address
IMDS_ADDRESS = (
    "curl -sf -m 2 -H Metadata:true 'http://169.254.169.254/metadata/instance/network/interface/0/"
    "ipv4/ipAddress/0/privateIpAddress?api-version=2021-02-01&format=text'"
)
AZURE_IDENTITY = bootstrap.NodeIdentity(cloud="Azure", address=IMDS_ADDRESS)

_T = TypeVar("_T")
_R = TypeVar("_R")


@dataclass(frozen=True)
class _Found:
    """A resource found by its tags: ``vm``, ``nic`` or ``disk``, its ARM id, name, tags and JSON."""

    kind: str
    id: str
    name: str
    tags: dict[str, str]
    wire: dict[str, Any]


def bootstrap_script(
    unit: UnitContext, node: NodeRequest, *, controller_id: str = "", controller_address: str = ""
) -> str:
    """The custom data of a VM: the toolkit's bootstrap script on Azure (one per VM, so the
    node id is written into it). It carries ``params_e`` values: never log it."""
    return bootstrap.bootstrap_script(
        unit, node, AZURE_IDENTITY, controller_id=controller_id, controller_address=controller_address
    )


def _default(provider: Any, name: str) -> Any:
    """The default of a field as providers.yml declares it."""
    return provider.field_named(name).default


def _wire(model: Any) -> dict[str, Any]:
    """An SDK model as ARM's JSON (camelCase, with ``properties``)."""
    if model is None:
        return {}
    if isinstance(model, dict):
        return model
    result: dict[str, Any] = model.as_dict()
    return result


def _private_ip(nic: dict[str, Any]) -> str:
    """The private address of a NIC's first IP configuration ("" when it has none yet)."""
    configs = nic.get("properties", {}).get("ipConfigurations") or [{}]
    return str(configs[0].get("properties", {}).get("privateIPAddress") or "")


def image_reference(ref: str) -> dict[str, str]:
    """ARM's ``imageReference`` of ``publisher:offer:sku:version`` or of an image's ARM id.

    Example::

        >>> image_reference("Canonical:ubuntu:22_04-lts:latest")["offer"]
        'ubuntu'
    """
    if ref.startswith("/"):
        return {"id": ref}
    parts = ref.split(":")
    if len(parts) != 4 or not all(parts):
        raise ARM_CODES.error(
            "InvalidParameter",
            f"cloud_image {ref!r} is neither publisher:offer:sku:version nor an image's resource id",
        )
    return dict(zip(("publisher", "offer", "sku", "version"), parts, strict=True))


def authorized_keys(spec: dict[str, Any]) -> list[str]:
    """The OpenSSH public keys of the unit's ``AUTHORIZED_KEYS`` (``params_e``: base64 of a key
    file, what ``spec.set_ssh_pubkey`` sets), each without ``authorized_keys`` options.

    Example::

        >>> key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA user@host"
        >>> authorized_keys({"params_e": ["AUTHORIZED_KEYS=" + base64.b64encode(key.encode()).decode()]})
        ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA user@host']
    """
    keys = []
    for entry in spec.get("params_e") or []:
        name, _, value = str(entry).partition("=")
        if name != "AUTHORIZED_KEYS":
            continue
        try:
            text = base64.b64decode(value).decode("utf-8", "replace")
        except ValueError:
            continue
        for line in text.splitlines():
            words = line.split()
            starts = [i for i, word in enumerate(words) if word.startswith(KEY_TYPES)]
            if starts and not line.lstrip().startswith("#"):
                keys.append(" ".join(words[starts[0] :]))
    return keys


@functools.cache
def _lro_strategies() -> dict[str, type]:
    """azure-mgmt-core's LRO strategies by name, with two of ours: ``DoneAtOnce`` (a PUT whose
    first answer is a 200/201 already ``Succeeded``: ARM's synchronous completion, whatever
    operation header comes with it) and ``NoFinalGet`` (the ``Azure-AsyncOperation`` strategy
    without reading the resource back once the operation succeeded)."""
    from azure.mgmt.core.polling import arm_polling

    class DoneAtOnce(arm_polling.BodyContentPolling):
        def can_poll(self, pipeline_response: Any) -> bool:
            response = pipeline_response.http_response
            return bool(
                response.request.method in ("PUT", "PATCH")
                and response.status_code in (200, 201)
                and self._get_provisioning_state(response) == "Succeeded"
            )

    class NoFinalGet(arm_polling.AzureAsyncOperationPolling):
        def get_final_get_url(self, pipeline_response: Any) -> None:
            return None

    return {
        "ARMPolling": arm_polling.ARMPolling,
        "DoneAtOnce": DoneAtOnce,
        "AzureAsyncOperation": arm_polling.AzureAsyncOperationPolling,
        "NoFinalGet": NoFinalGet,
        "Location": arm_polling.LocationPolling,
        "BodyContent": arm_polling.BodyContentPolling,
        "StatusCheck": arm_polling.StatusCheckPolling,
    }


def _arm_polling(interval: float, *, final_get: bool = True) -> Any:
    """An ``ARMPolling`` (polling every ``interval`` s unless ``Retry-After`` says otherwise)
    that ends at a first answer already ``Succeeded`` (a NIC usually is) and, without
    ``final_get``, does not read a created resource back once its operation succeeded (the
    poller's result is then not the resource: wait for it, do not use it)."""
    made = _lro_strategies()
    order = [
        "DoneAtOnce",
        "AzureAsyncOperation" if final_get else "NoFinalGet",
        "Location",
        "BodyContent",
        "StatusCheck",
    ]
    return made["ARMPolling"](interval, lro_algorithms=[made[name]() for name in order])


def _load_sdk() -> tuple[Any, Any, Any]:
    """``ClientSecretCredential``, ``ComputeManagementClient``, ``NetworkManagementClient``.

    Raises:
        BackendError: the ``azure`` extra is not installed.
    """
    try:
        from azure.identity import ClientSecretCredential
        from azure.mgmt.compute import ComputeManagementClient
        from azure.mgmt.network import NetworkManagementClient
    except ImportError:
        raise BackendError(NEEDS_AZURE) from None
    return ClientSecretCredential, ComputeManagementClient, NetworkManagementClient


class AzureBackend(Backend):
    """Azure VMs (one NIC each) and managed disks through azure-mgmt-compute/-network."""

    name = "azure"
    address_policy = ADDRESS_POLICY

    def __init__(self, config: dict[str, Any], controller_id: str) -> None:
        self._credential_class, self._compute_class, self._network_class = _load_sdk()
        self.controller_id = str(controller_id)
        config = dict(config or {})
        self.controller_address = str(config.get("controller_address") or "")
        self.max_concurrent_creates = max(
            1, int(config.get("max_concurrent_creates", MAX_CONCURRENT_CREATES))
        )
        self.image = str(config.get("image_reference") or DEFAULT_IMAGE)
        # the section's literal values, else the environment (AZURE_TENANT_ID, ...)
        self._operator = {
            k: str(
                config.get(k) if settings.literal(config.get(k)) else os.environ.get(f"AZURE_{k.upper()}", "")
            )
            for k in CREDENTIALS
        }
        self.wait_timeout = float(config.get("wait_timeout") or WAIT_TIMEOUT)
        self._credential_kwargs: dict[str, Any] = {}
        self._client_kwargs: dict[str, Any] = {}
        if config.get("authority"):
            self._credential_kwargs.update(
                authority=str(config["authority"]), disable_instance_discovery=True
            )
        if config.get("base_url"):
            self._client_kwargs["base_url"] = str(config["base_url"])
        if config.get("connection_verify") is not None:
            self._credential_kwargs["connection_verify"] = config["connection_verify"]
            self._client_kwargs["connection_verify"] = config["connection_verify"]
        #: the SDK's wait between polls of an operation (azure-mgmt's default: 30 s)
        interval = config.get("polling_interval")
        self.polling_interval = 30.0 if interval is None else float(interval)
        if config.get("polling_interval") is not None:
            self._client_kwargs["polling_interval"] = self.polling_interval
        self.admin_keys = [str(k).strip() for k in bootstrap.as_list(config.get("admin_ssh_public_keys"))]
        if config.get("retry_total") is not None:
            self._client_kwargs["retry_total"] = int(config["retry_total"])
        self._catalog = settings.parse_catalog(config, "azure")
        self._clients: dict[tuple[str, ...], tuple[Any, Any, Any]] = {}
        self._lock = threading.Lock()

    # -- clients ---------------------------------------------------------------------------

    def _credentials(self, unit: UnitContext | None) -> dict[str, str]:
        """``{tenant_id, client_id, client_secret, subscription_id}``: the unit's literal ones,
        else the operator's."""
        params = unit.cloud_params if unit else {}
        if all(settings.literal(params.get(k)) for k in CREDENTIALS):
            return {k: str(params[k]) for k in CREDENTIALS}
        if not all(self._operator.values()):
            raise ARM_CODES.error(
                "AuthenticationFailed",
                "no Azure credentials: set tenant_id, client_id, client_secret and subscription_id "
                "in vcp_config.yml or in the controller's azure backend section",
            )
        return self._operator

    def clients(self, unit: UnitContext | None = None) -> tuple[Any, Any, str]:
        """``(compute client, network client, subscription id)`` for ``unit``'s credentials."""
        given = self._credentials(unit)
        key = tuple(given[k] for k in CREDENTIALS)
        subscription = given["subscription_id"]
        with self._lock:
            made = self._clients.get(key)
            if made is None:
                credential = self._credential_class(
                    given["tenant_id"], given["client_id"], given["client_secret"], **self._credential_kwargs
                )
                made = (
                    credential,
                    self._compute_class(credential, subscription, **self._client_kwargs),
                    self._network_class(credential, subscription, **self._client_kwargs),
                )
                self._clients[key] = made
        return made[1], made[2], subscription

    def _secrets(self, unit: UnitContext | None = None) -> tuple[str, ...]:
        """The values masked in messages: the operator's and the unit's declared secrets."""
        params = unit.cloud_params if unit else {}
        given = [self._operator[k] for k in SECRETS] + [str(params.get(k) or "") for k in SECRETS]
        return tuple(s for s in given if settings.literal(s))

    def close(self) -> None:
        """Close the SDK clients and credentials (their HTTP connections)."""
        with self._lock:
            made, self._clients = list(self._clients.values()), {}
        settings.close_quietly([item for group in made for item in group], "an Azure client")

    # -- catalog ------------------------------------------------------------------------------

    def vpn_catalog(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The operator's catalog, served for every compute provider of config section ``azure``."""
        return settings.served_catalog(self._catalog, "azure")

    def _entry(self, unit: UnitContext) -> dict[str, Any]:
        """The unit's VPN catalog entry (storage units get it from private_network)."""
        return self._complete(unit, ("azure_resource_group_name", "azure_location"))

    def _complete(self, unit: UnitContext, keys: tuple[str, ...]) -> dict[str, Any]:
        """The unit's VPN catalog entry, which must name every one of ``keys``."""
        return settings.complete_catalog_entry(
            unit, self._catalog, keys, lambda message: ARM_CODES.error("InvalidParameter", message)
        )

    # -- helpers -------------------------------------------------------------------------------

    def _tags(self, unit: UnitContext, node_id: str) -> dict[str, str]:
        """The unit's ``tags`` (``set_tag``) and ours, which the unit's cannot override."""
        return resource_tags(unit, self.controller_id, node_id)

    def _names(self, node_id: str) -> tuple[str, str, str]:
        """The (VM, NIC, OS disk) names of a node."""
        vm = f"vcp-{node_id}"[:64]
        return vm, f"{vm}-nic", f"{vm}-osdisk"

    def _each(self, items: list[_T], work: Callable[[_T], _R]) -> list[_R]:
        return batches.each(items, work, limit=self.max_concurrent_creates, name="vcc-azure")

    def _finish(self, poller: Any) -> Any:
        """The result of an operation's poller, waited for at most ``wait_timeout`` seconds.

        Raises:
            CloudTimeoutError: the operation has not finished in time.
        """
        poller.wait(timeout=self.wait_timeout)
        if not poller.done():
            raise CloudTimeoutError(
                f"the operation did not finish within {self.wait_timeout:g} s (wait_timeout)",
                code="Timeout",
                provider="azure",
            )
        return poller.result()

    def _ignore_missing(self, call: Callable[[], Any]) -> None:
        """Run an LRO ``call`` and wait for it (at most ``wait_timeout``); a 404 (already gone)
        is fine."""

        def delete() -> None:
            poller = call()
            if poller is not None:
                self._finish(poller)

        ignore_missing(delete, is_not_found)

    def _log_failed_cleanup(self, what: str, error: BaseException, unit: UnitContext) -> None:
        """Log a cleanup's failure (not raised: the first error is), its message masked."""
        shown = masked_text(map_error, error, self._secrets(unit))
        logger.warning("%s failed (leftovers carry our tags; sweep removes them): %s", what, shown)

    # -- nodes -----------------------------------------------------------------------------

    def _image(self, unit: UnitContext, entry: dict[str, Any]) -> dict[str, str]:
        ref = str(unit.cloud_params.get("cloud_image") or "default")
        if ref == "default":
            ref = str(entry.get("azure_default_image") or self.image)
        return image_reference(ref)

    @staticmethod
    def _disk_id(ref: str, entry: dict[str, Any], sub: str) -> str:
        """A managed disk's ARM id from its id or its name (in the catalog's resource group)."""
        if ref.startswith("/"):
            return ref
        rg = entry["azure_resource_group_name"]
        return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{COMPUTE}/disks/{ref}"

    def login_keys(self, unit: UnitContext) -> list[str]:
        """The SSH public keys of the VMs' admin user: the unit's ``AUTHORIZED_KEYS`` and the
        operator's ``admin_ssh_public_keys`` (each once).

        Raises:
            CloudInvalidParameter: there is none (Azure refuses a Linux VM without a login).
        """
        keys = list(dict.fromkeys([*authorized_keys(unit.spec), *self.admin_keys]))
        if not keys:
            raise ARM_CODES.error(
                "InvalidParameter",
                f"an Azure VM needs an SSH public key for its admin user {ADMIN_USER!r}: call "
                "spec.set_ssh_pubkey(path) (or the operator sets admin_ssh_public_keys in the "
                "controller's azure backend section)",
            )
        return keys

    def _vm_body(
        self,
        unit: UnitContext,
        entry: dict[str, Any],
        node: NodeRequest,
        nic_id: str,
        os_disk: str,
        sub: str,
        keys: list[str],
    ) -> dict[str, Any]:
        params = unit.cloud_params
        script = bootstrap_script(
            unit, node, controller_id=self.controller_id, controller_address=self.controller_address
        )
        custom_data = base64.b64encode(script.encode()).decode()
        if len(custom_data) > CUSTOM_DATA_LIMIT:
            raise ARM_CODES.error(
                "InvalidParameter",
                f"the bootstrap script is {len(custom_data)} bytes in base64; Azure custom data is "
                f"limited to {CUSTOM_DATA_LIMIT} (shorten params_e/params_v)",
            )
        data_disks = [
            {
                "lun": lun,
                "createOption": "Attach",
                "managedDisk": {"id": self._disk_id(disk.cloud_disk_id, entry, sub)},
                "deleteOption": "Detach",
            }
            for lun, disk in enumerate(node.disks)
        ]
        body: dict[str, Any] = {
            "location": str(entry["azure_location"]),
            "tags": self._tags(unit, node.node_id),
            "properties": {
                "hardwareProfile": {"vmSize": str(params.get("vm_size") or _default(_DECLARED, "vm_size"))},
                "storageProfile": {
                    "imageReference": self._image(unit, entry),
                    "osDisk": {
                        "name": os_disk,
                        "createOption": "FromImage",
                        "diskSizeGB": int(params.get("disk_size_gb") or _default(_DECLARED, "disk_size_gb")),
                        "managedDisk": {
                            "storageAccountType": str(
                                params.get("managed_disk_type") or _default(_DECLARED, "managed_disk_type")
                            )
                        },
                        "deleteOption": "Delete",
                    },
                    "dataDisks": data_disks,
                },
                "osProfile": {
                    "computerName": self._names(node.node_id)[0],
                    "adminUsername": ADMIN_USER,
                    "customData": custom_data,
                    "linuxConfiguration": {
                        "disablePasswordAuthentication": True,
                        "ssh": {"publicKeys": [{"path": ADMIN_KEYS_PATH, "keyData": k} for k in keys]},
                    },
                },
                "networkProfile": {
                    "networkInterfaces": [
                        {"id": nic_id, "properties": {"primary": True, "deleteOption": "Delete"}}
                    ]
                },
            },
        }
        if entry.get("azure_zone"):
            body["zones"] = [str(entry["azure_zone"])]
        return body

    def _nic_body(
        self, unit: UnitContext, entry: dict[str, Any], node: NodeRequest, sub: str
    ) -> dict[str, Any]:
        rg = str(entry["azure_resource_group_name"])
        self._complete(unit, ("azure_vnet_name", "azure_subnet_name"))
        subnet = (
            f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{NETWORK}/virtualNetworks/"
            f"{entry['azure_vnet_name']}/subnets/{entry['azure_subnet_name']}"
        )
        ip: dict[str, Any] = {"subnet": {"id": subnet}, "privateIPAllocationMethod": "Dynamic"}
        if node.address:
            ip.update(privateIPAllocationMethod="Static", privateIPAddress=str(node.address))
        properties: dict[str, Any] = {"ipConfigurations": [{"name": "ipconfig1", "properties": ip}]}
        if entry.get("azure_security_group_name"):
            properties["networkSecurityGroup"] = {
                "id": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{NETWORK}/"
                f"networkSecurityGroups/{entry['azure_security_group_name']}"
            }
        return {
            "location": str(entry["azure_location"]),
            "tags": self._tags(unit, node.node_id),
            "properties": properties,
        }

    def create_nodes(self, unit: UnitContext, nodes: list[NodeRequest]) -> list[NodeResult]:
        """Per node a NIC (static IP when given) and a VM, up to ``max_concurrent_creates`` at once.

        The VM's data disks (``spec.disks``) are attached at LUN 0, 1, ... in its create
        request.  On any failure every VM, NIC and OS disk of these nodes is deleted (and
        waited for) before the error is raised.
        """
        if not nodes:
            return []
        compute, network, sub = self.clients(unit)
        entry = self._entry(unit)
        rg = str(entry["azure_resource_group_name"])
        keys = self.login_keys(unit)

        def create(node: NodeRequest) -> NodeResult:
            vm_name, nic_name, os_disk = self._names(node.node_id)
            nic = _wire(
                self._finish(
                    network.network_interfaces.begin_create_or_update(
                        rg,
                        nic_name,
                        self._nic_body(unit, entry, node, sub),
                        polling=_arm_polling(self.polling_interval),
                    )
                )
            )
            body = self._vm_body(unit, entry, node, str(nic["id"]), os_disk, sub, keys)
            self._finish(  # raises what the operation ended with
                compute.virtual_machines.begin_create_or_update(
                    rg, vm_name, body, polling=_arm_polling(self.polling_interval, final_get=False)
                )
            )
            address = _private_ip(nic)
            if not address:  # a first answer without the dynamic address: read the NIC
                address = _private_ip(_wire(network.network_interfaces.get(rg, nic_name)))
            return NodeResult(
                node_id=node.node_id,
                instance_id=f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{COMPUTE}/virtualMachines/{vm_name}",
                address=address,
                volumes=[
                    {"volume_id": d.cloud_disk_id, "device_name": f"/dev/disk/azure/scsi1/lun{lun}"}
                    for lun, d in enumerate(node.disks)
                ],
                backend_data={"vm_name": vm_name, "resource_group": rg},
            )

        drop = lambda: self._remove(unit, rg, [n.node_id for n in nodes], quiet=True)  # noqa: E731
        with translated(cleanup=drop, secrets=self._secrets(unit)):
            return self._each(nodes, create)

    def _remove(self, unit: UnitContext, rg: str, node_ids: list[str], quiet: bool = False) -> None:
        """Delete the VMs, NICs and OS disks of ``node_ids`` (those that exist) and wait."""
        compute, network, _ = self.clients(unit)

        def remove(node_id: str) -> None:
            vm, nic, os_disk = self._names(node_id)
            self._ignore_missing(lambda: compute.virtual_machines.begin_delete(rg, vm))
            self._ignore_missing(lambda: network.network_interfaces.begin_delete(rg, nic))
            self._ignore_missing(lambda: compute.disks.begin_delete(rg, os_disk))

        try:
            self._each(node_ids, remove)
        except Exception as e:
            if not quiet:
                raise
            self._log_failed_cleanup("deleting what a failed create made", e, unit)

    def delete_nodes(self, unit: UnitContext, nodes: list[NodeRequest]) -> None:
        """Delete each node's VM (its data disks are detached), NIC and OS disk, and wait."""
        if not nodes:
            return
        rg = str(self._entry(unit)["azure_resource_group_name"])
        with translated(secrets=self._secrets(unit)):
            self._remove(unit, rg, [n.node_id for n in nodes])

    def power(self, unit: UnitContext, nodes: list[NodeRequest], action: str) -> None:
        """power_on/start/resume = start; stop = deallocate; power_off/suspend = deallocate, or
        power off without deallocation (the VM keeps its host and is still billed) when the
        spec's ``power_off_mode`` is ``power_off``.  Waits for the operations.

        Raises:
            CloudInvalidParameter: an unknown ``power_off_mode``.
        """
        mode = str(unit.cloud_params.get("power_off_mode") or _default(_DECLARED, "power_off_mode"))
        if mode not in POWER_OFF_VERBS:
            raise ARM_CODES.error(
                "InvalidParameter",
                f"power_off_mode {mode!r} is neither {' nor '.join(map(repr, POWER_OFF_VERBS))}",
            )
        if settings.powers_on(action):
            verb = "begin_start"
        else:
            verb = "begin_deallocate" if action == "stop" else POWER_OFF_VERBS[mode]
        if not nodes:
            return
        compute, _, _ = self.clients(unit)
        rg = str(self._entry(unit)["azure_resource_group_name"])
        with translated(secrets=self._secrets(unit)):
            self._each(
                [self._names(n.node_id)[0] for n in nodes],
                lambda vm: self._finish(getattr(compute.virtual_machines, verb)(rg, vm)),
            )

    def _listed(self, unit: UnitContext | None, rg: str, kinds: Iterable[str], **tags: str) -> list[_Found]:
        """This controller's resources of ``kinds`` (``vm``, ``nic``, ``disk``) in ``rg`` whose
        tags hold ``tags`` (the SDK's list calls; it follows ``nextLink`` pages)."""
        compute, network, _ = self.clients(unit)
        listers = {
            "vm": compute.virtual_machines.list,
            "nic": network.network_interfaces.list,
            "disk": compute.disks.list_by_resource_group,
        }
        wanted = {TAG_CONTROLLER: self.controller_id, **tags}
        found = []
        for kind in kinds:
            for item in listers[kind](rg):
                wire = _wire(item)
                have = wire.get("tags") or {}
                if all(have.get(k) == v for k, v in wanted.items()):
                    found.append(_Found(kind, str(wire["id"]), str(wire["name"]), have, wire))
        return found

    def _tagged(self, unit: UnitContext, rg: str, node_ids: Iterable[str]) -> dict[str, str]:
        """``{node_id: VM name}`` of this controller's VMs in ``rg``, found by tag."""
        wanted = set(node_ids)
        return {
            found.tags[TAG_NODE]: found.name
            for found in self._listed(unit, rg, ["vm"])
            if found.tags.get(TAG_NODE) in wanted
        }

    def describe(self, unit: UnitContext, nodes: list[NodeRequest]) -> dict[str, str]:
        """``{node_id: RUNNING | POWER_OFF | DELETED}``: the VMs re-discovered by tag, their power state."""
        if not nodes:
            return {}
        compute, _, _ = self.clients(unit)
        rg = str(self._entry(unit)["azure_resource_group_name"])
        report = {}
        with translated(secrets=self._secrets(unit)):
            found = self._tagged(unit, rg, [n.node_id for n in nodes])
            for node in nodes:
                name = found.get(node.node_id)
                if name is None:
                    report[node.node_id] = "DELETED"
                    continue
                vm = _wire(compute.virtual_machines.get(rg, name, expand="instanceView"))
                view = vm.get("properties", {}).get("instanceView") or {}
                power = [
                    s.get("code", "")
                    for s in view.get("statuses", [])
                    if s.get("code", "").startswith("PowerState/")
                ]
                state = power[0].split("/", 1)[1] if power else "running"
                report[node.node_id] = "RUNNING" if state in ("running", "starting") else "POWER_OFF"
        return report

    # -- disks -------------------------------------------------------------------------------

    def create_disks(self, unit: UnitContext, disks: list[base.DiskRequest]) -> list[base.DiskResult]:
        """One managed disk per request (empty, or a copy of the snapshot ``cloud_image``), at
        most ``max_concurrent_creates`` at once; a failure deletes those that were made."""
        if not disks:
            return []
        compute, _, sub = self.clients(unit)
        entry = self._entry(unit)
        rg = str(entry["azure_resource_group_name"])
        params = unit.cloud_params
        ref = str(params.get("cloud_image") or "")
        source = None
        if ref and ref != "default":
            source = (
                ref
                if ref.startswith("/")
                else (f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{COMPUTE}/snapshots/{ref}")
            )

        def create(disk: base.DiskRequest) -> base.DiskResult:
            # a copy without a size of its own gets the snapshot's size
            size = int(
                disk.size_gb
                or params.get("disk_size_gb")
                or (0 if source else _default(_DISK_DECLARED, "disk_size_gb"))
            )
            properties: dict[str, Any] = {
                "creationData": {"createOption": "Copy", "sourceResourceId": source}
                if source
                else {"createOption": "Empty"}
            }
            if size:
                properties["diskSizeGB"] = size
            body: dict[str, Any] = {
                "location": str(entry["azure_location"]),
                "tags": self._tags(unit, disk.disk_id),
                "sku": {
                    "name": str(
                        params.get("storage_account_type") or _default(_DISK_DECLARED, "storage_account_type")
                    )
                },
                "properties": properties,
            }
            if entry.get("azure_zone"):
                body["zones"] = [str(entry["azure_zone"])]
            made = _wire(
                self._finish(compute.disks.begin_create_or_update(rg, f"vcp-{disk.disk_id}"[:80], body))
            )
            return base.DiskResult(
                disk_id=disk.disk_id,
                cloud_disk_id=str(made["id"]),
                size_gb=int(made.get("properties", {}).get("diskSizeGB") or size),
                backend_data={"cloud_disk_id": str(made["id"]), "resource_group": rg},
            )

        def drop() -> None:
            try:
                self._each(
                    disks,
                    lambda d: self._ignore_missing(
                        lambda: compute.disks.begin_delete(rg, f"vcp-{d.disk_id}"[:80])
                    ),
                )
            except Exception as e:
                self._log_failed_cleanup("deleting the disks of a failed create", e, unit)

        with translated(cleanup=drop, secrets=self._secrets(unit)):
            return self._each(disks, create)

    def delete_disks(self, unit: UnitContext, disks: list[base.DiskRequest]) -> None:
        """Delete the managed disks and wait; a disk still attached to a VM is refused."""
        if not disks:
            return
        compute, _, _ = self.clients(unit)
        rg = str(self._entry(unit)["azure_resource_group_name"])

        def delete(disk: base.DiskRequest) -> None:
            name = f"vcp-{disk.disk_id}"[:80]
            try:
                found = _wire(compute.disks.get(rg, name))
            except Exception as e:
                if is_not_found(e):
                    return
                raise
            if found.get("managedBy"):
                raise ARM_CODES.error(
                    "OperationNotAllowed",
                    f"disk {name} is attached to VM {found['managedBy']}; delete the node first",
                )
            self._ignore_missing(lambda: compute.disks.begin_delete(rg, name))

        with translated(secrets=self._secrets(unit)):
            self._each(disks, delete)

    # -- leftovers -----------------------------------------------------------------------------

    def find_tagged(self, vcid: str, unit: UnitContext | None = None) -> list[str]:
        """ARM ids of this controller's VMs, NICs and disks tagged for the UnitGroup ``vcid``,
        in every resource group of the catalog (``unit``'s credentials, else the operator's).

        Example::

            assert backend.find_tagged(vcid) == []  # after ug.cleanup()
        """
        groups = sorted(
            {
                str(e["azure_resource_group_name"])
                for e in self._catalog.values()
                if e.get("azure_resource_group_name")
            }
        )
        with translated(secrets=self._secrets(unit)):
            return sorted(f.id for rg in groups for f in self._listed(unit, rg, _KINDS, **{TAG_VCID: vcid}))

    def sweep(self, unit: UnitContext) -> None:
        """Delete what is still tagged for ``unit`` in its resource group, the leftovers of
        failures; called when the unit is deleted, after its nodes or disks.

        The VM, NIC and OS disk of every node id a tagged VM or NIC names go first (an OS disk
        has no tags of its own: Azure does not copy a VM's tags to it), then every other tagged
        VM, NIC and disk.  A NIC or disk another VM still uses is left alone (not a leftover).
        """
        rg = str(self._entry(unit)["azure_resource_group_name"])
        compute, network, _ = self.clients(unit)
        deletes = {
            "vm": compute.virtual_machines.begin_delete,
            "nic": network.network_interfaces.begin_delete,
            "disk": compute.disks.begin_delete,
        }
        tags = {TAG_VCID: unit.vcid, TAG_UNIT: unit.unit_name}
        with translated(secrets=self._secrets(unit)):
            found = self._listed(unit, rg, _KINDS, **tags)
            if not found:
                return
            logger.warning(
                "deleting leftovers of unit %s: %s", unit.unit_name, ", ".join(f.name for f in found)
            )
            node_ids = {f.tags.get(TAG_NODE, "") for f in found if f.kind != "disk"} - {""}
            if node_ids:
                self._remove(unit, rg, sorted(node_ids))
                found = self._listed(unit, rg, _KINDS, **tags)
            for kind in _KINDS:
                strays = [
                    f
                    for f in found
                    if f.kind == kind
                    and not f.wire.get("managedBy")
                    and not f.wire.get("properties", {}).get("virtualMachine")
                ]
                self._each(strays, lambda f: self._ignore_missing(lambda: deletes[f.kind](rg, f.name)))
