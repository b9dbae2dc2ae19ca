"""Host keys: one per node, kept across power off/on, new for a re-created node."""

from __future__ import annotations

import subprocess
from pathlib import Path

from vcpsdk.node import VcNode
from vcpsdk.testing.keys import make_ssh_keypair
from vcpsdk.vcpsdk import VcpSDK

from .conftest import unit_maker


def keyscan(node: VcNode) -> str:
    """The node's ed25519 host key (base64 blob) as ``ssh-keyscan`` reports it."""
    result = subprocess.run(
        ["ssh-keyscan", "-T", "10", "-t", "ed25519", "-p", str(node.ssh_port), node.cloud_instance_address],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines() if not line.startswith("#")]
    assert len(lines) == 1, result.stdout
    host, kind, blob = lines[0]
    assert host == f"[{node.cloud_instance_address}]:{node.ssh_port}"
    assert kind == "ssh-ed25519"
    return blob


def host_key_on_disk(state_dir: Path, node: VcNode) -> str:
    key_file = Path(state_dir) / "nodes" / node.id / "ssh_host_ed25519_key"
    public = subprocess.run(
        ["ssh-keygen", "-y", "-f", str(key_file)], capture_output=True, text=True, check=True
    ).stdout
    return public.split()[1]


def test_keyscan_reports_the_node_host_key(node: VcNode, live_controller) -> None:
    assert keyscan(node) == host_key_on_disk(live_controller.state_dir, node)


def test_every_node_has_its_own_host_key(make_ssh_unit) -> None:
    _, nodes = make_ssh_unit(unit="three", num_nodes=3)
    assert len({keyscan(n) for n in nodes}) == 3


def test_host_key_survives_power_off_and_on(make_ssh_unit) -> None:
    unit, [node] = make_ssh_unit(unit="poweredkey")
    before = keyscan(node)
    unit.power_off_nodes()
    unit.power_on_nodes()
    [again] = unit.find_nodes()
    assert again.state == "RUNNING"
    assert again.cloud_instance_address == node.cloud_instance_address
    assert keyscan(again) == before


def test_recreated_node_at_the_same_address_has_a_new_host_key(private_sdk: VcpSDK, tmp_path: Path) -> None:
    make = unit_maker(private_sdk, make_ssh_keypair(tmp_path))
    unit, [first] = make(unit="fixed", ip_addresses=["127.30.2.77"])
    first_key = keyscan(first)
    unit.delete_nodes()
    private_sdk.get_ugroup("ssh").delete_units("fixed")
    _, [second] = make(unit="fixed2", ip_addresses=["127.30.2.77"])
    assert second.cloud_instance_address == first.cloud_instance_address
    assert second.id != first.id
    assert keyscan(second) != first_key
