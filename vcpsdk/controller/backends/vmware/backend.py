"""The vSphere backend: ``vmware`` units as clones of a template VM, through pyvmomi.

Operators enable it with a ``backends`` section (``vcc serve --backends FILE``)::

    vmware:
      user: administrator@vsphere.local   # else $VSPHERE_USER, or the users' cloud_params
      password: ...                       # else $VSPHERE_PASSWORD; never logged
      ca_file: /etc/vcp/vcenter-ca.pem    # trusted when vmware_allow_unverified_ssl is false
      max_concurrent_creates: 8           # clones of one request made at once
      controller_address: 10.0.0.10       # VCCCTR_IPADDR given to the Base containers
      vpn_catalog:
        default:
          vmware_vsphere_server: vcenter.example.org      # host or host:port
          vmware_allow_unverified_ssl: false
          vmware_vsphere_datacenter_name: DC1
          vmware_vsphere_resource_pool_name: Cluster1/Resources   # a name, or cluster/pool
          vmware_vsphere_network_name: VM Network
          vmware_vsphere_network_mask: 24                 # or 255.255.255.0
          vmware_template_virtual_machine_name: ubuntu-22.04-template
          vmware_ipv4_gateway: 10.0.0.1
          vmware_virtual_machine_domain: example.org
          private_network_ipmask: 10.0.0.0/24

A node is the VM ``vcp-<node id>``: a clone of the template (``cloud_image``, else the
catalog's template) into the resource pool, reconfigured (``num_cpus``, ``memory`` MB,
``disk_size`` GB, the network, ``mac_addresses``, an annotation naming the controller,
UnitGroup, unit and node, the bootstrap script as ``guestinfo.userdata``), customized
(Linux, the fixed address, gateway and domain) and powered on: clone → reconfigure →
customize → power on, each task waited for on :func:`vcpsdk.core.polling.poll`.  The
controller picks every address (the guest gets it by customization).  The ``vmware``
provider declares no power API, disk API, attach volume or tags: the controller refuses
those requests before calling a backend.  What each step sends is in ``docs/vmware.md``.
"""

from __future__ import annotations

import base64
import importlib
import ipaddress
import json
import logging
import os
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, TypeVar

from vcpsdk.controller.backends import base
from vcpsdk.controller.backends.base import Backend, NodeRequest, NodeResult, UnitContext
from vcpsdk.controller.backends.toolkit import batches, bootstrap, settings
from vcpsdk.controller.backends.toolkit.errors import BackendError, CloudTimeoutError, InvalidRequest
from vcpsdk.controller.backends.vmware.errors import (
    PROVIDER,
    VSPHERE_FAULTS,
    fault_name,
    is_not_found,
    masked,
    translated,
)
from vcpsdk.core.polling import SYSTEM_CLOCK, Clock, PollTimeout, poll
from vcpsdk.core.providers import get_provider

logger = logging.getLogger("vcp.controller.vmware")

NEEDS_PYVMOMI = 'the vSphere backend needs pyvmomi: pip install "vcpsdk[vmware]"'
#: the operator's credentials (the provider's declared ``credentials``): the section's
#: literal values, else these variables
CREDENTIAL_VARIABLES = dict(
    zip(get_provider(PROVIDER).credentials, ("VSPHERE_USER", "VSPHERE_PASSWORD"), strict=True)
)
#: the catalog keys a unit needs
REQUIRED = (
    "vmware_vsphere_server",
    "vmware_vsphere_datacenter_name",
    "vmware_vsphere_resource_pool_name",
)
#: the first line of the annotation of every VM this backend makes
ANNOTATION_HEADER = "Created by vcpsdk (VC Controller); the lines below identify the node."
KEY_CONTROLLER, KEY_VCID, KEY_UGROUP, KEY_UNIT, KEY_NODE = (
    "vcp-controller",
    "vcp-vcid",
    "vcp-ugroup",
    "vcp-unit",
    "vcp-node-id",
)
#: the properties read of every VM when the backend looks for its own
VM_PROPERTIES = ["name", "config.annotation", "runtime.powerState", "guest.ipAddress"]

#: the metadata keys that make cloud-init clear ``guestinfo.userdata`` once it has read it
#: (``redact`` since cloud-init 21.3, ``cleanup-guestinfo`` before and still understood)
GUESTINFO_REDACT = ("redact", "cleanup-guestinfo")

VSPHERE_IDENTITY = bootstrap.NodeIdentity(cloud="vSphere")

