"""EC2 on moto, in server mode on 127.0.0.1: the local fake of AWS for tests and benchmarks.

Needs the ``test`` extra (``boto3`` and ``moto[server,ec2]``), imported on first use.

* :func:`moto_endpoint` starts one ``ThreadedMotoServer`` per test process, bound to
  127.0.0.1 on a free port (the tests talk HTTP to it exactly like to EC2).
* Moto does not implement RunInstances' ``ClientToken`` idempotency (EC2 returns the
  original reservation for a repeated token instead of launching again), so
  :func:`emulate_client_tokens` adds it to moto's EC2 model, as EC2 documents it.
* :func:`make_network` creates what a VPN catalog entry names: VPC, subnet, security group
  and an AMI registered by name.
* :class:`Faults` injects EC2 error responses (or crashes) into a backend's clients through
  botocore events, so botocore's own error parsing and retry logic see them.
* :class:`Calls` records every EC2 call a backend makes, with its parameters.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

REGION = "ap-northeast-1"
ZONE = "ap-northeast-1a"
IMAGE_NAME = "vcp-base-test"
CREDENTIALS = {"access_key": "testing", "secret_key": "testing"}

_server: Any = None
_lock = threading.Lock()


def moto_endpoint() -> str:
    """``http://127.0.0.1:<port>`` of this process's moto server (started on first use)."""
    global _server
    with _lock:
        if _server is None:
            _server = start_moto_server()
        return server_endpoint(_server)


def start_moto_server(port: int = 0) -> Any:
    """Start a ``ThreadedMotoServer`` on 127.0.0.1 (``port`` 0: a free port), with EC2's
    ClientToken idempotency and without request log lines.

    Args:
        port: the TCP port to listen on, 0 for any free port.

    Returns:
        The running server (``.stop()`` ends it); :func:`server_endpoint` gives its URL.
    """
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log lines
    emulate_client_tokens()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def server_endpoint(server: Any) -> str:
    """``http://127.0.0.1:<port>`` of a server made by :func:`start_moto_server`."""
    host, port = server.get_host_and_port()
    assert host == "127.0.0.1", host
    return f"http://127.0.0.1:{port}"


def reset_moto(endpoint: str) -> None:
    """Forget every resource of every account and region."""
    import requests

    requests.post(f"{endpoint}/moto-api/reset", timeout=30).raise_for_status()


def emulate_client_tokens() -> None:
    """Make moto's RunInstances idempotent by ClientToken, like EC2.

    A repeated token returns the reservation of the first call (whatever state its
    instances are in now) instead of launching new instances.
    """
    from moto.ec2.models.instances import InstanceBackend

    original = InstanceBackend.run_instances
    if getattr(original, "_vcp_client_tokens", False):
        return

    def run_instances(
        self: Any, image_id: str, count: int, user_data: Any, security_group_names: list[str], **kwargs: Any
    ) -> Any:
        token = kwargs.get("client_token")
        tokens: dict[str, Any] = self.__dict__.setdefault("_vcp_tokens", {})
        if token and token != "ABCDE" and token in tokens:  # "ABCDE": moto's "no token"
            return tokens[token]
        reservation = original(self, image_id, count, user_data, security_group_names, **kwargs)
        if token and token != "ABCDE":
            tokens[token] = reservation
        return reservation

    run_instances._vcp_client_tokens = True  # type: ignore[attr-defined]
    InstanceBackend.run_instances = run_instances  # type: ignore[method-assign]


def ec2_client(endpoint: str, region: str = REGION) -> Any:
    """A plain boto3 EC2 client of moto (the test's own view of the account)."""
    import boto3

    return boto3.client(
        "ec2",
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def make_network(client: Any, cidr: str = "10.77.0.0/16") -> dict[str, Any]:
    """VPC + subnet + security group + AMI; returns the VPN catalog entry naming them."""
    vpc = client.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    subnet = client.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=ZONE)
    group = client.create_security_group(GroupName=f"vcp-{vpc}", Description="vcp nodes", VpcId=vpc)[
        "GroupId"
    ]
    existing = client.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [IMAGE_NAME]}])[
        "Images"
    ]
    if not existing:
        client.register_image(
            Name=IMAGE_NAME,
            RootDeviceName="/dev/xvda",
            Architecture="x86_64",
            VirtualizationType="hvm",
            BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
        )
    return {
        "aws_region": REGION,
        "aws_vpc_subnet_id": subnet["Subnet"]["SubnetId"],
        "aws_vpc_security_group_id": group,
        "aws_availability_zone": ZONE,
        "private_network_ipmask": cidr,
        "aws_default_image": IMAGE_NAME,
    }


