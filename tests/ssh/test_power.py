"""Power off / on and delete: the node's endpoint closes and reopens, its files stay or go."""

from __future__ import annotations

from pathlib import Path

import paramiko
import pytest

from tests.helpers import tcp_connect
from vcpsdk.errors import VcpRemoteCommandError
from vcpsdk.testing.keys import make_ssh_keypair
from vcpsdk.vcpsdk import VcpSDK

from .conftest import MakeSshUnit, home_of, inner_home, paramiko_client, ssh, ssh_text, unit_maker
from .test_host_keys import keyscan


def test_power_off_refuses_connections_and_power_on_brings_the_node_back(
    make_ssh_unit: MakeSshUnit, key: Path, live_controller
) -> None:
    unit, [node] = make_ssh_unit(unit="power")
    ssh_text(node, key, "echo before > kept.txt")
    tcp_connect(node.cloud_instance_address, node.ssh_port)

    [off] = unit.power_off_nodes()
    assert off.state == "POWER_OFF"
    with pytest.raises(ConnectionRefusedError):
        tcp_connect(node.cloud_instance_address, node.ssh_port)
    assert ssh(node, key, "true").returncode == 255
    assert (home_of(live_controller.state_dir, node) / "kept.txt").is_file()  # the disk is kept

    [on] = unit.power_on_nodes()
    assert on.state == "RUNNING"
    assert (on.id, on.cloud_instance_address) == (node.id, node.cloud_instance_address)
    tcp_connect(on.cloud_instance_address, on.ssh_port)
    assert ssh_text(on, key, "cat kept.txt") == "before\n"


def test_power_off_one_node_of_two(make_ssh_unit: MakeSshUnit, key: Path) -> None:
    unit, [first, second] = make_ssh_unit(unit="pair", num_nodes=2)
    unit.power_off_nodes(node_no=2)
    with pytest.raises(ConnectionRefusedError):
        tcp_connect(second.cloud_instance_address, second.ssh_port)
    assert ssh_text(first, key, "echo alive") == "alive\n"
    unit.power_on_nodes(node_no=2)
    assert ssh_text(second, key, "echo back") == "back\n"


def test_delete_node_removes_its_files_and_endpoint(
    make_ssh_unit: MakeSshUnit, key: Path, live_controller
) -> None:
    unit, [first, second] = make_ssh_unit(unit="deleting", num_nodes=2)
    ssh_text(second, key, "echo x > file")
    directory = Path(live_controller.state_dir) / "nodes" / second.id
    assert (directory / "home" / "file").is_file()
    assert (directory / "ssh_host_ed25519_key").is_file()
    assert (directory / "node.json").is_file()
    [left] = unit.delete_nodes(node_no=2)
    assert left.id == first.id
    assert not directory.exists()
    with pytest.raises(ConnectionRefusedError):
        tcp_connect(second.cloud_instance_address, second.ssh_port)
    assert ssh_text(first, key, "echo still") == "still\n"
    unit.delete_nodes()
    assert not (Path(live_controller.state_dir) / "nodes" / first.id).exists()


def test_power_off_closes_established_connections(make_ssh_unit: MakeSshUnit, key: Path) -> None:
    unit, [node] = make_ssh_unit(unit="openconn")
    with paramiko_client(node, key) as client:
        unit.power_off_nodes()
        with pytest.raises((paramiko.SSHException, EOFError, OSError)):
            _, stdout, _ = client.exec_command("echo still running", timeout=10)
            stdout.channel.recv_exit_status()


def test_ssh_exec_fails_on_a_powered_off_node(make_ssh_unit: MakeSshUnit, key: Path) -> None:
    unit, [node] = make_ssh_unit(unit="offexec")
    node.ssh_exec("true", private_key_path=str(key))  # opens the shared connection
    unit.power_off_nodes()
    with pytest.raises(VcpRemoteCommandError) as caught:
        node.ssh_exec("echo still running", private_key_path=str(key))
    assert caught.value.exit_status == 255


def test_ssh_exec_reaches_a_node_recreated_at_the_same_address(
    private_sdk: VcpSDK, tmp_path: Path, private_controller
) -> None:
    key = make_ssh_keypair(tmp_path)
    make = unit_maker(private_sdk, key)
    unit, [old] = make(unit="first", ip_addresses=["127.30.2.88"])
    old.ssh_exec("true", private_key_path=str(key))  # opens the shared connection
    unit.delete_nodes()
    _, [new] = make(unit="second", ip_addresses=["127.30.2.88"])
    assert new.cloud_instance_address == old.cloud_instance_address
    out, _ = new.ssh_exec("pwd", private_key_path=str(key))
    assert out == f"{inner_home(private_controller.state_dir, new)}\n"


def test_suspend_resume_keeps_the_host_and_stop_start_makes_a_new_one(
    make_ssh_unit: MakeSshUnit, key: Path, live_controller
) -> None:
    unit, [node] = make_ssh_unit(unit="cycle")
    address, home = node.cloud_instance_address, home_of(live_controller.state_dir, node)
    ssh_text(node, key, "echo kept > f")
    host_key = keyscan(node)

    node.suspend()
    unit.wait_nodes_applied()
    assert unit.find_nodes()[0].state == "SUSPENDED"
    with pytest.raises(ConnectionRefusedError):
        tcp_connect(address, node.ssh_port)
    node.resume()
    unit.wait_nodes_applied()
    [node] = unit.find_nodes()
    assert (node.state, node.cloud_instance_address) == ("RUNNING", address)
    assert ssh_text(node, key, "cat f") == "kept\n"
    assert keyscan(node) == host_key

    node.suspend()
    unit.wait_nodes_applied()
    node.stop()  # the host is released: its files go
    unit.wait_nodes_applied()
    assert unit.find_nodes()[0].state == "STOPPED"
    with pytest.raises(ConnectionRefusedError):
        tcp_connect(address, node.ssh_port)
    assert not home.exists()
    node.start()  # a new host at the same address, still accepting the unit's key
    unit.wait_nodes_applied()
    [node] = unit.find_nodes()
    assert (node.state, node.cloud_instance_address) == ("RUNNING", address)
    assert keyscan(node) != host_key
    assert ssh_text(node, key, "ls; echo $MY_PRIVATE_IP") == f"{address}\n"
