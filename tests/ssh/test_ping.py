"""Node addresses answer ping, from the host and from inside another node."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .conftest import MakeSshUnit


def test_ping_a_node_address(make_ssh_unit: MakeSshUnit) -> None:
    _, [node] = make_ssh_unit(unit="pinged")
    result = subprocess.run(
        ["ping", "-c1", "-W2", node.cloud_instance_address],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ping_an_azure_node_from_an_aws_node(make_ssh_unit: MakeSshUnit, key: Path) -> None:
    _, [aws] = make_ssh_unit(unit="awsnode", provider="aws")
    _, [azure] = make_ssh_unit(unit="azurenode", provider="azure")
    assert azure.cloud_instance_address.startswith("127.20.2.")
    out, _ = aws.ssh_exec(f"ping -c1 -W2 {azure.cloud_instance_address}", private_key_path=str(key))
    assert "1 received" in out or "1 packets received" in out
