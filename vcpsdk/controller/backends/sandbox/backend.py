"""The sandbox backend: every provider, offline, on loopback addresses.

Nodes get addresses in their provider's ``private_network_ipmask`` (a range inside
127.0.0.0/8), disks are directories under the state dir, and booting takes a
configurable delay so that users see the same BOOTING → RUNNING flow as on a
cloud.  Nothing here ever talks to an address outside 127.0.0.0/8 — except inside the
private network namespace of ``vcc sandbox run`` (``network.py``), where nodes get the
notebooks' own addresses (``172.30.2.0/24``...) on ``lo`` and no traffic can leave.

Nodes accept ``root`` and ``vcp`` (the Base container's users, ``users.py``).

Node sessions are confined with bubblewrap (``confine.py``) when the host allows it
(probed once at start).  A host that cannot confine hosts the nodes of one user at a
time: creating nodes for a user while another user's nodes exist fails, naming
``--allow-unconfined-nodes``, unless the operator passed that flag.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Collection
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from vcpsdk.controller.backends.base import (
    DATA_DEVICES,
    Backend,
    DiskRequest,
    DiskResult,
    InvalidRequest,
    NodeRequest,
    NodeResult,
    UnitContext,
)
from vcpsdk.controller.backends.sandbox.confine import (
    DISK_ROOT,
    OPT_OUT_FLAG,
    PING_HINT,
    Confinement,
    SessionLimits,
    ping_allowed,
    widest_group_range,
)
from vcpsdk.controller.backends.sandbox.network import (
    PRIVATE_ADDRESS_POLICY,
    NodeAddresses,
    check_private_namespace,
    private_catalog,
    private_network_requested,
)
from vcpsdk.controller.backends.sandbox.nodes import DEFAULT_UID_BASE, NodeConfig, NodeHub
from vcpsdk.controller.backends.sandbox.users import BASE_USER
from vcpsdk.controller.backends.toolkit.addresses import Address, AddressPolicy, Network
from vcpsdk.controller.backends.toolkit.bootstrap import container_environment
from vcpsdk.controller.settings import Limits

logger = logging.getLogger("vcp.controller")
#: written at start: whether this controller's nodes are confined (``vcc sandbox status``)
CONFINEMENT_FILE = "confinement.json"
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
#: kept for the controller itself (127.0.0.1) and for local services
RESERVED = ipaddress.ip_network("127.0.0.0/16")
#: automatic addresses start at this host offset, like a cloud subnet's first hosts
FIRST_AUTO_OFFSET = 10
#: volume ids of sandbox disks (and the names of their directories under ``disks/``)
DISK_PREFIX = "sbx-vol-"
#: a disk directory being made (renamed to its volume id once whole)
PARTIAL_PREFIX = ".partial-"
#: environment variable: seconds each new sandbox disk takes (widens crash windows in tests)
DISK_DELAY_ENV = "VCC_SANDBOX_DISK_DELAY"


def _loopback_only(address: Address, network: Network | None) -> str | None:
    """The sandbox's own rule for fixed addresses: 127.0.0.0/8 outside 127.0.0.0/16."""
    if address not in LOOPBACK:
        return (
            "is not a loopback address: the sandbox accepts only 127.0.0.0/8 addresses"
            + (f" in {network}" if network else "")
            + "; for the notebooks' own addresses (e.g. 172.30.2.100) run the notebook in the private "
            "sandbox network: vcc sandbox run -- jupyter lab"
        )
    if address in RESERVED:
        return "lies in 127.0.0.0/16, which the sandbox keeps for local services; use an address" + (
            f" in {network}" if network else " in 127.1.0.0 - 127.255.255.255"
        )
    return None


#: automatic addresses from host offset 10 of the provider's range; loopback only
ADDRESS_POLICY = AddressPolicy(ipv4_only=False, first_auto_offset=FIRST_AUTO_OFFSET, check=_loopback_only)


def default_catalog() -> dict[str, dict[str, dict[str, Any]]]:
    """The sandbox VPN catalog shipped with the controller."""
    text = resources.files("vcpsdk.controller").joinpath("sandbox_catalog.yml").read_text()
    catalog: dict[str, dict[str, dict[str, Any]]] = yaml.safe_load(text)
    return catalog


