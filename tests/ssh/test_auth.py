"""Who may log in to a sandbox node: the keys of AUTHORIZED_KEYS, for root, vcp and ssh_user_name."""

from __future__ import annotations

from pathlib import Path

import paramiko
import pytest

from vcpsdk.node import VcNode
from vcpsdk.testing.keys import public_key_of

from .conftest import MakeSshUnit, home_of, inner_home, paramiko_client, ssh, ssh_text


def test_right_key_logs_in_as_root(node: VcNode, key: Path) -> None:
    result = ssh(node, key, "uname -a")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"Linux ")


def test_another_key_is_refused(node: VcNode, other_key: Path) -> None:
    result = ssh(node, other_key, "uname -a")
    assert result.returncode == 255
    assert b"Permission denied" in result.stderr
    assert result.stdout == b""


@pytest.mark.parametrize("user", ["alice", "ubuntu", "admin"])
def test_unknown_user_is_refused_even_with_the_right_key(node: VcNode, key: Path, user: str) -> None:
    result = ssh(node, key, "true", user=user)
    assert result.returncode == 255
    assert b"Permission denied" in result.stderr


def test_ssh_user_name_adds_a_login_user(make_ssh_unit: MakeSshUnit, key: Path, live_controller) -> None:
    _, [node] = make_ssh_unit(unit="withvcp", ssh_user_name="vcp")
    assert node.ssh_user_name == "vcp"
    assert ssh_text(node, key, 'echo "$USER $LOGNAME"', user="vcp") == "vcp vcp\n"
    assert ssh_text(node, key, 'echo "$USER"', user="root") == "root\n"  # root still works
    # VcNode helpers log in as the node's ssh_user_name by default
    out, _ = node.ssh_exec('echo "$USER"; pwd', private_key_path=str(key))
    assert out == "vcp\n/home/vcp\n"  # vcp has its own home, as in the Base container
    assert ssh_text(node, key, "pwd", user="root") == f"{inner_home(live_controller.state_dir, node)}\n"
    assert ssh(node, key, "true", user="alice").returncode == 255


def test_vcp_logs_in_without_ssh_user_name(node: VcNode, key: Path) -> None:
    # the Base container's login user: its own uid and home, passwordless sudo
    assert (
        ssh_text(node, key, "id -un; id -u; echo $HOME; pwd", user="vcp")
        == "vcp\n1000\n/home/vcp\n/home/vcp\n"
    )
    assert ssh_text(node, key, "sudo id -u; sudo -n -H -S id -un", user="vcp") == "0\nroot\n"
    assert (
        ssh_text(
            node, key, "echo via-sudo | sudo tee /tmp/by-root >/dev/null; sudo cat /tmp/by-root", user="vcp"
        )
        == "via-sudo\n"
    )
    assert ssh(node, key, "sudo -u nobody-here true", user="vcp").returncode == 1
    status = ssh(node, key, "sudo sh -c 'exit 7'", user="vcp")
    assert status.returncode == 7, status.stderr


def test_paramiko_client_runs_a_command(node: VcNode, key: Path) -> None:
    with paramiko_client(node, key) as client:
        _, stdout, stderr = client.exec_command('echo "$MY_PRIVATE_IP"; echo oops >&2; exit 4')
        assert stdout.channel.recv_exit_status() == 4
        assert stdout.read() == f"{node.cloud_instance_address}\n".encode()
        assert stderr.read() == b"oops\n"
        host_key = client.get_transport().get_remote_server_key()  # type: ignore[union-attr]
        assert host_key.get_name() == "ssh-ed25519"


def test_paramiko_client_with_another_key_is_refused(node: VcNode, other_key: Path) -> None:
    with pytest.raises(paramiko.AuthenticationException), paramiko_client(node, other_key):
        pass


def test_add_publickey_lets_a_second_key_in(
    node: VcNode, key: Path, other_key: Path, live_controller
) -> None:
    assert ssh(node, other_key, "true").returncode == 255
    node.add_publickey(str(public_key_of(other_key)), private_key_path=str(key))
    assert ssh_text(node, other_key, "echo second") == "second\n"
    assert ssh_text(node, key, "echo first") == "first\n"  # the first key still works
    lines = (home_of(live_controller.state_dir, node) / ".ssh" / "authorized_keys").read_text().splitlines()
    assert [line.split()[1] for line in lines] == [
        public_key_of(key).read_text().split()[1],
        public_key_of(other_key).read_text().split()[1],
    ]


def test_a_key_removed_from_authorized_keys_is_refused_again(
    node: VcNode, key: Path, other_key: Path
) -> None:
    node.add_publickey(str(public_key_of(other_key)), private_key_path=str(key))
    assert ssh_text(node, other_key, "echo in") == "in\n"
    ssh_text(node, key, "head -n 1 .ssh/authorized_keys > k && mv k .ssh/authorized_keys")
    result = ssh(node, other_key, "true")
    assert result.returncode == 255
    assert b"Permission denied" in result.stderr
    assert ssh_text(node, key, "echo still") == "still\n"
