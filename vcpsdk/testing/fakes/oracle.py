"""A local fake of Oracle Cloud Infrastructure's Core API ``20160918``, served on 127.0.0.1 only.

It speaks the REST contracts the real ``oci`` SDK (``oci.core.ComputeClient``,
``VirtualNetworkClient``, ``BlockstorageClient`` and their composite operations) relies on,
so tests and the Oracle backend drive the real SDK against it; the fake itself needs none
of the SDK (only ``cryptography``).

* **Authentication.** Every request must carry a draft-cavage ``Authorization: Signature ...``
  header whose ``keyId`` is ``<tenancy>/<user>/<fingerprint>`` of a key the fake knows
  (:meth:`FakeOci.add_key`; ``FakeOci()`` generates one, :attr:`FakeOci.private_key_pem`)
  and whose signature over the signed headers (``date (request-target) host``, plus
  ``content-length content-type x-content-sha256`` with a body, whose SHA-256 is checked)
  verifies with that key's public half. Anything else is 401 ``NotAuthenticated``.
* **Compute.** ``instances`` (launch with shape, image, boot volume size, VNIC details incl. a
  fixed private IP, metadata ``user_data``, freeform tags; get, list, ``?action=STOP|SOFTSTOP|
  START|RESET|SOFTRESET``, terminate), ``vnicAttachments`` (list, get), ``volumeAttachments``
  (attach paravirtualized/iscsi, get, list, detach), ``images`` (list by display name, get),
  ``bootVolumes`` (get, list). **VirtualNetwork**: ``vnics`` and ``subnets`` (get).
  **Blockstorage**: ``volumes`` (create, also as a clone of a volume, get, list, delete).
* **Shapes of the answers.** camelCase JSON, an ``opc-request-id`` header on every answer,
  lists paginated by ``limit``/``page`` and the ``opc-next-page`` header, errors
  ``{"code", "message"}``: 400 ``InvalidParameter``/``LimitExceeded``, 401 ``NotAuthenticated``,
  404 ``NotAuthorizedOrNotFound``, 409 ``IncorrectState`` (e.g. deleting an attached volume) and
  ``Conflict`` (a private IP in use, a volume attached twice). An ``opc-retry-token`` makes a
  repeated launch or volume create answer the resource it made first.
* **Lifecycles.** PROVISIONING→RUNNING, STOPPING→STOPPED, STARTING→RUNNING,
  TERMINATING→TERMINATED (instances, volumes, boot volumes), ATTACHING→ATTACHED and
  DETACHING→DETACHED (attachments). A change shows in the answer to the request that caused
  it; the next state is reached after ``settle_reads`` reads of the resource and
  ``settle_seconds`` seconds (both 0 by default: the first read shows it), so the SDK's
  waiters really poll. Terminated resources stay readable in their final state, like OCI.
* **Private IPs** come from the subnet's CIDR, which must lie in 127.0.0.0/8 (the first two
  and the last address are reserved, as in OCI).
* **Faults.** :meth:`FakeOci.fail` makes an operation (``"LaunchInstance"``, ``"GetInstance"``,
  ``"InstanceAction"``, ``"TerminateInstance"``, ``"CreateVolume"``, ``"DeleteVolume"``,
  ``"AttachVolume"``, ``"DetachVolume"``, ``"ListInstances"``, ...) answer an error ``times``
  times, optionally after ``after`` calls went through (429 ``TooManyRequests`` included).
* **Reports.** :meth:`FakeOci.leftovers` lists what is not terminated/detached;
  ``requests`` records every request (method, path, query, operation, ``keyId``, body with
  ``user_data`` masked; never the signature).

Example::

    import oci

    with running_fake_oci() as served:
        key = served.fake.write_private_key(tmp_path / "key.pem")
        compute = oci.core.ComputeClient(served.config(key), service_endpoint=served.service_endpoint)
        print(compute.list_instances(COMPARTMENT_ID).data)
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime as dt
import hashlib
import ipaddress
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from vcpsdk.controller.backends.oracle.backend import (  # OCI's limits, as the backend knows them
    DEFAULT_IMAGE,
    MAX_VOLUME_GB,
    METADATA_LIMIT,
    MIN_VOLUME_GB,
)
from vcpsdk.testing.fakes._runner import HttpError, RunningFake, serve_forever
from vcpsdk.testing.serving import serving

API_VERSION = "20160918"
REALM = "oc1"
REGION = "ap-tokyo-1"
TENANCY_ID = "ocid1.tenancy.oc1..aaaaaaaafaketenancy0000000000000000000000000000000000000000"
USER_ID = "ocid1.user.oc1..aaaaaaaafakeuser000000000000000000000000000000000000000000000"
COMPARTMENT_ID = "ocid1.compartment.oc1..aaaaaaaafakecompartment000000000000000000000000000000000000"
AVAILABILITY_DOMAIN = "Uocm:AP-TOKYO-1-AD-1"
#: the default subnet's CIDR: every address the fake hands out is a loopback address
SUBNET_CIDR = "127.66.0.0/24"
#: the image ``FakeOci()`` seeds: the Oracle backend's default image
IMAGE_NAME = DEFAULT_IMAGE
#: the HTTP methods of the Core API
METHODS = ("GET", "POST", "PUT", "DELETE")
SIGNED_HEADERS = ("date", "(request-target)", "host")
BODY_HEADERS = ("content-length", "content-type", "x-content-sha256")
_SIGNATURE_FIELD = re.compile(r'(\w+)="([^"]*)"')
#: instance actions: (states they apply in, transitional state, final state)
_ACTIONS = {
    "STOP": ({"RUNNING"}, "STOPPING", "STOPPED"),
    "SOFTSTOP": ({"RUNNING"}, "STOPPING", "STOPPED"),
    "START": ({"STOPPED"}, "STARTING", "RUNNING"),
    "RESET": ({"RUNNING"}, "STOPPING", "RUNNING"),
    "SOFTRESET": ({"RUNNING"}, "STOPPING", "RUNNING"),
}
_ALIVE_ATTACHMENT = ("ATTACHING", "ATTACHED", "DETACHING")


def oci_error(status: int, code: str, message: str) -> HttpError:
    """An OCI error answer: ``status`` with ``{"code", "message"}``."""
    return HttpError(status, {"code": code, "message": message})


def not_found(kind: str, ocid: str) -> HttpError:
    """404 ``NotAuthorizedOrNotFound`` (OCI never says which of the two)."""
    return oci_error(
        404, "NotAuthorizedOrNotFound", f"Authorization failed or requested resource not found: {kind} {ocid}"
    )


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_ocid(kind: str, regional: bool = True) -> str:
    """A fresh OCID of resource type ``kind`` (``ocid1.<kind>.oc1.<region>.<unique>``)."""
    return f"ocid1.{kind}.{REALM}.{REGION if regional else ''}.{secrets.token_hex(26)}"


def key_fingerprint(public_key: rsa.RSAPublicKey) -> str:
    """OCI's API key fingerprint: the MD5 of the DER public key, as colon-separated hex."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def generate_key() -> tuple[str, str]:
    """A new 2048-bit RSA API key: ``(private key PEM, fingerprint)``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, key_fingerprint(key.public_key())


@dataclass
class _Pending:
    """A lifecycle change not visible yet: ``target`` after ``reads`` reads and at ``ready``."""

    target: str
    reads: int
    ready: float


@dataclass
class _Table:
    """One resource type: its OCIDs' JSON, in creation order."""

    kind: str
    items: dict[str, dict[str, Any]] = field(default_factory=dict)

    def get(self, ocid: str) -> dict[str, Any]:
        item = self.items.get(ocid)
        if item is None:
            raise not_found(self.kind, ocid)
        return item


