"""A local fake of Chameleon Cloud's OpenStack APIs, for the tests of the Chameleon extensions.

It serves, on 127.0.0.1 only, the parts of three services that
``vcpsdk.extensions.chameleon`` uses, written from their public API references:

* **Keystone v3** ``POST /v3/auth/tokens`` with an application credential
  (``{"auth": {"identity": {"methods": ["application_credential"],
  "application_credential": {"id", "secret"}}}}``): 201, the token in header
  ``X-Subject-Token``, the body ``{"token": {"expires_at", "project", "catalog", ...}}``
  whose catalog points at this server: ``reservation`` (Blazar) and ``network`` (Neutron)
  in region ``CHI@UC`` (``/reservation/v1``, ``/network``) and ``CHI@TACC``
  (``/tacc/reservation`` without ``/v1``, ``/tacc/network``).  A wrong credential: 401
  ``{"error": {"code", "message", "title"}}``.
* **Blazar v1** ``/leases`` (list, create, show, update, delete).  Errors are
  ``{"error_code", "error_message", "error_name"}``.
* **Neutron v2.0** ``/v2.0/networks`` (list, show) and ``/v2.0/subnets`` (list, create).
  Errors are ``{"NeutronError": {"type", "message", "detail"}}``.

Every Blazar/Neutron call needs header ``X-Auth-Token`` with a live token, else 401.

**Time.** The fake has its own clock, ``now()`` = real UTC time + an offset that
``advance()`` moves forward; tests point the client's clock at it.

**Leases.** A new lease is ``STARTING`` for ``starting_polls`` reads (``GET``) or
``STARTING_SEC`` seconds of the fake's clock, whichever ends first, then ``PENDING`` until
its start date, ``ACTIVE`` until its end date, then ``TERMINATED``.  A
network reservation's Neutron network is created when the lease becomes ACTIVE and deleted
(with its subnets) when the lease ends or is deleted.  ``set_lease_status`` forces a status
(``ERROR``).  Rules (Blazar's and Chameleon's, as publicly documented):

* dates are ``"YYYY-mm-dd HH:MM"`` UTC, or ``"now"`` for the start; the start may not be
  before the current minute; the end must be after the start; a lease may last at most
  ``MAX_LEASE_DAYS`` (7) days;
* hosts are chosen by ``resource_properties`` ``["==", "$node_type", <type>]``; ``min``
  hosts must be free for the whole period (``HOSTS`` per node type), else 409;
* lease names are unique in the project (409); a network name already in use is 409;
* an update may move ``end_date`` later only within ``EXTENSION_WINDOW_HOURS`` (48) hours
  before the current end, by at most ``MAX_LEASE_DAYS`` days at a time, and only for a
  PENDING or ACTIVE lease (409 otherwise); hosts must stay free for the added time.

``fail_next(status, body)`` makes the next Blazar/Neutron call fail; ``revoke_tokens()``
invalidates every token; ``requests`` records every request (method, path, query, whether a
token was sent, body).

Run it by hand::

    python -m vcpsdk.testing.fakes.chameleon --port 8998
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import secrets
import threading
import uuid
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from vcpsdk.testing.fakes._runner import (
    HttpError,
    RunningFake,
    parse_json,
    route,
    running,
)
from vcpsdk.testing.fakes._runner import main as run_main

APP_CRED_ID = "3f2b9c1e0a5d4e8f9b7a6c5d4e3f2a1b"
APP_CRED_SECRET = "fake-app-cred-secret-Zq8xV2mK"
PROJECT_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
PROJECT_NAME = "CHI-000000"
ADMIN_PROJECT_ID = "00000000000000000000000000000001"
REGION = "CHI@UC"
OTHER_REGION = "CHI@TACC"
HOSTS = {"compute_skylake": 4, "compute_haswell": 2, "gpu_rtx_6000": 1}
PHYSICAL_NETWORKS = {"physnet1": 3}
SHARED_NETWORKS = ("sharednet1", "sharedwan1")
MAX_LEASE_DAYS = 7
EXTENSION_WINDOW_HOURS = 48
TOKEN_TTL_SEC = 3600
STARTING_SEC = 60
LEASE_DATE_FORMAT = "%Y-%m-%d %H:%M"


def blazar_error(status: int, message: str) -> HttpError:
    """Blazar's error body."""
    return HttpError(status, {"error_code": status, "error_message": message, "error_name": status})


