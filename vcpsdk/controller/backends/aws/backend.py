"""The AWS backend: ``aws``, ``aws_spot`` and ``aws_disk`` on Amazon EC2 through boto3.

Operators enable it with a ``backends`` section (``vcc serve --backends FILE``)::

    aws:
      region: ap-northeast-1            # default region (a catalog entry may name another)
      access_key: AKIA...               # optional; else boto3's default chain (env vars...)
      secret_key: ...
      endpoint_url: http://127.0.0.1:5000   # optional (moto in the tests)
      max_requests_per_second: 20       # client-side rate limit of EC2 requests
      controller_address: 172.30.2.10   # VCCCTR_IPADDR given to the Base containers
      vpn_catalog:
        default:
          aws_region: ap-northeast-1
          aws_vpc_subnet_id: subnet-...
          aws_vpc_security_group_id: sg-...
          aws_availability_zone: ap-northeast-1a
          private_network_ipmask: 172.30.2.0/24
          aws_default_image: vcp-base-ami   # AMI id or name used for cloud_image 'default'

What each operation sends to EC2 is described in ``docs/aws.md``.  Every method works on
a batch and is idempotent by node id: a launch uses a client token derived from the
sorted node ids, so the worker re-running an interrupted ``create`` gets the same
instances back from EC2 instead of new ones.  Any failure is mapped onto the toolkit's
cloud-error tree (``"<Code>: <cloud message>"``, see :mod:`.errors`) after everything the
call created is terminated again.  Retries are botocore's (``adaptive`` mode), waits are
boto3's waiters (or :func:`~vcpsdk.controller.backends.toolkit.waiting.wait_all` where
EC2 has none), the rate limit and the bootstrap script are the toolkit's.

The backend only talks to the EC2 API endpoint; it never connects to the instances.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vcpsdk.controller.backends.aws.bootstrap import bootstrap_script
from vcpsdk.controller.backends.aws.errors import (
    EC2_CODES,
    is_not_found,
    map_error,
    state_error,
    translated,
)
from vcpsdk.controller.backends.base import (
    DATA_DEVICES,
    Backend,
    BackendError,
    DiskRequest,
    DiskResult,
    NodeRequest,
    NodeResult,
    UnitContext,
)
from vcpsdk.controller.backends.toolkit.addresses import cloud_assigned
from vcpsdk.controller.backends.toolkit.bootstrap import as_list
from vcpsdk.controller.backends.toolkit.errors import CloudError
from vcpsdk.controller.backends.toolkit.ratelimit import RateLimiter
from vcpsdk.controller.backends.toolkit.settings import (
    catalog_entry,
    close_quietly,
    literal,
    parse_catalog,
    powers_on,
    served_catalog,
)
from vcpsdk.controller.backends.toolkit.waiting import timeout_error, wait_all

logger = logging.getLogger("vcp.controller.aws")

DEFAULT_REGION = "ap-northeast-1"
#: instance states in which an instance still exists (and costs)
LIVE_STATES = ("pending", "running", "stopping", "stopped", "shutting-down")
#: at most this many ids per DescribeInstances filter / TerminateInstances call
CHUNK = 200
#: EC2's limit on user data (before base64)
USER_DATA_LIMIT = 16384
#: CreateTags requests in flight at once (per create_nodes call)
TAG_THREADS = 8
NEEDS_BOTO3 = "the AWS backend needs boto3: pip install 'vcpsdk[aws]'"

TAG_CONTROLLER = "vcp:controller"
TAG_VCID = "vcp:vcid"
TAG_UGROUP = "vcp:ugroup"
TAG_UNIT = "vcp:unit"
TAG_NODE = "vcp:node_id"
TAG_LAUNCH = "vcp:launch"


#: fixed addresses: inside the subnet, not one of the five EC2 keeps; EC2 assigns the others
ADDRESS_POLICY = cloud_assigned("AWS")
#: boto3 waiter per instance state waited for
INSTANCE_WAITERS = {
    "running": "instance_running",
    "stopped": "instance_stopped",
    "terminated": "instance_terminated",
}


# -- the backend -----------------------------------------------------------------------------


class AwsBackend(Backend):
    """Amazon EC2 (on-demand and spot instances) and EBS volumes through boto3."""

    name = "aws"
    address_policy = ADDRESS_POLICY

    def __init__(self, config: dict[str, Any], controller_id: str) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise BackendError(NEEDS_BOTO3) from None
        config = dict(config or {})
        self._boto3 = boto3
        self.controller_id = str(controller_id)
        self.region = str(config.get("region") or DEFAULT_REGION)
        self.endpoint_url = config.get("endpoint_url") or None
        access, secret = config.get("access_key"), config.get("secret_key")
        self._operator_credentials = (
            (str(access), str(secret)) if literal(access) and literal(secret) else None
        )
        self.controller_address = str(config.get("controller_address") or "")
        self.waiter_delay = float(config.get("waiter_delay", 5.0))
        self.wait_timeout = float(config.get("wait_timeout", 900.0))
        self.image_owners = as_list(config.get("image_owners")) or ["self"]
        self.limiter = RateLimiter(float(config.get("max_requests_per_second", 20)))
        self._config = Config(
            retries={"mode": "adaptive", "max_attempts": int(config.get("max_attempts", 8))},
            connect_timeout=float(config.get("connect_timeout", 10)),
            read_timeout=float(config.get("read_timeout", 60)),
            user_agent_extra="vcpsdk-vcc",
        )
        self._catalog = parse_catalog(config, "aws")
        self._clients: dict[tuple[str, tuple[str, str] | None], Any] = {}
        self._default_session: Any = None
        self._hooks: list[tuple[str, Callable[..., Any]]] = []
        self._images: dict[tuple[Any, ...], tuple[str, str]] = {}
        self._client_secrets: dict[int, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        #: HTTP requests sent to EC2 per operation name (retries included)
        self.requests: Counter[str] = Counter()

    # -- clients ---------------------------------------------------------------------------

    def register_hook(self, event: str, handler: Callable[..., Any]) -> None:
        """Register a botocore event handler on every EC2 client, now and later ones."""
        with self._lock:
            self._hooks.append((event, handler))
            clients = list(self._clients.values())
        for client in clients:
            client.meta.events.register(event, handler)

    def unregister_hook(self, event: str, handler: Callable[..., Any]) -> None:
        """Undo :meth:`register_hook`."""
        with self._lock:
            if (event, handler) in self._hooks:
                self._hooks.remove((event, handler))
            clients = list(self._clients.values())
        for client in clients:
            client.meta.events.unregister(event, handler)

    def _before_send(self, event_name: str = "", **_: Any) -> None:
        self.limiter.acquire()
        with self._lock:
            self.requests[event_name.rsplit(".", 1)[-1]] += 1

    def client(self, region: str | None = None, credentials: tuple[str, str] | None = None) -> Any:
        """The EC2 client of ``region`` with ``credentials`` (default: the operator's)."""
        region = region or self.region
        credentials = credentials or self._operator_credentials
        key = (region, credentials)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                if credentials:  # one shared session: its service models load only once
                    with _SESSION_LOCK:
                        client = _shared_session(self._boto3).client(
                            "ec2",
                            region_name=region,
                            endpoint_url=self.endpoint_url,
                            aws_access_key_id=credentials[0],
                            aws_secret_access_key=credentials[1],
                            config=self._config,
                        )
                else:  # boto3's default chain: environment, shared files, instance role
                    if self._default_session is None:
                        self._default_session = self._boto3.session.Session()
                    client = self._default_session.client(
                        "ec2", region_name=region, endpoint_url=self.endpoint_url, config=self._config
                    )
                client.meta.events.register("before-send.ec2", self._before_send)
                self._client_secrets[id(client)] = (credentials[1],) if credentials else ()
                for event, handler in self._hooks:
                    client.meta.events.register(event, handler)
                self._clients[key] = client
        return client

    def _secrets(self, client: Any) -> tuple[str, ...]:
        """The secret key ``client`` signs with (masked in error messages), if known."""
        with self._lock:
            return self._client_secrets.get(id(client), ())

    def _unit_client(self, unit: UnitContext) -> Any:
        params = unit.cloud_params
        access, secret = params.get("access_key"), params.get("secret_key")
        credentials = (str(access), str(secret)) if literal(access) and literal(secret) else None
        return self.client(self._entry(unit).get("aws_region") or self.region, credentials)

    def _entry(self, unit: UnitContext) -> dict[str, Any]:
        """The unit's VPN catalog entry (storage units get it from private_network)."""
        return catalog_entry(unit, self._catalog)

    def close(self) -> None:
        """Close the HTTP connections of every client."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
            self._images.clear()  # keyed by client
        close_quietly(clients, "an EC2 client")

    # -- catalog ------------------------------------------------------------------------------

    def vpn_catalog(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The operator's catalog, served for ``aws`` and ``aws_spot`` (disks use ``aws``).

        Fixed addresses are checked by :data:`ADDRESS_POLICY` against the controller's own
        records only (inside the request's database transaction, EC2 is asked nothing);
        an address taken by something else in the subnet fails at launch with EC2's
        ``InvalidIPAddress.InUse``.
        """
        return served_catalog(self._catalog, "aws")

    # -- helpers -------------------------------------------------------------------------------

    def _tags(self, unit: UnitContext, node_id: str | None = None) -> list[dict[str, str]]:
        tags: dict[str, str] = {"Name": f"VCP-{self.controller_id[:8]}-{unit.vcid[:8]}"}
        for key, value in (unit.cloud_params.get("tags") or {}).items():
            if not str(key).startswith(("aws:", "vcp:")):  # ours cannot be overridden
                tags[str(key)] = str(value)
        tags.update(
            {
                TAG_CONTROLLER: self.controller_id,
                TAG_VCID: unit.vcid,
                TAG_UGROUP: unit.vc_name,
                TAG_UNIT: unit.unit_name,
            }
        )
        if node_id:
            tags[TAG_NODE] = node_id
        return [{"Key": k, "Value": v} for k, v in tags.items()]

    def _token(self, unit: UnitContext, node_ids: Iterable[str], extra: str = "") -> str:
        """A client token that is the same for the same nodes (so a retry reuses it)."""
        text = "|".join([self.controller_id, unit.vcid, unit.unit_name, *sorted(node_ids), extra])
        return "vcp-" + hashlib.sha256(text.encode()).hexdigest()[:48]

    def _image(self, client: Any, unit: UnitContext, entry: dict[str, Any]) -> tuple[str, str]:
        """``(image id, root device name)`` of the unit's ``cloud_image``."""
        ref = str(unit.cloud_params.get("cloud_image") or "default")
        if ref == "default":
            ref = str(entry.get("aws_default_image") or "")
            if not ref:
                raise EC2_CODES.error(
                    "InvalidAMIID.Unspecified",
                    "cloud_image is 'default' but the vpn_catalog entry "
                    f"{unit.spec.get('private_network')!r} has no aws_default_image; set "
                    "spec.cloud_image to an AMI id or name",
                )
        key = (id(client), ref)
        with self._lock:
            cached = self._images.get(key)
        if cached:
            return cached
        if re.fullmatch(r"ami-[0-9a-f]+", ref):
            images = client.describe_images(ImageIds=[ref])["Images"]
        else:
            images = client.describe_images(
                Owners=self.image_owners, Filters=[{"Name": "name", "Values": [ref]}]
            )["Images"]
        if not images:
            raise EC2_CODES.error(
                "InvalidAMIID.NotFound",
                f"no AMI named {ref!r} owned by {', '.join(self.image_owners)} in {client.meta.region_name}",
            )
        image = max(images, key=lambda i: str(i.get("CreationDate", "")))
        found = (str(image["ImageId"]), str(image.get("RootDeviceName") or "/dev/xvda"))
        with self._lock:
            self._images[key] = found
        return found

    def _describe(self, client: Any, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        instances = []
        for page in client.get_paginator("describe_instances").paginate(Filters=filters):
            for reservation in page.get("Reservations", []):
                instances.extend(reservation.get("Instances", []))
        return instances

    def _wait_instances(self, client: Any, ids: list[str], target: str) -> None:
        """Wait with boto3's waiter until every instance of ``ids`` is ``target``.

        ``target`` is running, stopped or terminated.  An instance that ends instead
        (e.g. no spot capacity after all) raises the typed error of its state reason.
        """
        from botocore.exceptions import ClientError, WaiterError

        waiter = client.get_waiter(INSTANCE_WAITERS[target])
        config = {
            "Delay": self.waiter_delay,
            "MaxAttempts": max(1, math.ceil(self.wait_timeout / max(self.waiter_delay, 0.001))),
        }
        for chunk in _chunks(sorted(set(ids)), CHUNK):
            try:  # by filter: an id EC2 forgot is missing from the answer, not an error
                waiter.wait(Filters=[{"Name": "instance-id", "Values": chunk}], WaiterConfig=config)
            except WaiterError as e:
                last = e.last_response if isinstance(e.last_response, dict) else {}
                if "Error" in last:  # an EC2 error, not a state: map it like any other
                    raise map_error(ClientError(last, "DescribeInstances")) or BackendError(str(e)) from e
                instances = [i for r in last.get("Reservations", []) for i in r.get("Instances", [])]
                for instance in instances:
                    ended = instance["State"]["Name"] in ("shutting-down", "terminated")
                    if ended and target != "terminated":
                        raise state_error(instance["InstanceId"], target, instance) from e
                pending = [i["InstanceId"] for i in instances if i["State"]["Name"] != target] or chunk
                if "Max attempts exceeded" in str(e):
                    raise timeout_error(
                        pending, what="instance(s)", target=target, timeout=self.wait_timeout, provider="aws"
                    ) from e
                states = sorted({i["State"]["Name"] for i in instances})
                raise CloudError(
                    f"instance(s) {', '.join(pending[:5])} are {'/'.join(states)}, not {target}",
                    code="IncorrectInstanceState",
                    provider="aws",
                ) from e

    def _terminate(self, client: Any, ids: Iterable[str], spot_requests: Iterable[str] = ()) -> None:
        """Cancel spot requests, terminate ``ids`` and wait until EC2 reports them terminated."""
        ids = sorted(set(ids))
        requests = sorted({r for r in spot_requests if r})
        if requests:  # a persistent request would launch a replacement
            client.cancel_spot_instance_requests(SpotInstanceRequestIds=requests)
        if not ids:
            return
        for chunk in _chunks(ids, CHUNK):
            try:
                client.terminate_instances(InstanceIds=chunk)
            except Exception as e:
                if not is_not_found(e):
                    raise
                live = [
                    i["InstanceId"]
                    for i in self._describe(
                        client,
                        [
                            {"Name": "instance-id", "Values": chunk},
                            {"Name": "instance-state-name", "Values": list(LIVE_STATES)},
                        ],
                    )
                ]
                if live:
                    client.terminate_instances(InstanceIds=live)
        self._wait_instances(client, ids, "terminated")

    def _find_instances(
        self, client: Any, nodes: list[NodeRequest], live_only: bool = True
    ) -> dict[str, list[dict[str, Any]]]:
        """``{node_id: [instances]}`` by tag ``vcp:node_id`` and by recorded instance id."""
        found: dict[str, list[dict[str, Any]]] = {}
        states = [{"Name": "instance-state-name", "Values": list(LIVE_STATES)}] if live_only else []
        wanted = {n.node_id for n in nodes}
        for chunk in _chunks(sorted(wanted), CHUNK):
            for instance in self._describe(
                client,
                [
                    {"Name": f"tag:{TAG_CONTROLLER}", "Values": [self.controller_id]},
                    {"Name": f"tag:{TAG_NODE}", "Values": chunk},
                    *states,
                ],
            ):
                node_id = _tag(instance, TAG_NODE)
                if node_id in wanted:
                    found.setdefault(node_id, []).append(instance)
        known = {i["InstanceId"] for lst in found.values() for i in lst}
        by_id = {
            str(n.backend_data["instance_id"]): n.node_id
            for n in nodes
            if n.backend_data.get("instance_id") and n.backend_data["instance_id"] not in known
        }
        for chunk in _chunks(sorted(by_id), CHUNK):
            for instance in self._describe(client, [{"Name": "instance-id", "Values": chunk}, *states]):
                found.setdefault(by_id[instance["InstanceId"]], []).append(instance)
        return found

    # -- nodes -----------------------------------------------------------------------------

    def _launch_params(
        self, unit: UnitContext, entry: dict[str, Any], image_id: str, root_device: str
    ) -> dict[str, Any]:
        params = unit.cloud_params
        subnet = entry.get("aws_vpc_subnet_id")
        if not subnet:
            raise EC2_CODES.error(
                "InvalidSubnetID.Unspecified",
                f"the vpn_catalog entry {unit.spec.get('private_network')!r} has no aws_vpc_subnet_id",
            )
        groups = entry.get("aws_vpc_security_group_id") or []
        if isinstance(groups, str):
            groups = [g.strip() for g in groups.split(",") if g.strip()]
        tags = self._tags(unit)
        tag_specs = [{"ResourceType": "instance", "Tags": tags}, {"ResourceType": "volume", "Tags": tags}]
        launch: dict[str, Any] = {
            "ImageId": image_id,
            "InstanceType": str(params.get("instance_type") or "m4.large"),
            "SubnetId": str(subnet),
            "BlockDeviceMappings": [
                {
                    "DeviceName": root_device,
                    "Ebs": {
                        "VolumeSize": int(params.get("volume_size") or 8),
                        "VolumeType": str(params.get("volume_type") or "gp2"),
                        "DeleteOnTermination": True,
                    },
                }
            ],
            "MetadataOptions": {
                "HttpEndpoint": "enabled",
                "HttpTokens": "required",
                "InstanceMetadataTags": "enabled",
            },
            "TagSpecifications": tag_specs,
        }
        if groups:
            launch["SecurityGroupIds"] = [str(g) for g in groups]
        if entry.get("aws_availability_zone"):
            launch["Placement"] = {"AvailabilityZone": str(entry["aws_availability_zone"])}
        if unit.provider == "aws_spot":
            spot: dict[str, Any] = {}
            if str(params.get("spot_price") or ""):
                spot["MaxPrice"] = str(params["spot_price"])
            spot_type = str(params.get("spot_type") or "one-time")
            spot["SpotInstanceType"] = spot_type
            if spot_type == "persistent":  # EC2 accepts persistent requests only with stop/hibernate
                spot["InstanceInterruptionBehavior"] = "stop"
            minutes = int(params.get("block_duration_minutes") or 0)
            if minutes > 0:
                spot["BlockDurationMinutes"] = minutes
            launch["InstanceMarketOptions"] = {"MarketType": "spot", "SpotOptions": spot}
            tag_specs.append({"ResourceType": "spot-instances-request", "Tags": tags})
        return launch

    def _run(
        self, client: Any, base: dict[str, Any], user_data: str, count: int, token: str, address: str | None
    ) -> list[dict[str, Any]]:
        if len(user_data.encode()) > USER_DATA_LIMIT:
            raise EC2_CODES.error(
                "InvalidParameterValue",
                f"the bootstrap script is {len(user_data.encode())} bytes; "
                f"EC2 user data is limited to {USER_DATA_LIMIT} bytes (shorten params_e/params_v)",
            )
        request = dict(base, MinCount=count, MaxCount=count, UserData=user_data, ClientToken=token)
        request["TagSpecifications"] = [
            {"ResourceType": s["ResourceType"], "Tags": [*s["Tags"], {"Key": TAG_LAUNCH, "Value": token}]}
            for s in base["TagSpecifications"]
        ]
        if address:
            request["PrivateIpAddress"] = address
        instances = client.run_instances(**request)["Instances"]
        gone = [
            i["InstanceId"]
            for i in instances
            if i.get("State", {}).get("Name") in ("shutting-down", "terminated")
        ]
        if gone:  # the same client token after a cleanup: EC2 returns the old launch
            raise BackendError(
                f"IdempotentLaunchTerminated: the instances of launch {token} were terminated "
                f"({', '.join(gone)}); delete these nodes and add new ones"
            )
        if len(instances) != count:
            raise EC2_CODES.error(
                "InsufficientInstanceCapacity",
                f"asked for {count} instance(s), EC2 launched {len(instances)}",
            )
        return sorted(instances, key=lambda i: int(i.get("AmiLaunchIndex", 0)))

    def create_nodes(self, unit: UnitContext, nodes: list[NodeRequest]) -> list[NodeResult]:
        """Launch the nodes: one RunInstances for every automatic address, one per fixed IP.

        RunInstances gives all instances of one call the same parameters, so it cannot
        give N instances N different fixed addresses: each fixed-IP node is its own call
        (with ``PrivateIpAddress``).  For the same reason the per-node tag ``vcp:node_id``
        is set by one CreateTags per instance right after the launch.  On any failure
        every instance of these nodes is terminated (and waited for) before the error
        is raised.
        """
        if not nodes:
            return []
        client = self._unit_client(unit)
        entry = self._entry(unit)
        created: dict[str, dict[str, Any]] = {}
        tokens: list[str] = []
        discard = lambda: self._discard(client, [i["InstanceId"] for i in created.values()], tokens)  # noqa: E731
        with translated(cleanup=discard, secrets=self._secrets(client)):
            image_id, root = self._image(client, unit, entry)
            base = self._launch_params(unit, entry, image_id, root)
            automatic = sorted((n for n in nodes if not n.address), key=lambda n: n.node_id)
            fixed = [n for n in nodes if n.address]
            if automatic:
                token = self._token(unit, [n.node_id for n in automatic])
                tokens.append(token)
                script = bootstrap_script(
                    unit,
                    automatic[0],
                    controller_id=self.controller_id,
                    controller_address=self.controller_address,
                )
                launched = self._run(client, base, script, len(automatic), token, None)
                created.update({n.node_id: i for n, i in zip(automatic, launched, strict=True)})
            for node in fixed:
                token = self._token(unit, [node.node_id], str(node.address))
                tokens.append(token)
                script = bootstrap_script(
                    unit, node, controller_id=self.controller_id, controller_address=self.controller_address
                )
                [instance] = self._run(client, base, script, 1, token, str(node.address))
                created[node.node_id] = instance
            self._tag_nodes(client, {n: i["InstanceId"] for n, i in created.items()})
            self._wait_instances(client, [i["InstanceId"] for i in created.values()], "running")
            volumes = {
                n.node_id: self._attach_disks(client, n, created[n.node_id]["InstanceId"])
                for n in nodes
                if n.disks
            }
        results = []
        for node in nodes:
            iid = created[node.node_id]["InstanceId"]
            address = created[node.node_id].get("PrivateIpAddress") or ""
            results.append(
                NodeResult(
                    node_id=node.node_id,
                    instance_id=iid,
                    address=str(address),
                    volumes=volumes.get(node.node_id, []),
                    backend_data={"instance_id": iid, "region": client.meta.region_name},
                )
            )
        return results

    def _tag_nodes(self, client: Any, instances: dict[str, str]) -> None:
        """One CreateTags per instance (``vcp:node_id`` differs per instance), a few at a
        time: the rate limiter, not the round trips, bounds how long 100 nodes take."""

        def tag(item: tuple[str, str]) -> None:
            node_id, instance_id = item
            client.create_tags(Resources=[instance_id], Tags=[{"Key": TAG_NODE, "Value": node_id}])

        items = sorted(instances.items())
        if len(items) <= 1:
            for item in items:
                tag(item)
            return
        with ThreadPoolExecutor(
            max_workers=min(TAG_THREADS, len(items)), thread_name_prefix="vcc-aws-tag"
        ) as pool:
            for future in [pool.submit(tag, item) for item in items]:
                future.result()  # the first failure is raised (after all have finished)

    def _discard(self, client: Any, ids: list[str], tokens: list[str]) -> None:
        """Terminate what a failed create made: known ids and anything of its launch tokens."""
        try:
            found = set(ids)
            spot: list[str] = []
            if tokens:
                for instance in self._describe(
                    client,
                    [
                        {"Name": f"tag:{TAG_LAUNCH}", "Values": tokens},
                        {"Name": "instance-state-name", "Values": list(LIVE_STATES)},
                    ],
                ):
                    found.add(instance["InstanceId"])
                    spot.append(instance.get("SpotInstanceRequestId", ""))
            self._terminate(client, found, spot)
        except Exception:  # the original error matters more; leftovers carry our tags
            logger.exception("terminating the instances of a failed launch failed")

    def _attach_disks(self, client: Any, node: NodeRequest, instance_id: str) -> list[dict[str, str]]:
        if len(node.disks) > len(DATA_DEVICES):
            raise EC2_CODES.error(
                "InvalidParameterValue", f"at most {len(DATA_DEVICES)} disks can be attached"
            )
        attached = []
        for device, disk in zip(DATA_DEVICES, node.disks, strict=False):
            [volume] = client.describe_volumes(VolumeIds=[disk.cloud_disk_id])["Volumes"]
            here = [
                a
                for a in volume.get("Attachments", [])
                if a.get("InstanceId") == instance_id and a.get("State") in ("attaching", "attached")
            ]
            if here:
                device = here[0].get("Device", device)
            else:
                client.attach_volume(VolumeId=disk.cloud_disk_id, InstanceId=instance_id, Device=device)
            attached.append({"volume_id": disk.cloud_disk_id, "device_name": device})
        self._wait_volumes(client, [a["volume_id"] for a in attached], "in-use")
        return attached

    def delete_nodes(self, unit: UnitContext, nodes: list[NodeRequest]) -> None:
        """Terminate the nodes' instances and wait until EC2 reports them terminated."""
        if not nodes:
            return
        client = self._unit_client(unit)
        with translated(secrets=self._secrets(client)):
            found = self._find_instances(client, nodes)
            instances = [i for lst in found.values() for i in lst]
            self._terminate(
                client,
                [i["InstanceId"] for i in instances],
                [i.get("SpotInstanceRequestId", "") for i in instances],
            )

    def power(self, unit: UnitContext, nodes: list[NodeRequest], action: str) -> None:
        """power_off/stop/suspend = StopInstances; power_on/start/resume = StartInstances."""
        target = "running" if powers_on(action) else "stopped"
        if not nodes:
            return
        client = self._unit_client(unit)
        with translated(secrets=self._secrets(client)):
            found = self._find_instances(client, nodes)
            missing = [n.node_id for n in nodes if not found.get(n.node_id)]
            if missing:
                raise EC2_CODES.error(
                    "InvalidInstanceID.NotFound",
                    f"no instance for node(s) {', '.join(missing)} "
                    "(terminated outside the controller?); delete these nodes",
                )
            instances = [i for n in nodes for i in found[n.node_id]]
            ids = [i["InstanceId"] for i in instances]
            if target == "stopped":
                todo = [i["InstanceId"] for i in instances if i["State"]["Name"] in ("pending", "running")]
                for chunk in _chunks(todo, CHUNK):
                    client.stop_instances(InstanceIds=chunk)
            else:
                stopping = [i["InstanceId"] for i in instances if i["State"]["Name"] == "stopping"]
                if stopping:  # EC2 refuses to start an instance that is still stopping
                    self._wait_instances(client, stopping, "stopped")
                todo = [i["InstanceId"] for i in instances if i["State"]["Name"] in ("stopped", "stopping")]
                for chunk in _chunks(todo, CHUNK):
                    client.start_instances(InstanceIds=chunk)
            self._wait_instances(client, ids, target)

    def describe(self, unit: UnitContext, nodes: list[NodeRequest]) -> dict[str, str]:
        """``{node_id: RUNNING | POWER_OFF | DELETED}`` from what EC2 reports now."""
        if not nodes:
            return {}
        client = self._unit_client(unit)
        with translated(secrets=self._secrets(client)):
            found = self._find_instances(client, nodes, live_only=False)
        report = {}
        for node in nodes:
            instances = found.get(node.node_id, [])
            recorded = node.backend_data.get("instance_id")
            mine = [i for i in instances if i["InstanceId"] == recorded] or [
                i for i in instances if i["State"]["Name"] in LIVE_STATES
            ]
            state = mine[0]["State"]["Name"] if mine else "terminated"
            if state in ("pending", "running"):
                report[node.node_id] = "RUNNING"
            elif state in ("stopping", "stopped"):
                report[node.node_id] = "POWER_OFF"
            else:
                report[node.node_id] = "DELETED"
        return report

    # -- disks -------------------------------------------------------------------------------

    def _snapshot(self, client: Any, ref: str) -> str | None:
        if not ref or ref == "default":
            return None
        if re.fullmatch(r"snap-[0-9a-f]+", ref):
            return ref
        snapshots = client.describe_snapshots(
            OwnerIds=["self"], Filters=[{"Name": "tag:Name", "Values": [ref]}]
        )["Snapshots"]
        if not snapshots:
            raise EC2_CODES.error(
                "InvalidSnapshot.NotFound",
                f"no snapshot named {ref!r} (tag Name) in {client.meta.region_name}",
            )
        return str(max(snapshots, key=lambda s: str(s.get("StartTime", "")))["SnapshotId"])

    def _find_volumes(
        self, client: Any, disk_ids: list[str], recorded: dict[str, str]
    ) -> dict[str, dict[str, Any]]:
        """``{disk_id: volume}`` by tag ``vcp:node_id`` and by recorded volume id."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(sorted(set(disk_ids)), CHUNK):
            pages = client.get_paginator("describe_volumes").paginate(
                Filters=[
                    {"Name": f"tag:{TAG_CONTROLLER}", "Values": [self.controller_id]},
                    {"Name": f"tag:{TAG_NODE}", "Values": chunk},
                ]
            )
            for page in pages:
                for volume in page.get("Volumes", []):
                    if volume.get("State") not in ("deleting", "deleted", "error"):
                        found[_tag(volume, TAG_NODE)] = volume
        missing = {vid: did for did, vid in recorded.items() if vid and did not in found}
        for chunk in _chunks(sorted(missing), CHUNK):
            for volume in client.describe_volumes(Filters=[{"Name": "volume-id", "Values": chunk}])[
                "Volumes"
            ]:
                if volume.get("State") not in ("deleting", "deleted", "error"):
                    found[missing[volume["VolumeId"]]] = volume
        return found

    def _wait_volumes(self, client: Any, ids: list[str], target: str) -> None:
        """Poll until every volume is ``target`` (available, in-use = attached, or deleted = gone).

        Not boto3's volume waiters: they do not stop at the ``error`` state, do not look at
        the attachments, and ``volume_deleted`` on several ids ends as soon as one is gone.
        """

        def check(pending: list[str]) -> set[str]:
            done = set()
            for chunk in _chunks(pending, CHUNK):
                found = {
                    v["VolumeId"]: v
                    for v in client.describe_volumes(Filters=[{"Name": "volume-id", "Values": chunk}])[
                        "Volumes"
                    ]
                }
                for vid in chunk:
                    volume = found.get(vid)
                    state = volume.get("State") if volume else "deleted"
                    if target == "in-use" and volume is not None:
                        ready = state == "in-use" and all(
                            a.get("State") == "attached" for a in volume.get("Attachments", [])
                        )
                    else:
                        ready = state == target
                    if ready:
                        done.add(vid)
                    elif state == "error" or (state == "deleted" and target != "deleted"):
                        raise CloudError(
                            f"volume {vid} is {state}, not {target}", code="VolumeError", provider="aws"
                        )
            return done

        wait_all(
            ids,
            check,
            what="volume(s)",
            target=target,
            timeout=self.wait_timeout,
            interval=self.waiter_delay,
            provider="aws",
        )

    def create_disks(self, unit: UnitContext, disks: list[DiskRequest]) -> list[DiskResult]:
        """CreateVolume per disk (EBS has no batch call), then wait until all are available."""
        if not disks:
            return []
        client = self._unit_client(unit)
        entry = self._entry(unit)
        params = unit.cloud_params
        created: dict[str, str] = {}
        drop = lambda: self._drop_volumes(client, list(created.values()))  # noqa: E731
        with translated(cleanup=drop, secrets=self._secrets(client)):
            zone = entry.get("aws_availability_zone")
            if not zone:
                raise EC2_CODES.error(
                    "InvalidAvailabilityZone.Unspecified",
                    "the vpn_catalog entry "
                    f"{unit.spec.get('private_network')!r} has no aws_availability_zone",
                )
            snapshot = self._snapshot(client, str(params.get("cloud_image") or ""))
            existing = self._find_volumes(
                client,
                [d.disk_id for d in disks],
                {d.disk_id: str(d.backend_data.get("cloud_disk_id") or "") for d in disks},
            )
            created.update({did: v["VolumeId"] for did, v in existing.items()})
            for disk in disks:
                if disk.disk_id in created:
                    continue
                request: dict[str, Any] = {
                    "AvailabilityZone": str(zone),
                    "Size": int(disk.size_gb or params.get("size") or 8),
                    "VolumeType": str(params.get("type") or "standard"),
                    "ClientToken": self._token(unit, [disk.disk_id], "volume"),
                    "TagSpecifications": [{"ResourceType": "volume", "Tags": self._tags(unit, disk.disk_id)}],
                }
                if snapshot:
                    request["SnapshotId"] = snapshot
                created[disk.disk_id] = client.create_volume(**request)["VolumeId"]
            self._wait_volumes(client, list(created.values()), "available")
        return [
            DiskResult(
                disk_id=d.disk_id,
                cloud_disk_id=created[d.disk_id],
                size_gb=int(d.size_gb or params.get("size") or 8),
                backend_data={
                    "cloud_disk_id": created[d.disk_id],
                    "region": client.meta.region_name,
                    "availability_zone": str(entry.get("aws_availability_zone")),
                },
            )
            for d in disks
        ]

    def _drop_volumes(self, client: Any, ids: list[str]) -> None:
        try:
            self._delete_volumes(client, {v: {} for v in ids})
        except Exception:  # the original error matters more; leftovers carry our tags
            logger.exception("deleting the volumes of a failed create failed")

    def _delete_volumes(self, client: Any, volumes: dict[str, dict[str, Any]]) -> None:
        if not volumes:
            return
        described = {
            v["VolumeId"]: v
            for chunk in _chunks(sorted(volumes), CHUNK)
            for v in client.describe_volumes(Filters=[{"Name": "volume-id", "Values": chunk}])["Volumes"]
        }
        detaching = []
        for vid, volume in described.items():
            if volume.get("State") == "creating":
                self._wait_volumes(client, [vid], "available")
            for attachment in volume.get("Attachments", []):
                if attachment.get("State") in ("attaching", "attached"):
                    client.detach_volume(VolumeId=vid, InstanceId=attachment["InstanceId"])
                    detaching.append(vid)
        if detaching:
            self._wait_volumes(client, detaching, "available")
        for vid in described:
            try:
                client.delete_volume(VolumeId=vid)
            except Exception as e:
                if not is_not_found(e):
                    raise
        self._wait_volumes(client, list(described), "deleted")

    def delete_disks(self, unit: UnitContext, disks: list[DiskRequest]) -> None:
        """Detach (if attached, and wait), then DeleteVolume and wait until they are gone."""
        if not disks:
            return
        client = self._unit_client(unit)
        with translated(secrets=self._secrets(client)):
            found = self._find_volumes(
                client,
                [d.disk_id for d in disks],
                {d.disk_id: str(d.backend_data.get("cloud_disk_id") or "") for d in disks},
            )
            self._delete_volumes(client, {v["VolumeId"]: v for v in found.values()})

    # -- leftovers -----------------------------------------------------------------------------

    def find_tagged(self, vcid: str) -> list[str]:
        """Ids of instances (not terminated) and volumes tagged ``vcp:vcid=<vcid>``.

        Looks in the operator's account, in the default region and every catalog region.
        """
        regions = {
            self.region,
            *(str(e["aws_region"]) for e in self._catalog.values() if e.get("aws_region")),
        }
        ids: list[str] = []
        for region in sorted(regions):
            client = self.client(region)
            ids += [
                i["InstanceId"]
                for i in self._describe(
                    client,
                    [
                        {"Name": f"tag:{TAG_VCID}", "Values": [vcid]},
                        {"Name": "instance-state-name", "Values": list(LIVE_STATES)},
                    ],
                )
            ]
            for page in client.get_paginator("describe_volumes").paginate(
                Filters=[{"Name": f"tag:{TAG_VCID}", "Values": [vcid]}]
            ):
                ids += [v["VolumeId"] for v in page.get("Volumes", []) if v.get("State") != "deleted"]
        return ids


# -- small helpers ---------------------------------------------------------------------------

_SESSION: Any = None
_SESSION_LOCK = threading.Lock()


def _shared_session(boto3: Any) -> Any:
    """The boto3 session clients with literal credentials are made from (hold the lock)."""
    global _SESSION
    if _SESSION is None:
        _SESSION = boto3.session.Session()
    return _SESSION


def _tag(resource: dict[str, Any], key: str) -> str:
    for tag in resource.get("Tags", []) or []:
        if tag.get("Key") == key:
            return str(tag.get("Value", ""))
    return ""


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