class FakeOci:
    """The fake's whole state (in memory) and the knobs tests turn.

    Args:
        settle_reads: reads of a resource that still show its transitional state.
        settle_seconds: seconds before a transitional state may end.
        page_size: the default ``limit`` of a list (``opc-next-page`` beyond it).
    """

    def __init__(self, *, settle_reads: int = 0, settle_seconds: float = 0.0, page_size: int = 50) -> None:
        self.lock = threading.RLock()
        self.base_url = "http://127.0.0.1:0"  # where it is served (set by the runner)
        self.settle_reads = settle_reads
        self.settle_seconds = settle_seconds
        self.page_size = page_size
        self.requests: list[dict[str, Any]] = []
        self.faults: dict[str, collections.deque[tuple[int, str, str] | None]] = {}
        self.keys: dict[str, rsa.RSAPublicKey] = {}  # keyId -> public key
        self.retry_tokens: dict[tuple[str, str], str] = {}  # (operation, token) -> OCID
        self.user_data: dict[str, str] = {}  # instance OCID -> decoded metadata.user_data
        self.pending: dict[str, _Pending] = {}
        self.tables = {
            kind: _Table(kind)
            for kind in (
                "instances",
                "vnicAttachments",
                "vnics",
                "volumeAttachments",
                "volumes",
                "bootVolumes",
                "subnets",
                "images",
            )
        }
        self.private_key_pem, self.fingerprint = generate_key()
        self.add_key(self.private_key_pem)
        self.subnet_id = self.add_subnet(SUBNET_CIDR)
        self.image_id = self.add_image(IMAGE_NAME)

    # ----------------------------------------------------------------- seeding
    def add_key(self, private_key_pem: str, tenancy: str = TENANCY_ID, user: str = USER_ID) -> str:
        """Accept the API key of ``private_key_pem`` for ``user`` of ``tenancy``; returns its fingerprint."""
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("OCI API keys are RSA keys")
        fingerprint = key_fingerprint(key.public_key())
        with self.lock:
            self.keys[f"{tenancy}/{user}/{fingerprint}"] = key.public_key()
        return fingerprint

    def write_private_key(self, path: Path) -> Path:
        """Write the generated private key (PEM) to ``path``, readable by its owner only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(self.private_key_pem)
        os.chmod(path, 0o600)
        return path

    def add_subnet(self, cidr: str, name: str = "vcp-subnet", compartment: str = COMPARTMENT_ID) -> str:
        """Seed a subnet (``cidr`` must lie in 127.0.0.0/8); returns its OCID."""
        network = ipaddress.IPv4Network(cidr)
        if not network.subnet_of(ipaddress.IPv4Network("127.0.0.0/8")):
            raise ValueError(f"the fake OCI only hands out loopback addresses, not {cidr}")
        ocid = new_ocid("subnet")
        gateway = str(network.network_address + 1)
        with self.lock:
            self.tables["subnets"].items[ocid] = {
                "id": ocid,
                "cidrBlock": cidr,
                "compartmentId": compartment,
                "vcnId": new_ocid("vcn"),
                "displayName": name,
                "dnsLabel": re.sub(r"[^a-z0-9]", "", name.lower())[:15] or "subnet",
                "lifecycleState": "AVAILABLE",
                "prohibitPublicIpOnVnic": True,
                "routeTableId": new_ocid("routetable"),
                "securityListIds": [new_ocid("securitylist")],
                "timeCreated": _now(),
                "virtualRouterIp": gateway,
                "virtualRouterMac": "00:00:17:00:00:01",
            }
        return ocid

    def add_image(self, name: str, compartment: str = COMPARTMENT_ID) -> str:
        """Seed an image named ``name``; returns its OCID."""
        ocid = new_ocid("image")
        with self.lock:
            self.tables["images"].items[ocid] = {
                "id": ocid,
                "compartmentId": compartment,
                "displayName": name,
                "lifecycleState": "AVAILABLE",
                "operatingSystem": "Canonical Ubuntu",
                "operatingSystemVersion": "22.04",
                "createImageAllowed": True,
                "launchMode": "PARAVIRTUALIZED",
                "sizeInMBs": 47694,
                "timeCreated": _now(),
            }
        return ocid

    # ------------------------------------------------------------ test knobs
    def fail(self, operation: str, *answer: int | str, times: int = 1, after: int = 0) -> None:
        """Make ``times`` calls of ``operation`` answer ``answer`` (HTTP status, OCI code and
        optionally the message), after ``after`` calls went through.

        Args:
            operation: OCI's operation name, e.g. ``"LaunchInstance"``, ``"CreateVolume"``,
                ``"InstanceAction"``, ``"TerminateInstance"``, ``"DeleteVolume"``.
            answer: the HTTP status (400 ``LimitExceeded``, 429 ``TooManyRequests``, ...), OCI's
                error code and the message (by default one naming the code).
            times: how many calls fail.
            after: how many calls succeed first.

        Example::

            fake.fail("LaunchInstance", 400, "LimitExceeded", "standard-e2-core-count", after=1)
        """
        status, code = int(answer[0]), str(answer[1])
        message = str(answer[2]) if len(answer) > 2 else f"injected failure: {code}"
        with self.lock:  # what the coming calls answer, in order: None lets one through
            self.faults.setdefault(operation, collections.deque()).extend(
                [None] * after + [(status, code, message)] * times
            )

    def clear_faults(self) -> None:
        """Forget every injected failure."""
        with self.lock:
            self.faults.clear()

    def leftovers(self) -> dict[str, list[str]]:
        """The OCIDs of instances, boot volumes and volumes not (being) terminated and of
        volume attachments not (being) detached (each list empty when clean)."""
        gone = {"TERMINATED", "TERMINATING", "DETACHED", "DETACHING"}
        with self.lock:
            return {
                kind: [ocid for ocid, item in self.tables[kind].items.items() if self.state(item) not in gone]
                for kind in ("instances", "bootVolumes", "volumes", "volumeAttachments")
            }

    def state(self, item: dict[str, Any]) -> str:
        """The state ``item`` is in or on its way to (its ``lifecycleState`` once settled)."""
        pending = self.pending.get(item["id"])
        return pending.target if pending else str(item["lifecycleState"])

    def calls(self, operation: str | None = None) -> list[dict[str, Any]]:
        """The recorded requests of ``operation`` (all when ``None``)."""
        with self.lock:
            return [r for r in self.requests if operation is None or r["operation"] == operation]

    # ------------------------------------------------------------- plumbing
    def check_fault(self, operation: str) -> None:
        """Raise the next injected failure of ``operation``, if one is due."""
        planned = self.faults.get(operation)
        answer = planned.popleft() if planned else None
        if answer is not None:
            raise oci_error(*answer)

    def authenticate(self, request: Request, raw: bytes) -> str:
        """Verify the request signature; returns the ``keyId``, else 401 ``NotAuthenticated``."""
        refused = oci_error(
            401,
            "NotAuthenticated",
            "The required information to complete authentication was not provided or was incorrect.",
        )
        scheme, _, rest = (request.headers.get("authorization") or "").partition(" ")
        fields = dict(_SIGNATURE_FIELD.findall(rest))
        key = self.keys.get(fields.get("keyId", ""))
        if scheme != "Signature" or key is None or fields.get("algorithm") != "rsa-sha256":
            raise refused
        names = fields.get("headers", "").split()
        required = SIGNED_HEADERS + (BODY_HEADERS if request.method in ("POST", "PUT", "PATCH") else ())
        if not set(required) <= set(names):
            raise refused
        if "x-content-sha256" in names:
            digest = base64.b64encode(hashlib.sha256(raw).digest()).decode()
            if request.headers.get("x-content-sha256") != digest:
                raise refused
        target = request.scope.get("raw_path", b"").decode() or request.url.path
        if request.scope.get("query_string"):
            target += "?" + request.scope["query_string"].decode()
        lines = [
            f"(request-target): {request.method.lower()} {target}"
            if name == "(request-target)"
            else f"{name}: {request.headers.get(name, '')}"
            for name in names
        ]
        try:
            signature = base64.b64decode(fields.get("signature", ""))
            key.verify(signature, "\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise refused from None
        return fields["keyId"]

    def _change(self, item: dict[str, Any], transitional: str, target: str) -> None:
        """Put ``item`` into ``transitional`` now and into ``target`` once it settles."""
        item["lifecycleState"] = transitional
        self.pending[item["id"]] = _Pending(target, self.settle_reads, time.monotonic() + self.settle_seconds)

    def _read(self, item: dict[str, Any]) -> dict[str, Any]:
        """``item`` as a read sees it (a read may let its pending change happen)."""
        pending = self.pending.get(item["id"])
        if pending is not None:
            if pending.reads > 0:
                pending.reads -= 1
            elif time.monotonic() >= pending.ready:
                item["lifecycleState"] = pending.target
                del self.pending[item["id"]]
        return item

    def _page(self, items: list[dict[str, Any]], query: dict[str, str]) -> tuple[list[dict[str, Any]], str]:
        """One page of ``items`` (``limit``, ``page``) and the next page's token ("" at the end)."""
        try:
            start = int(query.get("page") or 0)
            limit = int(query.get("limit") or self.page_size)
        except ValueError:
            raise oci_error(400, "InvalidParameter", "page and limit must be integers") from None
        if limit < 1:
            raise oci_error(400, "InvalidParameter", "limit must be at least 1")
        page = items[start : start + limit]
        return [self._read(item) for item in page], str(start + limit) if start + limit < len(items) else ""

    def _listed(self, kind: str, query: dict[str, str], **filters: str) -> list[dict[str, Any]]:
        """The items of ``kind`` in the query's compartment matching every query parameter
        named in ``filters`` (``{query name: JSON field}``)."""
        compartment = query.get("compartmentId")
        if not compartment:
            raise oci_error(400, "MissingParameter", "compartmentId is required")
        return [
            item
            for item in self.tables[kind].items.values()
            if item.get("compartmentId") == compartment
            and all(query.get(name) in (None, item.get(json_field)) for name, json_field in filters.items())
        ]

    # ------------------------------------------------------------- compute
    @staticmethod
    def _placement(body: dict[str, Any]) -> tuple[str, str]:
        """The compartment and availability domain of a create, checked."""
        compartment = str(body.get("compartmentId") or "")
        if compartment != COMPARTMENT_ID:
            raise not_found("compartment", compartment)
        domain = str(body.get("availabilityDomain") or "")
        if domain != AVAILABILITY_DOMAIN:
            raise oci_error(400, "InvalidParameter", f"availabilityDomain {domain!r} does not exist")
        return compartment, domain

    def _retried(self, operation: str, token: str | None, kind: str) -> dict[str, Any] | None:
        ocid = self.retry_tokens.get((operation, token)) if token else None
        return self.tables[kind].items.get(ocid) if ocid else None

    def _subnet_address(self, subnet: dict[str, Any], wanted: str | None) -> str:
        network = ipaddress.IPv4Network(subnet["cidrBlock"])
        used = {
            vnic["privateIp"]
            for vnic in self.tables["vnics"].items.values()
            if vnic["subnetId"] == subnet["id"] and vnic["lifecycleState"] != "TERMINATED"
        }
        usable = list(network.hosts())[1:]  # OCI keeps the first two addresses and the last
        if wanted:
            try:
                address = ipaddress.IPv4Address(wanted)
            except ValueError:
                raise oci_error(
                    400, "InvalidParameter", f"privateIp {wanted} is not an IPv4 address"
                ) from None
            if address not in usable:
                raise oci_error(
                    400,
                    "InvalidParameter",
                    f"privateIp {wanted} is not available in subnet {subnet['cidrBlock']}",
                )
            if wanted in used:
                raise oci_error(409, "Conflict", f"The private IP address {wanted} is already in use.")
            return wanted
        free = next((str(a) for a in usable if str(a) not in used), None)
        if free is None:
            raise oci_error(400, "InvalidParameter", f"subnet {subnet['cidrBlock']} has no free address")
        return free

    def launch_instance(self, body: dict[str, Any], token: str | None) -> dict[str, Any]:
        """``POST /instances``: an instance (PROVISIONING), its boot volume, VNIC and attachment."""
        again = self._retried("LaunchInstance", token, "instances")
        if again is not None:
            return again
        compartment, domain = self._placement(body)
        if not body.get("shape"):
            raise oci_error(400, "MissingParameter", "shape is required")
        source = body.get("sourceDetails") or {}
        if source.get("sourceType") != "image":
            raise oci_error(400, "InvalidParameter", "sourceDetails.sourceType must be 'image'")
        image = self.tables["images"].get(str(source.get("imageId") or ""))
        size = source.get("bootVolumeSizeInGBs") or MIN_VOLUME_GB
        if not MIN_VOLUME_GB <= int(size) <= MAX_VOLUME_GB:
            raise oci_error(
                400, "InvalidParameter", f"bootVolumeSizeInGBs must be {MIN_VOLUME_GB} to {MAX_VOLUME_GB}"
            )
        vnic_details = body.get("createVnicDetails") or {}
        subnet = self.tables["subnets"].get(str(vnic_details.get("subnetId") or body.get("subnetId") or ""))
        address = self._subnet_address(subnet, vnic_details.get("privateIp"))
        metadata = {str(k): str(v) for k, v in (body.get("metadata") or {}).items()}
        if len(json.dumps(metadata)) > METADATA_LIMIT:
            raise oci_error(400, "InvalidParameter", f"metadata is limited to {METADATA_LIMIT} bytes")
        user_data = ""
        if "user_data" in metadata:
            try:
                user_data = base64.b64decode(metadata["user_data"], validate=True).decode()
            except ValueError:
                raise oci_error(400, "InvalidParameter", "metadata.user_data must be base64") from None
        ocid = new_ocid("instance")
        now = _now()
        instance = {
            "id": ocid,
            "availabilityDomain": domain,
            "compartmentId": compartment,
            "displayName": body.get("displayName") or f"instance-{now}",
            "shape": body["shape"],
            "region": REGION,
            "faultDomain": "FAULT-DOMAIN-1",
            "imageId": image["id"],
            "launchMode": "PARAVIRTUALIZED",
            "lifecycleState": "PROVISIONING",
            "timeCreated": now,
            "freeformTags": dict(body.get("freeformTags") or {}),
            "definedTags": dict(body.get("definedTags") or {}),
            "metadata": metadata,
            "extendedMetadata": {},
            "sourceDetails": {
                "sourceType": "image",
                "imageId": image["id"],
                "bootVolumeSizeInGBs": int(size),
            },
        }
        self.tables["instances"].items[ocid] = instance
        self._change(instance, "PROVISIONING", "RUNNING")
        self.user_data[ocid] = user_data
        boot = {
            "id": new_ocid("bootvolume"),
            "availabilityDomain": domain,
            "compartmentId": compartment,
            "displayName": f"{instance['displayName']} (Boot Volume)",
            "imageId": image["id"],
            "instanceId": ocid,  # not OCI's field: how the fake ties it to the instance
            "sizeInGBs": int(size),
            "sizeInMBs": int(size) * 1024,
            "lifecycleState": "AVAILABLE",
            "timeCreated": now,
        }
        self.tables["bootVolumes"].items[boot["id"]] = boot
        self._change(boot, "PROVISIONING", "AVAILABLE")
        vnic = {
            "id": new_ocid("vnic"),
            "availabilityDomain": domain,
            "compartmentId": compartment,
            "displayName": vnic_details.get("displayName") or instance["displayName"],
            "hostnameLabel": vnic_details.get("hostnameLabel"),
            "isPrimary": True,
            "lifecycleState": "AVAILABLE",
            "macAddress": "02:00:17:" + ":".join(secrets.token_hex(1) for _ in range(3)),
            "privateIp": address,
            "subnetId": subnet["id"],
            "skipSourceDestCheck": False,
            "freeformTags": dict(vnic_details.get("freeformTags") or {}),
            "timeCreated": now,
        }
        self.tables["vnics"].items[vnic["id"]] = vnic
        attachment = {
            "id": new_ocid("vnicattachment"),
            "availabilityDomain": domain,
            "compartmentId": compartment,
            "displayName": vnic["displayName"],
            "instanceId": ocid,
            "subnetId": subnet["id"],
            "vnicId": vnic["id"],
            "nicIndex": 0,
            "lifecycleState": "ATTACHING",
            "timeCreated": now,
        }
        self.tables["vnicAttachments"].items[attachment["id"]] = attachment
        self._change(attachment, "ATTACHING", "ATTACHED")
        if token:
            self.retry_tokens[("LaunchInstance", token)] = ocid
        return instance

    def instance_action(self, ocid: str, action: str) -> dict[str, Any]:
        """``POST /instances/{id}?action=...``: start, stop (hard or soft) or reset."""
        instance = self.tables["instances"].get(ocid)
        if action not in _ACTIONS:
            raise oci_error(400, "InvalidParameter", f"unknown action {action!r}")
        allowed, transitional, target = _ACTIONS[action]
        state = str(instance["lifecycleState"])  # not while a change is going on
        if state == target and action in ("STOP", "SOFTSTOP", "START"):
            return instance  # already there: nothing to do
        if state not in allowed:
            raise oci_error(409, "IncorrectState", f"instance {ocid} is {state}; {action} is not allowed")
        self._change(instance, transitional, target)
        return instance

    def terminate_instance(self, ocid: str, preserve_boot_volume: bool) -> None:
        """``DELETE /instances/{id}``: TERMINATING, its volumes detached, VNIC and boot volume gone."""
        instance = self.tables["instances"].get(ocid)
        if self.state(instance) == "TERMINATED":
            raise not_found("instance", ocid)
        self._change(instance, "TERMINATING", "TERMINATED")
        for attachment in self.tables["volumeAttachments"].items.values():
            if attachment["instanceId"] == ocid and self.state(attachment) in _ALIVE_ATTACHMENT:
                self._change(attachment, "DETACHING", "DETACHED")
        for attachment in self.tables["vnicAttachments"].items.values():
            if attachment["instanceId"] == ocid:
                self._change(attachment, "DETACHING", "DETACHED")
                self.tables["vnics"].items[attachment["vnicId"]]["lifecycleState"] = "TERMINATED"
        if not preserve_boot_volume:
            for boot in self.tables["bootVolumes"].items.values():
                if boot["instanceId"] == ocid:
                    self._change(boot, "TERMINATING", "TERMINATED")

    # -------------------------------------------------------- block storage
    def create_volume(self, body: dict[str, Any], token: str | None) -> dict[str, Any]:
        """``POST /volumes``: an empty volume or a clone of ``sourceDetails`` (PROVISIONING)."""
        again = self._retried("CreateVolume", token, "volumes")
        if again is not None:
            return again
        compartment, domain = self._placement(body)
        source = body.get("sourceDetails")
        size = body.get("sizeInGBs")
        if source:
            if source.get("type") != "volume":
                raise oci_error(400, "InvalidParameter", "only volume sources are served by the fake OCI")
            original = self.tables["volumes"].get(str(source.get("id") or ""))
            if self.state(original) != "AVAILABLE":
                raise oci_error(409, "IncorrectState", f"source volume {original['id']} is not AVAILABLE")
            size = size or original["sizeInGBs"]
            if int(size) < int(original["sizeInGBs"]):
                raise oci_error(400, "InvalidParameter", "a clone cannot be smaller than its source volume")
        size = int(size or MIN_VOLUME_GB)
        if not MIN_VOLUME_GB <= size <= MAX_VOLUME_GB:
            raise oci_error(400, "InvalidParameter", f"sizeInGBs must be {MIN_VOLUME_GB} to {MAX_VOLUME_GB}")
        ocid = new_ocid("volume")
        volume = {
            "id": ocid,
            "availabilityDomain": domain,
            "compartmentId": compartment,
            "displayName": body.get("displayName") or f"volume-{ocid[-8:]}",
            "sizeInGBs": size,
            "sizeInMBs": size * 1024,
            "vpusPerGB": int(body.get("vpusPerGB") or 10),
            "isHydrated": True,
            "lifecycleState": "PROVISIONING",
            "timeCreated": _now(),
            "freeformTags": dict(body.get("freeformTags") or {}),
            "definedTags": dict(body.get("definedTags") or {}),
        }
        if source:
            volume["sourceDetails"] = {"type": "volume", "id": source["id"]}
        self.tables["volumes"].items[ocid] = volume
        self._change(volume, "PROVISIONING", "AVAILABLE")
        if token:
            self.retry_tokens[("CreateVolume", token)] = ocid
        return volume

    def _attachments_of(self, volume_id: str) -> list[dict[str, Any]]:
        return [
            a
            for a in self.tables["volumeAttachments"].items.values()
            if a["volumeId"] == volume_id and self.state(a) in _ALIVE_ATTACHMENT
        ]

    def delete_volume(self, ocid: str) -> None:
        """``DELETE /volumes/{id}``: TERMINATING; 409 ``IncorrectState`` while it is attached."""
        volume = self.tables["volumes"].get(ocid)
        if self.state(volume) == "TERMINATED":
            raise not_found("volume", ocid)
        attached = self._attachments_of(ocid)
        if attached:
            raise oci_error(
                409,
                "IncorrectState",
                f"volume {ocid} is attached to instance {attached[0]['instanceId']}; detach it first",
            )
        self._change(volume, "TERMINATING", "TERMINATED")

    def attach_volume(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /volumeAttachments``: ATTACHING; 409 when the instance or volume cannot."""
        kind = body.get("type")
        if kind not in ("paravirtualized", "iscsi"):
            raise oci_error(400, "InvalidParameter", f"attachment type {kind!r} is not supported")
        instance = self.tables["instances"].get(str(body.get("instanceId") or ""))
        volume = self.tables["volumes"].get(str(body.get("volumeId") or ""))
        if self.state(instance) not in ("RUNNING", "STOPPED"):
            raise oci_error(409, "IncorrectState", f"instance {instance['id']} is {self.state(instance)}")
        if self.state(volume) != "AVAILABLE":
            raise oci_error(409, "IncorrectState", f"volume {volume['id']} is {self.state(volume)}")
        if self._attachments_of(volume["id"]) and not body.get("isShareable"):
            raise oci_error(409, "Conflict", f"volume {volume['id']} is already attached")
        ocid = new_ocid("volumeattachment")
        attachment = {
            "id": ocid,
            "attachmentType": kind,
            "availabilityDomain": instance["availabilityDomain"],
            "compartmentId": instance["compartmentId"],
            "displayName": body.get("displayName") or f"volumeattachment-{ocid[-8:]}",
            "device": body.get("device"),
            "instanceId": instance["id"],
            "volumeId": volume["id"],
            "isReadOnly": bool(body.get("isReadOnly")),
            "isShareable": bool(body.get("isShareable")),
            "isPvEncryptionInTransitEnabled": False,
            "lifecycleState": "ATTACHING",
            "timeCreated": _now(),
        }
        self.tables["volumeAttachments"].items[ocid] = attachment
        self._change(attachment, "ATTACHING", "ATTACHED")
        return attachment

    def detach_volume(self, ocid: str) -> None:
        """``DELETE /volumeAttachments/{id}``: DETACHING; 409 when it is not attached."""
        attachment = self.tables["volumeAttachments"].get(ocid)
        if self.state(attachment) not in ("ATTACHING", "ATTACHED"):
            raise oci_error(409, "IncorrectState", f"volume attachment {ocid} is {self.state(attachment)}")
        self._change(attachment, "DETACHING", "DETACHED")

    # ------------------------------------------------------------- dispatch
    def route(self, method: str, parts: list[str], query: dict[str, str]) -> tuple[str, Callable[..., Any]]:
        """The operation name and handler of ``method`` on ``/20160918/<parts>``.

        Raises:
            HttpError: 404 for a path the fake does not serve.
        """
        kind, rest = (parts[0], parts[1:]) if parts else ("", [])
        singular = {
            "instances": "Instance",
            "vnicAttachments": "VnicAttachment",
            "vnics": "Vnic",
            "subnets": "Subnet",
            "images": "Image",
            "volumes": "Volume",
            "volumeAttachments": "VolumeAttachment",
            "bootVolumes": "BootVolume",
        }.get(kind)
        if singular is None or len(rest) > 1:
            raise oci_error(404, "NotAuthorizedOrNotFound", f"/{API_VERSION}/{'/'.join(parts)} is not served")
        table = self.tables[kind]
        if not rest and method == "GET":
            filters = {
                "instances": {"availabilityDomain": "availabilityDomain", "displayName": "displayName"},
                "vnicAttachments": {"instanceId": "instanceId", "vnicId": "vnicId"},
                "volumeAttachments": {"instanceId": "instanceId", "volumeId": "volumeId"},
                "images": {"displayName": "displayName", "operatingSystem": "operatingSystem"},
                "volumes": {"availabilityDomain": "availabilityDomain", "displayName": "displayName"},
                "bootVolumes": {"availabilityDomain": "availabilityDomain"},
            }.get(kind)
            if filters is None:
                raise oci_error(404, "NotAuthorizedOrNotFound", f"listing {kind} is not served")
            return f"List{singular}s", lambda body, token: self._listed(kind, query, **filters)
        if rest and method == "GET":
            return f"Get{singular}", lambda body, token: self._read(table.get(rest[0]))
        creates: dict[str, tuple[str, Callable[[dict[str, Any], str | None], dict[str, Any]]]] = {
            "instances": ("LaunchInstance", self.launch_instance),
            "volumes": ("CreateVolume", self.create_volume),
            "volumeAttachments": ("AttachVolume", lambda body, token: self.attach_volume(body)),
        }
        if not rest and method == "POST" and kind in creates:
            return creates[kind]
        if rest and method == "POST" and kind == "instances":
            return "InstanceAction", lambda body, token: self.instance_action(
                rest[0], query.get("action", "")
            )
        deletes: dict[str, tuple[str, Callable[[], None]]] = {
            "instances": (
                "TerminateInstance",
                lambda: self.terminate_instance(rest[0], query.get("preserveBootVolume") == "true"),
            ),
            "volumes": ("DeleteVolume", lambda: self.delete_volume(rest[0])),
            "volumeAttachments": ("DetachVolume", lambda: self.detach_volume(rest[0])),
        }
        if rest and method == "DELETE" and kind in deletes:
            operation, delete = deletes[kind]
            return operation, lambda body, token: delete()
        raise oci_error(405, "NotAllowed", f"{method} is not allowed on /{API_VERSION}/{'/'.join(parts)}")


def _masked(raw: bytes) -> str:
    """A request body as recorded: ``metadata.user_data`` (the bootstrap script) masked."""
    text = raw.decode(errors="replace")
    try:
        body = json.loads(text) if text else None
    except ValueError:
        return text
    if isinstance(body, dict) and isinstance(body.get("metadata"), dict) and "user_data" in body["metadata"]:
        body["metadata"]["user_data"] = "***"
        return json.dumps(body)
    return text


def create_app(fake: FakeOci) -> FastAPI:
    """The ASGI app serving ``fake`` under ``/20160918``: every request is recorded, its
    signature verified, then answered like OCI (with ``opc-request-id``)."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    async def serve(path: str, request: Request) -> Response:
        raw = await request.body()
        request_id = request.headers.get("opc-request-id") or secrets.token_hex(16).upper()
        headers = {"opc-request-id": request_id}
        query = dict(request.query_params)
        with fake.lock:
            entry = {
                "method": request.method,
                "path": request.url.path,
                "query": query,
                "operation": "",
                "opc_request_id": request_id,
                "key_id": "",
                "body": _masked(raw),
            }
            fake.requests.append(entry)
            try:
                entry["key_id"] = fake.authenticate(request, raw)
                parts = [p for p in path.split("/") if p]
                if not parts or parts[0] != API_VERSION:
                    raise oci_error(404, "NotAuthorizedOrNotFound", f"{request.url.path} is not served")
                operation, handler = fake.route(request.method, parts[1:], query)
                entry["operation"] = operation
                fake.check_fault(operation)
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    raise oci_error(400, "CannotParseRequest", "the request body is not JSON") from None
                result = handler(
                    body if isinstance(body, dict) else {}, request.headers.get("opc-retry-token")
                )
                if operation.startswith("List"):
                    page, next_page = fake._page(result, query)
                    if next_page:
                        headers["opc-next-page"] = next_page
                    return JSONResponse(page, headers=headers)
            except HttpError as e:
                return JSONResponse(e.body, status_code=e.status, headers=headers)
            if result is None:
                return Response(status_code=204, headers=headers)
            headers["etag"] = hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()[:32]
            return JSONResponse(result, headers=headers)

    app.api_route("/{path:path}", methods=list(METHODS), include_in_schema=False)(serve)
    return app


@dataclass
class RunningOci(RunningFake[FakeOci]):
    """A :class:`FakeOci` served on 127.0.0.1 (yielded by :func:`running_fake_oci`).

    Attributes:
        service_endpoint: ``http://127.0.0.1:<port>/20160918``, the ``service_endpoint`` of
            every OCI client.
    """

    service_endpoint: str = ""

    def config(self, key_file: Path | None = None) -> dict[str, Any]:
        """An OCI SDK config (``oci.config.validate_config`` accepts it) for the fake's key:
        ``key_file`` when given, else the key's PEM as ``key_content``."""
        config: dict[str, Any] = {
            "user": USER_ID,
            "fingerprint": self.fake.fingerprint,
            "tenancy": TENANCY_ID,
            "region": REGION,
        }
        if key_file is not None:
            config["key_file"] = str(key_file)
        else:
            config["key_content"] = self.fake.private_key_pem
        return config


@contextmanager
def running_fake_oci(fake: FakeOci | None = None, port: int = 0) -> Iterator[RunningOci]:
    """The fake Core API for a ``with`` block: ``fake`` (a new :class:`FakeOci` by default)
    served on 127.0.0.1:``port`` (0: any free port).

    Yields:
        the :class:`RunningOci` (``service_endpoint``, ``fake``, ``config()``).
    """
    fake = fake or FakeOci()
    with serving(create_app(fake), "fake OCI server", port=port) as (port, server):
        fake.base_url = f"http://127.0.0.1:{port}"
        endpoint = f"{fake.base_url}/{API_VERSION}"
        yield RunningOci(port=port, server=server, fake=fake, service_endpoint=endpoint)


def main() -> None:  # pragma: no cover - manual use
    """``python -m vcpsdk.testing.fakes.oracle [--port N] [--key-file FILE]``: serve a new
    :class:`FakeOci` on 127.0.0.1 until interrupted, after writing its API key (0600) and
    printing the settings an OCI client needs."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=8996)
    parser.add_argument("--key-file", type=Path, default=Path("fake-oci-key.pem"))
    args = parser.parse_args()
    fake = FakeOci()
    fake.write_private_key(args.key_file)
    print(
        f"fake OCI on http://127.0.0.1:{args.port}/{API_VERSION}; user {USER_ID}, tenancy {TENANCY_ID}, "
        f"fingerprint {fake.fingerprint}, key_file {args.key_file}, region {REGION}",
        flush=True,
    )
    serve_forever(fake, create_app, args.port)


if __name__ == "__main__":  # pragma: no cover
    main()