InUse = AbstractSet[str | None]
_T = TypeVar("_T")
_R = TypeVar("_R")


def bootstrap_script(
    unit: UnitContext, node: NodeRequest, *, controller_id: str = "", controller_address: str = ""
) -> str:
    """The first-boot script of a VM (``guestinfo.userdata``, base64): the toolkit's bootstrap
    script with the node's address and id written in.  It carries ``params_e``: never log it."""
    return bootstrap.bootstrap_script(
        unit, node, VSPHERE_IDENTITY, controller_id=controller_id, controller_address=controller_address
    )


def subnet_mask(entry: dict[str, Any]) -> str:
    """The dotted subnet mask of a catalog entry: ``vmware_vsphere_network_mask`` (a prefix
    length or a dotted mask), else that of ``private_network_ipmask``.

    Example::

        >>> subnet_mask({"vmware_vsphere_network_mask": 24})
        '255.255.255.0'
    """
    mask = str(entry.get("vmware_vsphere_network_mask") or "").strip()
    if not mask and entry.get("private_network_ipmask"):
        mask = str(ipaddress.ip_network(str(entry["private_network_ipmask"]), strict=False).prefixlen)
    if not mask:
        return "255.255.255.0"
    try:
        return str(ipaddress.IPv4Network(f"0.0.0.0/{mask}").netmask)
    except ValueError:
        raise VSPHERE_FAULTS.error(
            "InvalidArgument", f"vmware_vsphere_network_mask {mask!r} is neither a prefix length nor a mask"
        ) from None


def server_address(server: str) -> tuple[str, int]:
    """``(host, port)`` of ``vmware_vsphere_server`` (``host``, ``host:port`` or an https URL).

    Example::

        >>> server_address("vc.example.org:8443")
        ('vc.example.org', 8443)
    """
    text = server.strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0]
    host, _, port = text.rpartition(":") if text.count(":") == 1 else (text, "", "")
    return (host or text), int(port or 443)


def annotation(identity: dict[str, str]) -> str:
    """The annotation (the VM's notes) that identifies a node of this controller."""
    return "\n".join([ANNOTATION_HEADER, *(f"{key}: {value}" for key, value in identity.items())])


def parse_annotation(text: str | None) -> dict[str, str]:
    """The identity lines of an annotation written by :func:`annotation` (``{}`` for others)."""
    lines = (text or "").splitlines()
    if not lines or lines[0] != ANNOTATION_HEADER:
        return {}
    return dict(line.split(": ", 1) for line in lines[1:] if ": " in line)


def _load_sdk() -> tuple[Any, Any]:
    """pyvmomi's ``pyVim.connect`` and ``pyVmomi`` modules.

    Raises:
        BackendError: the ``vmware`` extra is not installed.
    """
    try:
        return importlib.import_module("pyVim.connect"), importlib.import_module("pyVmomi")
    except ImportError:
        raise BackendError(NEEDS_PYVMOMI) from None


@dataclass
class Session:
    """A logged-in ``ServiceInstance``, its service content (read once) and the datacenters
    looked up in it (``{name: (datacenter, its VM folder)}``)."""

    si: Any
    content: Any
    datacenters: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass
class Placement:
    """Where the clones of one request go: the inventory objects of a catalog entry, and the
    NIC backing of its network (None: the template's own)."""

    datacenter: Any
    folder: Any
    pool: Any
    template: Any
    backing: Any | None