def neutron_error(status: int, kind: str, message: str) -> HttpError:
    """Neutron's error body."""
    return HttpError(status, {"NeutronError": {"type": kind, "message": message, "detail": ""}})


def _positive(value: Any) -> TypeGuard[int]:
    """True for an ``int`` (not a ``bool``) of 1 or more."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _iso(value: dt.datetime) -> str:
    """Blazar's way of showing a date: ``2020-07-31T12:00:00.000000`` (UTC, no offset)."""
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


@dataclass
class FakeLease:
    """One lease of the fake."""

    id: str
    name: str
    start: dt.datetime
    end: dt.datetime
    reservations: list[dict[str, Any]]
    created_at: dt.datetime
    starting_polls: int
    forced_status: str | None = None
    ended: bool = False
    #: node type -> hosts allocated (host reservations)
    hosts: dict[str, int] = field(default_factory=dict)


class FakeChameleon:
    """The fake's whole state, plus the knobs the tests turn."""

    def __init__(self, *, starting_polls: int = 1) -> None:
        self.lock = threading.RLock()
        self.reset(starting_polls=starting_polls)

    # ------------------------------------------------------------------ state
    def reset(self, *, starting_polls: int = 1) -> None:
        """Forget everything (tokens, leases, networks, requests) and seed the shared networks."""
        with self.lock:
            self.starting_polls = starting_polls
            self.offset = dt.timedelta(0)
            self.token_ttl = dt.timedelta(seconds=TOKEN_TTL_SEC)
            self.tokens: dict[str, dt.datetime] = {}  # token -> expiry
            self.requests: list[dict[str, Any]] = []
            self.failures: deque[tuple[int, Any]] = deque()
            self.leases: dict[str, FakeLease] = {}
            self.networks: dict[str, dict[str, Any]] = {}
            self.subnets: dict[str, dict[str, Any]] = {}
            self.base_url = getattr(self, "base_url", "http://127.0.0.1:0")
            for name in SHARED_NETWORKS:
                self._add_network(name, ADMIN_PROJECT_ID, shared=True)

    def now(self) -> dt.datetime:
        """The fake's clock: real UTC time plus what :meth:`advance` added."""
        with self.lock:
            return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, seconds: float = 0, *, hours: float = 0, days: float = 0) -> None:
        """Move the fake's clock forward."""
        with self.lock:
            self.offset += dt.timedelta(seconds=seconds, hours=hours, days=days)

    def clock(self) -> FakeChameleonClock:
        """A :class:`~vcpsdk.core.polling.Clock` on this fake's time: its sleeps advance the
        fake's clock at once (and are recorded), so a client's ``wait()`` never really waits.

        Example::

            ext = VcpExtResourceChameleon("chameleon", cfg, token, clock=fake.clock())
        """
        return FakeChameleonClock(self)

    def fail_next(self, status: int, body: Any = None) -> None:
        """Make the next Blazar/Neutron request answer ``status`` with ``body`` (JSON or text)."""
        with self.lock:
            self.failures.append((status, body))

    def revoke_tokens(self) -> None:
        """Invalidate every token issued so far."""
        with self.lock:
            self.tokens.clear()

    def set_lease_status(self, lease_id: str, status: str | None) -> None:
        """Force a lease's status (``None``: back to the computed one)."""
        with self.lock:
            self.leases[lease_id].forced_status = status

    def count(self, method: str, path_part: str) -> int:
        """How many requests with ``method`` had ``path_part`` in their path."""
        with self.lock:
            return sum(1 for r in self.requests if r["method"] == method and path_part in r["path"])

    def bodies(self, method: str, path_part: str) -> list[Any]:
        """The JSON bodies of the matching requests, oldest first."""
        with self.lock:
            return [
                json.loads(r["body"]) if r["body"] else None
                for r in self.requests
                if r["method"] == method and path_part in r["path"]
            ]

    # ------------------------------------------------------------------ Keystone
    def catalog(self) -> list[dict[str, Any]]:
        """The service catalog, pointing at this server."""
        base = self.base_url

        def endpoints(urls: dict[str, str]) -> list[dict[str, Any]]:
            return [
                {
                    "id": uuid.uuid4().hex,
                    "interface": interface,
                    "region": region,
                    "region_id": region,
                    "url": url,
                }
                for region, url in urls.items()
                for interface in ("public", "internal")
            ]

        return [
            {
                "id": uuid.uuid4().hex,
                "type": "identity",
                "name": "keystone",
                "endpoints": endpoints({REGION: f"{base}/v3"}),
            },
            {
                "id": uuid.uuid4().hex,
                "type": "reservation",
                "name": "blazar",
                "endpoints": endpoints(
                    {REGION: f"{base}/reservation/v1", OTHER_REGION: f"{base}/tacc/reservation"}
                ),
            },
            {
                "id": uuid.uuid4().hex,
                "type": "network",
                "name": "neutron",
                "endpoints": endpoints({REGION: f"{base}/network", OTHER_REGION: f"{base}/tacc/network/"}),
            },
        ]

    def issue_token(self, body: Any) -> tuple[str, dict[str, Any]]:
        """``POST /v3/auth/tokens``: check the application credential, return (token, body)."""
        identity = body.get("auth", {}).get("identity", {}) if isinstance(body, dict) else {}
        if not isinstance(identity, dict) or "application_credential" not in (identity.get("methods") or []):
            raise HttpError(
                400,
                {
                    "error": {
                        "code": 400,
                        "title": "Bad Request",
                        "message": "Expecting to find application_credential in identity methods.",
                    }
                },
            )
        cred = identity.get("application_credential") or {}
        if cred.get("id") != APP_CRED_ID or cred.get("secret") != APP_CRED_SECRET:
            raise HttpError(
                401,
                {
                    "error": {
                        "code": 401,
                        "title": "Unauthorized",
                        "message": "The request you have made requires authentication.",
                    }
                },
            )
        token = "gAAAAA" + secrets.token_urlsafe(48)
        now = self.now()
        expires = now + self.token_ttl
        self.tokens[token] = expires
        return token, {
            "token": {
                "methods": ["application_credential"],
                "user": {
                    "id": uuid.uuid4().hex,
                    "name": "alice@example.org",
                    "domain": {"id": "default", "name": "Default"},
                },
                "application_credential": {"id": APP_CRED_ID, "name": "vcp", "restricted": True},
                "audit_ids": [secrets.token_urlsafe(16)],
                "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
                "issued_at": now.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
                "project": {
                    "id": PROJECT_ID,
                    "name": PROJECT_NAME,
                    "domain": {"id": "default", "name": "Default"},
                },
                "roles": [{"id": uuid.uuid4().hex, "name": "member"}],
                "catalog": self.catalog(),
            }
        }

    def check_token(self, token: str | None, service: str) -> None:
        """Raise 401 (in the service's error format) unless ``token`` is live."""
        expires = self.tokens.get(token or "")
        if expires is not None and expires > self.now():
            return
        message = "Authentication required"
        if service == "network":
            raise neutron_error(401, "Unauthorized", message)
        raise blazar_error(401, message)

    # ------------------------------------------------------------------ Blazar
    def _parse_date(self, value: Any, key: str) -> dt.datetime:
        if value == "now" and key == "start_date":
            return self.now().replace(second=0, microsecond=0)
        try:
            parsed = dt.datetime.strptime(str(value), LEASE_DATE_FORMAT)
        except ValueError:
            raise blazar_error(
                400, f"Invalid date format for {key}: {value!r}; expected {LEASE_DATE_FORMAT}"
            ) from None
        return parsed.replace(tzinfo=dt.UTC)

    def status_of(self, lease: FakeLease, observe: bool = False) -> str:
        """The lease's status now (a read counts down its STARTING polls when ``observe``)."""
        if lease.forced_status:
            return lease.forced_status
        if lease.starting_polls > 0 and self.now() < lease.created_at + dt.timedelta(seconds=STARTING_SEC):
            if observe:
                lease.starting_polls -= 1
            return "STARTING"
        now = self.now()
        if now >= lease.end:
            self._end(lease)
            return "TERMINATED"
        if now < lease.start:
            return "PENDING"
        self._start(lease)
        return "ACTIVE"

    def _start(self, lease: FakeLease) -> None:
        for res in lease.reservations:
            if res["resource_type"] == "network" and not res.get("network_id"):
                net = self._add_network(
                    res["network_name"],
                    PROJECT_ID,
                    shared=False,
                    description=res.get("network_description", ""),
                )
                res["network_id"] = net["id"]
            res["status"] = "active"

    def _end(self, lease: FakeLease) -> None:
        if lease.ended:
            return
        lease.ended = True
        for res in lease.reservations:
            net_id = res.get("network_id")
            if net_id:
                self.networks.pop(net_id, None)
                for sid in [s for s, sub in self.subnets.items() if sub["network_id"] == net_id]:
                    del self.subnets[sid]
            res["status"] = "deleted"

    def lease_json(self, lease: FakeLease, observe: bool = False) -> dict[str, Any]:
        """The lease as Blazar shows it."""
        status = self.status_of(lease, observe)
        reservations = []
        for res in lease.reservations:
            shown = dict(res)
            if status == "ERROR":
                shown["status"] = "error"
            reservations.append(shown)
        return {
            "id": lease.id,
            "name": lease.name,
            "project_id": PROJECT_ID,
            "user_id": "u-" + PROJECT_ID[:8],
            "trust_id": uuid.uuid4().hex,
            "start_date": _iso(lease.start),
            "end_date": _iso(lease.end),
            "status": status,
            "degraded": False,
            "reservations": reservations,
            "events": [
                {"event_type": "start_lease", "time": _iso(lease.start), "status": "UNDONE"},
                {"event_type": "end_lease", "time": _iso(lease.end), "status": "UNDONE"},
            ],
            "created_at": _iso(lease.created_at),
            "updated_at": None,
        }

    def _live(self, exclude: str | None = None) -> list[FakeLease]:
        return [
            le
            for le in self.leases.values()
            if le.id != exclude and not le.ended and le.forced_status != "ERROR"
        ]

    def free_hosts(
        self, node_type: str, start: dt.datetime, end: dt.datetime, exclude: str | None = None
    ) -> int:
        """Hosts of ``node_type`` not reserved by another lease overlapping [start, end)."""
        used = sum(
            le.hosts.get(node_type, 0) for le in self._live(exclude) if le.start < end and start < le.end
        )
        return HOSTS.get(node_type, 0) - used

    def create_lease(self, body: Any) -> dict[str, Any]:
        """``POST /v1/leases``."""
        if not isinstance(body, dict):
            raise blazar_error(400, "Invalid request body")
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise blazar_error(400, "Lease name is required")
        if any(le.name == name for le in self.leases.values()):
            raise blazar_error(409, f"The lease with name: {name} already exists")
        for key in ("start_date", "end_date"):
            if key not in body:
                raise blazar_error(400, f"{key} is required")
        now_minute = self.now().replace(second=0, microsecond=0)
        start = self._parse_date(body["start_date"], "start_date")
        end = self._parse_date(body["end_date"], "end_date")
        if start < now_minute:
            raise blazar_error(400, "Start date must be later than current date")
        if end <= start:
            raise blazar_error(400, "End date must be later than start date.")
        if end - start > dt.timedelta(days=MAX_LEASE_DAYS):
            raise blazar_error(400, f"Lease duration must not exceed {MAX_LEASE_DAYS} days")
        wanted = body.get("reservations")
        if not isinstance(wanted, list) or not wanted:
            raise blazar_error(400, "A lease needs at least one reservation")
        lease = FakeLease(
            id=str(uuid.uuid4()),
            name=name,
            start=start,
            end=end,
            reservations=[],
            created_at=self.now(),
            starting_polls=self.starting_polls,
        )
        for res in wanted:
            lease.reservations.append(self._reservation(lease, res))
        self.leases[lease.id] = lease
        return self.lease_json(lease)

    def _reservation(self, lease: FakeLease, res: Any) -> dict[str, Any]:
        if not isinstance(res, dict):
            raise blazar_error(400, "Invalid reservation")
        kind = res.get("resource_type")
        try:
            props = json.loads(res.get("resource_properties") or "[]")
        except (TypeError, ValueError):
            raise blazar_error(400, "resource_properties must be a JSON string") from None
        base = {
            "id": str(uuid.uuid4()),
            "lease_id": lease.id,
            "resource_id": str(uuid.uuid4()),
            "resource_type": kind,
            "status": "pending",
            "resource_properties": res.get("resource_properties", ""),
            "created_at": _iso(self.now()),
            "updated_at": None,
        }
        if kind == "physical:host":
            lo, hi = res.get("min"), res.get("max")
            if not (_positive(lo) and _positive(hi)) or lo > hi:
                raise blazar_error(400, "min and max must be positive integers with min <= max")
            if not (isinstance(props, list) and len(props) == 3 and props[:2] == ["==", "$node_type"]):
                raise blazar_error(400, f"Unsupported resource_properties {props!r}")
            node_type = str(props[2])
            free = self.free_hosts(node_type, lease.start, lease.end)
            if free < lo:
                raise blazar_error(
                    409,
                    f"Not enough hosts available (node_type {node_type}: {max(free, 0)} free, {lo} wanted)",
                )
            lease.hosts[node_type] = lease.hosts.get(node_type, 0) + min(hi, free)
            return {
                **base,
                "min": lo,
                "max": hi,
                "hypervisor_properties": res.get("hypervisor_properties", ""),
                "before_end": "default",
            }
        if kind == "network":
            net_name = res.get("network_name")
            if not isinstance(net_name, str) or not net_name:
                raise blazar_error(400, "network_name is required")
            if not (isinstance(props, list) and len(props) == 3 and props[:2] == ["==", "$physical_network"]):
                raise blazar_error(400, f"Unsupported resource_properties {props!r}")
            physnet = str(props[2])
            if any(n["name"] == net_name for n in self.networks.values()) or any(
                r.get("network_name") == net_name for le in self._live() for r in le.reservations
            ):
                raise blazar_error(409, f"Network name {net_name} is already in use")
            in_use = sum(
                1
                for le in self._live()
                for r in le.reservations
                if r.get("resource_type") == "network" and le.start < lease.end and lease.start < le.end
            )
            if in_use >= PHYSICAL_NETWORKS.get(physnet, 0):
                raise blazar_error(409, f"Not enough network segments available on {physnet}")
            return {
                **base,
                "network_name": net_name,
                "network_description": res.get("network_description", ""),
                "network_id": None,
            }
        raise blazar_error(400, f"Unsupported resource type {kind!r}")

    def get_lease(self, lease_id: str) -> FakeLease:
        """The lease, else 404."""
        lease = self.leases.get(lease_id)
        if lease is None:
            raise blazar_error(404, f"Object with {{'lease_id': '{lease_id}'}} not found")
        return lease

    def update_lease(self, lease_id: str, body: Any) -> dict[str, Any]:
        """``PUT /v1/leases/<id>``: rename, or move the end date (Chameleon's rules)."""
        lease = self.get_lease(lease_id)
        if not isinstance(body, dict):
            raise blazar_error(400, "Invalid request body")
        unknown = set(body) - {"name", "end_date"}
        if unknown:
            raise blazar_error(400, f"Unsupported update of {sorted(unknown)}")
        status = self.status_of(lease)
        if "end_date" in body:
            if status not in ("PENDING", "ACTIVE"):
                raise blazar_error(409, f"Lease {lease_id} in status {status} cannot be updated")
            new_end = self._parse_date(body["end_date"], "end_date")
            now = self.now()
            if new_end <= max(now, lease.start):
                raise blazar_error(400, "End date must be later than the current date and the start date")
            if new_end > lease.end:
                if lease.end - now > dt.timedelta(hours=EXTENSION_WINDOW_HOURS):
                    raise blazar_error(
                        409, f"Lease can only be extended within {EXTENSION_WINDOW_HOURS} hours of its end"
                    )
                if new_end - lease.end > dt.timedelta(days=MAX_LEASE_DAYS):
                    raise blazar_error(
                        409, f"A lease may be extended by at most {MAX_LEASE_DAYS} days at a time"
                    )
                for node_type, count in lease.hosts.items():
                    if self.free_hosts(node_type, lease.end, new_end, exclude=lease.id) < count:
                        raise blazar_error(
                            409, f"Not enough hosts available for the extension (node_type {node_type})"
                        )
            lease.end = new_end
        if "name" in body:
            lease.name = str(body["name"])
        return self.lease_json(lease)

    def delete_lease(self, lease_id: str) -> None:
        """``DELETE /v1/leases/<id>``: frees hosts, deletes the reserved network."""
        lease = self.get_lease(lease_id)
        self._end(lease)
        del self.leases[lease_id]

    # ------------------------------------------------------------------ Neutron
    def _add_network(self, name: str, project: str, *, shared: bool, description: str = "") -> dict[str, Any]:
        net: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "name": name,
            "project_id": project,
            "tenant_id": project,
            "shared": shared,
            "status": "ACTIVE",
            "admin_state_up": True,
            "subnets": [],
            "description": description,
            "provider:physical_network": "physnet1",
            "provider:network_type": "vlan",
            "provider:segmentation_id": 3000 + len(self.networks),
        }
        self.networks[net["id"]] = net
        return net

    def visible_networks(self) -> list[dict[str, Any]]:
        """The networks the project sees: its own and the shared ones."""
        return [
            self._network_json(n)
            for n in self.networks.values()
            if n["shared"] or n["project_id"] == PROJECT_ID
        ]

    def _network_json(self, net: dict[str, Any]) -> dict[str, Any]:
        shown = dict(net)
        shown["subnets"] = [s for s, sub in self.subnets.items() if sub["network_id"] == net["id"]]
        return shown

    def create_subnet(self, body: Any) -> dict[str, Any]:
        """``POST /v2.0/subnets``."""
        sub = body.get("subnet") if isinstance(body, dict) else None
        if not isinstance(sub, dict):
            raise neutron_error(400, "BadRequest", "Invalid input: a 'subnet' object is required")
        net = self.networks.get(sub.get("network_id", ""))
        if net is None or not (net["shared"] or net["project_id"] == PROJECT_ID):
            raise neutron_error(
                404, "NetworkNotFound", f"Network {sub.get('network_id')} could not be found."
            )
        if net["project_id"] != PROJECT_ID:
            raise neutron_error(403, "PolicyNotAuthorized", "rule:create_subnet is disallowed by policy")
        if sub.get("ip_version", 4) != 4:
            raise neutron_error(400, "BadRequest", "Only IPv4 is supported by this fake")
        try:
            cidr = ipaddress.ip_network(str(sub.get("cidr")), strict=True)
        except ValueError:
            raise neutron_error(400, "BadRequest", f"Invalid input for cidr: {sub.get('cidr')!r}") from None
        for other in self.subnets.values():
            if other["network_id"] == net["id"] and ipaddress.ip_network(other["cidr"]).overlaps(cidr):
                raise neutron_error(
                    400, "BadRequest", f"Requested subnet with cidr: {cidr} overlaps with another subnet"
                )
        hosts = list(cidr.hosts())
        subnet = {
            "id": str(uuid.uuid4()),
            "name": str(sub.get("name", "")),
            "network_id": net["id"],
            "project_id": PROJECT_ID,
            "tenant_id": PROJECT_ID,
            "cidr": str(cidr),
            "ip_version": 4,
            "enable_dhcp": bool(sub.get("enable_dhcp", True)),
            "gateway_ip": str(hosts[0]) if hosts else None,
            "allocation_pools": [{"start": str(hosts[1]), "end": str(hosts[-1])}] if len(hosts) > 2 else [],
            "dns_nameservers": list(sub.get("dns_nameservers") or []),
        }
        self.subnets[subnet["id"]] = subnet
        return subnet


