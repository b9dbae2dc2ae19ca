"""A local fake of the mdx REST API, for the tests of the mdx extension (``vcpsdk.extensions.mdx``).

It serves the paths documented in docs/mdx.md, keeps its state in memory (one
:class:`FakeMdx`), and only ever listens on 127.0.0.1.

* Authentication: ``POST /api/login/`` with ``{"username", "password"}`` returns a
  JWT-shaped token (``header.payload.signature``, HMAC-SHA256 with a per-fake secret);
  every other call needs ``Authorization: JWT <token>`` with a token the fake issued and
  has not revoked (``POST /api/refresh/`` revokes the old one), else 401.
* VMs move through states as they are *polled* (``GET /api/vm/<id>/``):
  deploy = ``Deploying`` for ``deploy_polls`` polls, then ``PowerON`` without an address
  for ``address_polls`` polls, then an IPv4 address from 127.50.0.0/24;
  power on/off/shutdown = the old state (with a running task) for ``power_polls`` polls;
  reboot = ``PowerOFF`` for ``power_polls`` polls, then ``PowerON``;
  destroy = listed for ``destroy_polls`` polls, then gone (404).
  ``set_status`` forces a state (``Suspended``, ``NotFound``, ...).
* Lists are paginated like Django REST framework: ``?page=N&page_size=M`` answers
  ``{"count", "next", "previous", "results"}``, a page past the end answers 404.
* ``fail_next(status, body)`` makes the next authenticated call answer an error.

Run it by hand::

    python -m vcpsdk.testing.fakes.mdx --port 8999      # prints a token and the endpoint
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request

from vcpsdk.testing.fakes._runner import (
    HttpError,
    RunningFake,
    parse_json,
    route,
    running,
)
from vcpsdk.testing.fakes._runner import main as run_main

ADDRESS_POOL = ipaddress.IPv4Network("127.50.0.0/24")
USERS = {"alice": "alice-password"}
INSTITUTION = "NII"
PROJECT = "ocs-project"
OTHER_PROJECT = "other-project"
EXPIRED_PROJECT = "expired-project"
SECOND_INSTITUTION = "Univ"
SECOND_PROJECT = "lab-project"

VM_SPEC_KEYS = {
    "catalog",
    "template_name",
    "pack_num",
    "pack_type",
    "gpu",
    "disk_size",
    "network_adapters",
    "shared_key",
    "storage_network",
    "service_level",
    "os_type",
    "power_on",
    "project",
    "vm_name",
}
ACL_KEYS = (
    "segment",
    "src_address",
    "src_mask",
    "src_port",
    "dst_address",
    "dst_mask",
    "dst_port",
    "protocol",
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _now() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class FakeVm:
    """One VM of the fake."""

    uuid: str
    name: str
    project: str
    spec: dict[str, Any]
    status: str = "Deploying"
    ipv4: str | None = None
    running_tasks: list[str] = field(default_factory=list)
    #: steps [polls left before it applies, action]; the head applies once its count is 0
    pending: deque[list[Any]] = field(default_factory=deque)
    polls: int = 0


class FakeMdx:
    """The fake's whole state, plus the knobs the tests turn."""

    def __init__(
        self, *, deploy_polls: int = 2, address_polls: int = 0, power_polls: int = 1, destroy_polls: int = 1
    ) -> None:
        self.lock = threading.RLock()
        self.secret = secrets.token_bytes(32)
        self.base_url = "http://127.0.0.1:0"  # where it is served (set by the runner)
        self.reset(
            deploy_polls=deploy_polls,
            address_polls=address_polls,
            power_polls=power_polls,
            destroy_polls=destroy_polls,
        )

    # ------------------------------------------------------------------ state
    def reset(
        self, *, deploy_polls: int = 2, address_polls: int = 0, power_polls: int = 1, destroy_polls: int = 1
    ) -> None:
        """Forget everything and seed the standard data set."""
        with self.lock:
            self.deploy_polls = deploy_polls
            self.address_polls = address_polls
            self.power_polls = power_polls
            self.destroy_polls = destroy_polls
            self.tokens: dict[str, str] = {}  # live token -> user
            self.requests: list[dict[str, Any]] = []  # every request seen
            self.failures: deque[tuple[int, Any]] = deque()
            self.free_addresses = deque(str(a) for a in ADDRESS_POOL.hosts())
            self.institutions: list[dict[str, Any]] = []
            self.projects: dict[str, dict[str, Any]] = {}
            self.segments: dict[str, dict[str, Any]] = {}  # uuid -> segment (+ project)
            self.catalogs: dict[str, list[dict[str, Any]]] = {}
            self.vms: dict[str, FakeVm] = {}
            self.dnat: dict[str, list[dict[str, Any]]] = {}
            self.acls: dict[str, dict[str, Any]] = {}
            self.history: dict[str, list[dict[str, Any]]] = {}
            self._seed()

    def _seed(self) -> None:
        def project(name: str, type_: str = "通常", expired: bool = False) -> dict[str, Any]:
            project_id = str(uuid.uuid4())
            p: dict[str, Any] = {"uuid": project_id, "name": name, "type": type_, "expired": expired}
            self.projects[project_id] = p
            self.catalogs[project_id] = []
            self.dnat[project_id] = []
            self.history[project_id] = []
            return p

        main = project(PROJECT)
        other = project(OTHER_PROJECT)
        expired = project(EXPIRED_PROJECT, expired=True)
        lab = project(SECOND_PROJECT, type_="専有")
        self.institutions = [
            {"uuid": str(uuid.uuid4()), "name": INSTITUTION, "projects": [main, other, expired]},
            {"uuid": str(uuid.uuid4()), "name": SECOND_INSTITUTION, "projects": [lab]},
        ]
        for p in (main, other, expired, lab):
            for index, (suffix, default) in enumerate((("", True), ("-extra", False))):
                seg = {
                    "uuid": str(uuid.uuid4()),
                    "name": p["name"] + suffix,
                    "default": default,
                    "project": p["uuid"],
                    "vlan_id": 100 + index,
                    "vni": 5000 + index,
                    "ip_range": f"10.{len(self.segments)}.0.0/21",
                }
                self.segments[seg["uuid"]] = seg
            for os_name, version, template in (
                ("Ubuntu", "22.04", "ubuntu-2204-server"),
                ("Ubuntu", "24.04", "ubuntu-2404-server"),
                ("Rocky", "9", "rocky-9-server"),
            ):
                self.catalogs[p["uuid"]].append(
                    {
                        "uuid": str(uuid.uuid4()),
                        "name": f"{os_name} {version} server",
                        "type": "Public",
                        "template_name": template,
                        "os_type": "Linux",
                        "os_name": os_name,
                        "os_version": version,
                        "hw_version": "vmx-19",
                        "description": f"{os_name} {version}",
                        "login_username": "mdxuser",
                    }
                )
            default_seg = self.project_segments(p["uuid"])[0]
            for i in range(5):
                self.dnat[p["uuid"]].append(
                    {
                        "uuid": str(uuid.uuid4()),
                        "pool_address": f"203.0.113.{10 + i}",
                        "segument": default_seg["name"],
                        "dst_address": f"10.0.0.{10 + i}",
                    }
                )
            for i in range(3):
                acl = {
                    "uuid": str(uuid.uuid4()),
                    "segment": default_seg["uuid"],
                    "src_address": f"192.0.2.{i}",
                    "src_mask": "32",
                    "src_port": "any",
                    "dst_address": "10.0.0.0",
                    "dst_mask": "21",
                    "dst_port": str(22 + i),
                    "protocol": "TCP",
                }
                self.acls[acl["uuid"]] = acl
            for i in range(3):
                self._history(
                    p["uuid"], "alice", "CreateSegment", default_seg["uuid"], f"seed-{i}", completed=True
                )

    def project_segments(self, project_id: str) -> list[dict[str, Any]]:
        """The segments of one project, default first."""
        return sorted(
            (s for s in self.segments.values() if s["project"] == project_id), key=lambda s: not s["default"]
        )

    def project_by_name(self, name: str) -> dict[str, Any]:
        """A seeded project by name."""
        return next(p for p in self.projects.values() if p["name"] == name)

    def vm_by_name(self, name: str) -> FakeVm | None:
        """The VM of that name (any project), if any."""
        with self.lock:
            return next((vm for vm in self.vms.values() if vm.name == name), None)

    def set_status(self, name: str, status: str, ipv4: str | None = None) -> None:
        """Force a VM's state (drops pending transitions)."""
        with self.lock:
            vm = self.vm_by_name(name)
            assert vm is not None, name
            vm.status = status
            vm.pending.clear()
            vm.running_tasks = []
            if ipv4 is not None:
                vm.ipv4 = ipv4

    def fail_next(self, status: int, body: Any = None) -> None:
        """Make the next authenticated request answer ``status`` with ``body``."""
        with self.lock:
            self.failures.append((status, body))

    def issue_token(self, user: str = "alice") -> str:
        """A new JWT-shaped token for ``user``."""
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64(
            json.dumps({"username": user, "jti": uuid.uuid4().hex, "exp": int(time.time()) + 3600}).encode()
        )
        signature = _b64(hmac.new(self.secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        token = f"{header}.{payload}.{signature}"
        with self.lock:
            self.tokens[token] = user
        return token

    def _check_token(self, authorization: str | None) -> str:
        if not authorization:
            raise HttpError(401, {"detail": "Authentication credentials were not provided."})
        scheme, _, token = authorization.partition(" ")
        if scheme != "JWT" or not token:
            raise HttpError(401, {"detail": "Invalid Authorization header. Expected 'JWT <token>'."})
        parts = token.split(".")
        if len(parts) != 3:
            raise HttpError(401, {"detail": "Error decoding signature."})
        expected = _b64(hmac.new(self.secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, parts[2]):
            raise HttpError(401, {"detail": "Signature verification failed."})
        user = self.tokens.get(token)
        if user is None:
            raise HttpError(401, {"detail": "Signature has expired."})
        return user

    def _history(
        self,
        project_id: str,
        user: str,
        type_: str,
        object_uuid: str,
        object_name: str,
        completed: bool = False,
    ) -> dict[str, Any]:
        entry = {
            "uuid": str(uuid.uuid4()),
            "project": project_id,
            "user_name": user,
            "type": type_,
            "object_uuid": object_uuid,
            "object_name": object_name,
            "start_datetime": _now(),
            "end_datetime": _now() if completed else None,
            "status": "Completed" if completed else "Running",
            "progress": 100 if completed else 0,
            "error_message": "",
            "error_detail": "",
        }
        self.history[project_id].insert(0, entry)  # newest first
        return entry

    @staticmethod
    def _complete(entry: dict[str, Any]) -> None:
        entry.update(status="Completed", progress=100, end_datetime=_now())

    # ------------------------------------------------------------ VM lifecycle
    def _observe(self, vm: FakeVm) -> None:
        """One poll of a VM: apply due transitions, then count the poll."""
        vm.polls += 1
        while vm.pending and vm.pending[0][0] <= 0:
            _, action = vm.pending.popleft()
            action(vm)
        if vm.pending:
            vm.pending[0][0] -= 1

    def _assign_address(self, vm: FakeVm) -> None:
        vm.ipv4 = self.free_addresses.popleft()

    def _vm_detail(self, vm: FakeVm) -> dict[str, Any]:
        segs = [
            self.segments.get(a["segment"], {}).get("name", a["segment"])
            for a in vm.spec.get("network_adapters", [])
        ]
        pack_num = vm.spec.get("pack_num", 1)
        return {
            "name": vm.name,
            "os_type": vm.spec.get("os_type", "Linux"),
            "status": vm.status,
            "vmware_tools": [
                {"status": "toolsOk" if vm.status == "PowerON" else "toolsNotRunning", "version": "12352"}
            ],
            "cpu": 2 * pack_num,
            "memory": f"{4 * pack_num} GB",
            "gpu": vm.spec.get("gpu", "0"),
            "service_networks": [
                {
                    "adapter_number": a["adapter_number"],
                    "ipv4_address": [vm.ipv4] if (vm.ipv4 and i == 0) else [],
                    "ipv6_address": [],
                    "segment": segs[i],
                }
                for i, a in enumerate(vm.spec.get("network_adapters", []))
            ],
            "storage_networks": [
                {
                    "adapter_number": 1,
                    "ipv4_address": [],
                    "ipv6_address": [],
                    "type": vm.spec.get("storage_network", "portgroup"),
                }
            ],
            "hard_disks": [
                {
                    "disk_number": 1,
                    "device_key": 2000,
                    "capacity": f"{vm.spec.get('disk_size', 40)} GB",
                    "datastore": "fake-datastore",
                }
            ],
            "dvd_media": None,
            "vcenter": "fake-vcenter",
            "esxi": "fake-esxi-01",
            "pack_type": vm.spec.get("pack_type", "cpu"),
            "pack_num": pack_num,
        }

    def _vm_summary(self, vm: FakeVm) -> dict[str, Any]:
        return {
            "uuid": vm.uuid,
            "name": vm.name,
            "status": vm.status,
            "vcenter": "fake-vcenter",
            "running_tasks": list(vm.running_tasks),
        }

    def deploy(self, user: str, body: Any) -> dict[str, Any]:
        """``POST /api/vm/deploy/``."""
        if not isinstance(body, dict):
            raise HttpError(400, {"non_field_errors": ["Invalid data."]})
        errors: dict[str, list[str]] = {}
        for key in ("vm_name", "project", "catalog", "template_name", "network_adapters"):
            if not body.get(key):
                errors[key] = ["This field is required."]
        project_id = str(body.get("project") or "")
        if project_id and project_id not in self.projects:
            errors["project"] = ["Invalid pk - object does not exist."]
        elif project_id:
            if body.get("catalog") and body["catalog"] not in {c["uuid"] for c in self.catalogs[project_id]}:
                errors["catalog"] = ["Invalid pk - object does not exist."]
            for adapter in body.get("network_adapters") or []:
                seg = self.segments.get(adapter.get("segment"))
                if seg is None or seg["project"] != project_id:
                    errors["network_adapters"] = ["Invalid segment."]
            if any(vm.name == body.get("vm_name") and vm.project == project_id for vm in self.vms.values()):
                errors["vm_name"] = ["A virtual machine with this name already exists."]
        unknown = set(body) - VM_SPEC_KEYS
        if unknown:
            errors["non_field_errors"] = [f"Unknown fields: {sorted(unknown)}"]
        if errors:
            raise HttpError(400, errors)
        vm = FakeVm(
            uuid=str(uuid.uuid4()),
            name=body["vm_name"],
            project=project_id,
            spec=dict(body),
            running_tasks=["Deploy"],
        )
        entry = self._history(project_id, user, "Deploy", vm.uuid, vm.name)

        def powered_on(v: FakeVm) -> None:
            v.status = "PowerON"

        def addressed(v: FakeVm) -> None:
            self._assign_address(v)
            v.running_tasks = []
            self._complete(entry)

        vm.pending.extend([[self.deploy_polls, powered_on], [self.address_polls, addressed]])
        self.vms[vm.uuid] = vm
        return {"task_id": entry["uuid"]}

    def action(self, user: str, vm_id: str, action: str) -> dict[str, Any]:
        """``POST /api/vm/<id>/<action>/``."""
        vm = self.vms.get(vm_id)
        if vm is None:
            raise HttpError(404, {"detail": "Not found."})
        if vm.pending:
            raise HttpError(409, {"detail": f"VM {vm.name} has a running task: {vm.running_tasks}"})
        rules: dict[str, tuple[tuple[str, ...], str, str]] = {
            "power_on": (("PowerOFF", "Deallocated", "Suspended"), "PowerON", "PowerOn"),
            "power_off": (("PowerON", "Suspended"), "PowerOFF", "PowerOff"),
            "shutdown": (("PowerON",), "PowerOFF", "Shutdown"),
            "reboot": (("PowerON",), "PowerON", "Reboot"),
            "destroy": (("PowerOFF", "Deallocated"), "", "Destroy"),
        }
        if action not in rules:
            raise HttpError(404, {"detail": "Not found."})
        allowed, target, task = rules[action]
        if vm.status not in allowed:
            raise HttpError(409, {"detail": f"Cannot {action} VM {vm.name} in state {vm.status}."})
        entry = self._history(vm.project, user, task, vm.uuid, vm.name)
        vm.running_tasks = [task]

        def finish(v: FakeVm, target: str = target) -> None:
            v.status = target
            v.running_tasks = []
            self._complete(entry)

        def remove(v: FakeVm) -> None:
            self.vms.pop(v.uuid, None)
            self._complete(entry)

        if action == "destroy":
            vm.pending.append([self.destroy_polls, remove])
        elif action == "reboot":
            vm.status = "PowerOFF"
            vm.pending.append([self.power_polls, finish])
        else:
            vm.pending.append([self.power_polls, finish])
        return {"task_id": entry["uuid"]}

    def vm_info(self, vm_id: str) -> dict[str, Any]:
        """``GET /api/vm/<id>/``: one poll."""
        vm = self.vms.get(vm_id)
        if vm is None:
            raise HttpError(404, {"detail": "Not found."})
        self._observe(vm)
        if vm.uuid not in self.vms:  # destroyed by this poll
            raise HttpError(404, {"detail": "Not found."})
        return self._vm_detail(vm)

    def project_vms(self, project_id: str) -> list[dict[str, Any]]:
        """The VM list of a project, oldest first."""
        return [self._vm_summary(vm) for vm in self.vms.values() if vm.project == project_id]

    def add_acl(self, body: Any) -> dict[str, Any]:
        """``POST /api/acl/``."""
        if not isinstance(body, dict):
            raise HttpError(400, {"non_field_errors": ["Invalid data."]})
        errors = {k: ["This field is required."] for k in ACL_KEYS if not body.get(k)}
        if body.get("segment") and body["segment"] not in self.segments:
            errors["segment"] = ["Invalid pk - object does not exist."]
        if body.get("protocol") and body["protocol"] not in ("ICMP", "TCP", "UDP"):
            errors["protocol"] = [f'"{body["protocol"]}" is not a valid choice.']
        if errors:
            raise HttpError(400, errors)
        acl = {"uuid": str(uuid.uuid4()), **{k: body[k] for k in ACL_KEYS}}
        self.acls[acl["uuid"]] = acl
        project_id = self.segments[body["segment"]]["project"]
        self._history(project_id, "alice", "AddAclIPv4", acl["uuid"], acl["src_address"], completed=True)
        return acl

    def delete_acl(self, acl_id: str) -> None:
        """``DELETE /api/acl/<id>/``."""
        acl = self.acls.pop(acl_id, None)
        if acl is None:
            raise HttpError(404, {"detail": "Not found."})
        project_id = self.segments[acl["segment"]]["project"]
        self._history(project_id, "alice", "DeleteAclIPv4", acl_id, acl["src_address"], completed=True)

    def count_requests(self, method: str, path_part: str) -> int:
        """How many requests with ``method`` had ``path_part`` in their path."""
        with self.lock:
            return sum(1 for r in self.requests if r["method"] == method and path_part in r["path"])


def _paginate(request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
    try:
        page = int(request.query_params.get("page", "1"))
        page_size = int(request.query_params.get("page_size", "100"))
    except ValueError as e:
        raise HttpError(404, {"detail": "Invalid page."}) from e
    if page < 1 or page_size < 1:
        raise HttpError(404, {"detail": "Invalid page."})
    start = (page - 1) * page_size
    if start and start >= len(items):
        raise HttpError(404, {"detail": "Invalid page."})
    base = str(request.url.remove_query_params(["page", "page_size"]))
    sep = "&" if "?" in base else "?"
    has_next = start + page_size < len(items)
    return {
        "count": len(items),
        "next": f"{base}{sep}page={page + 1}&page_size={page_size}" if has_next else None,
        "previous": f"{base}{sep}page={page - 1}&page_size={page_size}" if page > 1 else None,
        "results": items[start : start + page_size],
    }


def create_app(fake: FakeMdx) -> FastAPI:
    """The FastAPI app serving ``fake``."""
    app = FastAPI(title="fake mdx REST API")
    app.state.fake = fake

    def endpoint(status: int = 200, auth: bool = True) -> Callable[..., Any]:
        """Wrap a handler(user, request, body, **path) with auth, locking and errors."""

        def wrap(handler: Callable[..., Any]) -> Callable[..., Any]:
            def call(request: Request, raw: bytes) -> Any:
                user = fake._check_token(request.headers.get("authorization")) if auth else ""
                if auth and fake.failures:
                    raise HttpError(*fake.failures.popleft())
                body = parse_json(raw, {"detail": "JSON parse error."})
                return handler(user, request, body, **request.path_params)

            served = route(fake, call, status, lambda r: {"authorization": r.headers.get("authorization")})
            served.__name__ = handler.__name__
            return served

        return wrap

    def project_of(project_id: str) -> str:
        if project_id not in fake.projects:
            raise HttpError(404, {"detail": "Not found."})
        return project_id

    @endpoint(auth=False)
    def login(user: str, request: Request, body: Any) -> dict[str, str]:
        if (
            not isinstance(body, dict)
            or USERS.get(str(body.get("username"))) != body.get("password")
            or not body.get("password")
        ):
            raise HttpError(400, {"non_field_errors": ["Unable to log in with provided credentials."]})
        return {"token": fake.issue_token(body["username"])}

    @endpoint()
    def refresh(user: str, request: Request, body: Any) -> dict[str, str]:
        old = body.get("token") if isinstance(body, dict) else None
        if old not in fake.tokens:
            raise HttpError(400, {"non_field_errors": ["Signature has expired."]})
        del fake.tokens[old]
        return {"token": fake.issue_token(user)}

    @endpoint()
    def assigned(user: str, request: Request, body: Any) -> list[dict[str, Any]]:
        return json.loads(json.dumps(fake.institutions))

    @endpoint()
    def history(user: str, request: Request, body: Any, project_id: str) -> dict[str, Any]:
        return _paginate(request, fake.history[project_of(project_id)])

    @endpoint()
    def vm_list(user: str, request: Request, body: Any, project_id: str) -> dict[str, Any]:
        return _paginate(request, fake.project_vms(project_of(project_id)))

    @endpoint()
    def vm_info(user: str, request: Request, body: Any, vm_id: str) -> dict[str, Any]:
        return fake.vm_info(vm_id)

    @endpoint(status=202)
    def deploy(user: str, request: Request, body: Any) -> dict[str, Any]:
        return fake.deploy(user, body)

    def action_route(action: str) -> Callable[..., Any]:
        @endpoint(status=202)
        def act(user: str, request: Request, body: Any, vm_id: str) -> dict[str, Any]:
            if action == "power_on" and isinstance(body, dict) and "service_level" in body:
                vm = fake.vms.get(vm_id)
                if vm is not None:
                    vm.spec["service_level"] = body["service_level"]
            return fake.action(user, vm_id, action)

        return act

    @endpoint()
    def catalogs(user: str, request: Request, body: Any, project_id: str) -> dict[str, Any]:
        return _paginate(request, fake.catalogs[project_of(project_id)])

    @endpoint()
    def segments(user: str, request: Request, body: Any, project_id: str) -> list[dict[str, Any]]:
        return [
            {k: s[k] for k in ("uuid", "name", "default")}
            for s in fake.project_segments(project_of(project_id))
        ]

    @endpoint()
    def segment_summary(user: str, request: Request, body: Any, segment_id: str) -> dict[str, Any]:
        seg = fake.segments.get(segment_id)
        if seg is None:
            raise HttpError(404, {"detail": "Not found."})
        return {k: seg[k] for k in ("vlan_id", "vni", "ip_range")}

    @endpoint()
    def dnat(user: str, request: Request, body: Any, project_id: str) -> dict[str, Any]:
        return _paginate(request, fake.dnat[project_of(project_id)])

    @endpoint()
    def acl_list(user: str, request: Request, body: Any, segment_id: str) -> dict[str, Any]:
        if segment_id not in fake.segments:
            raise HttpError(404, {"detail": "Not found."})
        items = [
            {k: v for k, v in a.items() if k != "segment"}
            for a in fake.acls.values()
            if a["segment"] == segment_id
        ]
        return _paginate(request, items)

    @endpoint(status=201)
    def acl_add(user: str, request: Request, body: Any) -> dict[str, Any]:
        return fake.add_acl(body)

    @endpoint(status=204)
    def acl_delete(user: str, request: Request, body: Any, acl_id: str) -> None:
        fake.delete_acl(acl_id)

    routes: list[tuple[str, str, Callable[..., Any]]] = [
        ("POST", "/api/login/", login),
        ("POST", "/api/refresh/", refresh),
        ("GET", "/api/project/assigned/", assigned),
        ("GET", "/api/history/project/{project_id}/", history),
        ("GET", "/api/vm/project/{project_id}/", vm_list),
        ("POST", "/api/vm/deploy/", deploy),
        ("GET", "/api/vm/{vm_id}/", vm_info),
        ("GET", "/api/catalog/project/{project_id}/", catalogs),
        ("GET", "/api/segment/project/{project_id}/all/", segments),
        ("GET", "/api/segment/{segment_id}/summary", segment_summary),
        ("GET", "/api/dnat/project/{project_id}", dnat),
        ("GET", "/api/acl/segment/{segment_id}/", acl_list),
        ("POST", "/api/acl/", acl_add),
        ("DELETE", "/api/acl/{acl_id}/", acl_delete),
    ]
    for action in ("power_on", "power_off", "shutdown", "reboot", "destroy"):
        routes.append(("POST", f"/api/vm/{{vm_id}}/{action}/", action_route(action)))
    for method, path, handler in routes:
        app.add_api_route(path, handler, methods=[method], include_in_schema=False)
    return app


def running_fake_mdx(fake: FakeMdx | None = None) -> AbstractContextManager[RunningFake[FakeMdx]]:
    """Serve ``fake`` (a new :class:`FakeMdx` by default) on a free 127.0.0.1 port for a
    ``with`` block, which gets the :class:`~vcpsdk.testing.fakes._runner.RunningFake`."""
    return running(fake or FakeMdx(), create_app, "fake mdx server")


def describe(fake: FakeMdx, port: int) -> str:
    """The endpoint, a fresh token, the login and the projects of a fake served on ``port``."""
    login = {"username": "alice", "password": USERS["alice"]}
    projects = ", ".join((PROJECT, OTHER_PROJECT, EXPIRED_PROJECT, SECOND_PROJECT))
    return (
        f"endpoint: http://127.0.0.1:{port}\ntoken:    {fake.issue_token('alice')}\n"
        f"login:    {login!r}\nprojects: {projects}"
    )


def main() -> None:  # pragma: no cover - manual use
    """Serve a fake mdx on 127.0.0.1 until interrupted."""
    run_main(
        __doc__,
        8999,
        FakeMdx,
        create_app,
        describe,
        deploy_polls=2,
        address_polls=0,
        power_polls=1,
        destroy_polls=1,
    )


if __name__ == "__main__":  # pragma: no cover
    main()
