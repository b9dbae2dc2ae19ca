"""The Sakura Cloud backend: ``sakura`` servers and ``sakura_disk`` disks over IaaS API 1.1.

Operators enable it with a ``backends`` section (``vcc serve --backends FILE``)::

    sakura:
      sakura_token: ...                  # or SAKURACLOUD_ACCESS_TOKEN (or the users' cloud_params)
      sakura_secret: ...                 # or SAKURACLOUD_ACCESS_TOKEN_SECRET; never logged
      max_concurrent_creates: 8          # servers of one request created at once
      controller_address: 172.30.2.10    # VCCCTR_IPADDR given to the Base containers
      default_archive: Ubuntu Server 22.04
      vpn_catalog:
        default:
          sakura_local_switch_id: "112900000001"
          sakura_private_subnet_gateway_ip: 172.30.2.1
          sakura_zone: is1a
          private_network_ipmask: 172.30.2.0/24
          sakura_default_image: ...      # optional: the archive of cloud_image 'default'

``api_root`` points the client at another endpoint (``{zone}`` is filled in: the fake of
the tests and of rehearsal mode); ``poll_interval``, ``shutdown_timeout``, ``wait_timeout``
and ``retry_*`` tune the waits and retries.  What each operation sends is described in
``docs/sakura.md``.  Sakura names nothing after our ids, so every resource carries the tags
``vcp`` and ``vcp-ctl-<controller>`` and a description of ``key=value`` lines
(``vcp-node-id=...``): deletes, cleanups of failed creates and a restarted controller find
them by those.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from vcpsdk.controller.backends import base
from vcpsdk.controller.backends.base import Backend, NodeRequest, NodeResult, UnitContext
from vcpsdk.controller.backends.sakura.client import (
    API_ROOT,
    DiskConfig,
    DiskSpec,
    SakuraApiError,
    SakuraClient,
    ServerSpec,
)
from vcpsdk.controller.backends.sakura.errors import SAKURA_CODES, map_error
from vcpsdk.controller.backends.toolkit import batches, bootstrap, settings
from vcpsdk.controller.backends.toolkit.addresses import AddressPolicy, Network, plan_addresses
from vcpsdk.controller.backends.toolkit.errors import (
    CloudTimeoutError,
    InvalidRequest,
    clean_message,
    ignore_missing,
    translating,
    unchained_if_secret,
)
from vcpsdk.controller.backends.toolkit.retry import RetryPolicy
from vcpsdk.controller.backends.toolkit.settings import declared_param
from vcpsdk.core.providers import get_provider

logger = logging.getLogger("vcp.controller.sakura")

#: the archive of ``cloud_image: default`` when neither the catalog nor the section names one
DEFAULT_ARCHIVE = "Ubuntu Server 22.04"
#: the plan ids of ``/product/disk`` (Sakura's numbers) of the plans the provider declares
PLAN_IDS = {"ssd": 4, "hdd": 2}


#: ``sakuracloud_disk_plan`` (the choices of the declaration) → the plan id of ``/product/disk``
DISK_PLANS = {
    str(name): PLAN_IDS[str(name)]
    for name in get_provider("sakura").field_named("sakuracloud_disk_plan").choices or ()  # type: ignore[union-attr]
}
#: the catalog entry keys a compute unit needs
COMPUTE_KEYS = ("sakura_local_switch_id", "sakura_private_subnet_gateway_ip", "sakura_zone")
#: the environment variables of the operator's credentials (the vendor's tools use them too),
#: in the order of the provider's declared ``credentials``
ENVIRONMENT = dict(
    zip(
        get_provider("sakura").credentials,
        ("SAKURACLOUD_ACCESS_TOKEN", "SAKURACLOUD_ACCESS_TOKEN_SECRET"),
        strict=True,
    )
)
TAG = "vcp"
SAKURA_IDENTITY = bootstrap.NodeIdentity(cloud="Sakura Cloud")

_T = TypeVar("_T")
#: a catalog entry, the addresses in use, and one planned address (or None) per node
Entry = dict[str, Any]
InUse = AbstractSet[str | None]
Planned = list[str | None]
_R = TypeVar("_R")


def bootstrap_script(
    unit: UnitContext, node: NodeRequest, *, controller_id: str = "", controller_address: str = ""
) -> str:
    """The startup script of a server: the toolkit's bootstrap script with the node's fixed
    address and id written in.  It carries ``params_e`` values: never log it."""
    return bootstrap.bootstrap_script(
        unit, node, SAKURA_IDENTITY, controller_id=controller_id, controller_address=controller_address
    )


def describe_text(fields: dict[str, str]) -> str:
    """A resource's description: one ``key=value`` line per field."""
    return "\n".join(f"{key}={value}" for key, value in fields.items())