class VmwareBackend(Backend):
    """vSphere VMs cloned from a template VM, through pyvmomi (one session per credentials)."""

    name = "vmware"

    def __init__(self, config: dict[str, Any], controller_id: str, clock: Clock = SYSTEM_CLOCK) -> None:
        connect, pyvmomi = _load_sdk()
        self.vim, self.vmodl, self._connect = pyvmomi.vim, pyvmomi.vmodl, connect.SmartConnect
        self.controller_id = str(controller_id)
        config = dict(config or {})
        self.controller_address = str(config.get("controller_address") or "")
        self.max_concurrent_creates = max(1, int(config.get("max_concurrent_creates", 8)))
        self.ca_file = str(config.get("ca_file") or "") or None
        self.task_timeout = float(config.get("task_timeout", 600))
        self.task_poll_interval = float(config.get("task_poll_interval", 0.5))
        self.cancel_timeout = float(config.get("cancel_timeout", 60))
        self.clock = clock
        self._operator = {
            key: str(config.get(key)) if settings.literal(config.get(key)) else os.environ.get(variable, "")
            for key, variable in CREDENTIAL_VARIABLES.items()
        }
        self._catalog = settings.parse_catalog(config, PROVIDER)
        self._sessions: dict[tuple[Any, ...], Session] = {}
        self._lock = threading.Lock()
        self._login_locks: dict[tuple[Any, ...], threading.Lock] = {}
        #: sessions logged in (one per credentials and vCenter, more only after one expired)
        self.logins = 0
        #: called with the vSphere method name before every SOAP call (may raise a fault)
        self.soap_hooks: list[Callable[[str], None]] = []
        #: SOAP calls sent, by method name (property reads are ``Fetch``/``RetrievePropertiesEx``)
        self.soap_calls: Counter[str] = Counter()

    # -- sessions ------------------------------------------------------------------------------

    def _credentials(self, unit: UnitContext | None) -> tuple[str, str]:
        """(user, password): the unit's literal ones, else the operator's."""
        params = unit.cloud_params if unit else {}
        if settings.literal(params.get("user")) and settings.literal(params.get("password")):
            return str(params["user"]), str(params["password"])
        if not (self._operator["user"] and self._operator["password"]):
            raise VSPHERE_FAULTS.error(
                "InvalidLogin",
                "no vSphere credentials: set user and password in vcp_config.yml or in the "
                "controller's vmware backend section (or VSPHERE_USER / VSPHERE_PASSWORD)",
            )
        return self._operator["user"], self._operator["password"]

    def _secrets(self, unit: UnitContext | None = None) -> tuple[str, ...]:
        params = unit.cloud_params if unit else {}
        declared = get_provider(PROVIDER).secrets
        values = (*(self._operator[k] for k in declared), *(str(params.get(k) or "") for k in declared))
        return tuple(s for s in values if s)

    def session(self, unit: UnitContext | None = None, entry: dict[str, Any] | None = None) -> Session:
        """The session of the entry's vCenter for the unit's credentials (logged in once, then
        shared by every thread: pyvmomi's stub keeps a connection pool).

        The login runs under a lock of its own key: two threads needing the same session wait
        for one login instead of both logging in (vCenter limits the sessions of a user); an
        expired session is logged out of and replaced.
        """
        entry = entry if entry is not None else (self._entry(unit) if unit else self._first_entry())
        host, port = server_address(str(entry["vmware_vsphere_server"]))
        unverified = bool(entry.get("vmware_allow_unverified_ssl"))
        user, password = self._credentials(unit)
        key = (host, port, unverified, user, password)
        with self._lock:
            login_lock = self._login_locks.setdefault(key, threading.Lock())
        with login_lock:
            with self._lock:
                known = self._sessions.get(key)
            if known is not None:
                if self._alive(known):
                    return known
                self._drop_session(known)  # expired (vCenter ends idle sessions): log in again
            kwargs: dict[str, Any] = {"host": host, "port": port, "user": user, "pwd": password}
            if unverified:
                kwargs["disableSslCertValidation"] = True
            else:
                kwargs["sslContext"] = ssl.create_default_context(cafile=self.ca_file)
            si = self._connect(**kwargs)
            self._instrument(si._stub)
            made = Session(si, si.RetrieveContent())
            with self._lock:
                self._sessions[key] = made
                self.logins += 1
            return made

    @staticmethod
    def _alive(session: Session) -> bool:
        """Whether vCenter still knows the session (one property read)."""
        try:
            return session.content.sessionManager.currentSession is not None
        except Exception as e:
            if fault_name(e) == "NotAuthenticated":
                return False
            raise

    def _instrument(self, stub: Any) -> None:
        """Count every SOAP call of ``stub`` and run :attr:`soap_hooks` before it."""
        invoke = stub.InvokeMethod

        def invoke_method(mo: Any, info: Any, args: Any, *rest: Any) -> Any:
            method = str(getattr(info, "wsdlName", "") or getattr(info, "name", ""))
            with self._lock:
                self.soap_calls[method] += 1
                hooks = list(self.soap_hooks)
            for hook in hooks:
                hook(method)
            return invoke(mo, info, args, *rest)

        stub.InvokeMethod = invoke_method

    def _drop_session(self, session: Session) -> None:
        with self._lock:
            self._sessions = {k: v for k, v in self._sessions.items() if v is not session}

    @staticmethod
    def _logout(session: Session) -> None:
        """Log out of ``session``; a failure is logged by its fault name only (a vCenter
        message may repeat the password)."""
        try:
            session.content.sessionManager.Logout()
        except Exception as e:
            logger.debug("logging out of vCenter failed (%s)", fault_name(e) or type(e).__name__)

    def close(self) -> None:
        """Log out of every session."""
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            self._logout(session)

    # -- catalog ---------------------------------------------------------------------------------

    def vpn_catalog(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The operator's catalog, served for the ``vmware`` provider."""
        return settings.served_catalog(self._catalog, PROVIDER)

    def _first_entry(self) -> dict[str, Any]:
        if not self._catalog:
            raise InvalidRequest("the vmware backend section has no vpn_catalog entry")
        return dict(next(iter(self._catalog.values())))

    def _entry(self, unit: UnitContext) -> dict[str, Any]:
        """The unit's VPN catalog entry, with the keys every unit needs."""
        return settings.complete_catalog_entry(
            unit, self._catalog, REQUIRED, lambda message: VSPHERE_FAULTS.error("InvalidArgument", message)
        )

    def plan_addresses(
        self, provider: str, catalog: dict[str, Any], fixed: list[str], count: int, in_use: InUse
    ) -> list[str | None]:
        """The toolkit's planning, with the catalog's gateway counted as in use (never a node's)."""
        gateway = str(catalog.get("vmware_ipv4_gateway") or "")
        taken = set(in_use) | ({gateway} if gateway else set())
        return super().plan_addresses(provider, catalog, fixed, count, taken)

    # -- inventory -----------------------------------------------------------------------------

    def _collect(
        self, vc: Session, root: Any, kind: Any, properties: list[str]
    ) -> list[tuple[Any, dict[str, Any]]]:
        """``[(object, {property: value})]`` of every ``kind`` below ``root``: a container view
        and one property collector query (paged), whatever the number of objects."""
        vmodl = self.vmodl
        content = vc.content
        view = content.viewManager.CreateContainerView(root, [kind], True)
        try:
            spec = vmodl.query.PropertyCollector.FilterSpec(
                objectSet=[
                    vmodl.query.PropertyCollector.ObjectSpec(
                        obj=view,
                        skip=True,
                        selectSet=[
                            vmodl.query.PropertyCollector.TraversalSpec(
                                name="view", path="view", skip=False, type=type(view)
                            )
                        ],
                    )
                ],
                propSet=[vmodl.query.PropertyCollector.PropertySpec(type=kind, pathSet=properties)],
            )
            collector = content.propertyCollector
            found = []
            result = collector.RetrievePropertiesEx([spec], vmodl.query.PropertyCollector.RetrieveOptions())
            while result is not None:
                found += [(o.obj, {p.name: p.val for p in o.propSet}) for o in result.objects]
                result = collector.ContinueRetrievePropertiesEx(result.token) if result.token else None
            return found
        finally:
            view.DestroyView()

    def _named(self, vc: Session, root: Any, kind: Any, name: str, what: str) -> Any:
        """The one ``kind`` named ``name`` below ``root`` (NotFound when there is none)."""
        for obj, props in self._collect(vc, root, kind, ["name"]):
            if props.get("name") == name:
                return obj
        raise VSPHERE_FAULTS.error("NotFound", f"{what} {name!r} not found")

    def _datacenter(self, vc: Session, entry: dict[str, Any]) -> tuple[Any, Any]:
        """``(datacenter, its VM folder)`` of the entry (looked up once per session)."""
        name = str(entry["vmware_vsphere_datacenter_name"])
        if name not in vc.datacenters:
            datacenter = vc.content.searchIndex.FindByInventoryPath(name)
            if datacenter is None:
                raise VSPHERE_FAULTS.error("NotFound", f"datacenter {name!r} not found")
            vc.datacenters[name] = (datacenter, datacenter.vmFolder)
        return vc.datacenters[name]

    def _placement(self, vc: Session, unit: UnitContext, entry: dict[str, Any]) -> Placement:
        """The datacenter, VM folder, resource pool, template and NIC backing of a unit."""
        vim = self.vim
        datacenter, folder = self._datacenter(vc, entry)
        dc_name = str(entry["vmware_vsphere_datacenter_name"])
        pool_name = str(entry["vmware_vsphere_resource_pool_name"])
        if "/" in pool_name:
            pool = vc.content.searchIndex.FindByInventoryPath(f"{dc_name}/host/{pool_name}")
            if pool is None:
                raise VSPHERE_FAULTS.error("NotFound", f"resource pool {pool_name!r} not found")
        else:
            pool = self._named(vc, datacenter.hostFolder, vim.ResourcePool, pool_name, "resource pool")
        image = str(unit.cloud_params.get("cloud_image") or "default")
        template_name = (
            str(entry.get("vmware_template_virtual_machine_name") or "") if image == "default" else image
        )
        if not template_name:
            raise VSPHERE_FAULTS.error(
                "InvalidArgument",
                "no template VM: set cloud_image or vmware_template_virtual_machine_name in the catalog",
            )
        template = self._named(vc, folder, vim.VirtualMachine, template_name, "template VM")
        backing = None
        if entry.get("vmware_vsphere_network_name"):
            name = str(entry["vmware_vsphere_network_name"])
            backing = self._nic_backing(
                self._named(vc, datacenter.networkFolder, vim.Network, name, "network")
            )
        return Placement(datacenter, folder, pool, template, backing)

    def _ours(
        self, vc: Session, entry: dict[str, Any], node_ids: Iterable[str], by_name: bool = True
    ) -> dict[str, tuple[Any, dict[str, Any]]]:
        """``{node_id: (VM, properties)}`` of this controller's VMs for ``node_ids``.

        A VM is found by its annotation (this controller's id and the node id), else by its
        name ``vcp-<node id>`` when it is powered off and carries no controller's annotation:
        a clone whose reconfigure never ran (a failure, a crash, a cancelled task) still has
        the template's notes (vcsim also ignores the clone spec's annotation).  A VM another
        controller annotated, or a running one without our annotation, is never ours.
        ``by_name=False`` finds the annotated VMs only (the working nodes).
        """
        wanted = set(node_ids)
        names = {self.vm_name(node_id): node_id for node_id in wanted}
        _, folder = self._datacenter(vc, entry)
        found: dict[str, tuple[Any, dict[str, Any]]] = {}
        for vm, props in self._collect(vc, folder, self.vim.VirtualMachine, VM_PROPERTIES):
            identity = parse_annotation(props.get("config.annotation"))
            if identity.get(KEY_CONTROLLER) == self.controller_id and identity.get(KEY_NODE) in wanted:
                found[identity[KEY_NODE]] = (vm, props)
            elif (
                by_name
                and KEY_CONTROLLER not in identity
                and props.get("name") in names
                and props.get("runtime.powerState") != "poweredOn"
            ):
                found.setdefault(names[str(props["name"])], (vm, props))
        return found

    def _unit_vms(self, vc: Session, entry: dict[str, Any], unit: UnitContext) -> list[tuple[Any, str]]:
        """``[(VM, name)]`` of every VM this controller annotated for ``unit``."""
        _, folder = self._datacenter(vc, entry)
        found = []
        for vm, props in self._collect(vc, folder, self.vim.VirtualMachine, VM_PROPERTIES):
            identity = parse_annotation(props.get("config.annotation"))
            if (
                identity.get(KEY_CONTROLLER) == self.controller_id
                and identity.get(KEY_VCID) == unit.vcid
                and identity.get(KEY_UNIT) == unit.unit_name
            ):
                found.append((vm, str(props.get("name"))))
        return found

    # -- tasks -----------------------------------------------------------------------------------

    def wait(self, task: Any, what: str) -> Any:
        """Wait for a vSphere task on :func:`~vcpsdk.core.polling.poll` (one ``info`` read per
        poll) and return its result; its fault is raised as it is (mapped by the caller).

        A task that does not finish in time is cancelled (``CancelTask``) and waited for a
        little longer, so that what it made exists when the caller's cleanup looks for it.

        Raises:
            CloudTimeoutError: the task did not finish within ``task_timeout``.
        """
        try:
            info = self._finished(task, self.task_timeout)
        except PollTimeout:
            self._cancel(task, what)
            raise CloudTimeoutError(
                f"{what} did not finish within {self.task_timeout:g} s", code="Timeout", provider=PROVIDER
            ) from None
        if info.state == self.vim.TaskInfo.State.error:
            raise info.error
        return info.result

    def _finished(self, task: Any, timeout: float) -> Any:
        """The task's ``info`` once it succeeded or failed (PollTimeout after ``timeout``)."""
        done = (self.vim.TaskInfo.State.success, self.vim.TaskInfo.State.error)
        return poll(
            lambda: task.info,
            lambda i: i.state in done,
            timeout=timeout,
            interval=self.task_poll_interval,
            clock=self.clock,
        )

    def _cancel(self, task: Any, what: str) -> None:
        """Cancel a task that took too long and wait ``cancel_timeout`` for it to end; a
        failure is logged by the fault's name only (never its message)."""
        try:
            task.CancelTask()
            self._finished(task, self.cancel_timeout)
        except Exception as e:
            logger.warning("cancelling the %s task failed (%s)", what, fault_name(e) or type(e).__name__)

    def _each(self, items: list[_T], work: Callable[[_T], _R]) -> list[_R]:
        """``work`` on every item, at most ``max_concurrent_creates`` at once (the first error
        is raised after all have finished, so a cleanup sees everything that was made)."""
        return batches.each(items, work, limit=self.max_concurrent_creates, name="vcc-vmware")

    # -- nodes -----------------------------------------------------------------------------------

    @staticmethod
    def vm_name(node_id: str) -> str:
        """The VM name of a node."""
        return f"vcp-{node_id}"[:80]

    def _identity(self, unit: UnitContext, node_id: str) -> dict[str, str]:
        return {
            KEY_CONTROLLER: self.controller_id,
            KEY_VCID: unit.vcid,
            KEY_UGROUP: unit.vc_name,
            KEY_UNIT: unit.unit_name,
            KEY_NODE: node_id,
        }

    def guestinfo(self, unit: UnitContext, node: NodeRequest) -> dict[str, str]:
        """The ``guestinfo.*`` extraConfig of a node: the bootstrap script as cloud-init user
        data (base64) and metadata naming the instance and host.

        The metadata asks cloud-init's VMware datasource to clear ``guestinfo.userdata`` as
        soon as it has read it (``redact``, formerly ``cleanup-guestinfo``): the script
        carries ``params_e`` and read-only vSphere users can read a VM's extraConfig.  The
        controller does not clear it itself after power-on: that would race the guest's
        first boot (the guest may not have read it yet)."""
        script = bootstrap_script(
            unit, node, controller_id=self.controller_id, controller_address=self.controller_address
        )
        metadata = {
            "instance-id": node.node_id,
            "local-hostname": self.vm_name(node.node_id),
            **{key: ["userdata"] for key in GUESTINFO_REDACT},
        }
        return {
            "guestinfo.userdata": base64.b64encode(script.encode()).decode(),
            "guestinfo.userdata.encoding": "base64",
            "guestinfo.metadata": base64.b64encode(json.dumps(metadata).encode()).decode(),
            "guestinfo.metadata.encoding": "base64",
        }

    def clone_spec(self, unit: UnitContext, node: NodeRequest, pool: Any) -> Any:
        """The CloneVM_Task spec of a node: into ``pool``, powered off, and already annotated
        (vCenter writes the annotation with the clone, so a clone whose reconfigure never runs
        is still found by it; vcsim 0.24 ignores it and :meth:`_ours` finds such a clone by its
        name)."""
        vim = self.vim
        return vim.vm.CloneSpec(
            location=vim.vm.RelocateSpec(pool=pool),
            powerOn=False,
            template=False,
            config=vim.vm.ConfigSpec(annotation=annotation(self._identity(unit, node.node_id))),
        )

    def reconfig_spec(
        self, unit: UnitContext, node: NodeRequest, devices: list[Any], backing: Any | None, mac: str | None
    ) -> Any:
        """The ReconfigVM_Task spec of a clone: CPUs, memory, annotation, guestinfo, the disk
        grown to ``disk_size`` GB, the first NIC on the network of ``backing`` with ``mac``."""
        vim = self.vim
        params = unit.cloud_params
        changes = []
        disks = [d for d in devices if isinstance(d, vim.vm.device.VirtualDisk)]
        size_kb = int(params.get("disk_size") or 0) * 1024 * 1024
        if disks and size_kb > int(disks[0].capacityInKB or 0):
            disks[0].capacityInKB = size_kb
            changes.append(vim.vm.device.VirtualDeviceSpec(operation="edit", device=disks[0]))
        nics = [d for d in devices if isinstance(d, vim.vm.device.VirtualEthernetCard)]
        if (backing is not None or mac) and not nics:
            raise VSPHERE_FAULTS.error("InvalidArgument", "the template VM has no network adapter")
        if nics and (backing is not None or mac):
            nic = nics[0]
            if backing is not None:
                nic.backing = backing
            if mac:
                nic.addressType, nic.macAddress = "manual", mac
            changes.append(vim.vm.device.VirtualDeviceSpec(operation="edit", device=nic))
        return vim.vm.ConfigSpec(
            numCPUs=int(settings.declared_param(unit, PROVIDER, "num_cpus")),
            memoryMB=int(settings.declared_param(unit, PROVIDER, "memory")),
            annotation=annotation(self._identity(unit, node.node_id)),
            extraConfig=[
                vim.option.OptionValue(key=k, value=v) for k, v in self.guestinfo(unit, node).items()
            ],
            deviceChange=changes,
        )

    def _nic_backing(self, network: Any) -> Any:
        """The NIC backing of a network: a distributed port group's, or a standard network's."""
        vim = self.vim
        if isinstance(network, vim.dvs.DistributedVirtualPortgroup):
            return vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(
                port=vim.dvs.PortConnection(
                    portgroupKey=network.key, switchUuid=network.config.distributedVirtualSwitch.uuid
                )
            )
        return vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(deviceName=network.name, network=network)

    def customization(self, entry: dict[str, Any], node: NodeRequest) -> Any:
        """The CustomizeVM_Task spec: Linux, host name = VM name, the fixed address with the
        catalog's mask, gateway and domain (DHCP when the node has no address)."""
        c = self.vim.vm.customization
        domain = str(entry.get("vmware_virtual_machine_domain") or "localdomain")
        adapter = c.IPSettings(ip=c.DhcpIpGenerator())
        if node.address:
            adapter = c.IPSettings(ip=c.FixedIp(ipAddress=str(node.address)), subnetMask=subnet_mask(entry))
            if entry.get("vmware_ipv4_gateway"):
                adapter.gateway = [str(entry["vmware_ipv4_gateway"])]
        adapter.dnsDomain = domain
        return c.Specification(
            identity=c.LinuxPrep(hostName=c.FixedName(name=self.vm_name(node.node_id)), domain=domain),
            globalIPSettings=c.GlobalIPSettings(dnsSuffixList=[domain]),
            nicSettingMap=[c.AdapterMapping(adapter=adapter)],
        )

    def create_nodes(self, unit: UnitContext, nodes: list[NodeRequest]) -> list[NodeResult]:
        """Per node: clone → reconfigure → customize → power on, up to ``max_concurrent_creates``
        nodes at once.  A node whose VM already runs (a re-run after a restart) is kept; one
        left half-made (powered off) is destroyed and made again.  On any failure every VM of
        these nodes, found by annotation or by name (:meth:`_ours`), is powered off and
        destroyed (and waited for) before the error is raised; a task that timed out is
        cancelled first."""
        if not nodes:
            return []
        entry = self._entry(unit)
        if any(n.disks for n in nodes):
            raise InvalidRequest(
                "provider vmware does not support attaching disks (capability attach_volume)"
            )
        macs = bootstrap.as_list(unit.cloud_params.get("mac_addresses"))
        secrets = self._secrets(unit)
        with translated(secrets=secrets):
            vc = self.session(unit, entry)
            place = self._placement(vc, unit, entry)
            existing = self._ours(vc, entry, [n.node_id for n in nodes])

        def create(node: NodeRequest) -> NodeResult:
            vm_name = self.vm_name(node.node_id)
            vm, props = existing.get(node.node_id, (None, {}))
            if vm is not None and props.get("runtime.powerState") == "poweredOn":
                return self._result(node, vm, vm_name, props.get("guest.ipAddress"))
            if vm is not None:
                self._destroy(vm, vm_name)
            spec = self.clone_spec(unit, node, place.pool)
            vm = self.wait(place.template.CloneVM_Task(folder=place.folder, name=vm_name, spec=spec), "clone")
            # the controller's per-node MAC (mac_addresses / mac_address_list), else by node number
            mac = str(node.backend_data.get("mac_address") or "") or (
                macs[node.node_no - 1] if 0 < node.node_no <= len(macs) else None
            )
            devices = list(vm.config.hardware.device)
            self.wait(
                vm.ReconfigVM_Task(self.reconfig_spec(unit, node, devices, place.backing, mac)), "reconfigure"
            )
            self.wait(vm.CustomizeVM_Task(self.customization(entry, node)), "customize")
            self.wait(vm.PowerOnVM_Task(), "power on")
            return self._result(node, vm, vm_name, None if node.address else vm.guest.ipAddress)

        def drop() -> None:
            try:
                self._remove(vc, entry, [n.node_id for n in nodes])
            except Exception as e:
                logger.error(
                    "destroying what a failed create made failed (leftovers carry our annotation "
                    "or the name vcp-<node id>; deleting the unit sweeps them): %s",
                    masked(e, secrets),
                )

        with translated(cleanup=drop, secrets=secrets):
            return self._each(nodes, create)

    @staticmethod
    def _result(node: NodeRequest, vm: Any, vm_name: str, guest_address: str | None) -> NodeResult:
        return NodeResult(
            node_id=node.node_id,
            instance_id=str(vm._moId),
            address=str(node.address or guest_address or ""),
            backend_data={"vm_name": vm_name, "moref": str(vm._moId)},
        )

    def _destroy(self, vm: Any, vm_name: str) -> None:
        """Power ``vm`` off (unless it is off) and destroy it, waiting for both; gone is fine."""
        try:
            try:
                self.wait(vm.PowerOffVM_Task(), f"power off {vm_name}")
            except Exception as e:
                if fault_name(e) != "InvalidPowerState":  # already off
                    raise
            self.wait(vm.Destroy_Task(), f"destroy {vm_name}")
        except Exception as e:
            if not is_not_found(e):
                raise

    def _remove(self, vc: Session, entry: dict[str, Any], node_ids: list[str]) -> None:
        """Destroy this controller's VMs of ``node_ids`` (those that exist) and wait."""
        found = self._ours(vc, entry, node_ids)
        self._each(list(found.values()), lambda item: self._destroy(item[0], str(item[1].get("name"))))

    def delete_nodes(self, unit: UnitContext, nodes: list[NodeRequest]) -> None:
        """Power off and destroy each node's VM (found by annotation), waiting for the tasks."""
        if not nodes:
            return
        entry = self._entry(unit)
        with translated(secrets=self._secrets(unit)):
            self._remove(self.session(unit, entry), entry, [n.node_id for n in nodes])

    def sweep(self, unit: UnitContext) -> None:
        """Destroy every VM this controller annotated for ``unit`` (the leftovers of failures
        a cleanup could not remove); called when the unit is deleted, after its nodes."""
        entry = self._entry(unit)
        with translated(secrets=self._secrets(unit)):
            vc = self.session(unit, entry)
            found = self._unit_vms(vc, entry, unit)
            if not found:
                return
            logger.warning(
                "destroying leftovers of unit %s: %s", unit.unit_name, ", ".join(name for _, name in found)
            )
            self._each(found, lambda item: self._destroy(*item))

    def power(self, unit: UnitContext, nodes: list[NodeRequest], action: str) -> None:
        """Power the nodes' VMs on or off and wait (the ``vmware`` provider declares no power
        API, so the controller does not call this; a provider declared with one would)."""
        on = settings.powers_on(action)
        if not nodes:
            return
        entry = self._entry(unit)

        def switch(vm: Any) -> None:
            try:
                self.wait(vm.PowerOnVM_Task() if on else vm.PowerOffVM_Task(), action)
            except Exception as e:
                if fault_name(e) != "InvalidPowerState":  # already there
                    raise

        with translated(secrets=self._secrets(unit)):
            vc = self.session(unit, entry)
            found = self._ours(vc, entry, [n.node_id for n in nodes], by_name=False)
            missing = [n.node_id for n in nodes if n.node_id not in found]
            if missing:
                raise VSPHERE_FAULTS.error("NotFound", f"no VM for node(s) {', '.join(missing)}")
            self._each([vm for vm, _ in found.values()], switch)

    def describe(self, unit: UnitContext, nodes: list[NodeRequest]) -> dict[str, str]:
        """``{node_id: RUNNING | POWER_OFF | DELETED}``: the VMs re-discovered by annotation (a
        half-made clone without it is no node: a re-run create or a delete removes it)."""
        if not nodes:
            return {}
        entry = self._entry(unit)
        with translated(secrets=self._secrets(unit)):
            found = self._ours(self.session(unit, entry), entry, [n.node_id for n in nodes], by_name=False)
        report = {}
        for node in nodes:
            _, props = found.get(node.node_id, (None, None))
            if props is None:
                report[node.node_id] = "DELETED"
            else:
                report[node.node_id] = (
                    "RUNNING" if props.get("runtime.powerState") == "poweredOn" else "POWER_OFF"
                )
        return report

    # -- disks: the vmware provider has no disk API -------------------------------------------------

    def create_disks(self, unit: UnitContext, disks: list[base.DiskRequest]) -> list[base.DiskResult]:
        """Refused: vSphere disks are not offered (the controller refuses them first)."""
        if not disks:
            return []
        raise InvalidRequest("provider vmware does not support a disk API (capability disk_api)")

    def delete_disks(self, unit: UnitContext, disks: list[base.DiskRequest]) -> None:
        """Refused: vSphere disks are not offered (the controller refuses them first)."""
        if not disks:
            return
        raise InvalidRequest("provider vmware does not support a disk API (capability disk_api)")
