"""A thin, typed client of the Sakura Cloud IaaS API 1.1 (``requests``, HTTP Basic auth).

There is no maintained Python SDK of this API, so the backend talks to it directly.  This
module knows the wire shapes and nothing of VCP: servers, disks, interfaces, switches,
archives, startup-script notes and the plans of ``/product/server`` and ``/product/disk``.

* **Requests.** ``<api_root>/<resource>``; bodies are JSON wrapped in the resource's name
  (``{"Server": {...}}``); a GET's parameters are one URL-encoded JSON document as the
  query string (``/server?%7B%22Filter%22...``).  The access token and secret are the HTTP
  Basic credentials; they are never logged (``requests`` logs no headers) nor put in an
  error message.
* **Errors.** An error answer ``{"is_fatal", "status", "error_code", "error_msg"}`` becomes a
  :class:`SakuraApiError` (the token and secret masked in its message); a 429 (after its
  ``Retry-After``), a JSON ``busy`` answer and, for requests that may run twice (not a
  ``POST``), a bare 503 are retried with exponential backoff and jitter (the toolkit's
  :class:`~vcpsdk.controller.backends.toolkit.retry.CloudCaller`).
* **Waits** go through :func:`vcpsdk.core.polling.poll`: a disk's ``Availability``
  ``migrating`` → ``available``, a server's ``Instance.Status`` ``up``/``down``, and "gone"
  (404) after a delete.  A wait that runs out raises
  :class:`~vcpsdk.controller.backends.toolkit.errors.CloudTimeoutError`.

Example::

    client = SakuraClient("https://secure.sakura.ad.jp/cloud/zone/is1a/api/cloud/1.1/",
                          token, secret)
    [plan] = client.server_plans(cores=2, memory_gb=4)
    server = client.create_server(ServerSpec(name="web", plan_id=plan["ID"]))
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypedDict, TypeVar, cast
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter

from vcpsdk.controller.backends.toolkit.errors import clean_message
from vcpsdk.controller.backends.toolkit.retry import CloudCaller, RetryPolicy
from vcpsdk.controller.backends.toolkit.waiting import timeout_error
from vcpsdk.core.polling import SYSTEM_CLOCK, Clock, PollTimeout, poll

logger = logging.getLogger("vcp.controller.sakura.client")

#: the real endpoint of a zone (``{zone}`` is filled in); tests and rehearsal use 127.0.0.1
API_ROOT = "https://secure.sakura.ad.jp/cloud/zone/{zone}/api/cloud/1.1/"
#: error codes worth sending the same request again for (besides any 503)
RETRYABLE_CODES = frozenset({"busy", "service_unavailable", "temporarily_unavailable"})

T = TypeVar("T")


class SakuraApiError(Exception):
    """An error answer of the API.

    Attributes:
        status: the HTTP status (0 when no answer came).
        error_code: Sakura's ``error_code`` (``still_running``, ``not_found``, ``busy``...).
        error_msg: Sakura's ``error_msg``.
        is_fatal: Sakura's ``is_fatal``.
        method: the HTTP method of the request ("" when unknown).
        json_answer: the answer was Sakura's JSON error document (not a bare status).
        retry_after: the seconds of a 429's ``Retry-After`` header, else None.
    """

    def __init__(
        self,
        status: int,
        error_code: str,
        error_msg: str,
        is_fatal: bool = True,
        *,
        method: str = "",
        json_answer: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{error_code}: {error_msg}" if error_code else error_msg)
        self.status = int(status)
        self.error_code = str(error_code)
        self.error_msg = str(error_msg)
        self.is_fatal = bool(is_fatal)
        self.method = str(method).upper()
        self.json_answer = bool(json_answer)
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """Sending the same request again later may succeed and does no harm.

        A 429 (the request was refused before it was carried out) and a JSON ``busy`` answer
        always; a bare 503 or a lost answer (status 0) only for a request that may run
        twice: never a ``POST`` (it may have created the resource: a second one would be a
        duplicate), and a lost answer only for a ``GET``.
        """
        if self.status == 429 or (self.json_answer and self.error_code in RETRYABLE_CODES):
            return True
        if self.method == "POST":
            return False
        if self.status == 0:
            return self.method == "GET"
        return self.status == 503

    @property
    def not_found(self) -> bool:
        """The resource does not exist (any more)."""
        return self.status == 404 or self.error_code == "not_found"


# -- wire shapes (the fields this client reads; answers carry more) ---------------------------


class Ref(TypedDict, total=False):
    """A reference to another resource: ``{"ID": "..."}``."""

    ID: str


class Instance(TypedDict, total=False):
    """A server's power state."""

    Status: str  # up | down | cleaning
    BeforeStatus: str


