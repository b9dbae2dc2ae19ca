"""The Oracle Cloud backend: ``oracle`` and ``oracle_disk`` on OCI's Core API (the ``oci`` SDK).

Operators enable it with a ``backends`` section (``vcc serve --backends FILE``)::

    oracle:
      user_ocid: ocid1.user.oc1..aaaa...      # the API key (or the users' cloud_params)
      fingerprint: 12:34:56:...
      private_key_file: ~/.oci/vcp.pem        # or private_key: the PEM itself (never logged)
      max_concurrent_creates: 8               # instances of one request launched at once
      controller_address: 172.30.2.10         # VCCCTR_IPADDR given to the Base containers
      vpn_catalog:
        default:
          oracle_tenancy_ocid: ocid1.tenancy.oc1..aaaa...
          oracle_compartment_id: ocid1.compartment.oc1..aaaa...
          oracle_subnet_id: ocid1.subnet.oc1.ap-tokyo-1.aaaa...
          oracle_region: ap-tokyo-1
          oracle_availability_domain: Uocm:AP-TOKYO-1-AD-1
          private_network_ipmask: 172.30.2.0/24
          oracle_default_image: Canonical-Ubuntu-22.04-2026.10.31-0   # optional: cloud_image 'default'

Without ``user_ocid``/``fingerprint``/``private_key`` in the section they come from
``OCI_USER_OCID``, ``OCI_FINGERPRINT`` and ``OCI_PRIVATE_KEY`` (the PEM) or
``OCI_PRIVATE_KEY_FILE``; a unit whose ``cloud_params`` carry all three (literal, or
``vault://`` references the controller resolved) uses its own.  ``service_endpoint`` points
every client at another Core API (the fake of the tests); ``max_interval_seconds``,
``max_wait_seconds``, ``retry_max_attempts``, ``retry_base_sleep_seconds`` and
``retry_max_sleep_seconds`` tune the SDK's waiters and retry strategy.  What each operation
sends is described in ``docs/oracle.md``.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from vcpsdk.controller.backends import base
from vcpsdk.controller.backends.base import Backend, NodeRequest, NodeResult, UnitContext
from vcpsdk.controller.backends.oracle.errors import OCI_CODES, is_not_found, map_error, translated
from vcpsdk.controller.backends.toolkit import batches, bootstrap, settings
from vcpsdk.controller.backends.toolkit.addresses import cloud_assigned
from vcpsdk.controller.backends.toolkit.errors import BackendError, CloudAuthError, masked_text
from vcpsdk.controller.backends.toolkit.tags import (
    TAG_CONTROLLER,
    TAG_NODE,
    TAG_UNIT,
    TAG_VCID,
    resource_tags,
)
from vcpsdk.core.providers import get_provider

logger = logging.getLogger("vcp.controller.oracle")

NEEDS_OCI = 'the Oracle Cloud backend needs the OCI SDK: pip install "vcpsdk[oracle]"'
#: the image of cloud_image 'default' when neither the catalog nor the section names one
DEFAULT_IMAGE = "Canonical-Ubuntu-22.04-2026.10.31-0"
_DECLARED = get_provider("oracle")
_BOOT_VOLUME = _DECLARED.field_named("boot_volume_size_in_gbs")
assert _BOOT_VOLUME is not None and _BOOT_VOLUME.minimum and _BOOT_VOLUME.maximum
DEFAULT_SHAPE = str(_DECLARED.field_named("shape").default)  # type: ignore[union-attr]
#: OCI's block volume sizes (GB, as providers.yml declares them) and its limit of an
#: instance's metadata (bytes)
MIN_VOLUME_GB, MAX_VOLUME_GB, METADATA_LIMIT = _BOOT_VOLUME.minimum, _BOOT_VOLUME.maximum, 32000
#: what a VPN catalog entry must name (``oracle_subnet_id`` too, for compute units)
CATALOG_KEYS = ("oracle_tenancy_ocid", "oracle_compartment_id", "oracle_region", "oracle_availability_domain")
#: the API key's settings (backends section, cloud_params or OCI_<NAME> variables): (user_ocid,
#: fingerprint, private_key), as providers.yml declares them
CREDENTIALS = _DECLARED.credentials
#: where the paravirtualized data volumes of ``spec.disks`` appear, in order
DEVICES = [f"/dev/oracleoci/oraclevd{c}" for c in "bcdefghijklmnop"]

#: the lifecycle states of an instance or volume that is gone (or on its way)
GONE = ("TERMINATED", "TERMINATING")

#: fixed addresses: inside the subnet, not one of the three OCI keeps; OCI assigns the others
ADDRESS_POLICY = cloud_assigned("Oracle Cloud", reserved_low=2)

#: the instance metadata service (v2) answers the primary VNIC's private address
IMDS_ADDRESS = (
    "curl -sf -m 2 -H 'Authorization: Bearer Oracle' http://169.254.169.254/opc/v2/vnics/0/privateIp"
)
OCI_IDENTITY = bootstrap.NodeIdentity(cloud="Oracle Cloud", address=IMDS_ADDRESS)

_T = TypeVar("_T")
_R = TypeVar("_R")


#: ``bootstrap_script(unit, node, controller_id=..., controller_address=...)``: the user data of an
#: instance, the toolkit's bootstrap script on OCI (one per instance, so the node id is written
#: into it). It carries ``params_e`` values: never log it.
bootstrap_script = functools.partial(bootstrap.bootstrap_script, identity=OCI_IDENTITY)


def _load_sdk() -> Any:
    """The ``oci`` package.

    Raises:
        BackendError: the ``oracle`` extra is not installed.
    """
    try:
        import oci
    except ImportError:
        raise BackendError(NEEDS_OCI) from None
    return oci


@contextlib.contextmanager
def _noting(made: dict[str, str], key: str, lock: threading.Lock) -> Iterator[None]:
    """Run a composite create; when its wait fails, note the OCID it made under ``key`` (its
    partial result) so the cleanup removes it, and re-raise."""
    try:
        yield
    except Exception as e:
        partial = getattr(e, "partial_results", None) or []
        if partial:
            with lock:
                made[key] = str(partial[0].data.id)
        raise


@dataclass(frozen=True)
class Clients:
    """The OCI clients of one API key in one region, and the composite operations on them.

    ``secrets`` (the private key PEM, its pass phrase) are left out of the ``repr``.
    """

    compute: Any
    network: Any
    blockstorage: Any
    compute_ops: Any
    blockstorage_ops: Any
    secrets: tuple[str, ...] = field(repr=False)


class OracleBackend(Backend):
    """OCI instances (one VNIC each) and block volumes through the ``oci`` SDK."""

    name = "oracle"
    address_policy = ADDRESS_POLICY

    def __init__(self, config: dict[str, Any], controller_id: str) -> None:
        self._oci = _load_sdk()
        self.controller_id = str(controller_id)
        config = dict(config or {})
        self.controller_address = str(config.get("controller_address") or "")
        self.max_concurrent_creates = max(1, int(config.get("max_concurrent_creates", 8)))
        self.image = str(config.get("image") or DEFAULT_IMAGE)
        self.service_endpoint = str(config.get("service_endpoint") or "")
        self.waiter_kwargs = {
            "max_interval_seconds": float(config.get("max_interval_seconds", 30)),
            "max_wait_seconds": float(config.get("max_wait_seconds", 1200)),
        }
        self._retry = {
            "max_attempts": int(config.get("retry_max_attempts", 8)),
            "base": float(config.get("retry_base_sleep_seconds", 1)),
            "max": float(config.get("retry_max_sleep_seconds", 30)),
        }
        self._operator = self._operator_credentials(config)
        self._pass_phrase = str(
            config.get("pass_phrase") or os.environ.get("OCI_PRIVATE_KEY_PASSPHRASE") or ""
        )
        self._catalog = settings.parse_catalog(config, "oracle")
        self._clients: dict[tuple[str, ...], Clients] = {}
        self._images: dict[tuple[str, str, str], str] = {}
        self._lock = threading.Lock()

    # -- credentials and clients ------------------------------------------------------------

    @staticmethod
    def _operator_credentials(config: dict[str, Any]) -> tuple[str, str, str]:
        """(user OCID, fingerprint, private key PEM) of the section, else of the environment.

        The key is the first of: the section's ``private_key``, the section's
        ``private_key_file``, ``OCI_PRIVATE_KEY``, ``OCI_PRIVATE_KEY_FILE``.

        Raises:
            BackendError: the key file chosen cannot be read.
        """

        def value(key: str) -> str:
            given = config.get(key)
            return str(given) if settings.literal(given) else os.environ.get(f"OCI_{key.upper()}", "")

        def read(key_file: str) -> str:
            try:
                return Path(key_file).expanduser().read_text(encoding="utf-8")
            except OSError as e:
                raise BackendError(
                    f"oracle backend: cannot read private_key_file {key_file}: {e.strerror}"
                ) from None

        section_key = config.get("private_key")
        if settings.literal(section_key):
            key = str(section_key)
        elif config.get("private_key_file"):
            key = read(str(config["private_key_file"]))
        elif os.environ.get("OCI_PRIVATE_KEY"):
            key = os.environ["OCI_PRIVATE_KEY"]
        elif os.environ.get("OCI_PRIVATE_KEY_FILE"):
            key = read(os.environ["OCI_PRIVATE_KEY_FILE"])
        else:
            key = ""
        return value("user_ocid"), value("fingerprint"), key

    def _credentials(self, unit: UnitContext | None) -> tuple[str, str, str]:
        """(user OCID, fingerprint, private key): the unit's literal ones, else the operator's."""
        params = unit.cloud_params if unit else {}
        if all(settings.literal(params.get(k)) for k in CREDENTIALS):
            user, fingerprint, key = (str(params[k]) for k in CREDENTIALS)
            return user, fingerprint, key
        if not all(self._operator):
            raise OCI_CODES.error(
                "NotAuthenticated",
                "no OCI API key: set user_ocid, fingerprint and private_key in vcp_config.yml or in "
                "the controller's oracle backend section",
            )
        return self._operator

    def clients(self, unit: UnitContext) -> Clients:
        """The clients for ``unit``'s API key, tenancy and region (made once, then shared)."""
        entry = self._entry(unit)
        user, fingerprint, key = self._credentials(unit)
        tenancy, region = str(entry["oracle_tenancy_ocid"]), str(entry["oracle_region"])
        cache = (tenancy, region, user, fingerprint, hashlib.sha256(key.encode()).hexdigest())
        with self._lock:
            made = self._clients.get(cache)
            if made is None:
                made = self._make_clients(tenancy, region, user, fingerprint, key)
                self._clients[cache] = made
        return made

    def _make_clients(self, tenancy: str, region: str, user: str, fingerprint: str, key: str) -> Clients:
        oci = self._oci
        secrets = tuple(s for s in (key, self._pass_phrase) if s)
        config = {"tenancy": tenancy, "region": region, "user": user, "fingerprint": fingerprint}
        config["key_content"] = key
        if self._pass_phrase:
            config["pass_phrase"] = self._pass_phrase
        retry = oci.retry.RetryStrategyBuilder(
            max_attempts=max(1, self._retry["max_attempts"]),
            total_elapsed_time_seconds=max(1, int(self.waiter_kwargs["max_wait_seconds"])),
            service_error_retry_config={-1: [], 429: []},  # connection errors, throttling
            service_error_retry_on_any_5xx=True,
            retry_base_sleep_time_seconds=self._retry["base"],
            retry_max_wait_between_calls_seconds=self._retry["max"],
            backoff_type=oci.retry.BACKOFF_FULL_JITTER_VALUE,
        ).get_retry_strategy()
        kwargs: dict[str, Any] = {"retry_strategy": retry}
        if self.service_endpoint:
            kwargs["service_endpoint"] = self.service_endpoint
        with translated(secrets=secrets):
            oci.config.validate_config(config)
            compute = oci.core.ComputeClient(config, **kwargs)
            network = oci.core.VirtualNetworkClient(config, **kwargs)
            blockstorage = oci.core.BlockstorageClient(config, **kwargs)
            return Clients(
                compute=compute,
                network=network,
                blockstorage=blockstorage,
                compute_ops=oci.core.ComputeClientCompositeOperations(compute),
                blockstorage_ops=oci.core.BlockstorageClientCompositeOperations(blockstorage),
                secrets=secrets,
            )

    def _secrets(self, unit: UnitContext | None = None) -> tuple[str, ...]:
        """The values masked in messages: the operator's key and pass phrase, the unit's
        ``secrets`` of the declaration (``private_key``)."""
        params = unit.cloud_params if unit else {}
        given = (self._operator[2], self._pass_phrase, *(str(params.get(k) or "") for k in _DECLARED.secrets))
        return tuple(s for s in given if settings.literal(s))

    def close(self) -> None:
        """Close the clients' HTTP sessions."""
        with self._lock:
            made, self._clients = list(self._clients.values()), {}
        sessions = [c.base_client.session for m in made for c in (m.compute, m.network, m.blockstorage)]
        settings.close_quietly(sessions, "an OCI client session")

    # -- catalog ------------------------------------------------------------------------------

    def vpn_catalog(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The operator's catalog, served for every compute provider of config section ``oracle``."""
        return settings.served_catalog(self._catalog, "oracle")

    def _entry(self, unit: UnitContext) -> dict[str, Any]:
        """The unit's VPN catalog entry (storage units get it from private_network)."""
        return settings.complete_catalog_entry(
            unit, self._catalog, CATALOG_KEYS, lambda message: OCI_CODES.error("InvalidParameter", message)
        )

    # -- helpers -------------------------------------------------------------------------------

    def _tags(self, unit: UnitContext, node_id: str) -> dict[str, str]:
        """The unit's ``tags`` (``set_tag``) and ours, which the unit's cannot override."""
        return resource_tags(unit, self.controller_id, node_id)

    def _each(self, items: list[_T], work: Callable[[_T], _R]) -> list[_R]:
        return batches.each(items, work, limit=self.max_concurrent_creates, name="vcc-oracle")

    def _all(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> list[Any]:
        """Every item of a paginated list call (``opc-next-page`` followed).

        Paged here rather than by ``oci.pagination``, which wraps each call in the SDK's
        default retry strategy (8 attempts, minutes of backoff) around the client's own, so
        the operator's ``retry_max_attempts`` would not bound a list call.
        """
        items: list[Any] = []
        response = call(*args, **kwargs)
        items.extend(response.data)
        while response.has_next_page:
            response = call(*args, page=response.next_page, **kwargs)
            items.extend(response.data)
        return items

    def _wait(self, client: Any, response: Any, state: str) -> Any:
        """The SDK's waiter until ``response``'s resource reaches ``state`` (or is gone)."""
        return self._oci.wait_until(
            client, response, "lifecycle_state", state, succeed_on_not_found=True, **self.waiter_kwargs
        )

    def _listing(self, clients: Clients, kind: str, compartment: str) -> list[Any]:
        """Every instance (``kind`` "instances") or volume ("volumes") of the compartment."""
        if kind == "instances":
            return self._all(clients.compute.list_instances, compartment)
        return self._all(clients.blockstorage.list_volumes, compartment_id=compartment)

    def _ours(self, clients: Clients, kind: str, compartment: str, **tags: str) -> list[Any]:
        """This controller's live instances or volumes whose freeform tags hold ``tags``."""
        wanted = {TAG_CONTROLLER: self.controller_id, **tags}
        return [
            item
            for item in self._listing(clients, kind, compartment)
            if item.lifecycle_state not in GONE
            and all((item.freeform_tags or {}).get(k) == v for k, v in wanted.items())
        ]

    def _tagged(self, unit: UnitContext, kind: str, ids: Iterable[str]) -> dict[str, Any]:
        """``{node or disk id: instance or volume}`` of this controller, found by tag among the
        compartment's live instances (``kind`` "instances") or volumes ("volumes")."""
        clients, entry = self.clients(unit), self._entry(unit)
        wanted = set(ids)
        return {
            str(item.freeform_tags[TAG_NODE]): item
            for item in self._ours(clients, kind, str(entry["oracle_compartment_id"]))
            if (item.freeform_tags or {}).get(TAG_NODE) in wanted
        }

    def _gone_or_refused(self, clients: Clients, kind: str, compartment: str, ocid: str) -> None:
        """After a 404 deleting ``ocid``: fine when the compartment's listing no longer holds it
        alive; OCI also answers 404 ``NotAuthorizedOrNotFound`` when the key may not act on a
        resource that exists.

        Raises:
            CloudAuthError: the resource is still there (and not TERMINATED).
        """
        alive = [
            item
            for item in self._listing(clients, kind, compartment)
            if str(item.id) == ocid and item.lifecycle_state not in GONE
        ]
        if alive:
            raise CloudAuthError(
                f"deleting {ocid} ({alive[0].lifecycle_state}) was answered 404: the API key is not "
                "allowed to delete it (check the IAM policies of the compartment)",
                code="NotAuthorizedOrNotFound",
                provider="oracle",
            )

    @staticmethod
    def _log_failed_cleanup(what: str, error: BaseException, secrets: tuple[str, ...]) -> None:
        """Log a cleanup's failure (not raised: the first error is), its message masked."""
        shown = masked_text(map_error, error, secrets)
        logger.warning("%s failed (leftovers carry our tags; sweep removes them): %s", what, shown)

    # -- nodes -----------------------------------------------------------------------------

    def _image(self, unit: UnitContext, entry: dict[str, Any], clients: Clients) -> str:
        """The image OCID of ``cloud_image``: an OCID as it is, else the newest image of that name."""
        ref = str(unit.cloud_params.get("cloud_image") or "default")
        if ref == "default":
            ref = str(entry.get("oracle_default_image") or self.image)
        if ref.startswith("ocid1.image."):
            return ref
        compartment, region = str(entry["oracle_compartment_id"]), str(entry["oracle_region"])
        with self._lock:
            known = self._images.get((region, compartment, ref))
        if known:
            return known
        images = self._all(
            clients.compute.list_images,
            compartment,
            display_name=ref,
            lifecycle_state="AVAILABLE",
            sort_by="TIMECREATED",
            sort_order="DESC",
        )
        if not images:
            raise OCI_CODES.error(
                "InvalidParameter", f"cloud_image {ref!r} is neither an image OCID nor the name of an image"
            )
        with self._lock:
            self._images[(region, compartment, ref)] = str(images[0].id)
        return str(images[0].id)

    def _user_data(self, unit: UnitContext, node: NodeRequest) -> str:
        """The node's bootstrap script in base64, within OCI's instance metadata limit."""
        encoded = base64.b64encode(
            bootstrap_script(
                unit, node, controller_id=self.controller_id, controller_address=self.controller_address
            ).encode()
        ).decode()
        if len(encoded) <= METADATA_LIMIT:
            return encoded
        raise OCI_CODES.error(
            "InvalidParameter",
            f"the bootstrap script is {len(encoded)} bytes in base64; OCI instance metadata is limited "
            f"to {METADATA_LIMIT} (shorten params_e/params_v)",
        )

    def _launch_details(
        self, unit: UnitContext, entry: dict[str, Any], node: NodeRequest, image_id: str
    ) -> Any:
        models = self._oci.core.models
        params = unit.cloud_params
        user_data = self._user_data(unit, node)
        if not entry.get("oracle_subnet_id"):
            raise OCI_CODES.error("InvalidParameter", "the vpn_catalog entry has no oracle_subnet_id")
        size = int(params.get("boot_volume_size_in_gbs") or MIN_VOLUME_GB)
        if not MIN_VOLUME_GB <= size <= MAX_VOLUME_GB:
            raise OCI_CODES.error(
                "InvalidParameter",
                f"boot_volume_size_in_gbs {size} is outside {MIN_VOLUME_GB}..{MAX_VOLUME_GB}",
            )
        name = f"vcp-{node.node_id}"
        return models.LaunchInstanceDetails(
            availability_domain=str(entry["oracle_availability_domain"]),
            compartment_id=str(entry["oracle_compartment_id"]),
            display_name=name,
            shape=str(params.get("shape") or DEFAULT_SHAPE),
            freeform_tags=self._tags(unit, node.node_id),
            metadata={"user_data": user_data},
            source_details=models.InstanceSourceViaImageDetails(
                image_id=image_id, boot_volume_size_in_gbs=size
            ),
            create_vnic_details=models.CreateVnicDetails(
                subnet_id=str(entry["oracle_subnet_id"]),
                private_ip=node.address or None,
                assign_public_ip=False,
                display_name=name,
                freeform_tags=self._tags(unit, node.node_id),
            ),
        )

    def _address(self, clients: Clients, compartment: str, instance_id: str) -> str:
        """The private address of the instance's primary VNIC."""
        attachments = self._all(clients.compute.list_vnic_attachments, compartment, instance_id=instance_id)
        live = [a for a in attachments if a.lifecycle_state in ("ATTACHED", "ATTACHING")]
        if not live:
            raise OCI_CODES.error("IncorrectState", f"instance {instance_id} has no VNIC attached")
        vnic = clients.network.get_vnic(live[0].vnic_id).data
        return str(vnic.private_ip or "")

    def _attach(
        self, clients: Clients, compartment: str, instance_id: str, disks: list[base.DiskInfo]
    ) -> None:
        """Attach ``disks`` (paravirtualized, at :data:`DEVICES` in order) and wait; those already
        attached to this instance are left as they are."""
        if not disks:
            return
        models = self._oci.core.models
        attached = {
            a.volume_id
            for a in self._all(clients.compute.list_volume_attachments, compartment, instance_id=instance_id)
            if a.lifecycle_state in ("ATTACHING", "ATTACHED")
        }
        for device, disk in zip(DEVICES, disks, strict=False):
            if disk.cloud_disk_id in attached:
                continue
            clients.compute_ops.attach_volume_and_wait_for_state(
                models.AttachParavirtualizedVolumeDetails(
                    instance_id=instance_id,
                    volume_id=disk.cloud_disk_id,
                    display_name=f"vcp-{disk.disk_id}",
                    device=device,
                    is_read_only=False,
                ),
                wait_for_states=["ATTACHED"],
                waiter_kwargs=self.waiter_kwargs,
            )

    def create_nodes(self, unit: UnitContext, nodes: list[NodeRequest]) -> list[NodeResult]:
        """Launch one instance per node (fixed private IP when given), up to
        ``max_concurrent_creates`` at once, wait for RUNNING, read its address from its VNIC and
        attach its disks.  On any failure every instance of these nodes is terminated (and
        waited for) before the error is raised."""
        if not nodes:
            return []
        clients, entry = self.clients(unit), self._entry(unit)
        compartment = str(entry["oracle_compartment_id"])
        if len(nodes[0].disks) > len(DEVICES):
            raise OCI_CODES.error(
                "InvalidParameter", f"at most {len(DEVICES)} disks can be attached to a node"
            )
        launched: dict[str, str] = {}  # node id -> instance OCID
        lock = threading.Lock()

        def create(node: NodeRequest, image_id: str) -> NodeResult:
            details = self._launch_details(unit, entry, node, image_id)
            token = f"vcp-{self.controller_id[:8]}-{node.node_id}"[:64]
            with _noting(launched, node.node_id, lock):
                response = clients.compute_ops.launch_instance_and_wait_for_state(
                    details,
                    wait_for_states=["RUNNING"],
                    operation_kwargs={"opc_retry_token": token},
                    waiter_kwargs=self.waiter_kwargs,
                )
            instance_id = str(response.data.id)
            with lock:
                launched[node.node_id] = instance_id
            address = self._address(clients, compartment, instance_id)
            self._attach(clients, compartment, instance_id, node.disks)
            return NodeResult(
                node_id=node.node_id,
                instance_id=instance_id,
                address=address,
                volumes=[
                    {"volume_id": d.cloud_disk_id, "device_name": device}
                    for device, d in zip(DEVICES, node.disks, strict=False)
                ],
                backend_data={"instance_id": instance_id, "compartment_id": compartment},
            )

        def drop() -> None:
            try:
                with lock:
                    known = dict(launched)
                tagged = self._tagged(unit, "instances", [n.node_id for n in nodes])
                known.update({node_id: str(i.id) for node_id, i in tagged.items()})
                self._each(list(known.values()), lambda i: self._terminate(clients, compartment, i))
            except Exception as e:
                self._log_failed_cleanup("terminating what a failed launch made", e, clients.secrets)

        with translated(cleanup=drop, secrets=clients.secrets):
            image_id = self._image(unit, entry, clients)
            return self._each(nodes, lambda node: create(node, image_id))

    def _terminate(self, clients: Clients, compartment: str, instance_id: str) -> None:
        """Terminate an instance (and its boot volume) and wait for TERMINATED; gone is fine."""
        self._delete(clients, compartment, "instances", instance_id)

    def _delete(self, clients: Clients, compartment: str, kind: str, ocid: str) -> None:
        """Terminate an instance (``kind`` "instances", with its boot volume) or delete a volume
        ("volumes") and wait for TERMINATED; gone is fine.

        Raises:
            CloudAuthError: OCI answered 404 but the resource is still there.
        """
        if kind == "instances":
            client, read = clients.compute, clients.compute.get_instance
            delete: Callable[[str], Any] = functools.partial(
                clients.compute.terminate_instance, preserve_boot_volume=False
            )
        else:
            client, read, delete = (
                clients.blockstorage,
                clients.blockstorage.get_volume,
                clients.blockstorage.delete_volume,
            )
        try:
            delete(ocid)
        except Exception as e:
            if not is_not_found(e):
                raise
            self._gone_or_refused(clients, kind, compartment, ocid)
            return
        self._wait(client, read(ocid), "TERMINATED")

    def _instances(self, unit: UnitContext, nodes: list[NodeRequest]) -> dict[str, str]:
        """``{node id: instance OCID}``: from the node's records, else found by tag."""
        found = {
            n.node_id: str(n.backend_data["instance_id"]) for n in nodes if n.backend_data.get("instance_id")
        }
        missing = [n.node_id for n in nodes if n.node_id not in found]
        if missing:
            found.update(
                {node_id: str(i.id) for node_id, i in self._tagged(unit, "instances", missing).items()}
            )
        return found

    def delete_nodes(self, unit: UnitContext, nodes: list[NodeRequest]) -> None:
        """Detach each node's volumes (and wait), then terminate its instance and wait for
        TERMINATED; a node already gone is fine."""
        if not nodes:
            return
        clients = self.clients(unit)
        compartment = str(self._entry(unit)["oracle_compartment_id"])

        def delete(instance_id: str) -> None:
            for attachment in self._all(
                clients.compute.list_volume_attachments, compartment, instance_id=instance_id
            ):
                if attachment.lifecycle_state in ("ATTACHING", "ATTACHED"):
                    clients.compute.detach_volume(attachment.id)
                    self._wait(
                        clients.compute, clients.compute.get_volume_attachment(attachment.id), "DETACHED"
                    )
            self._terminate(clients, compartment, instance_id)

        with translated(secrets=clients.secrets):
            self._each(list(self._instances(unit, nodes).values()), delete)

    def power(self, unit: UnitContext, nodes: list[NodeRequest], action: str) -> None:
        """power_off = STOP, stop/suspend = SOFTSTOP (a graceful shutdown), power_on/start/resume
        = START; each waits for STOPPED or RUNNING."""
        on = settings.powers_on(action)
        verb = "START" if on else ("STOP" if action == "power_off" else "SOFTSTOP")
        if not nodes:
            return
        clients = self.clients(unit)
        with translated(secrets=clients.secrets):
            self._each(
                list(self._instances(unit, nodes).values()),
                lambda instance_id: clients.compute_ops.instance_action_and_wait_for_state(
                    instance_id,
                    verb,
                    wait_for_states=["RUNNING" if on else "STOPPED"],
                    waiter_kwargs=self.waiter_kwargs,
                ),
            )

    def describe(self, unit: UnitContext, nodes: list[NodeRequest]) -> dict[str, str]:
        """``{node_id: RUNNING | POWER_OFF | DELETED}``: the instances re-discovered by tag."""
        if not nodes:
            return {}
        clients = self.clients(unit)
        with translated(secrets=clients.secrets):
            found = self._tagged(unit, "instances", [n.node_id for n in nodes])
        report = {}
        for node in nodes:
            instance = found.get(node.node_id)
            if instance is None:
                report[node.node_id] = "DELETED"
            else:
                up = instance.lifecycle_state in ("RUNNING", "STARTING", "PROVISIONING")
                report[node.node_id] = "RUNNING" if up else "POWER_OFF"
        return report

    # -- disks -------------------------------------------------------------------------------

    def create_disks(self, unit: UnitContext, disks: list[base.DiskRequest]) -> list[base.DiskResult]:
        """One block volume per request (empty, or a clone of the volume OCID ``cloud_image``), at
        most ``max_concurrent_creates`` at once; a failure deletes those that were made."""
        if not disks:
            return []
        clients, entry = self.clients(unit), self._entry(unit)
        models = self._oci.core.models
        params = unit.cloud_params
        ref = str(params.get("cloud_image") or "")
        source = ref if ref and ref != "default" else ""
        for disk in disks:
            size = int(disk.size_gb or params.get("size_in_gbs") or (0 if source else MIN_VOLUME_GB))
            if size and not MIN_VOLUME_GB <= size <= MAX_VOLUME_GB:
                raise OCI_CODES.error(
                    "InvalidParameter", f"size_in_gbs {size} is outside {MIN_VOLUME_GB}..{MAX_VOLUME_GB}"
                )
        compartment = str(entry["oracle_compartment_id"])
        made: dict[str, str] = {}
        lock = threading.Lock()

        def create(disk: base.DiskRequest) -> base.DiskResult:
            size = int(disk.size_gb or params.get("size_in_gbs") or (0 if source else MIN_VOLUME_GB))
            details = models.CreateVolumeDetails(
                availability_domain=str(entry["oracle_availability_domain"]),
                compartment_id=str(entry["oracle_compartment_id"]),
                display_name=f"vcp-{disk.disk_id}",
                size_in_gbs=size or None,  # a clone without a size of its own: the source's
                freeform_tags=self._tags(unit, disk.disk_id),
                source_details=models.VolumeSourceFromVolumeDetails(id=source) if source else None,
            )
            with _noting(made, disk.disk_id, lock):
                volume = clients.blockstorage_ops.create_volume_and_wait_for_state(
                    details,
                    wait_for_states=["AVAILABLE"],
                    operation_kwargs={"opc_retry_token": f"vcp-{self.controller_id[:8]}-{disk.disk_id}"[:64]},
                    waiter_kwargs=self.waiter_kwargs,
                ).data
            with lock:
                made[disk.disk_id] = str(volume.id)
            return base.DiskResult(
                disk_id=disk.disk_id,
                cloud_disk_id=str(volume.id),
                size_gb=int(volume.size_in_gbs or size),
                backend_data={
                    "volume_id": str(volume.id),
                    "compartment_id": str(entry["oracle_compartment_id"]),
                },
            )

        def drop() -> None:
            try:
                with lock:
                    known = dict(made)
                known.update(
                    {
                        d: str(v.id)
                        for d, v in self._tagged(unit, "volumes", [d.disk_id for d in disks]).items()
                    }
                )
                self._each(list(known.values()), lambda v: self._delete(clients, compartment, "volumes", v))
            except Exception as e:
                self._log_failed_cleanup("deleting the volumes of a failed create", e, clients.secrets)

        with translated(cleanup=drop, secrets=clients.secrets):
            return self._each(disks, create)

    def delete_disks(self, unit: UnitContext, disks: list[base.DiskRequest]) -> None:
        """Delete the block volumes and wait; a volume still attached to an instance is refused
        (409 ``IncorrectState``) and left as it is."""
        if not disks:
            return
        clients = self.clients(unit)
        compartment = str(self._entry(unit)["oracle_compartment_id"])

        def delete(volume_id: str) -> None:
            attached = [
                a
                for a in self._all(clients.compute.list_volume_attachments, compartment, volume_id=volume_id)
                if a.lifecycle_state in ("ATTACHING", "ATTACHED", "DETACHING")
            ]
            if attached:
                raise OCI_CODES.error(
                    "IncorrectState",
                    f"volume {volume_id} is attached to instance {attached[0].instance_id}; "
                    "delete the node first",
                )
            self._delete(clients, compartment, "volumes", volume_id)

        with translated(secrets=clients.secrets):
            ids = {
                d.disk_id: str(d.backend_data["volume_id"]) for d in disks if d.backend_data.get("volume_id")
            }
            missing = [d.disk_id for d in disks if d.disk_id not in ids]
            if missing:
                ids.update({d: str(v.id) for d, v in self._tagged(unit, "volumes", missing).items()})
            self._each(list(ids.values()), delete)

    # -- leftovers -----------------------------------------------------------------------------

    def sweep(self, unit: UnitContext) -> None:
        """Delete what is still tagged for ``unit`` in its compartment, the leftovers of
        failures; called when the unit is deleted, after its nodes or disks.

        Its instances are terminated first (their volumes detach), then its volumes; a volume
        another instance still has attached is left alone (not a leftover).
        """
        clients = self.clients(unit)
        compartment = str(self._entry(unit)["oracle_compartment_id"])
        tags = {TAG_VCID: unit.vcid, TAG_UNIT: unit.unit_name}
        with translated(secrets=clients.secrets):
            instances = self._ours(clients, "instances", compartment, **tags)
            volumes = self._ours(clients, "volumes", compartment, **tags)
            if not instances and not volumes:
                return
            logger.warning(
                "deleting leftovers of unit %s: %s",
                unit.unit_name,
                ", ".join(str(i.display_name) for i in [*instances, *volumes]),
            )
            self._each([str(i.id) for i in instances], lambda i: self._terminate(clients, compartment, i))
            attached = {
                a.volume_id
                for a in self._all(clients.compute.list_volume_attachments, compartment)
                if a.lifecycle_state in ("ATTACHING", "ATTACHED")
            }
            strays = [str(v.id) for v in volumes if v.id not in attached]
            self._each(strays, lambda v: self._delete(clients, compartment, "volumes", v))