def backend_config(endpoint: str, entry: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The operator section of an AwsBackend on moto (fast polling)."""
    return {
        "region": REGION,
        "endpoint_url": endpoint,
        **CREDENTIALS,
        "waiter_delay": 0.02,
        "wait_timeout": 30,
        "max_requests_per_second": 500,
        "controller_address": "10.77.0.10",
        "vpn_catalog": {"default": entry},
        **extra,
    }


# -- calls and faults ------------------------------------------------------------------------


class Calls:
    """Every EC2 API call a backend makes: ``[(operation, params)]`` (params as passed)."""

    def __init__(self, backend: Any) -> None:
        self.log: list[tuple[str, dict[str, Any]]] = []
        self._backend = backend
        backend.register_hook("provide-client-params.ec2", self._record)

    def _record(self, params: dict[str, Any], event_name: str = "", **_: Any) -> None:
        self.log.append((event_name.rsplit(".", 1)[-1], copy.deepcopy(params)))

    def names(self) -> list[str]:
        """Operation names in order."""
        return [name for name, _ in self.log]

    def of(self, operation: str) -> list[dict[str, Any]]:
        """Parameters of every call of ``operation``."""
        return [params for name, params in self.log if name == operation]

    def clear(self) -> None:
        """Forget the calls so far."""
        self.log.clear()

    def close(self) -> None:
        """Stop recording."""
        self._backend.unregister_hook("provide-client-params.ec2", self._record)


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def error_response(code: str, message: str, status: int = 400) -> Any:
    """An EC2 error response as botocore receives it from the wire."""
    from botocore.awsrequest import AWSResponse

    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}'
        f"</Code><Message>{message}</Message></Error></Errors><RequestID>vcp-test"
        "</RequestID></Response>"
    ).encode()
    return AWSResponse("http://127.0.0.1/", status, {"Content-Type": "text/xml"}, _Body(body))


class Faults:
    """Inject failures into a backend's EC2 calls (botocore events, no monkeypatching)."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._handlers: list[tuple[str, Callable[..., Any]]] = []

    def error(
        self,
        operation: str | Sequence[str],
        code: str,
        message: str = "injected",
        *,
        times: int = 1,
        skip: int = 0,
        status: int = 400,
    ) -> dict[str, int]:
        """The next ``times`` requests of ``operation`` (after ``skip`` good ones) get an
        EC2 error response instead of reaching moto.  Returns ``{"sent": n}`` counters.

        ``operation`` may name several operations: their requests are counted together
        (``skip=1`` over ``["RunInstances", "DescribeInstances"]`` lets the launch through
        and fails the wait's first DescribeInstances)."""
        seen = {"sent": 0, "failed": 0}

        def handler(**_: Any) -> Any:
            seen["sent"] += 1
            if skip < seen["sent"] <= skip + times:
                seen["failed"] += 1
                return error_response(code, message, status)
            return None

        for name in [operation] if isinstance(operation, str) else operation:
            self._add(f"before-send.ec2.{name}", handler)
        return seen

    def after(self, operation: str, exception: BaseException, *, times: int = 1) -> None:
        """Raise ``exception`` once ``operation`` has been carried out by EC2 (a lost
        response, or a crash of the controller right after the call)."""
        left = {"n": times}

        def handler(**_: Any) -> None:
            if left["n"] > 0:
                left["n"] -= 1
                raise exception

        self._add(f"after-call.ec2.{operation}", handler)

    def rewrite(self, operation: str, change: Callable[[dict[str, Any]], bool], *, times: int = 1) -> None:
        """Let ``change`` edit the parsed answers of ``operation`` until it has changed
        ``times`` of them (it returns whether it changed the answer)."""
        left = {"n": times}

        def handler(parsed: dict[str, Any], **_: Any) -> None:
            if left["n"] > 0 and change(parsed):
                left["n"] -= 1

        self._add(f"after-call.ec2.{operation}", handler)

    def _add(self, event: str, handler: Callable[..., Any]) -> None:
        self._backend.register_hook(event, handler)
        self._handlers.append((event, handler))

    def clear(self) -> None:
        """Remove every injected fault."""
        for event, handler in self._handlers:
            self._backend.unregister_hook(event, handler)
        self._handlers.clear()


def restate(old: str, new: str, code: int) -> Callable[[dict[str, Any]], bool]:
    """A :meth:`Faults.rewrite` change: instances EC2 reports ``old`` are reported ``new``."""

    def change(parsed: dict[str, Any]) -> bool:
        changed = False
        for reservation in parsed.get("Reservations", []):
            for instance in reservation["Instances"]:
                if instance["State"]["Name"] == old:
                    instance["State"] = {"Code": code, "Name": new}
                    changed = True
        return changed

    return change
