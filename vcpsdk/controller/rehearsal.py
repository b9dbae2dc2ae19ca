"""Rehearsal mode: ``vcc fake-cloud CLOUD``, a local stand-in of a cloud for the controller.

``vcc fake-cloud aws --port PORT --backends-out FILE`` runs EC2 on moto (server mode) in the
foreground on 127.0.0.1, creates what a VPN catalog entry names (VPC, subnet, security
group, AMI) with a private network in 127.0.0.0/8, and writes a backends file whose ``aws``
section points the controller's AWS backend at it (``vcc serve --backends FILE``).  Nothing
off this machine is ever contacted: the endpoint is 127.0.0.1, the credentials are fake and
the addresses the stand-in hands out are loopback addresses.

``vcc fake-cloud azure`` serves the fake ARM (:mod:`vcpsdk.testing.fakes.azure`) over HTTPS
instead, with a resource group, virtual network and subnet in 127.78.0.0/24, and writes an
``azure`` section (``authority``/``base_url`` on 127.0.0.1, ``connection_verify`` naming its
own certificate, the fake service principal).

On SIGTERM or SIGINT it prints one JSON line on stdout, the resources still in the stand-in,
and exits 0::

    {"cloud": "aws", "endpoint": "http://127.0.0.1:5000", "leftovers": [
        {"type": "instance", "id": "i-...", "state": "running"}, ...]}

Example::

    vcc fake-cloud aws --port 5000 --backends-out aws-rehearsal.yml &
    vcc serve --state-dir state --backends aws-rehearsal.yml
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

#: the extra that brings the stand-ins' packages
EXTRA = "rehearsal"
#: the private network of the rehearsal catalog: loopback addresses only
AWS_NETWORK = "127.77.0.0/16"
#: ``VCCCTR_IPADDR`` given to the (never booted) Base containers
AWS_CONTROLLER_ADDRESS = "127.77.0.1"
#: the rehearsal subnet of the fake ARM (loopback addresses only) and the controller address
AZURE_NETWORK = "127.78.0.0/24"
AZURE_CONTROLLER_ADDRESS = "127.78.0.1"


class RehearsalError(Exception):
    """A stand-in cannot start (unknown cloud, missing extra)."""


@dataclass
class FakeCloud:
    """A running stand-in: its endpoint, the backends file sections, and how to ask it
    for leftovers and stop it."""

    cloud: str
    endpoint: str
    backends: dict[str, dict[str, Any]]
    leftovers: Callable[[], list[dict[str, Any]]]
    stop: Callable[[], None]


def _start_aws(port: int, state_dir: Path | None) -> FakeCloud:
    """EC2 on moto on ``127.0.0.1:port`` with a rehearsal VPN catalog entry ``default``."""
    from vcpsdk.testing.fakes import aws as fake  # imports moto and boto3 on first use

    try:
        server = fake.start_moto_server(port)
    except ImportError as error:
        raise RehearsalError(_missing("aws", error)) from None
    endpoint = fake.server_endpoint(server)
    client = fake.ec2_client(endpoint)
    try:
        entry = fake.make_network(client, cidr=AWS_NETWORK)
        own_interfaces = {i["NetworkInterfaceId"] for i in _interfaces(client)}
    except BaseException:
        server.stop()
        raise
    section = {
        **fake.backend_config(endpoint, entry),
        "waiter_delay": 0.2,
        "wait_timeout": 120,
        "max_requests_per_second": 100,
        "controller_address": AWS_CONTROLLER_ADDRESS,
    }

    def leftovers() -> list[dict[str, Any]]:
        instances = [i for r in client.describe_instances()["Reservations"] for i in r["Instances"]]
        # EC2 deletes an instance's own network interfaces with it; moto keeps them
        terminated = {i["InstanceId"] for i in instances if i["State"]["Name"] == "terminated"}
        found: list[dict[str, Any]] = [
            {"type": "instance", "id": i["InstanceId"], "state": i["State"]["Name"]}
            for i in instances
            if i["InstanceId"] not in terminated
        ]
        found += [
            {"type": "volume", "id": v["VolumeId"], "state": v["State"]}
            for v in client.describe_volumes()["Volumes"]
        ]
        found += [
            {"type": "network_interface", "id": i["NetworkInterfaceId"], "state": i["Status"]}
            for i in _interfaces(client)
            if i["NetworkInterfaceId"] not in own_interfaces
            and i.get("Attachment", {}).get("InstanceId") not in terminated
        ]
        return found

    return FakeCloud("aws", endpoint, {"aws": section}, leftovers, server.stop)


def _interfaces(client: Any) -> list[dict[str, Any]]:
    interfaces: list[dict[str, Any]] = client.describe_network_interfaces()["NetworkInterfaces"]
    return interfaces


def azure_rehearsal_arm() -> Any:
    """A new ``FakeArm`` whose only subnet is :data:`AZURE_NETWORK` (room for 250 nodes)."""
    from vcpsdk.testing.fakes import azure as fake

    arm = fake.FakeArm()
    arm.subnets.clear()  # the rehearsal subnet replaces the default one
    arm.vnets.clear()
    arm.add_network(prefix=AZURE_NETWORK)
    return arm


def azure_backend_config(running: Any) -> dict[str, Any]:
    """The ``azure`` backends section that points the Azure backend at a served fake ARM.

    Args:
        running: the ``RunningArm`` of ``running_fake_arm(azure_rehearsal_arm())``.

    Returns:
        The section: endpoint, certificate and fake service principal, and a catalog entry
        ``default`` on the rehearsal subnet.
    """
    from vcpsdk.testing.fakes import azure as fake

    section = {
        **running.credential_kwargs(),
        **running.client_kwargs(),
        "subscription_id": fake.SUBSCRIPTION_ID,
        "controller_address": AZURE_CONTROLLER_ADDRESS,
        "vpn_catalog": {
            "default": {
                "azure_resource_group_name": fake.RESOURCE_GROUP,
                "azure_vnet_name": fake.VNET,
                "azure_subnet_name": fake.SUBNET,
                "azure_location": fake.LOCATION,
                "private_network_ipmask": AZURE_NETWORK,
            }
        },
    }
    section.pop("disable_instance_discovery")  # implied by ``authority``
    return section


def _start_azure(port: int, state_dir: Path | None) -> FakeCloud:
    """The fake ARM over HTTPS on ``127.0.0.1:port``; its self-signed certificate is written
    to ``state_dir`` (a temporary directory by default) and trusted only by the backends file
    (``connection_verify``)."""
    from vcpsdk.testing.fakes.azure import running_fake_arm

    arm = azure_rehearsal_arm()
    stack = ExitStack()
    if state_dir is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
    running = stack.enter_context(running_fake_arm(arm, cert_dir=state_dir, port=port))
    kinds = {
        "virtual_machines": "virtual_machine",
        "network_interfaces": "network_interface",
        "disks": "disk",
    }

    def leftovers() -> list[dict[str, Any]]:
        return [{"type": kinds[kind], "id": rid} for kind, ids in arm.leftovers().items() for rid in ids]

    return FakeCloud(
        "azure", running.base_url, {"azure": azure_backend_config(running)}, leftovers, stack.close
    )


#: cloud name → starter of its stand-in (oracle, vmware and sakura join here)
STARTERS: dict[str, Callable[[int, Path | None], FakeCloud]] = {"aws": _start_aws, "azure": _start_azure}


def _missing(cloud: str, error: ImportError) -> str:
    package = (error.name or "its stand-in packages").split(".")[0]
    return f'vcc fake-cloud {cloud} needs {package}: pip install "vcpsdk[{EXTRA}]"'


def start_fake_cloud(cloud: str, port: int, state_dir: Path | None = None) -> FakeCloud:
    """Start the stand-in of ``cloud`` on 127.0.0.1.

    Args:
        cloud: the cloud's name (``aws``).
        port: the TCP port, 0 for any free port.
        state_dir: a directory for the stand-in's files (created; the AWS stand-in keeps
            its state in memory and writes only ``fake-cloud.json`` there).

    Returns:
        The running stand-in.

    Raises:
        RehearsalError: the cloud is unknown or its packages are not installed.
    """
    starter = STARTERS.get(cloud)
    if starter is None:
        raise RehearsalError(
            f"unknown cloud {cloud!r}: vcc fake-cloud supports {', '.join(sorted(STARTERS))}"
        )
    return starter(port, state_dir)


def write_backends(path: Path, backends: dict[str, dict[str, Any]]) -> None:
    """Write a backends file (YAML) for ``vcc serve --backends``, atomically.

    Args:
        path: the file to write (its directory is created).
        backends: the sections, ``{backend name: settings}``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    header = "# written by vcc fake-cloud: a rehearsal on 127.0.0.1, fake credentials\n"
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(header + yaml.safe_dump(backends, sort_keys=False), encoding="utf-8")
    partial.replace(path)  # appears complete or not at all


def run_fake_cloud(cloud: str, port: int, backends_out: Path, state_dir: Path | None = None) -> int:
    """Serve the stand-in in the foreground until SIGTERM/SIGINT, then print the leftovers.

    Args:
        cloud: the cloud's name.
        port: the TCP port on 127.0.0.1, 0 for any free port.
        backends_out: where to write the backends file.
        state_dir: a directory for the stand-in's files.

    Returns:
        0 after a signal.

    Raises:
        RehearsalError: the cloud is unknown or its packages are not installed.
    """
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    fake = start_fake_cloud(cloud, port, state_dir)
    try:
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True)
            info = {"cloud": cloud, "endpoint": fake.endpoint, "backends": str(backends_out)}
            (state_dir / "fake-cloud.json").write_text(json.dumps(info), encoding="utf-8")
        write_backends(backends_out, fake.backends)  # last: its appearance means "ready"
        print(
            f"vcc fake-cloud {cloud}: serving {fake.endpoint}, backends file {backends_out}", file=sys.stderr
        )
        stopping.wait()
        report = {"cloud": cloud, "endpoint": fake.endpoint, "leftovers": fake.leftovers()}
        print(json.dumps(report), flush=True)
    finally:
        fake.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