def parse_description(text: str | None) -> dict[str, str]:
    """The ``key=value`` lines of a description (other lines are ignored).

    Example::

        >>> parse_description("vcp-node-id=n1\\nhello")
        {'vcp-node-id': 'n1'}
    """
    found = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("vcp-"):
            found[key.strip()] = value.strip()
    return found


@dataclass(frozen=True)
class SakuraSettings:
    """The section's tuning knobs (waits, retries, concurrency)."""

    max_concurrent_creates: int = 8
    poll_interval: float = 2.0
    shutdown_timeout: float = 120.0
    wait_timeout: float = 900.0
    request_timeout: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    @classmethod
    def parse(cls, config: dict[str, Any]) -> SakuraSettings:
        """The knobs of a backends section (defaults for those it does not set)."""
        retry = RetryPolicy(
            max_attempts=int(config.get("retry_attempts", 5)),
            initial=float(config.get("retry_initial", 1.0)),
            maximum=float(config.get("retry_maximum", 30.0)),
        )
        return cls(
            max_concurrent_creates=max(1, int(config.get("max_concurrent_creates", 8))),
            poll_interval=float(config.get("poll_interval", 2.0)),
            shutdown_timeout=float(config.get("shutdown_timeout", 120.0)),
            wait_timeout=float(config.get("wait_timeout", 900.0)),
            request_timeout=float(config.get("request_timeout", 60.0)),
            retry=retry,
        )


