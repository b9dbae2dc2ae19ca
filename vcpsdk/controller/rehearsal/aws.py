"""Rehearsal stand-in of AWS: EC2 on moto (server mode) on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vcpsdk.controller.rehearsal import NETWORKS, FakeCloud, RehearsalError, missing_extra

#: the private network of the rehearsal catalog and the ``VCCCTR_IPADDR`` given to the (never
#: booted) Base containers: loopback addresses only, from the table of rehearsal networks
NETWORK, CONTROLLER_ADDRESS = NETWORKS["aws"].network, NETWORKS["aws"].controller_address


def start(port: int, state_dir: Path | None) -> FakeCloud:
    """EC2 on moto on ``127.0.0.1:port`` with a rehearsal VPN catalog entry ``default``."""
    from vcpsdk.testing.fakes import aws as fake  # imports moto and boto3 on first use

    try:
        server = fake.start_moto_server(port)
    except ImportError as error:
        raise RehearsalError(missing_extra("aws", error)) from None
    endpoint = fake.server_endpoint(server)
    client = fake.ec2_client(endpoint)
    try:
        entry = fake.make_network(client, cidr=NETWORK)
        own_interfaces = {i["NetworkInterfaceId"] for i in _interfaces(client)}
    except BaseException:
        server.stop()
        raise
    section = {
        **fake.backend_config(endpoint, entry),
        "waiter_delay": 0.2,
        "wait_timeout": 120,
        "max_requests_per_second": 100,
        "controller_address": CONTROLLER_ADDRESS,
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
