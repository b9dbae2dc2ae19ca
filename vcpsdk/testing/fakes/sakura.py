"""A local fake of the Sakura Cloud IaaS API 1.1, served over HTTP on 127.0.0.1 only.

It speaks the REST shapes the Sakura backend's client uses (there is no official
machine-readable spec; these follow the vendor's field definitions), so tests, the bench
and rehearsal mode drive the real backend against it.

* **Paths.** ``/cloud/zone/<zone>/api/cloud/1.1/<resource>`` for the zones :data:`ZONES`;
  bodies are JSON wrapped in the resource's name; a GET's parameters are one URL-encoded
  JSON document as the query string (``{"Filter": {"Tags.Name": [...]}, "From", "Count"}``;
  ``Name`` filters match every word, other keys exactly).
* **Auth.** HTTP Basic with :data:`TOKEN`/:data:`SECRET` (or those given); anything else is
  401 ``unauthorized``.  Recorded requests keep the token and mask the secret.
* **Resources.** ``/server`` (POST powered off; ``/power`` PUT boot, DELETE ACPI shutdown or
  ``{"Force": true}``, GET status; DELETE with ``{"WithDisk": [...]}`` deletes its NICs and
  those disks, 409 ``still_running`` while up), ``/disk`` (POST ``{"Disk", "Config"}`` → 202,
  ``Availability: migrating`` for ``migrating_reads`` reads; ``/config`` PUT; ``/to/server/<id>``
  PUT/DELETE; DELETE of a connected disk 409 ``still_connected``), ``/interface`` (POST,
  ``/to/switch/<id>`` PUT, PUT ``UserIPAddress``: a 127.0.0.0/8 address inside the switch's
  network, not used twice on it), ``/switch`` and ``/archive`` (read only, seeded),
  ``/note`` (startup scripts), ``/product/server`` and ``/product/disk`` (plans and sizes).
* **Startup scripts.** The ``shell`` notes a disk's config names are copied into it:
  :attr:`FakeSakura.startup_scripts` ``{disk id: [content, ...]}``.
* **Faults.** :meth:`FakeSakura.fail` makes an operation (``"server.create"``,
  ``"disk.delete"``, ``"server.shutdown"``...) answer an error ``times`` times after ``after``
  calls went through (503 ``busy`` by default).
* **Reports.** :meth:`FakeSakura.leftovers` lists the servers, disks, NICs and notes that
  still exist; ``requests`` records every request.

Run it by hand::

    python -m vcpsdk.testing.fakes.sakura --port 8996
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import itertools
import json
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from vcpsdk.testing.fakes._runner import HttpError, RunningFake, main, parse_json, route
from vcpsdk.testing.serving import serving

#: the credentials the fake accepts by default
TOKEN, SECRET = "fake-sakura-token-0001", "fake-sakura-secret-0001"
#: the zones it serves
ZONES = ("is1a", "is1b", "tk1a", "tk1b", "tk1v")
#: the local switch seeded by ``FakeSakura()`` and its network (loopback addresses only)
SWITCH_ID, NETWORK, GATEWAY = "112900000001", "127.66.0.0/16", "127.66.0.1"
#: the archive seeded as Sakura's Ubuntu image
UBUNTU = "Ubuntu Server 22.04.4 LTS 64bit"
#: disk plans: id → name; every plan offers the same sizes (GB)
DISK_PLAN_NAMES = {4: "SSDプラン", 2: "標準プラン"}
DISK_SIZES_GB = (20, 40, 60, 80, 100, 250, 500, 750, 1024, 2048, 4096)
_STATUS = {
    400: "400 Bad Request",
    401: "401 Unauthorized",
    404: "404 Not Found",
    409: "409 Conflict",
    503: "503 Service Unavailable",
}
_PREFIX = {
    "server": "1131",
    "disk": "1132",
    "interface": "1133",
    "note": "1134",
    "archive": "1136",
    "switch": "1129",
}


#: resources by id
Table = dict[str, dict[str, Any]]


def sakura_error(status: int, code: str, message: str) -> HttpError:
    """An error answer: ``{"is_fatal", "serial", "status", "error_code", "error_msg"}``."""
    body = {
        "is_fatal": True,
        "serial": uuid.uuid4().hex,
        "status": _STATUS.get(status, str(status)),
        "error_code": code,
        "error_msg": message,
    }
    return HttpError(status, body)


def server_plans() -> list[dict[str, Any]]:
    """The seeded server plans: 1 core with 1–5 GB, N cores with N/2–8N GB."""
    plans = []
    for cpu in (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32):
        for memory in (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 96, 128, 192, 256):
            if (cpu == 1 and memory <= 5) or (cpu > 1 and cpu // 2 <= memory <= cpu * 8):
                plans.append(
                    {
                        "ID": int(f"200{memory:03d}{cpu:03d}"),
                        "Name": f"プラン/{cpu}Core-{memory}GB",
                        "CPU": cpu,
                        "MemoryMB": memory * 1024,
                        "Commitment": "standard",
                        "Generation": 200,
                        "Availability": "available",
                    }
                )
    return plans


@dataclass
class Fault:
    """An injected failure: after ``after`` calls went through, the next ``times`` answer ``error``."""

    error: HttpError
    times: int = 1
    after: int = 0


def _matches(item: dict[str, Any], filters: dict[str, Any]) -> bool:
    for key, wanted in filters.items():
        if key == "Tags.Name":
            tags = set(item.get("Tags") or [])
            if not set(wanted if isinstance(wanted, list) else [wanted]) <= tags:
                return False
        elif key == "Name":
            words = str(wanted).split()
            if not all(w in str(item.get("Name", "")) for w in words):
                return False
        elif isinstance(wanted, list):
            if item.get(key) not in wanted:
                return False
        elif item.get(key) != wanted:
            return False
    return True


class FakeSakura:
    """The fake's whole state (in memory) and the knobs tests turn.

    Args:
        token: the access token accepted.
        secret: the access token secret accepted.
        migrating_reads: how many reads a new disk answers ``migrating`` before ``available``.
        power_reads: how many reads of a server a boot or shutdown takes to finish.
        ignore_shutdown: servers ignore an ACPI shutdown (only a forced one stops them).
        max_servers: the account's server limit (``limit_count_in_account_exceed`` beyond it).
    """

    def __init__(
        self,
        *,
        token: str = TOKEN,
        secret: str = SECRET,
        migrating_reads: int = 2,
        power_reads: int = 1,
        ignore_shutdown: bool = False,
        max_servers: int | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.base_url = "http://127.0.0.1:0"
        self.token, self.secret = token, secret
        self.migrating_reads = migrating_reads
        self.power_reads = power_reads
        self.ignore_shutdown = ignore_shutdown
        self.max_servers = max_servers
        self.requests: list[dict[str, Any]] = []
        self.faults: dict[str, list[Fault]] = {}
        self.servers: Table = {}
        self.disks: Table = {}
        self.interfaces: Table = {}
        self.switches: Table = {}
        self.archives: Table = {}
        self.notes: Table = {}
        self.server_plans = server_plans()
        self.startup_scripts: dict[str, list[str]] = {}
        self.disk_configs: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self.add_switch(NETWORK, GATEWAY, switch_id=SWITCH_ID)
        self.add_archive(UBUNTU, 20)
        self.add_archive("Rocky Linux 9.4 64bit", 20)

    # ----------------------------------------------------------------- seeding
    def new_id(self, kind: str) -> str:
        """A new 12-digit id of a resource ``kind``."""
        return f"{_PREFIX[kind]}{next(self._ids):08d}"

    def api_root(self, zone: str = "is1a") -> str:
        """``http://127.0.0.1:<port>/cloud/zone/<zone>/api/cloud/1.1/``."""
        return f"{self.base_url}/cloud/zone/{zone}/api/cloud/1.1/"

    def add_switch(
        self,
        network: str,
        gateway: str,
        *,
        zone: str = "is1a",
        switch_id: str | None = None,
        name: str = "vcp-switch",
    ) -> str:
        """Seed a local switch whose NICs take addresses of ``network`` (inside 127.0.0.0/8)."""
        net = ipaddress.IPv4Network(network)
        if not net.subnet_of(ipaddress.IPv4Network("127.0.0.0/8")):
            raise ValueError(f"the fake Sakura only hands out loopback addresses, not {network}")
        with self.lock:
            switch_id = switch_id or self.new_id("switch")
            self.switches[switch_id] = {
                "ID": switch_id,
                "Name": name,
                "Description": "",
                "Tags": [],
                "Subnets": [],
                "UserSubnet": {"DefaultRoute": gateway, "NetworkMaskLen": net.prefixlen},
                "_zone": zone,
                "_network": net,
            }
            return switch_id

    def add_archive(self, name: str, size_gb: int = 20, *, scope: str = "shared") -> str:
        """Seed an archive of every zone; returns its id."""
        with self.lock:
            archive_id = self.new_id("archive")
            self.archives[archive_id] = {
                "ID": archive_id,
                "Name": name,
                "Description": "",
                "Tags": ["os-linux"],
                "Scope": scope,
                "SizeMB": size_gb * 1024,
                "Availability": "available",
            }
            return archive_id

    # ------------------------------------------------------------ test knobs
    def fail(
        self,
        operation: str,
        status: int = 503,
        code: str = "busy",
        message: str | None = None,
        *,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Make ``operation`` answer ``status`` with ``code`` ``times`` times, after ``after`` calls
        of it went through.

        Args:
            operation: ``"<resource>.<verb>"``: ``server.create``, ``server.get``,
                ``server.list``, ``server.delete``, ``server.boot``, ``server.shutdown``,
                ``server.power``, ``disk.create``, ``disk.get``, ``disk.delete``,
                ``disk.config``, ``disk.connect``, ``disk.disconnect``, ``interface.create``,
                ``interface.connect``, ``interface.update``, ``note.create``, ``note.delete``,
                ``archive.list``, ``product.server``, ``product.disk``...
            status: the HTTP status (503 busy, 409 quota, 401...).
            code: Sakura's ``error_code``.
            message: the ``error_msg`` (a default names the code).
            times: how many calls fail.
            after: how many calls succeed first.

        Example::

            fake.fail("server.create", 409, "limit_count_in_account_exceed", times=1, after=2)
        """
        with self.lock:
            error = sakura_error(status, code, message or f"injected failure: {code}")
            self.faults.setdefault(operation, []).append(Fault(error, times, after))

    def check_fault(self, operation: str) -> None:
        """Raise the next injected failure of ``operation``, if any is due."""
        queue = self.faults.get(operation)
        if not queue:
            return
        fault = queue[0]
        if fault.after > 0:
            fault.after -= 1
            return
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        raise fault.error

    def leftovers(self) -> dict[str, list[str]]:
        """The ids of the servers, disks, NICs and notes that still exist (each empty when clean)."""
        with self.lock:
            return {
                "servers": sorted(self.servers),
                "disks": sorted(self.disks),
                "interfaces": sorted(self.interfaces),
                "notes": sorted(self.notes),
            }

    def calls(self, method: str | None = None, path_part: str = "") -> list[dict[str, Any]]:
        """The recorded requests with ``method`` (any when ``None``) whose path holds ``path_part``."""
        with self.lock:
            recorded = list(self.requests)
        return [r for r in recorded if method in (None, r["method"]) and path_part in r["path"]]

    def status(self, server_id: str) -> str | None:
        """A server's ``Instance.Status`` as it stands (no read counted), None when it is gone."""
        with self.lock:
            server = self.servers.get(server_id)
            return None if server is None else str(server["Instance"]["Status"])

    # ------------------------------------------------------------- plumbing
    def authorized(self, header: str | None) -> str:
        """The token of a valid ``Authorization: Basic`` header; else 401 ``unauthorized``, whose
        message repeats the token and secret presented (so masking tests can fail)."""
        scheme, _, encoded = (header or "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        if (
            scheme.lower() != "basic"
            or user != self.token
            or not secrets.compare_digest(password, self.secret)
        ):
            # the presented credentials echoed, as a careless API might: the backend must mask them
            raise sakura_error(
                401,
                "unauthorized",
                f"authentication failed for {user}:{password}: wrong access token or secret",
            )
        return user

    def _shown(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if not k.startswith("_")}

    def _advance_server(self, server: dict[str, Any]) -> None:
        target = server.get("_target")
        if target is None:
            return
        status, reads = target
        if reads <= 0:
            server["Instance"] = {"Status": status, "BeforeStatus": server["Instance"]["Status"]}
            server["_target"] = None
        else:
            server["_target"] = (status, reads - 1)

    def _advance_disk(self, disk: dict[str, Any]) -> None:
        if disk["Availability"] == "migrating":
            if disk["_reads"] <= 0:
                disk["Availability"] = "available"
            else:
                disk["_reads"] -= 1

    def _server_json(self, server: dict[str, Any]) -> dict[str, Any]:
        sid = server["ID"]
        shown = self._shown(server)
        shown["Interfaces"] = [
            self._interface_json(i) for i in self.interfaces.values() if i["Server"]["ID"] == sid
        ]
        shown["Disks"] = [
            {"ID": d["ID"], "Name": d["Name"], "Connection": d["Connection"]}
            for d in self.disks.values()
            if (d.get("Server") or {}).get("ID") == sid
        ]
        return shown

    def _interface_json(self, interface: dict[str, Any]) -> dict[str, Any]:
        shown = self._shown(interface)
        switch = self.switches.get(interface.get("_switch") or "")
        shown["Switch"] = (
            None if switch is None else {"ID": switch["ID"], "Name": switch["Name"], "Scope": "user"}
        )
        return shown

    def _get(self, table: dict[str, dict[str, Any]], kind: str, item_id: str, zone: str) -> dict[str, Any]:
        item = table.get(item_id)
        if item is None or item.get("_zone", zone) != zone:
            raise sakura_error(404, "not_found", f"{kind} {item_id} was not found")
        return item

    def _listing(self, key: str, items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        filters = params.get("Filter") or {}
        found = [i for i in items if _matches(i, filters)]
        start, count = int(params.get("From") or 0), int(params.get("Count") or 0)
        page = found[start : start + count] if count else found[start:]
        return {"From": start, "Count": len(page), "Total": len(found), key: page, "is_ok": True}

    def _zone_listing(
        self,
        kind: str,
        table: dict[str, dict[str, Any]],
        zone: str,
        params: dict[str, Any],
        advance: Callable[[dict[str, Any]], None],
        show: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> dict[str, Any]:
        """``GET /<kind>``: the zone's items (each read once, so waits progress), filtered."""
        self.check_fault(f"{kind}.list")
        items = [i for i in table.values() if i["_zone"] == zone]
        for item in items:
            advance(item)
        return self._listing(f"{kind.capitalize()}s", [show(i) for i in items], params)

    # -------------------------------------------------------------- dispatch
    def handle(self, request: Request, raw: bytes) -> Any:
        """Answer one request like the IaaS API 1.1 (called under the lock by the route)."""
        parts = [p for p in request.url.path.split("/") if p]
        if parts[:2] != ["cloud", "zone"] or parts[3:6] != ["api", "cloud", "1.1"] or len(parts) < 7:
            raise sakura_error(404, "not_found", f"{request.url.path} is not served by the fake Sakura API")
        self.authorized(request.headers.get("authorization"))
        zone, path = parts[2], parts[6:]
        if zone not in ZONES:
            raise sakura_error(404, "not_found", f"zone {zone} was not found")
        body = parse_json(raw, sakura_error(400, "bad_request", "the body is not JSON").body) or {}
        params = _query(request)
        handler = getattr(self, f"_{path[0]}", None)
        if handler is None:
            raise sakura_error(404, "not_found", f"resource {path[0]} is not served by the fake Sakura API")
        result: Any = handler(request.method, path[1:], zone, body, params)
        return result

    # -------------------------------------------------------------- products
    def _product(self, method: str, tail: list[str], zone: str, body: Any, params: dict[str, Any]) -> Any:
        if method != "GET" or tail not in (["server"], ["disk"]):
            raise sakura_error(404, "not_found", "only /product/server and /product/disk are served")
        self.check_fault(f"product.{tail[0]}")
        if tail == ["server"]:
            return self._listing("ServerPlans", self.server_plans, params)
        plans = [
            {
                "ID": plan_id,
                "Name": name,
                "StorageClass": "iscsi1204",
                "Availability": "available",
                "Size": [
                    {"SizeMB": gb * 1024, "DisplaySize": gb, "DisplayUnit": "GB", "Availability": "available"}
                    for gb in DISK_SIZES_GB
                ],
            }
            for plan_id, name in DISK_PLAN_NAMES.items()
        ]
        return self._listing("DiskPlans", plans, params)

    def _read_only(
        self,
        kind: str,
        key: str,
        table: dict[str, dict[str, Any]],
        method: str,
        tail: list[str],
        zone: str,
        params: dict[str, Any],
    ) -> Any:
        if method != "GET" or len(tail) > 1:
            raise sakura_error(405, "method_not_allowed", f"the fake Sakura API only reads {kind}s")
        if tail:
            self.check_fault(f"{kind}.get")
            return {key: self._shown(self._get(table, kind, tail[0], zone)), "is_ok": True}
        self.check_fault(f"{kind}.list")
        items = [self._shown(i) for i in table.values() if i.get("_zone", zone) == zone]
        return self._listing(f"{key}s", items, params)

    def _archive(self, method: str, tail: list[str], zone: str, body: Any, params: dict[str, Any]) -> Any:
        return self._read_only("archive", "Archive", self.archives, method, tail, zone, params)

    def _switch(self, method: str, tail: list[str], zone: str, body: Any, params: dict[str, Any]) -> Any:
        return self._read_only("switch", "Switch", self.switches, method, tail, zone, params)

    # --------------------------------------------------------------- servers
    def _server(self, method: str, tail: list[str], zone: str, body: Any, params: dict[str, Any]) -> Any:
        if not tail and method == "GET":
            return self._zone_listing(
                "server", self.servers, zone, params, self._advance_server, self._server_json
            )
        if not tail and method == "POST":
            return self._create_server(zone, body)
        server = self._get(self.servers, "server", tail[0], zone)
        if len(tail) == 1:
            if method == "GET":
                self.check_fault("server.get")
                self._advance_server(server)
                return {"Server": self._server_json(server), "is_ok": True}
            if method == "DELETE":
                return self._delete_server(server, body)
        if len(tail) == 2 and tail[1] == "power":
            return self._power(server, method, body)
        raise sakura_error(404, "not_found", f"server/{'/'.join(tail)} is not served")

    def _create_server(self, zone: str, body: dict[str, Any]) -> Response:
        self.check_fault("server.create")
        spec = body.get("Server") or {}
        plan_id = (spec.get("ServerPlan") or {}).get("ID")
        plan = next((p for p in self.server_plans if p["ID"] == plan_id), None)
        if plan is None:
            raise sakura_error(400, "bad_request", f"server plan {plan_id} does not exist")
        if not spec.get("Name"):
            raise sakura_error(400, "bad_request", "Server.Name is required")
        mine = [s for s in self.servers.values() if s["_zone"] == zone]
        if self.max_servers is not None and len(mine) >= self.max_servers:
            raise sakura_error(
                409,
                "limit_count_in_account_exceed",
                f"the account may have at most {self.max_servers} servers",
            )
        server_id = self.new_id("server")
        self.servers[server_id] = {
            "ID": server_id,
            "Name": str(spec["Name"]),
            "Description": str(spec.get("Description") or ""),
            "Tags": list(spec.get("Tags") or []),
            "ServerPlan": dict(plan),
            "InterfaceDriver": spec.get("InterfaceDriver") or "virtio",
            "Availability": "available",
            "Zone": {"Name": zone},
            "Instance": {"Status": "down", "BeforeStatus": ""},
            "_zone": zone,
            "_target": None,
        }
        return JSONResponse(
            {"Server": self._server_json(self.servers[server_id]), "Success": True, "is_ok": True}, 201
        )

    def _delete_server(self, server: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        self.check_fault("server.delete")
        sid = server["ID"]
        if server["Instance"]["Status"] != "down":
            raise sakura_error(409, "still_running", f"server {sid} is running; shut it down first")
        with_disks = [str(d) for d in body.get("WithDisk") or []]
        for disk_id in with_disks:
            disk = self.disks.get(disk_id)
            if disk is None or (disk.get("Server") or {}).get("ID") != sid:
                raise sakura_error(400, "bad_request", f"disk {disk_id} is not connected to server {sid}")
        shown = self._server_json(server)
        for disk_id in with_disks:
            self.disks.pop(disk_id)
        for disk in self.disks.values():
            if (disk.get("Server") or {}).get("ID") == sid:
                disk["Server"] = None
        for interface_id in [i for i, nic in self.interfaces.items() if nic["Server"]["ID"] == sid]:
            self.interfaces.pop(interface_id)
        self.servers.pop(sid)
        return {"Server": shown, "Success": True, "is_ok": True}

    def _power(self, server: dict[str, Any], method: str, body: dict[str, Any]) -> dict[str, Any]:
        status = server["Instance"]["Status"]
        if method == "GET":
            self.check_fault("server.power")
            self._advance_server(server)
            return {"Instance": dict(server["Instance"]), "is_ok": True}
        if method == "PUT":
            self.check_fault("server.boot")
            if status == "up" or (server.get("_target") or ("",))[0] == "up":
                raise sakura_error(409, "conflict", f"server {server['ID']} is already up")
            self._transition(server, "up")
        elif method == "DELETE":
            self.check_fault("server.shutdown")
            if status == "down" and server.get("_target") is None:
                raise sakura_error(409, "conflict", f"server {server['ID']} is already down")
            if body.get("Force") or not self.ignore_shutdown:
                self._transition(server, "down")
        else:
            raise sakura_error(405, "method_not_allowed", f"{method} of a server's power")
        return {"Success": True, "is_ok": True}

    def _transition(self, server: dict[str, Any], status: str) -> None:
        server["_target"] = (status, self.power_reads - 1)
        if self.power_reads <= 0:
            self._advance_server(server)

    # ----------------------------------------------------------------- disks
    def _disk(self, method: str, tail: list[str], zone: str, body: Any, params: dict[str, Any]) -> Any:
        if not tail and method == "GET":
            return self._zone_listing("disk", self.disks, zone, params, self._advance_disk, self._shown)
        if not tail and method == "POST":
            return self._create_disk(zone, body)
        disk = self._get(self.disks, "disk", tail[0], zone)
        if len(tail) == 1 and method == "GET":
            self.check_fault("disk.get")
            self._advance_disk(disk)
            return {"Disk": self._shown(disk), "is_ok": True}
        if len(tail) == 1 and method == "DELETE":
            self.check_fault("disk.delete")
            if disk.get("Server"):
                raise sakura_error(
                    409, "still_connected", f"disk {disk['ID']} is connected to server {disk['Server']['ID']}"
                )
            self.disks.pop(disk["ID"])
            return {"Disk": self._shown(disk), "Success": True, "is_ok": True}
        if len(tail) == 2 and tail[1] == "config" and method == "PUT":
            self.check_fault("disk.config")
            self._configure(disk, body)
            return {"Success": True, "is_ok": True}
        if len(tail) == 4 and tail[1:3] == ["to", "server"] and method == "PUT":
            self.check_fault("disk.connect")
            return self._connect_disk(disk, self._get(self.servers, "server", tail[3], zone))
        if len(tail) == 3 and tail[1:3] == ["to", "server"] and method == "DELETE":
            self.check_fault("disk.disconnect")
            server = self.servers.get((disk.get("Server") or {}).get("ID", ""))
            if server is not None and server["Instance"]["Status"] != "down":
                raise sakura_error(409, "still_running", f"server {server['ID']} is running")
            disk["Server"] = None
            return {"Success": True, "is_ok": True}
        raise sakura_error(404, "not_found", f"disk/{'/'.join(tail)} is not served")

    def _create_disk(self, zone: str, body: dict[str, Any]) -> Response:
        self.check_fault("disk.create")
        spec = body.get("Disk") or {}
        plan_id = (spec.get("Plan") or {}).get("ID")
        if plan_id not in DISK_PLAN_NAMES:
            raise sakura_error(400, "bad_request", f"disk plan {plan_id} does not exist")
        size_mb = int(spec.get("SizeMB") or 20480)
        if size_mb not in [gb * 1024 for gb in DISK_SIZES_GB]:
            raise sakura_error(400, "bad_request", f"SizeMB {size_mb} is not offered by disk plan {plan_id}")
        source = (spec.get("SourceArchive") or {}).get("ID")
        if source is not None:
            archive = self._get(self.archives, "archive", str(source), zone)
            if archive["SizeMB"] > size_mb:
                raise sakura_error(400, "bad_request", f"SizeMB {size_mb} is smaller than archive {source}")
        disk_id = self.new_id("disk")
        disk = {
            "ID": disk_id,
            "Name": str(spec.get("Name") or disk_id),
            "Description": str(spec.get("Description") or ""),
            "Tags": list(spec.get("Tags") or []),
            "Plan": {"ID": plan_id, "Name": DISK_PLAN_NAMES[plan_id]},
            "SizeMB": size_mb,
            "Connection": spec.get("Connection") or "virtio",
            "Availability": "migrating",
            "SourceArchive": {"ID": str(source)} if source else None,
            "Server": None,
            "_zone": zone,
            "_reads": self.migrating_reads,
        }
        self.disks[disk_id] = disk
        if body.get("Config"):
            self._configure(disk, body["Config"], check_state=False)
        return JSONResponse({"Disk": self._shown(disk), "Success": "Accepted", "is_ok": True}, 202)

    def _configure(self, disk: dict[str, Any], config: dict[str, Any], check_state: bool = True) -> None:
        if check_state and disk["Availability"] != "available":
            raise sakura_error(409, "conflict", f"disk {disk['ID']} is {disk['Availability']}")
        server = self.servers.get((disk.get("Server") or {}).get("ID", ""))
        if server is not None and server["Instance"]["Status"] != "down":
            raise sakura_error(409, "still_running", f"server {server['ID']} is running")
        scripts = []
        for ref in config.get("Notes") or []:
            note = self.notes.get(str(ref.get("ID")))
            if note is None:
                raise sakura_error(404, "not_found", f"note {ref.get('ID')} was not found")
            scripts.append(str(note["Content"]))
        self.startup_scripts[disk["ID"]] = scripts
        self.disk_configs[disk["ID"]] = {k: v for k, v in config.items() if k != "Password"}

    def _connect_disk(self, disk: dict[str, Any], server: dict[str, Any]) -> dict[str, Any]:
        if disk["Availability"] != "available":
            raise sakura_error(409, "conflict", f"disk {disk['ID']} is {disk['Availability']}")
        if disk.get("Server"):
            raise sakura_error(
                409, "still_connected", f"disk {disk['ID']} is connected to server {disk['Server']['ID']}"
            )
        if server["Instance"]["Status"] != "down":
            raise sakura_error(409, "still_running", f"server {server['ID']} is running; shut it down first")
        disk["Server"] = {"ID": server["ID"], "Name": server["Name"]}
        return {"Success": True, "is_ok": True}

    # ------------------------------------------------------------ interfaces
    def _interface(self, method: str, tail: list[str], zone: str, body: Any, params: dict[str, Any]) -> Any:
        if not tail and method == "POST":
            self.check_fault("interface.create")
            server_id = str(((body.get("Interface") or {}).get("Server") or {}).get("ID") or "")
            server = self._get(self.servers, "server", server_id, zone)
            if server["Instance"]["Status"] != "down":
                raise sakura_error(409, "still_running", f"server {server_id} is running; shut it down first")
            interface_id = self.new_id("interface")
            number = next(self._ids)
            self.interfaces[interface_id] = {
                "ID": interface_id,
                "MACAddress": f"9c:a3:ba:{number >> 16 & 255:02x}:{number >> 8 & 255:02x}:{number & 255:02x}",
                "IPAddress": None,
                "UserIPAddress": None,
                "Server": {"ID": server_id},
                "_zone": zone,
                "_switch": None,
            }
            return JSONResponse(
                {"Interface": self._interface_json(self.interfaces[interface_id]), "is_ok": True}, 201
            )
        if not tail:
            raise sakura_error(405, "method_not_allowed", f"{method} /interface")
        interface = self._get(self.interfaces, "interface", tail[0], zone)
        if len(tail) == 1 and method == "GET":
            self.check_fault("interface.get")
            return {"Interface": self._interface_json(interface), "is_ok": True}
        if len(tail) == 1 and method == "PUT":
            self.check_fault("interface.update")
            address = (body.get("Interface") or {}).get("UserIPAddress")
            if address is not None:
                self._check_address(interface, str(address))
                interface["UserIPAddress"] = str(address)
            return {"Interface": self._interface_json(interface), "Success": True, "is_ok": True}
        if len(tail) == 1 and method == "DELETE":
            self.check_fault("interface.delete")
            self.interfaces.pop(interface["ID"])
            return {"Interface": self._interface_json(interface), "Success": True, "is_ok": True}
        if len(tail) == 4 and tail[1:3] == ["to", "switch"] and method == "PUT":
            self.check_fault("interface.connect")
            switch = self._get(self.switches, "switch", tail[3], zone)
            interface["_switch"] = switch["ID"]
            return {"Success": True, "is_ok": True}
        raise sakura_error(404, "not_found", f"interface/{'/'.join(tail)} is not served")

    def _check_address(self, interface: dict[str, Any], text: str) -> None:
        try:
            address = ipaddress.IPv4Address(text)
        except ValueError:
            raise sakura_error(400, "bad_request", f"UserIPAddress {text} is not an IPv4 address") from None
        if not address.is_loopback:
            raise sakura_error(
                400, "bad_request", f"the fake Sakura only hands out loopback addresses, not {text}"
            )
        switch = self.switches.get(interface.get("_switch") or "")
        if switch is None:
            raise sakura_error(
                400, "bad_request", f"interface {interface['ID']} is not connected to a switch"
            )
        if address not in switch["_network"]:
            raise sakura_error(
                400, "bad_request", f"{text} is outside {switch['_network']} of switch {switch['ID']}"
            )
        for other in self.interfaces.values():
            if (
                other is not interface
                and other.get("_switch") == switch["ID"]
                and other["UserIPAddress"] == text
            ):
                raise sakura_error(
                    409,
                    "ip_address_in_use",
                    f"{text} is used by interface {other['ID']} on switch {switch['ID']}",
                )

    # ----------------------------------------------------------------- notes
    def _note(self, method: str, tail: list[str], zone: str, body: Any, params: dict[str, Any]) -> Any:
        if not tail and method == "GET":
            self.check_fault("note.list")
            return self._listing("Notes", [self._shown(n) for n in self.notes.values()], params)
        if not tail and method == "POST":
            self.check_fault("note.create")
            spec = body.get("Note") or {}
            note_id = self.new_id("note")
            self.notes[note_id] = {
                "ID": note_id,
                "Name": str(spec.get("Name") or note_id),
                "Description": str(spec.get("Description") or ""),
                "Class": str(spec.get("Class") or "shell"),
                "Content": str(spec.get("Content") or ""),
                "Tags": list(spec.get("Tags") or []),
                "Scope": "user",
            }
            return JSONResponse(
                {"Note": self._shown(self.notes[note_id]), "Success": True, "is_ok": True}, 201
            )
        note = self.notes.get(tail[0]) if tail else None
        if note is None:
            raise sakura_error(404, "not_found", f"note {tail[0] if tail else ''} was not found")
        if method == "GET":
            self.check_fault("note.get")
            return {"Note": self._shown(note), "is_ok": True}
        if method == "DELETE":
            self.check_fault("note.delete")
            self.notes.pop(note["ID"])
            return {"Note": self._shown(note), "Success": True, "is_ok": True}
        raise sakura_error(405, "method_not_allowed", f"{method} of a note")


def _query(request: Request) -> dict[str, Any]:
    """A GET's parameters: the query string is one URL-encoded JSON document."""
    text = unquote(request.url.query or "")
    if not text:
        return {}
    try:
        params = json.loads(text)
    except ValueError:
        raise sakura_error(400, "bad_request", "the query string is not URL-encoded JSON") from None
    return params if isinstance(params, dict) else {}


def _recorded(fake: FakeSakura) -> Callable[[Request], dict[str, Any]]:
    def extra(request: Request) -> dict[str, Any]:
        try:
            params = _query(request)
        except HttpError:
            params = {}
        scheme, _, encoded = (request.headers.get("authorization") or "").partition(" ")
        try:
            user = base64.b64decode(encoded).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            user = ""
        return {"params": params, "auth": f"{user}:***" if scheme.lower() == "basic" else ""}

    return extra


def create_app(fake: FakeSakura) -> FastAPI:
    """The ASGI app serving ``fake``: one route that records every request (the JSON query
    decoded as ``params``, the credentials as ``token:***``) and dispatches it."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    serve = route(fake, fake.handle, 200, _recorded(fake))
    app.add_api_route(
        "/{path:path}", serve, methods=["GET", "PUT", "POST", "DELETE"], include_in_schema=False
    )
    return app


@dataclass
class RunningSakura(RunningFake[FakeSakura]):
    """A :class:`FakeSakura` served on 127.0.0.1 (yielded by :func:`running_fake_sakura`)."""

    @property
    def api_root(self) -> str:
        """The ``api_root`` setting of the backend: ``http://127.0.0.1:<port>/cloud/zone/{zone}/api/cloud/1.1/``."""
        return f"{self.base_url}/cloud/zone/{{zone}}/api/cloud/1.1/"

    def zone_root(self, zone: str = "is1a") -> str:
        """The API root of one zone (what a :class:`SakuraClient` is given)."""
        return self.api_root.replace("{zone}", zone)


@contextmanager
def running_fake_sakura(fake: FakeSakura | None = None, port: int = 0) -> Iterator[RunningSakura]:
    """Serve ``fake`` (a new :class:`FakeSakura` by default) on 127.0.0.1 for a ``with`` block.

    Args:
        fake: the fake to serve.
        port: the TCP port, 0 for any free port.

    Yields:
        The :class:`RunningSakura` (``api_root``, ``fake``).
    """
    fake = fake or FakeSakura()
    with serving(create_app(fake), "fake Sakura API", port=port) as (bound, server):
        fake.base_url = f"http://127.0.0.1:{bound}"
        yield RunningSakura(port=bound, server=server, fake=fake)


def backend_section(
    api_root: str,
    *,
    network: str = NETWORK,
    gateway: str = GATEWAY,
    switch_id: str = SWITCH_ID,
    controller_address: str = "127.66.0.2",
    **extra: Any,
) -> dict[str, Any]:
    """The ``sakura`` backends section that points a SakuraBackend at a fake: its credentials,
    short waits and backoffs, and a catalog entry ``default`` on the fake's switch.

    Args:
        api_root: the fake's ``api_root`` (:attr:`RunningSakura.api_root`, ``{zone}`` in it).
        network: the switch's network (``private_network_ipmask``).
        gateway: ``sakura_private_subnet_gateway_ip``.
        switch_id: ``sakura_local_switch_id``.
        controller_address: ``VCCCTR_IPADDR`` of the bootstrap script.
        extra: settings to add or override.
    """
    return {
        "sakura_token": TOKEN,
        "sakura_secret": SECRET,
        "api_root": api_root,
        "poll_interval": 0.01,
        "shutdown_timeout": 2,
        "wait_timeout": 60,
        "retry_initial": 0.01,
        "retry_maximum": 0.05,
        "controller_address": controller_address,
        "vpn_catalog": {
            "default": {
                "sakura_local_switch_id": switch_id,
                "sakura_private_subnet_gateway_ip": gateway,
                "sakura_zone": "is1a",
                "private_network_ipmask": network,
            }
        },
        **extra,
    }


def _describe(fake: FakeSakura, port: int) -> str:
    return (
        f"fake Sakura Cloud API on http://127.0.0.1:{port}/cloud/zone/<zone>/api/cloud/1.1/ "
        f"(token {fake.token}, switch {SWITCH_ID} on {NETWORK})"
    )


if __name__ == "__main__":  # pragma: no cover
    main(__doc__, 8996, FakeSakura, create_app, _describe, migrating_reads=2, power_reads=1)