class ServerPlan(TypedDict, total=False):
    """An entry of ``/product/server``."""

    ID: int
    Name: str
    CPU: int
    MemoryMB: int
    Availability: str


class DiskSize(TypedDict, total=False):
    """One size a disk plan allows."""

    SizeMB: int
    DisplaySize: int
    Availability: str


class DiskPlan(TypedDict, total=False):
    """An entry of ``/product/disk``."""

    ID: int
    Name: str
    StorageClass: str
    Size: list[DiskSize]


class Switch(TypedDict, total=False):
    """A switch; ``Subnets`` lists its networks (``DefaultRoute``, ``NetworkMaskLen``)."""

    ID: str
    Name: str
    Subnets: list[dict[str, Any]]


class Interface(TypedDict, total=False):
    """A server's NIC."""

    ID: str
    MACAddress: str
    IPAddress: str | None
    UserIPAddress: str | None
    Server: Ref | None
    Switch: Switch | None


class Server(TypedDict, total=False):
    """A server."""

    ID: str
    Name: str
    Description: str
    Tags: list[str]
    ServerPlan: ServerPlan
    Instance: Instance
    Interfaces: list[Interface]
    Disks: list[Ref]
    Availability: str


class Disk(TypedDict, total=False):
    """A disk; ``Availability`` is ``migrating`` while it is copied, then ``available``."""

    ID: str
    Name: str
    Description: str
    Tags: list[str]
    Plan: DiskPlan
    SizeMB: int
    Connection: str
    Availability: str
    SourceArchive: Ref | None
    Server: Ref | None


class Archive(TypedDict, total=False):
    """An archive (an OS image or a user's copy of a disk)."""

    ID: str
    Name: str
    SizeMB: int
    Scope: str
    Availability: str


class Note(TypedDict, total=False):
    """A note; ``Class: shell`` notes are startup scripts."""

    ID: str
    Name: str
    Description: str
    Class: str
    Content: str
    Tags: list[str]


# -- what the client sends --------------------------------------------------------------------


@dataclass
class ServerSpec:
    """A server to create (without NICs: :meth:`SakuraClient.create_interface` adds them)."""

    name: str
    plan_id: int
    description: str = ""
    tags: list[str] = field(default_factory=list)
    interface_driver: str = "virtio"

    def wire(self) -> dict[str, Any]:
        """The ``Server`` of ``POST /server``."""
        return {
            "Name": self.name,
            "Description": self.description,
            "Tags": list(self.tags),
            "ServerPlan": {"ID": self.plan_id},
            "InterfaceDriver": self.interface_driver,
            "ConnectedSwitches": [],
        }


@dataclass
class DiskSpec:
    """A disk to create: empty, or a copy of the archive ``source_archive_id``."""

    name: str
    plan_id: int
    size_mb: int
    description: str = ""
    tags: list[str] = field(default_factory=list)
    source_archive_id: str | None = None
    connection: str = "virtio"

    def wire(self) -> dict[str, Any]:
        """The ``Disk`` of ``POST /disk``."""
        disk: dict[str, Any] = {
            "Name": self.name,
            "Description": self.description,
            "Tags": list(self.tags),
            "Plan": {"ID": self.plan_id},
            "SizeMB": self.size_mb,
            "Connection": self.connection,
        }
        if self.source_archive_id:
            disk["SourceArchive"] = {"ID": self.source_archive_id}
        return disk


@dataclass
class DiskConfig:
    """What "editing a disk" writes into its file system before the first boot.

    Attributes:
        host_name: the OS host name.
        ip_address: the address of the first NIC (``UserIPAddress``).
        gateway: the default route (``UserSubnet.DefaultRoute``).
        mask_len: the prefix length (``UserSubnet.NetworkMaskLen``).
        note_ids: startup scripts (``shell`` notes) run at boot.
        ssh_keys: public keys for the default user.
    """

    host_name: str = ""
    ip_address: str = ""
    gateway: str = ""
    mask_len: int = 0
    note_ids: list[str] = field(default_factory=list)
    ssh_keys: list[str] = field(default_factory=list)

    def wire(self) -> dict[str, Any]:
        """The ``Config`` of ``POST /disk`` and the body of ``PUT /disk/{id}/config``."""
        config: dict[str, Any] = {"DisablePWAuth": True}
        if self.host_name:
            config["HostName"] = self.host_name
        if self.ip_address:
            config["UserIPAddress"] = self.ip_address
            config["UserSubnet"] = {"DefaultRoute": self.gateway, "NetworkMaskLen": self.mask_len}
        if self.note_ids:
            config["Notes"] = [{"ID": n} for n in self.note_ids]
        if self.ssh_keys:
            config["SSHKeys"] = [{"PublicKey": k} for k in self.ssh_keys]
        return config