class SandboxBackend(Backend):
    """Offline backend used for every provider unless another one is configured."""

    name = "sandbox"
    uses_credentials = False  # nothing to log into: credentials are passed through
    host_bound = True  # node endpoints listen in one process: the ``sandbox`` lease holder's
    address_policy = ADDRESS_POLICY

    def __init__(
        self,
        state_dir: Path,
        boot_delay: float = 0.5,
        catalog: dict[str, dict[str, dict[str, Any]]] | None = None,
        ssh_port: int = 22,
        fallback_ssh_port: int = 2222,
        bwrap: str = "bwrap",
        allow_unconfined_nodes: bool = False,
        limits: Limits | None = None,
        uid_base: int = DEFAULT_UID_BASE,
    ) -> None:
        self.state_dir = Path(state_dir)
        limits = limits or Limits()
        session_limits = SessionLimits(
            limits.node_processes_per_user, limits.node_file_bytes, limits.node_memory_bytes
        )
        self.confinement = Confinement(bwrap, limits=session_limits)
        self.uid_base = uid_base
        self.allow_unconfined_nodes = allow_unconfined_nodes
        self._hosting = threading.Lock()  # one owner check + provision at a time when unconfined
        self.boot_delay = boot_delay
        #: seconds each new disk takes (0; ``VCC_SANDBOX_DISK_DELAY`` for crash tests)
        self.disk_delay = float(os.environ.get(DISK_DELAY_ENV) or 0)
        #: inside ``vcc sandbox run``: the notebooks' own networks, addresses on ``lo`` while up
        self.private_network = private_network_requested()
        if self.private_network:
            check_private_namespace()
            self.address_policy = PRIVATE_ADDRESS_POLICY
            self._catalog = catalog or private_catalog(default_catalog())
        else:
            self._catalog = catalog or default_catalog()
            self._check_catalog()
        self._ssh_ports = (ssh_port, fallback_ssh_port)
        self._hub: NodeHub | None = None

    @property
    def hub(self) -> NodeHub:
        """The SSH endpoints of the nodes (started with the controller)."""
        if self._hub is None:
            self._probe_confinement()
            addresses = NodeAddresses() if self.private_network else None
            self._hub = NodeHub(
                self.state_dir,
                *self._ssh_ports,
                confinement=self.confinement,
                addresses=addresses,
                uid_base=self.uid_base,
            )
        return self._hub

    def _probe_confinement(self) -> None:
        """Find out once whether node sessions can be confined; tell the operator and
        ``vcc sandbox status`` (through ``<state dir>/confinement.json``)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.chmod(0o700)  # sessions never need to look in: bwrap mounts their files
        confined = self.confinement.probe(host_uid=self.uid_base)
        if confined:
            self._check_ping()
        else:
            policy = (
                "nodes of several users are allowed (--allow-unconfined-nodes)"
                if self.allow_unconfined_nodes
                else "only one user's nodes are hosted at a time"
            )
            logger.warning("sandbox nodes are NOT confined: %s; %s", self.confinement.reason, policy)
        status = {
            "confined": confined,
            "reason": self.confinement.reason,
            "allow_unconfined_nodes": self.allow_unconfined_nodes,
        }
        (self.state_dir / CONFINEMENT_FILE).write_text(json.dumps(status))

    def _check_ping(self) -> None:
        """Ping in nodes uses ICMP datagram sockets (the sessions have no ``CAP_NET_RAW``):
        the private namespace allows them for every group; on the host, warn once when
        ``net.ipv4.ping_group_range`` leaves the sessions' groups out."""
        if self.private_network:  # our own network namespace: its sysctl is ours
            low, high = widest_group_range()
            try:
                Path("/proc/sys/net/ipv4/ping_group_range").write_text(f"{low} {high}\n")
            except OSError as error:
                logger.warning("cannot allow ping in the private network: %s", error)
            return
        gid = self.uid_base + 1 if self.confinement.drops_privileges else os.getgid()
        if not ping_allowed(gid):
            logger.warning(
                "ping does not work in sandbox nodes (net.ipv4.ping_group_range); run: %s", PING_HINT
            )

    def check_hosting(self, owner: str) -> None:
        """Refuse nodes of ``owner`` while another user's nodes exist on a host that
        cannot confine them, unless the operator allowed it.

        Raises:
            InvalidRequest: naming the reason and ``--allow-unconfined-nodes``.
        """
        if not self.confinement.probed:  # a replica without the sandbox lease has no hub yet
            self.confinement.probe(host_uid=self.uid_base)
        if self.confinement.confined or self.allow_unconfined_nodes:
            return
        if self.hub.owners() - {owner}:
            raise InvalidRequest(
                f"sandbox nodes cannot be confined on this host ({self.confinement.reason}), so it "
                "hosts the nodes of one user at a time and another user's nodes exist; the operator "
                f"may allow unconfined nodes of several users with vcc serve {OPT_OUT_FLAG}"
            )

    def start(self) -> None:
        """Start the SSH endpoint runtime."""
        _ = self.hub

    def restore(self, nodes: list[NodeRequest]) -> None:
        """Bring back the SSH endpoints of running nodes after a controller restart."""
        if nodes:
            self.hub.start([n.node_id for n in nodes])

    def node_ssh_port(self) -> int | None:
        """The port every node endpoint of this controller run listens on."""
        return self.hub.port

    def close(self) -> None:
        """Close every SSH endpoint."""
        if self._hub is not None:
            self._hub.close()
            self._hub = None

    def _check_catalog(self) -> None:
        for provider, entries in self._catalog.items():
            for entry_name, entry in (entries or {}).items():
                mask = (entry or {}).get("private_network_ipmask")
                if mask is None:
                    continue
                network = ipaddress.ip_network(mask, strict=False)
                if not network.subnet_of(LOOPBACK) or network.overlaps(RESERVED):  # type: ignore[arg-type]
                    raise ValueError(
                        f"sandbox catalog {provider}.{entry_name}: private_network_ipmask "
                        f"{mask} must lie in 127.0.0.0/8 outside 127.0.0.0/16"
                    )

    def vpn_catalog(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The sandbox catalog (a copy)."""
        return {p: {n: dict(e or {}) for n, e in entries.items()} for p, entries in self._catalog.items()}

    # -- nodes ---------------------------------------------------------------------------

    def create_nodes(self, unit: UnitContext, nodes: list[NodeRequest]) -> list[NodeResult]:
        """Boot the nodes (one shared delay for the batch) and start their SSH endpoints.

        Raises:
            InvalidRequest: the host cannot confine nodes and another user's nodes exist.
        """
        self.check_hosting(unit.owner)
        if self.boot_delay > 0:
            time.sleep(self.boot_delay)
        configs, results = [], []
        for node in nodes:
            if node.address is None:
                raise InvalidRequest(f"node {node.node_id} has no planned address")
            disks = {DATA_DEVICES[i]: str(self._disk_dir(d.cloud_disk_id)) for i, d in enumerate(node.disks)}
            configs.append(self._node_config(unit, node, disks))
            instance_id = node.backend_data.get("instance_id") or f"sbx-{secrets.token_hex(8)}"
            results.append(
                NodeResult(
                    node_id=node.node_id,
                    instance_id=instance_id,
                    address=node.address,
                    volumes=[
                        {"volume_id": d.cloud_disk_id, "device_name": DATA_DEVICES[i]}
                        for i, d in enumerate(node.disks)
                    ],
                    backend_data={"instance_id": instance_id},
                )
            )
        if self.confinement.confined or self.allow_unconfined_nodes:
            port = self.hub.provision(configs)
        else:
            with self._hosting:  # two users' first nodes must not pass the check together
                self.check_hosting(unit.owner)
                port = self.hub.provision(configs)
        for result in results:
            result.ssh_port = port
        return results

    def _node_config(self, unit: UnitContext, node: NodeRequest, disks: dict[str, str]) -> NodeConfig:
        spec = unit.spec
        environment: dict[str, str] = {}
        authorized = ""
        for entry in spec.get("params_e") or []:
            key, _, value = str(entry).partition("=")
            if key == "AUTHORIZED_KEYS":
                authorized = _decode_keys(value)
            environment[key] = value
        home = self.hub.home(node.node_id)
        environment.update(
            container_environment(
                unit, node_id=node.node_id, address=str(node.address), controller_address="127.0.0.1"
            )
        )
        # where each attached disk is inside the node (unconfined: a link in the home)
        mounts = DISK_ROOT if self.confinement.confined else str(home / "mnt")
        for device in disks:
            environment[f"VCP_DISK_{Path(device).name.upper()}"] = f"{mounts}/{Path(device).name}"
        users = ["root", BASE_USER]  # the Base container's logins, plus the unit's own
        if spec.get("ssh_user_name") and spec["ssh_user_name"] not in users:
            users.append(spec["ssh_user_name"])
        return NodeConfig(
            node_id=node.node_id,
            address=str(node.address),
            users=users,
            environment=environment,
            authorized_keys=authorized,
            disks=disks,
            owner=unit.owner,
        )

    def delete_nodes(self, unit: UnitContext, nodes: list[NodeRequest]) -> None:
        """Close the nodes' endpoints and delete their files."""
        self.hub.destroy([n.node_id for n in nodes])

    def power(self, unit: UnitContext, nodes: list[NodeRequest], action: str) -> None:
        """power_off/suspend close the endpoints (files kept), stop releases the host;
        power_on/resume reopen them, start re-creates a released host at the same address."""
        ids = [n.node_id for n in nodes]
        if action == "stop":  # the host is released: start() builds a new one
            self.hub.release(ids)
        elif action in ("power_off", "suspend"):  # the host (and its files) stays
            self.hub.stop(ids)
        elif action in ("power_on", "start", "resume"):
            if self.boot_delay > 0:
                time.sleep(self.boot_delay)
            self.hub.start(ids)

    # -- disks ---------------------------------------------------------------------------

    def _disk_dir(self, cloud_disk_id: str) -> Path:
        return self.state_dir / "disks" / cloud_disk_id

    @staticmethod
    def cloud_disk_id(disk: DiskRequest) -> str:
        """The volume id of ``disk``: the one recorded, else one derived from its disk id.

        Derived, not random: a creation interrupted by a crash and run again finds (and
        reuses) the directory the first attempt made instead of making a second one.
        """
        recorded = disk.backend_data.get("cloud_disk_id")
        return str(recorded) if recorded else f"{DISK_PREFIX}{disk.disk_id[:16]}"

    def create_disks(self, unit: UnitContext, disks: list[DiskRequest]) -> list[DiskResult]:
        """Each disk is a directory under ``<state dir>/disks``, named after its disk id.

        The directory appears whole (made under a temporary name, then renamed), and
        making it again is a no-op, so a re-run after a crash reuses what was made.
        """
        results = []
        for disk in disks:
            cloud_disk_id = self.cloud_disk_id(disk)
            target = self._disk_dir(cloud_disk_id)
            if not target.is_dir():
                if self.disk_delay > 0:  # a slow disk (tests widen the crash window with it)
                    time.sleep(self.disk_delay)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.parent.chmod(0o700)  # only bwrap mounts them: no host account reaches in
                partial = target.with_name(f"{PARTIAL_PREFIX}{cloud_disk_id}")
                partial.mkdir(exist_ok=True)
                uid = self.hub.host_uid(unit.owner)
                if uid is not None:  # the owner's sessions write it
                    os.chown(partial, uid, uid)
                partial.rename(target)
            results.append(
                DiskResult(
                    disk_id=disk.disk_id,
                    cloud_disk_id=cloud_disk_id,
                    size_gb=disk.size_gb,
                    backend_data={"cloud_disk_id": cloud_disk_id},
                )
            )
        return results

    def delete_disks(self, unit: UnitContext, disks: list[DiskRequest]) -> None:
        """Remove the disks' directories (their data is gone), made or half-made."""
        for disk in disks:
            cloud_disk_id = self.cloud_disk_id(disk)
            shutil.rmtree(self._disk_dir(cloud_disk_id), ignore_errors=True)
            shutil.rmtree(self._disk_dir(f"{PARTIAL_PREFIX}{cloud_disk_id}"), ignore_errors=True)

    def sweep_disks(self, owned: Collection[str]) -> list[str]:
        """Remove every disk directory no disk of the store owns (after a crash).

        Args:
            owned: the disk ids and volume ids (``cloud_disk_id``) of every disk row.

        Returns:
            the names of the directories removed.
        """
        root = self.state_dir / "disks"
        if not root.is_dir():
            return []
        keep = set(owned)
        removed = []
        for entry in root.iterdir():
            name = entry.name.removeprefix(PARTIAL_PREFIX)
            if entry.name.startswith(PARTIAL_PREFIX) or name not in keep:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
        return sorted(removed)


def _decode_keys(value: str) -> str:
    """Public keys from an ``AUTHORIZED_KEYS`` value (base64 of a key file)."""
    try:
        return base64.b64decode(value, validate=False).decode("utf-8", "replace")
    except (ValueError, binascii.Error):
        return ""