class SakuraBackend(Backend):
    """Sakura Cloud servers (a disk copied from an archive, one NIC on the local switch) and disks."""

    name = "sakura"

    def __init__(self, config: dict[str, Any], controller_id: str) -> None:
        self.controller_id = str(controller_id)
        config = dict(config or {})
        self.controller_address = str(config.get("controller_address") or "")
        self.knobs = SakuraSettings.parse(config)
        self.max_concurrent_creates = self.knobs.max_concurrent_creates
        self.default_archive = str(config.get("default_archive") or DEFAULT_ARCHIVE)
        self.api_root = str(config.get("api_root") or API_ROOT)
        # the section's literal values, else the environment
        self._operator = tuple(
            str(config[key]) if settings.literal(config.get(key)) else os.environ.get(variable, "")
            for key, variable in ENVIRONMENT.items()
        )
        self._catalog = settings.parse_catalog(config, "sakura")
        self._clients: dict[tuple[str, str, str], SakuraClient] = {}
        self._cache: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.controller_tag = f"vcp-ctl-{re.sub('[^0-9a-zA-Z]', '', self.controller_id)[:16]}"

    # -- clients -------------------------------------------------------------------------------

    def _credentials(self, unit: UnitContext | None) -> tuple[str, str]:
        """(token, secret): the unit's literal ones, else the operator's."""
        params = unit.cloud_params if unit else {}
        if all(settings.literal(params.get(k)) for k in ENVIRONMENT):
            return str(params["sakura_token"]), str(params["sakura_secret"])
        if not all(self._operator):
            raise SAKURA_CODES.error(
                "no_credentials",
                "no Sakura Cloud credentials: set sakura_token and sakura_secret in vcp_config.yml "
                "or in the controller's sakura backend section (or SAKURACLOUD_ACCESS_TOKEN and "
                "SAKURACLOUD_ACCESS_TOKEN_SECRET)",
            )
        return self._operator[0], self._operator[1]

    def client(self, unit: UnitContext, zone: str) -> SakuraClient:
        """The API client of ``zone`` with ``unit``'s credentials (one per zone and credentials)."""
        token, secret = self._credentials(unit)
        root = self.api_root.replace("{zone}", zone)
        key = (root, token, secret)
        with self._lock:
            made = self._clients.get(key)
            if made is None:
                made = SakuraClient(
                    root,
                    token,
                    secret,
                    timeout=self.knobs.request_timeout,
                    retry=self.knobs.retry,
                    poll_interval=self.knobs.poll_interval,
                    pool_size=self.max_concurrent_creates + 2,
                )
                self._clients[key] = made
        return made

    def _secrets(self, unit: UnitContext | None = None) -> tuple[str, ...]:
        params = unit.cloud_params if unit else {}
        values = (*self._operator, *(str(params.get(k) or "") for k in get_provider("sakura").secrets))
        return tuple(s for s in values if s)

    def close(self) -> None:
        """Close the HTTP sessions."""
        with self._lock:
            made, self._clients = list(self._clients.values()), {}
        settings.close_quietly(made, "a Sakura client")

    # -- catalog and addresses -----------------------------------------------------------------

    def vpn_catalog(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The operator's catalog, served for every compute provider of config section ``sakura``."""
        return settings.served_catalog(self._catalog, "sakura")

    def _entry(self, unit: UnitContext, keys: Iterable[str] = ("sakura_zone",)) -> dict[str, Any]:
        return settings.complete_catalog_entry(
            unit, self._catalog, keys, lambda message: SAKURA_CODES.error("invalid_parameter", message)
        )

    def plan_addresses(
        self, provider: str, catalog: Entry, fixed: list[str], count: int, in_use: InUse
    ) -> Planned:
        """Fixed IPs checked against ``private_network_ipmask`` (not the network, broadcast or
        gateway address), the others the next free ones of the mask (never the gateway nor the
        controller's address): Sakura's switches have no DHCP, so the controller chooses every
        address."""
        gateway = str(catalog.get("sakura_private_subnet_gateway_ip") or "")

        def not_gateway(address: Any, network: Network | None) -> str | None:
            return (
                f"is the gateway of {network or 'the switch'}; use another address"
                if str(address) == gateway
                else None
            )

        policy = AddressPolicy(check=not_gateway)
        taken = set(in_use) | {gateway, self.controller_address}
        return plan_addresses(provider, catalog, fixed, count, taken, policy)

    # -- helpers ---------------------------------------------------------------------------------

    def _description(self, unit: UnitContext, role: str, item_id: str) -> str:
        key = "vcp-disk-id" if role == "disk" else "vcp-node-id"
        return describe_text(
            {
                "vcp-controller": self.controller_id,
                "vcp-vcid": unit.vcid,
                "vcp-ugroup": unit.vc_name,
                "vcp-unit": unit.unit_name,
                "vcp-role": role,
                key: item_id,
            }
        )

    @property
    def tags(self) -> list[str]:
        """The tags of every resource this controller makes."""
        return [TAG, self.controller_tag]

    def _ours(
        self, resources: Iterable[Any], key: str, ids: Iterable[str], role: str | None = None
    ) -> list[Any]:
        """The ``resources`` this controller made for ``ids`` (by their description)."""
        wanted = set(ids)
        found = []
        for resource in resources:
            fields = parse_description(resource.get("Description"))
            if fields.get("vcp-controller") != self.controller_id or fields.get(key) not in wanted:
                continue
            if role is None or fields.get("vcp-role") == role:
                found.append(resource)
        return found

    def _each(self, items: list[_T], work: Callable[[_T], _R]) -> list[_R]:
        """``work`` on every item, at most ``max_concurrent_creates`` at once (the toolkit's
        :func:`~vcpsdk.controller.backends.toolkit.batches.each`)."""
        return batches.each(items, work, limit=self.max_concurrent_creates, name="vcc-sakura")

    @staticmethod
    def _ignore_missing(call: Callable[[], Any]) -> None:
        """``call()``; a "not found" answer means it is gone already (fine)."""
        ignore_missing(call, lambda e: isinstance(e, SakuraApiError) and e.not_found)

    @contextlib.contextmanager
    def _translated(self, unit: UnitContext, cleanup: Callable[[], None] | None = None) -> Iterator[None]:
        """Run a block; on an API error run ``cleanup`` and raise the typed error, the unit's
        credentials masked (and not chained to an error that repeats them)."""
        secrets = self._secrets(unit)
        with unchained_if_secret(secrets), translating(map_error, cleanup, secrets):
            yield

    def _dropper(self, unit: UnitContext, what: str, remove: Callable[[], None]) -> Callable[[], None]:
        """The cleanup of a failed create: ``remove()``; its own failure is logged, masked."""

        def drop() -> None:
            try:
                remove()
            except Exception as e:
                logger.error(
                    "sakura: %s failed (leftovers carry tag %s; deleting the unit sweeps them): %s",
                    what,
                    TAG,
                    self._masked(e, unit),
                )

        return drop

    def _masked(self, error: BaseException, unit: UnitContext | None) -> str:
        """What a log line may say about ``error``: its mapped message, credentials masked."""
        secrets = self._secrets(unit)
        mapped = map_error(error, secrets)
        if mapped is not None:
            return str(mapped)
        return clean_message(f"{type(error).__name__}: {error}", secrets)

    def _server_plan(self, client: SakuraClient, zone: str, cores: int, memory_gb: int) -> int:
        plans = self._cached((client.api_root, "server plans"), client.server_plans)
        usable = [p for p in plans if p.get("Availability", "available") == "available"]
        for plan in usable:
            if plan.get("CPU") == cores and plan.get("MemoryMB") == memory_gb * 1024:
                return int(plan["ID"])
        by_cores: dict[int, list[int]] = {}
        for plan in usable:
            by_cores.setdefault(int(plan.get("CPU", 0)), []).append(int(plan.get("MemoryMB", 0)) // 1024)
        allowed = "; ".join(
            f"{c} core{'s' if c > 1 else ''}: {', '.join(str(m) for m in sorted(set(ms)))} GB"
            for c, ms in sorted(by_cores.items())
        )
        raise SAKURA_CODES.error(
            "invalid_parameter",
            f"no server plan with num_cores={cores} and memory={memory_gb} GB in zone {zone}; "
            f"allowed plans: {allowed}",
        )

    def _disk_plan(self, client: SakuraClient, zone: str, plan_name: str, size_gb: int) -> int:
        plan_id = DISK_PLANS.get(str(plan_name).lower())
        if plan_id is None:
            raise SAKURA_CODES.error(
                "invalid_parameter",
                f"sakuracloud_disk_plan {plan_name!r} is not one of {', '.join(DISK_PLANS)}",
            )
        plans = self._cached((client.api_root, "disk plans"), client.disk_plans)
        plan = next((p for p in plans if int(p.get("ID", 0)) == plan_id), None)
        if plan is None:
            raise SAKURA_CODES.error(
                "invalid_parameter", f"disk plan {plan_name} is not offered in zone {zone}"
            )
        sizes = sorted(
            int(s.get("SizeMB", 0)) // 1024
            for s in plan.get("Size", [])
            if s.get("Availability", "available") == "available"
        )
        if size_gb not in sizes:
            raise SAKURA_CODES.error(
                "invalid_parameter",
                f"sakuracloud_disk_size {size_gb} GB is not offered for the {plan_name} plan in zone {zone}; "
                f"allowed sizes (GB): {', '.join(str(s) for s in sizes)}",
            )
        return plan_id

    def _cached(self, key: tuple[str, str], fetch: Callable[[], _T]) -> _T:
        """``fetch()`` once per ``key`` (plans and archives hardly change while a controller runs)."""
        with self._lock:
            if key in self._cache:
                return cast(_T, self._cache[key])
        value = fetch()
        with self._lock:
            self._cache[key] = value
        return value

    def _archive(self, client: SakuraClient, zone: str, ref: str) -> tuple[str, int]:
        """(archive id, size in GB) of an archive named by id or by name."""

        def find() -> tuple[str, int]:
            if ref.isdigit():
                archive = client.get_archive(ref)
            else:
                candidates = client.archives(ref)
                exact = [a for a in candidates if a.get("Name") == ref]
                if len(exact) != 1 and len(candidates) != 1:
                    names = ", ".join(sorted(str(a.get("Name")) for a in candidates)[:10]) or "none"
                    raise SAKURA_CODES.error(
                        "not_found" if not candidates else "invalid_parameter",
                        f"cloud_image {ref!r} names no single archive in zone {zone} "
                        f"(archives named like it: {names})",
                    )
                archive = (exact or candidates)[0]
            return str(archive["ID"]), int(archive.get("SizeMB", 0)) // 1024

        return self._cached((client.api_root, f"archive {ref}"), find)

    # -- nodes ---------------------------------------------------------------------------------

    def create_nodes(self, unit: UnitContext, nodes: list[NodeRequest]) -> list[NodeResult]:
        """Per node, up to ``max_concurrent_creates`` at once: a server, a NIC on the local switch
        with the node's address, a startup-script note, a disk copied from the archive and edited
        (address, host name, the note), the ``spec.disks`` connected, boot, wait until up.

        A re-run of a create that was interrupted (the worker re-queues it after a restart)
        first looks each node up by description: a server that is up is kept and returned,
        anything half-made of the node (a server not up, a boot disk, a note) is removed and
        made again.  On any failure every server, disk and note of these nodes is removed
        before the error is raised, but the servers a re-run found up.
        """
        if not nodes:
            return []
        entry = self._entry(unit, (*COMPUTE_KEYS, "private_network_ipmask"))
        zone = str(entry["sakura_zone"])
        params = unit.cloud_params
        try:
            network = ipaddress.ip_network(str(entry["private_network_ipmask"]), strict=False)
        except ValueError:
            raise SAKURA_CODES.error(
                "invalid_parameter",
                f"private_network_ipmask {entry['private_network_ipmask']!r} of the VPN catalog entry "
                "is not a network (e.g. 172.30.2.0/24)",
            ) from None
        switch = str(entry["sakura_local_switch_id"])
        gateway = str(entry["sakura_private_subnet_gateway_ip"])
        keys = [k for k in bootstrap.as_list(params.get("ssh_public_keys")) if k]
        with self._translated(unit):
            client = self.client(unit, zone)
            plan = self._server_plan(
                client,
                zone,
                int(declared_param(unit, "sakura", "num_cores")),
                int(declared_param(unit, "sakura", "memory")),
            )
            size = int(declared_param(unit, "sakura", "sakuracloud_disk_size"))
            plan_name = str(declared_param(unit, "sakura", "sakuracloud_disk_plan"))
            disk_plan = self._disk_plan(client, zone, plan_name, size)
            ref = str(params.get("cloud_image") or "default")
            if ref == "default":
                ref = str(entry.get("sakura_default_image") or self.default_archive)
            archive, archive_gb = self._archive(client, zone, ref)
            if size < archive_gb:
                raise SAKURA_CODES.error(
                    "invalid_parameter",
                    f"sakuracloud_disk_size {size} GB is smaller than the archive {ref!r} ({archive_gb} GB)",
                )
            # what an interrupted run of this create left: kept when up, else removed first
            node_ids = [n.node_id for n in nodes]
            servers = self._ours(client.servers(self.tags), "vcp-node-id", node_ids)
            boot = self._ours(client.disks(self.tags), "vcp-node-id", node_ids, role="boot")
            notes = self._ours(client.notes(self.tags), "vcp-node-id", node_ids)
        up = {self._node_of(s): s for s in servers if (s.get("Instance") or {}).get("Status") == "up"}
        half_made = {self._node_of(r) for r in (*servers, *boot, *notes)}

        def result(node: NodeRequest, server_id: str, disk_id: str) -> NodeResult:
            return NodeResult(
                node_id=node.node_id,
                instance_id=server_id,
                address=str(node.address),
                volumes=[
                    {"volume_id": d.cloud_disk_id, "device_name": f"/dev/vd{chr(ord('b') + i)}"}
                    for i, d in enumerate(node.disks)
                ],
                backend_data={"server_id": server_id, "disk_id": disk_id, "zone": zone},
            )

        def create(node: NodeRequest) -> NodeResult:
            if not node.address:
                raise InvalidRequest(f"node {node.node_id} has no address (Sakura switches have no DHCP)")
            name = f"vcp-{node.node_id}"[:64]
            kept = up.get(node.node_id)
            if kept is not None:  # made by the interrupted run: keep it, drop any duplicate
                self._remove(client, [node.node_id], keep={str(kept["ID"])})
                disk_id = next(
                    (str(d["ID"]) for d in boot if (d.get("Server") or {}).get("ID") == str(kept["ID"])), ""
                )
                logger.info("sakura: server %s of node %s is up already; kept", kept["ID"], node.node_id)
                return result(node, str(kept["ID"]), disk_id)
            if node.node_id in half_made:
                self._remove(client, [node.node_id])
            server = client.create_server(
                ServerSpec(name, plan, self._description(unit, "node", node.node_id), self.tags)
            )
            server_id = str(server["ID"])
            nic = client.create_interface(server_id)
            client.connect_interface(str(nic["ID"]), switch)
            client.set_interface_address(str(nic["ID"]), str(node.address))
            script = bootstrap_script(
                unit, node, controller_id=self.controller_id, controller_address=self.controller_address
            )
            note = client.create_note(
                f"{name}-startup", script, self.tags, self._description(unit, "script", node.node_id)
            )
            config = DiskConfig(
                host_name=name,
                ip_address=str(node.address),
                gateway=gateway,
                mask_len=network.prefixlen,
                note_ids=[str(note["ID"])],
                ssh_keys=keys,
            )
            spec = DiskSpec(
                f"{name}-boot",
                disk_plan,
                size * 1024,
                self._description(unit, "boot", node.node_id),
                self.tags,
                archive,
            )
            disk = client.create_disk(spec, config)
            client.wait_disk(str(disk["ID"]), self.knobs.wait_timeout)
            client.delete_note(str(note["ID"]))  # edited into the disk: the script is not kept
            client.connect_disk(str(disk["ID"]), server_id)
            for extra in node.disks:
                client.connect_disk(extra.cloud_disk_id, server_id)
            client.boot(server_id)
            client.wait_power(server_id, "up", self.knobs.wait_timeout)
            logger.info("sakura: server %s of node %s is up in zone %s", server_id, node.node_id, zone)
            return result(node, server_id, str(disk["ID"]))

        what = "removing what a failed create made"
        working = {str(server["ID"]) for server in up.values()}  # a re-run never removes those
        drop = self._dropper(unit, what, lambda: self._remove(client, node_ids, keep=working))

        with self._translated(unit, drop):
            return self._each(nodes, create)

    @staticmethod
    def _node_of(resource: Any) -> str:
        """The node id in a resource's description ("" for none)."""
        return parse_description(resource.get("Description")).get("vcp-node-id", "")

    def _remove(
        self, client: SakuraClient, node_ids: list[str], keep: AbstractSet[str] = frozenset()
    ) -> None:
        """Stop (forced) and delete the servers of ``node_ids`` (but those in ``keep``) with their
        boot disks, wait until they are gone, then delete boot disks and startup-script notes
        no server holds."""
        found = self._ours(client.servers(self.tags), "vcp-node-id", node_ids)
        servers = [s for s in found if str(s["ID"]) not in keep]
        boot = self._ours(client.disks(self.tags), "vcp-node-id", node_ids, role="boot")

        def remove(server: dict[str, Any]) -> None:
            server_id = str(server["ID"])
            if server.get("Instance", {}).get("Status") != "down":
                self._ignore_missing(lambda: client.shutdown(server_id, force=True))
                client.wait_power(server_id, "down", self.knobs.wait_timeout)
            mine = [str(d["ID"]) for d in boot if (d.get("Server") or {}).get("ID") == server_id]
            self._ignore_missing(lambda: client.delete_server(server_id, with_disks=mine))
            client.wait_gone("server", server_id, self.knobs.wait_timeout)

        self._each(servers, remove)
        held = {str(s["ID"]) for s in found}
        loose = [str(d["ID"]) for d in boot if (d.get("Server") or {}).get("ID") not in held]
        self._each(loose, lambda disk_id: self._ignore_missing(lambda: client.delete_disk(disk_id)))
        notes = self._ours(client.notes(self.tags), "vcp-node-id", node_ids)
        self._each(notes, lambda note: self._ignore_missing(lambda: client.delete_note(str(note["ID"]))))

    def delete_nodes(self, unit: UnitContext, nodes: list[NodeRequest]) -> None:
        """Stop each node's server, delete it with its boot disk (``spec.disks`` are disconnected,
        not deleted) and wait until it is gone."""
        if not nodes:
            return
        zone = str(self._entry(unit)["sakura_zone"])
        with self._translated(unit):
            self._remove(self.client(unit, zone), [n.node_id for n in nodes])

    def _server_ids(self, client: SakuraClient, nodes: list[NodeRequest]) -> dict[str, str]:
        """``{node_id: server id}``: from the controller's records, else found by description."""
        found = {
            n.node_id: str(n.backend_data["server_id"]) for n in nodes if n.backend_data.get("server_id")
        }
        missing = [n.node_id for n in nodes if n.node_id not in found]
        if missing:
            for server in self._ours(client.servers(self.tags), "vcp-node-id", missing):
                found[parse_description(server.get("Description"))["vcp-node-id"]] = str(server["ID"])
        return found

    def power(self, unit: UnitContext, nodes: list[NodeRequest], action: str) -> None:
        """power_on/start/resume = boot; power_off/stop/suspend = ACPI shutdown, forced after
        ``shutdown_timeout`` seconds; each waits until the server is up or down."""
        on = settings.powers_on(action)
        if not nodes:
            return
        zone = str(self._entry(unit)["sakura_zone"])
        with self._translated(unit):
            client = self.client(unit, zone)
            ids = self._server_ids(client, nodes)
            lost = [n.node_id for n in nodes if n.node_id not in ids]
            if lost:
                raise SAKURA_CODES.error("not_found", f"no server for node(s) {', '.join(lost)}")

            def switch(server_id: str) -> None:
                status = client.power_status(server_id)
                if on:
                    if status != "up":
                        client.boot(server_id)
                        client.wait_power(server_id, "up", self.knobs.wait_timeout)
                    return
                if status == "down":
                    return
                client.shutdown(server_id)
                try:
                    client.wait_power(server_id, "down", self.knobs.shutdown_timeout)
                except CloudTimeoutError:
                    logger.info("sakura: server %s ignored the shutdown; forcing it off", server_id)
                    client.shutdown(server_id, force=True)
                    client.wait_power(server_id, "down", self.knobs.wait_timeout)

            self._each([ids[n.node_id] for n in nodes], switch)

    def describe(self, unit: UnitContext, nodes: list[NodeRequest]) -> dict[str, str]:
        """``{node_id: RUNNING | POWER_OFF | DELETED}``: the servers re-discovered by tag and
        description, ``Instance.Status`` ``up`` → RUNNING."""
        if not nodes:
            return {}
        zone = str(self._entry(unit)["sakura_zone"])
        with self._translated(unit):
            servers = self._ours(
                self.client(unit, zone).servers(self.tags), "vcp-node-id", [n.node_id for n in nodes]
            )
        status = {
            parse_description(s.get("Description"))["vcp-node-id"]: s.get("Instance", {}).get("Status")
            for s in servers
        }
        return {
            n.node_id: "DELETED"
            if n.node_id not in status
            else ("RUNNING" if status[n.node_id] == "up" else "POWER_OFF")
            for n in nodes
        }

    def sweep(self, unit: UnitContext) -> None:
        """Remove what is still tagged and described for ``unit``, the leftovers of failures;
        called when the unit is deleted, after its nodes or disks.

        The servers (with their boot disks) and notes of every node id they name go first, then
        the unit's disks (``vcp-role=disk``) no server holds: a disk still connected to another
        unit's server is not a leftover.
        """
        zone = str(self._entry(unit)["sakura_zone"])
        with self._translated(unit):
            client = self.client(unit, zone)
            found = [
                r
                for r in (*client.servers(self.tags), *client.disks(self.tags), *client.notes(self.tags))
                if self._of_unit(r, unit)
            ]
            if not found:
                return
            logger.warning(
                "sakura: removing leftovers of unit %s: %s",
                unit.unit_name,
                ", ".join(str(r.get("Name") or r.get("ID")) for r in found),
            )
            node_ids = sorted({self._node_of(r) for r in found} - {""})
            if node_ids:
                self._remove(client, node_ids)
            loose = [
                str(d["ID"])
                for d in client.disks(self.tags)
                if self._of_unit(d, unit) and not (d.get("Server") or {}).get("ID")
            ]
            self._each(loose, lambda disk_id: self._ignore_missing(lambda: client.delete_disk(disk_id)))

    def _of_unit(self, resource: Any, unit: UnitContext) -> bool:
        """Whether this controller made ``resource`` for ``unit`` (by its description)."""
        fields = parse_description(resource.get("Description"))
        return (
            fields.get("vcp-controller") == self.controller_id
            and fields.get("vcp-vcid") == unit.vcid
            and fields.get("vcp-unit") == unit.unit_name
        )

    # -- disks ---------------------------------------------------------------------------------

    def create_disks(self, unit: UnitContext, disks: list[base.DiskRequest]) -> list[base.DiskResult]:
        """One disk per request (empty, or a copy of the archive ``cloud_image``) with the plan
        and its own size (the request's ``size_gb``, else ``sakuracloud_disk_size``), each
        size checked against the plan's, at most ``max_concurrent_creates`` at once, each
        waited for until available; a failure deletes those that were made."""
        if not disks:
            return []
        zone = str(self._entry(unit)["sakura_zone"])
        params = unit.cloud_params
        default_size = int(declared_param(unit, "sakura_disk", "sakuracloud_disk_size"))
        plan_name = str(declared_param(unit, "sakura_disk", "sakuracloud_disk_plan"))
        sizes = {d.disk_id: int(d.size_gb or default_size) for d in disks}
        with self._translated(unit):
            client = self.client(unit, zone)
            plan = 0
            for size in sorted(set(sizes.values())):
                plan = self._disk_plan(client, zone, plan_name, size)
            ref = str(params.get("cloud_image") or "default")
            archive = self._archive(client, zone, ref)[0] if ref != "default" else None

        def create(disk: base.DiskRequest) -> base.DiskResult:
            size = sizes[disk.disk_id]
            spec = DiskSpec(
                f"vcp-{disk.disk_id}"[:64],
                plan,
                size * 1024,
                self._description(unit, "disk", disk.disk_id),
                self.tags,
                archive,
            )
            made = client.create_disk(spec)
            client.wait_disk(str(made["ID"]), self.knobs.wait_timeout)
            return base.DiskResult(
                disk_id=disk.disk_id,
                cloud_disk_id=str(made["ID"]),
                size_gb=size,
                backend_data={"cloud_disk_id": str(made["ID"]), "zone": zone},
            )

        def remove() -> None:
            made = self._ours(client.disks(self.tags), "vcp-disk-id", [d.disk_id for d in disks])
            self._each(made, lambda d: self._ignore_missing(lambda: client.delete_disk(str(d["ID"]))))

        drop = self._dropper(unit, "deleting the disks of a failed create", remove)

        with self._translated(unit, drop):
            return self._each(disks, create)

    def delete_disks(self, unit: UnitContext, disks: list[base.DiskRequest]) -> None:
        """Delete the disks; a disk still connected to a server is refused (``still_connected``)."""
        if not disks:
            return
        zone = str(self._entry(unit)["sakura_zone"])
        with self._translated(unit):
            client = self.client(unit, zone)
            ids = {d.disk_id: str(d.backend_data.get("cloud_disk_id") or "") for d in disks}
            if not all(ids.values()):
                for found in self._ours(client.disks(self.tags), "vcp-disk-id", ids):
                    ids[parse_description(found.get("Description"))["vcp-disk-id"]] = str(found["ID"])

            def delete(cloud_id: str) -> None:
                try:
                    disk = client.get_disk(cloud_id)
                except SakuraApiError as e:
                    if e.not_found:
                        return
                    raise
                server = (disk.get("Server") or {}).get("ID")
                if server:
                    raise SAKURA_CODES.error(
                        "still_connected",
                        f"disk {cloud_id} is connected to server {server}; delete the node first",
                    )
                self._ignore_missing(lambda: client.delete_disk(cloud_id))

            self._each([i for i in ids.values() if i], delete)