class FakeChameleonClock:
    """A clock on a :class:`FakeChameleon`'s time; ``sleeps`` records every pause asked for."""

    def __init__(self, fake: FakeChameleon) -> None:
        self.fake = fake
        self.sleeps: list[float] = []

    def now(self) -> float:
        """The fake's time, in seconds."""
        return self.fake.now().timestamp()

    def sleep(self, seconds: float) -> None:
        """Record ``seconds`` and move the fake's clock forward by them."""
        self.sleeps.append(seconds)
        self.fake.advance(seconds)


def _filtered(items: list[dict[str, Any]], request: Request, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    for key in keys:
        if key in request.query_params:
            items = [i for i in items if str(i.get(key)) == request.query_params[key]]
    return items


def create_app(fake: FakeChameleon) -> FastAPI:
    """The FastAPI app serving ``fake``."""
    app = FastAPI(title="fake Chameleon Cloud (Keystone, Blazar, Neutron)")
    app.state.fake = fake

    def endpoint(service: str, status: int = 200) -> Callable[..., Any]:
        """Wrap handler(request, body, **path) with recording, auth, locking and errors."""

        def wrap(handler: Callable[..., Any]) -> Callable[..., Any]:
            def call(request: Request, raw: bytes) -> Any:
                body = parse_json(raw, {"error_message": "Malformed JSON"})
                if service == "identity":
                    token, answer = fake.issue_token(body)
                    return JSONResponse(answer, status_code=201, headers={"X-Subject-Token": token})
                fake.check_token(request.headers.get("x-auth-token"), service)
                if fake.failures:
                    raise HttpError(*fake.failures.popleft())
                return handler(request, body, **request.path_params)

            served = route(fake, call, status, lambda r: {"token_sent": bool(r.headers.get("x-auth-token"))})
            served.__name__ = handler.__name__
            return served

        return wrap

    @endpoint("identity", 201)
    def auth_tokens(request: Request, body: Any) -> None:  # answered in the wrapper
        return None

    @endpoint("reservation")
    def list_leases(request: Request, body: Any) -> dict[str, Any]:
        return {"leases": [fake.lease_json(le) for le in fake.leases.values()]}

    @endpoint("reservation", 201)
    def create_lease(request: Request, body: Any) -> dict[str, Any]:
        return {"lease": fake.create_lease(body)}

    @endpoint("reservation")
    def show_lease(request: Request, body: Any, lease_id: str) -> dict[str, Any]:
        return {"lease": fake.lease_json(fake.get_lease(lease_id), observe=True)}

    @endpoint("reservation")
    def update_lease(request: Request, body: Any, lease_id: str) -> dict[str, Any]:
        return {"lease": fake.update_lease(lease_id, body)}

    @endpoint("reservation", 204)
    def delete_lease(request: Request, body: Any, lease_id: str) -> None:
        fake.delete_lease(lease_id)

    @endpoint("network")
    def list_networks(request: Request, body: Any) -> dict[str, Any]:
        for le in list(fake.leases.values()):
            fake.status_of(le)  # networks appear/disappear with their leases' times
        return {"networks": _filtered(fake.visible_networks(), request, ("name", "id", "shared"))}

    @endpoint("network")
    def show_network(request: Request, body: Any, network_id: str) -> dict[str, Any]:
        for net in fake.visible_networks():
            if net["id"] == network_id:
                return {"network": net}
        raise neutron_error(404, "NetworkNotFound", f"Network {network_id} could not be found.")

    @endpoint("network")
    def list_subnets(request: Request, body: Any) -> dict[str, Any]:
        return {
            "subnets": _filtered(list(fake.subnets.values()), request, ("name", "network_id", "id", "cidr"))
        }

    @endpoint("network", 201)
    def create_subnet(request: Request, body: Any) -> dict[str, Any]:
        return {"subnet": fake.create_subnet(body)}

    app.add_api_route("/v3/auth/tokens", auth_tokens, methods=["POST"], include_in_schema=False)
    for prefix in ("/reservation/v1", "/tacc/reservation/v1"):
        app.add_api_route(prefix + "/leases", list_leases, methods=["GET"], include_in_schema=False)
        app.add_api_route(prefix + "/leases", create_lease, methods=["POST"], include_in_schema=False)
        for method, handler in (("GET", show_lease), ("PUT", update_lease), ("DELETE", delete_lease)):
            app.add_api_route(
                prefix + "/leases/{lease_id}", handler, methods=[method], include_in_schema=False
            )
    for prefix in ("/network", "/tacc/network"):
        app.add_api_route(prefix + "/v2.0/networks", list_networks, methods=["GET"], include_in_schema=False)
        app.add_api_route(
            prefix + "/v2.0/networks/{network_id}", show_network, methods=["GET"], include_in_schema=False
        )
        app.add_api_route(prefix + "/v2.0/subnets", list_subnets, methods=["GET"], include_in_schema=False)
        app.add_api_route(prefix + "/v2.0/subnets", create_subnet, methods=["POST"], include_in_schema=False)
    return app


def running_fake_chameleon(
    fake: FakeChameleon | None = None,
) -> AbstractContextManager[RunningFake[FakeChameleon]]:
    """Serve ``fake`` (a new :class:`FakeChameleon` by default) on a free 127.0.0.1 port for a
    ``with`` block, which gets the :class:`~vcpsdk.testing.fakes._runner.RunningFake`."""
    return running(fake or FakeChameleon(), create_app, "fake Chameleon server")


def describe(fake: FakeChameleon, port: int) -> str:
    """The ``vcp_config.yml`` section pointing at a fake served on ``port``, and its hosts."""
    hosts = ", ".join(f"{k} ({v} hosts)" for k, v in HOSTS.items())
    return (
        f"vcp_config.yml section:\nchameleon:\n  auth_url: http://127.0.0.1:{port}/v3\n"
        f"  application_credential_id: {APP_CRED_ID}\n"
        f"  application_credential_secret: {APP_CRED_SECRET}\nnode types: {hosts}"
    )


def main() -> None:  # pragma: no cover - manual use
    """Serve a fake Chameleon on 127.0.0.1 until interrupted."""
    run_main(__doc__, 8998, FakeChameleon, create_app, describe, starting_polls=1)


if __name__ == "__main__":  # pragma: no cover
    main()