def _is_loopback(url: str) -> bool:
    """Whether ``url``'s host is a loopback address or ``localhost``."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _retry_after(value: str | None) -> float | None:
    """The seconds of a ``Retry-After`` header (a number of seconds; an HTTP date or
    nonsense is ignored), capped at five minutes."""
    try:
        seconds = float(value or "")
    except ValueError:
        return None
    return min(max(seconds, 0.0), 300.0) or None


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


class SakuraClient:
    """One zone of the IaaS API 1.1 with one pair of credentials.

    Args:
        api_root: the zone's API root (``.../cloud/zone/is1a/api/cloud/1.1/``).
        token: the access token (HTTP Basic user).
        secret: the access token secret (HTTP Basic password; never logged).
        timeout: seconds per HTTP request.
        retry: how 503/``busy`` answers are retried.
        poll_interval: seconds between the reads of a wait.
        clock: where waits and backoffs take their time from.
        pool_size: HTTP connections kept (one per concurrent caller).
    """

    def __init__(
        self,
        api_root: str,
        token: str,
        secret: str,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        poll_interval: float = 2.0,
        clock: Clock = SYSTEM_CLOCK,
        pool_size: int = 8,
    ) -> None:
        self.api_root = api_root.rstrip("/") + "/"
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.clock = clock
        self.policy = retry or RetryPolicy()
        self.session = requests.Session()
        # a loopback endpoint (the fake of the tests, rehearsal mode) never goes through a proxy
        # of the environment (HTTPS_PROXY without NO_PROXY would send it there)
        self.session.trust_env = not _is_loopback(self.api_root)
        self.session.auth = (token, secret)
        self._credentials = (token, secret)  # masked in error messages; never in repr
        self.session.headers.update({"Accept": "application/json"})
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(1, pool_size))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def close(self) -> None:
        """Close the HTTP connections."""
        self.session.close()

    def __repr__(self) -> str:
        return f"SakuraClient({self.api_root!r})"  # never the credentials

    # -- transport ---------------------------------------------------------------------------

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One API call, retried while it answers 429 (waiting at least its ``Retry-After``),
        ``busy``, or (not a ``POST``) 503; a ``GET`` also when no answer came (see
        :attr:`SakuraApiError.retryable`).

        Args:
            method: ``GET``, ``POST``, ``PUT`` or ``DELETE``.
            path: the resource path below the API root (``server/113000000001``).
            body: the JSON body.
            params: a GET's parameters (sent as URL-encoded JSON).

        Returns:
            The answer's JSON (``{}`` for an empty answer).

        Raises:
            SakuraApiError: an error answer (after the retries), or no answer at all
                (status 0, ``connection_error``).
        """

        not_before: list[float] = []  # a 429's Retry-After: the next attempt waits for it

        def attempt() -> dict[str, Any]:
            if not_before:
                delay = not_before.pop() - self.clock.now()
                if delay > 0:
                    self.clock.sleep(delay)
            try:
                return self._send(method, path, body, params)
            except SakuraApiError as e:
                if e.retry_after:
                    not_before.append(self.clock.now() + e.retry_after)
                raise

        def retryable(error: BaseException) -> bool:
            return isinstance(error, SakuraApiError) and error.retryable

        caller = CloudCaller(self.policy, clock=self.clock, retryable=retryable)
        return caller(attempt)

    def _send(
        self, method: str, path: str, body: dict[str, Any] | None, params: dict[str, Any] | None
    ) -> dict[str, Any]:
        url = self.api_root + path.lstrip("/")
        if params:
            url += "?" + quote(json.dumps(params, separators=(",", ":")))
        try:
            answer = self.session.request(
                method, url, data=None if body is None else json.dumps(body), timeout=self.timeout
            )
        except requests.RequestException as e:
            what = f"{type(e).__name__} on {method} {path}"
            raise SakuraApiError(0, "connection_error", what, method=method, json_answer=False) from None
        json_answer = True
        try:
            data = answer.json() if answer.content else {}
        except ValueError:
            data, json_answer = {"error_msg": answer.text[:500]}, False
        if answer.status_code >= 400:
            json_answer = json_answer and isinstance(data, dict) and bool(data.get("error_code"))
            data = data if isinstance(data, dict) else {}
            raise SakuraApiError(
                answer.status_code,
                str(data.get("error_code") or f"http_{answer.status_code}"),
                clean_message(data.get("error_msg") or answer.reason or "", self._credentials),
                bool(data.get("is_fatal", True)),
                method=method,
                json_answer=json_answer,
                retry_after=_retry_after(answer.headers.get("Retry-After")),
            )
        return data if isinstance(data, dict) else {}

    def _list(self, resource: str, key: str, filters: dict[str, Any] | None) -> list[Any]:
        params: dict[str, Any] = {"Count": 0}
        if filters:
            params["Filter"] = filters
        return _as_list(self.request("GET", resource, params=params).get(key))

    # -- products, archives, switches ------------------------------------------------------

    def server_plans(self, cores: int | None = None, memory_gb: int | None = None) -> list[ServerPlan]:
        """The server plans (``GET /product/server``), those with ``cores``/``memory_gb`` when given."""
        filters: dict[str, Any] = {}
        if cores is not None:
            filters["CPU"] = cores
        if memory_gb is not None:
            filters["MemoryMB"] = memory_gb * 1024
        return cast(list[ServerPlan], self._list("product/server", "ServerPlans", filters))

    def disk_plans(self) -> list[DiskPlan]:
        """The disk plans and the sizes each allows (``GET /product/disk``)."""
        return cast(list[DiskPlan], self._list("product/disk", "DiskPlans", None))

    def archives(self, name: str | None = None) -> list[Archive]:
        """Archives (``GET /archive``), those whose name contains ``name`` when given."""
        return cast(list[Archive], self._list("archive", "Archives", {"Name": name} if name else None))

    def get_archive(self, archive_id: str) -> Archive:
        """``GET /archive/{id}``."""
        return cast(Archive, self.request("GET", f"archive/{archive_id}")["Archive"])

    def get_switch(self, switch_id: str) -> Switch:
        """``GET /switch/{id}``."""
        return cast(Switch, self.request("GET", f"switch/{switch_id}")["Switch"])

    # -- servers -------------------------------------------------------------------------------

    def servers(self, tags: Iterable[str] = ()) -> list[Server]:
        """Servers of the zone (``GET /server``) carrying all ``tags``."""
        tags = list(tags)
        return cast(list[Server], self._list("server", "Servers", {"Tags.Name": tags} if tags else None))

    def get_server(self, server_id: str) -> Server:
        """``GET /server/{id}``."""
        return cast(Server, self.request("GET", f"server/{server_id}")["Server"])

    def create_server(self, spec: ServerSpec) -> Server:
        """``POST /server`` (the server is created powered off)."""
        return cast(Server, self.request("POST", "server", {"Server": spec.wire()})["Server"])

    def delete_server(self, server_id: str, with_disks: Iterable[str] = ()) -> None:
        """``DELETE /server/{id}`` with ``{"WithDisk": [...]}``: the server, its NICs and those disks.

        A running server is refused (409 ``still_running``).
        """
        self.request("DELETE", f"server/{server_id}", {"WithDisk": list(with_disks)})

    def power_status(self, server_id: str) -> str:
        """``GET /server/{id}/power``: ``up``, ``down`` or ``cleaning``."""
        return str(self.request("GET", f"server/{server_id}/power").get("Instance", {}).get("Status", ""))

    def boot(self, server_id: str) -> None:
        """``PUT /server/{id}/power``."""
        self.request("PUT", f"server/{server_id}/power")

    def shutdown(self, server_id: str, force: bool = False) -> None:
        """``DELETE /server/{id}/power``: an ACPI shutdown, or ``{"Force": true}`` (power cut)."""
        self.request("DELETE", f"server/{server_id}/power", {"Force": True} if force else None)

    def wait_power(self, server_id: str, status: str, timeout: float) -> None:
        """Poll ``GET /server/{id}/power`` until ``Instance.Status`` is ``status``.

        Raises:
            CloudTimeoutError: not there within ``timeout`` seconds.
        """
        self._wait(
            lambda: self.power_status(server_id),
            lambda s: s == status,
            f"server {server_id}",
            status,
            timeout,
        )

    # -- disks ---------------------------------------------------------------------------------

    def disks(self, tags: Iterable[str] = ()) -> list[Disk]:
        """Disks of the zone (``GET /disk``) carrying all ``tags``."""
        tags = list(tags)
        return cast(list[Disk], self._list("disk", "Disks", {"Tags.Name": tags} if tags else None))

    def get_disk(self, disk_id: str) -> Disk:
        """``GET /disk/{id}``."""
        return cast(Disk, self.request("GET", f"disk/{disk_id}")["Disk"])

    def create_disk(self, spec: DiskSpec, config: DiskConfig | None = None) -> Disk:
        """``POST /disk`` with ``{"Disk": ..., "Config": ...}``: 202, ``Availability: migrating``."""
        body: dict[str, Any] = {"Disk": spec.wire()}
        if config is not None:
            body["Config"] = config.wire()
        return cast(Disk, self.request("POST", "disk", body)["Disk"])

    def configure_disk(self, disk_id: str, config: DiskConfig) -> None:
        """``PUT /disk/{id}/config``: edit the disk (host name, address, startup scripts)."""
        self.request("PUT", f"disk/{disk_id}/config", config.wire())

    def connect_disk(self, disk_id: str, server_id: str) -> None:
        """``PUT /disk/{id}/to/server/{server id}`` (the server must be down)."""
        self.request("PUT", f"disk/{disk_id}/to/server/{server_id}")

    def disconnect_disk(self, disk_id: str) -> None:
        """``DELETE /disk/{id}/to/server``."""
        self.request("DELETE", f"disk/{disk_id}/to/server")

    def delete_disk(self, disk_id: str) -> None:
        """``DELETE /disk/{id}`` (a disk connected to a server is refused)."""
        self.request("DELETE", f"disk/{disk_id}")

    def wait_disk(self, disk_id: str, timeout: float) -> Disk:
        """Poll ``GET /disk/{id}`` until ``Availability`` is ``available``.

        Raises:
            SakuraApiError: the copy failed (``Availability: failed``).
            CloudTimeoutError: still migrating after ``timeout`` seconds.
        """
        disk = self._wait(
            lambda: self.get_disk(disk_id),
            lambda d: d.get("Availability") in ("available", "failed"),
            f"disk {disk_id}",
            "available",
            timeout,
        )
        if disk.get("Availability") == "failed":
            raise SakuraApiError(500, "disk_failed", f"copying disk {disk_id} failed")
        return disk

    # -- interfaces ---------------------------------------------------------------------------

    def create_interface(self, server_id: str) -> Interface:
        """``POST /interface``: a NIC of ``server_id`` (the server must be down)."""
        body = {"Interface": {"Server": {"ID": server_id}}}
        return cast(Interface, self.request("POST", "interface", body)["Interface"])

    def connect_interface(self, interface_id: str, switch_id: str) -> None:
        """``PUT /interface/{id}/to/switch/{switch id}`` (``shared``: the shared segment)."""
        self.request("PUT", f"interface/{interface_id}/to/switch/{switch_id}")

    def set_interface_address(self, interface_id: str, address: str) -> Interface:
        """``PUT /interface/{id}`` with ``UserIPAddress`` (the address shown for a switch NIC)."""
        body = {"Interface": {"UserIPAddress": address}}
        return cast(Interface, self.request("PUT", f"interface/{interface_id}", body)["Interface"])

    # -- notes (startup scripts) ---------------------------------------------------------------

    def notes(self, tags: Iterable[str] = ()) -> list[Note]:
        """Notes (``GET /note``) carrying all ``tags``."""
        tags = list(tags)
        return cast(list[Note], self._list("note", "Notes", {"Tags.Name": tags} if tags else None))

    def create_note(self, name: str, content: str, tags: Iterable[str] = (), description: str = "") -> Note:
        """``POST /note``: a ``shell`` startup script (its content is never logged)."""
        note = {
            "Name": name,
            "Class": "shell",
            "Content": content,
            "Tags": list(tags),
            "Description": description,
        }
        body = {"Note": note}
        return cast(Note, self.request("POST", "note", body)["Note"])

    def delete_note(self, note_id: str) -> None:
        """``DELETE /note/{id}``."""
        self.request("DELETE", f"note/{note_id}")

    # -- waits ---------------------------------------------------------------------------------

    def wait_gone(self, resource: str, resource_id: str, timeout: float) -> None:
        """Poll ``GET /<resource>/{id}`` until it answers 404.

        Raises:
            CloudTimeoutError: still there after ``timeout`` seconds.
        """

        def exists() -> bool:
            try:
                self.request("GET", f"{resource}/{resource_id}")
            except SakuraApiError as e:
                if e.not_found:
                    return False
                raise
            return True

        self._wait(exists, lambda there: not there, f"{resource} {resource_id}", "gone", timeout)

    def _wait(
        self, fetch: Callable[[], T], done: Callable[[T], bool], what: str, target: str, timeout: float
    ) -> T:
        try:
            return poll(fetch, done, timeout=timeout, interval=self.poll_interval, clock=self.clock)
        except PollTimeout:
            raise timeout_error(
                [what], what="resource", target=target, timeout=timeout, provider="sakura"
            ) from None
