"""Confined sandbox nodes: a session on a node sees only that node.

User B logs into their own node (real controller, real OpenSSH clients) and tries to
read the controller's state dir (``secrets.key``, the database), user A's node and
A's keys: by absolute path, ``../..``, ``/proc`` and symlinks, through commands, SFTP
and SCP.  Every attempt must fail.  On a host without bubblewrap these tests fail
and say how to install it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from vcpsdk.controller.backends.sandbox.confine import ROOT_HOME, SFTP_SERVER
from vcpsdk.node import VcNode
from vcpsdk.testing import RunningController, running_controller
from vcpsdk.testing.keys import public_key_of
from vcpsdk.testing.units import connect_sdk, create_running_unit

from .conftest import client, home_of, sftp_batch, ssh, ssh_text

#: a variable of the controller's own process: no node session may see it
MARKER = "VCC_CONFINEMENT_TEST_MARKER"
MARKER_VALUE = "controller-only-3f9a7c"


@pytest.fixture(autouse=True)
def _bubblewrap_installed() -> None:
    if shutil.which("bwrap") is None or not os.access(SFTP_SERVER, os.X_OK):
        pytest.fail("bubblewrap or OpenSSH's sftp-server is missing: run scripts/setup.sh (bubblewrap)")


@pytest.fixture(scope="module")
def confined(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningController]:
    """A controller of this module, started with a variable of its own in its environment."""
    os.environ[MARKER] = MARKER_VALUE
    try:
        with running_controller(tmp_path_factory.mktemp("confined")) as running:
            yield running
    finally:
        os.environ.pop(MARKER, None)


@pytest.fixture(scope="module")
def two_nodes(confined: RunningController, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """User A's node and user B's node (B's key is ``key_b``)."""
    from vcpsdk.testing.keys import make_ssh_keypair

    directory = tmp_path_factory.mktemp("users")
    nodes: dict[str, object] = {}
    for user in ("alice", "bob"):
        key = make_ssh_keypair(directory)
        sdk = connect_sdk(confined, directory / f"cfg-{user}", user)
        _, _, [node] = create_running_unit(sdk, public_key_of(key), "grp", f"n{user}")
        nodes[user], nodes[f"key_{user}"] = node, key
    return nodes


def _bob(two_nodes: dict[str, object]) -> tuple[VcNode, Path]:
    node, key = two_nodes["bob"], two_nodes["key_bob"]
    assert isinstance(node, VcNode) and isinstance(key, Path)
    return node, key


def _secrets(confined: RunningController, two_nodes: dict[str, object]) -> list[Path]:
    """What B must never read: the controller's files and A's node."""
    alice = two_nodes["alice"]
    assert isinstance(alice, VcNode)
    state = Path(confined.state_dir)
    targets = [state / "secrets.key", state / "vcc.db", home_of(state, alice) / ".ssh" / "authorized_keys"]
    for target in targets:  # they exist on the host
        assert target.is_file(), target
    return targets


def test_controller_is_confined(confined: RunningController) -> None:
    sandbox = confined.controller.backends["sandbox"]
    assert sandbox.confinement.confined, sandbox.confinement.reason  # type: ignore[attr-defined]
    assert '"confined": true' in (Path(confined.state_dir) / "confinement.json").read_text()


def test_state_dir_and_other_nodes_are_unreadable(
    confined: RunningController, two_nodes: dict[str, object]
) -> None:
    node, key = _bob(two_nodes)
    state = Path(confined.state_dir)
    home = home_of(state, node)
    traversal = os.path.relpath(state, home)  # ../../..
    for target in _secrets(confined, two_nodes):
        relative = os.path.join(traversal, os.path.relpath(target, state))
        for path in (str(target), relative, f"/proc/{os.getpid()}/root{target}", f"/proc/1/root{target}"):
            result = ssh(node, key, f"cat '{path}'")
            assert result.returncode != 0, path
            assert result.stdout == b"", path
    # the state dir is not there at all: the node's home is /root
    for hidden in (state, state / "nodes", home):
        assert ssh(node, key, f"ls -A '{hidden}'").returncode != 0, hidden
    # only the node's own: vcp's home, its sudo and the node's sudo broker (users.py)
    expected = {"/home": "vcp\n", "/run": "vcp-bin\nvcp-sudo\n", "/opt": ""}
    for directory, listing in expected.items():
        assert ssh_text(node, key, f"ls -A {directory}") == listing, directory
    assert ssh_text(node, key, "pwd; ls -A /root | grep -x .ssh") == f"{ROOT_HOME}\n.ssh\n"  # its own home
    assert ssh(node, key, "touch /etc/x /usr/x /x").returncode != 0  # the system view is read-only
    # root without capabilities could write host-wide sysctls: /proc/sys is read-only
    refused = ssh(node, key, "echo 1 > /proc/sys/vm/drop_caches")
    assert refused.returncode != 0 and b"Read-only file system" in refused.stderr


def test_symlinks_out_of_the_home_lead_nowhere(
    confined: RunningController, two_nodes: dict[str, object], tmp_path: Path
) -> None:
    node, key = _bob(two_nodes)
    targets = _secrets(confined, two_nodes)
    for number, target in enumerate(targets):
        ssh_text(node, key, f"ln -sfn '{target}' leak{number}; ln -sfn '{target.parent}' dirleak{number}")
        assert ssh(node, key, f"cat leak{number}").returncode != 0
        assert ssh(node, key, f"cat dirleak{number}/{target.name}").returncode != 0
        result = sftp_batch(node, key, f"get leak{number} {tmp_path / f'sftp{number}'}\n")
        assert result.returncode != 0
        assert not (tmp_path / f"sftp{number}").exists()
        for protocol in (["-O"], []):
            copy = tmp_path / f"scp{number}{len(protocol)}"
            result = client(
                "scp", node, key, *protocol, f"root@{node.cloud_instance_address}:leak{number}", str(copy)
            )
            assert result.returncode != 0
            assert not copy.exists()


def test_processes_environment_and_hostname_are_the_nodes_own(
    confined: RunningController, two_nodes: dict[str, object]
) -> None:
    node, key = _bob(two_nodes)
    assert os.environ.get(MARKER) == MARKER_VALUE  # the controller (this process) has it
    processes = ssh_text(node, key, "ps -e -o pid=,comm=").split("\n")
    pids = [int(line.split()[0]) for line in processes if line.strip()]
    assert os.getpid() not in pids and max(pids) < 100, processes
    assert len(pids) <= 4, processes  # bwrap (pid 1), the shell, ps
    in_proc = ssh_text(node, key, "ls /proc | grep -c '^[0-9]'")
    assert int(in_proc) <= 4
    environments = ssh(node, key, "cat /proc/[0-9]*/environ /proc/1/environ | tr '\\0' '\\n'")
    assert environments.returncode == 0, environments.stderr
    assert MARKER_VALUE.encode() not in environments.stdout
    assert b"VCP_NODE_ID=" + node.id.encode() in environments.stdout
    assert ssh_text(node, key, "hostname; cat /etc/hostname") == f"{node.id}\n{node.id}\n"
    assert ssh(node, key, "cat /etc/shadow").stdout == b""


def test_sftp_sees_only_the_node(
    confined: RunningController, two_nodes: dict[str, object], tmp_path: Path
) -> None:
    node, key = _bob(two_nodes)
    state = Path(confined.state_dir)
    home = home_of(state, node)
    traversal = os.path.relpath(state, home)
    for target in _secrets(confined, two_nodes):
        relative = os.path.join(traversal, os.path.relpath(target, state))
        for number, path in enumerate((str(target), relative)):
            copy = tmp_path / f"{target.name}{number}"
            result = sftp_batch(node, key, f"get '{path}' {copy}\n")
            assert result.returncode != 0, path
            assert not copy.exists()
    listing = sftp_batch(node, key, f"-ls -1a {state}\n-ls -1a {state / 'nodes'}\nls -1 /home\n")
    assert listing.returncode == 0, listing.stderr
    names = {line.strip().rsplit("/", 1)[-1] for line in listing.stdout.decode().splitlines()}
    assert "vcc.db" not in names and "secrets.key" not in names and "disks" not in names
    alice = two_nodes["alice"]
    assert isinstance(alice, VcNode) and alice.id not in names
    # sftp starts in the home; "/" is the node's read-only root, not the host's
    (tmp_path / "a.txt").write_text("a\n")
    session = sftp_batch(
        node, key, f"pwd\nput {tmp_path / 'a.txt'} in-home.txt\nget /etc/hostname {tmp_path / 'h'}\n"
    )
    assert session.returncode == 0, session.stderr
    assert f"Remote working directory: {ROOT_HOME}\n" in session.stdout.decode()
    assert (home / "in-home.txt").read_text() == "a\n"
    assert (tmp_path / "h").read_text() == f"{node.id}\n"
    assert sftp_batch(node, key, f"put {tmp_path / 'a.txt'} /abs.txt\n").returncode != 0


def test_scp_sees_only_the_node(
    confined: RunningController, two_nodes: dict[str, object], tmp_path: Path
) -> None:
    node, key = _bob(two_nodes)
    state = Path(confined.state_dir)
    traversal = os.path.relpath(state, home_of(state, node))
    target = f"root@{node.cloud_instance_address}"
    for protocol in (["-O"], []):
        for path in (state / "secrets.key", state / "vcc.db", Path(traversal) / "secrets.key"):
            copy = tmp_path / f"copy{len(protocol)}"
            result = client("scp", node, key, *protocol, f"{target}:{path}", str(copy))
            assert result.returncode != 0, (protocol, path)
            assert not copy.exists()
        # an upload "into the state dir" never reaches it (under /tmp it lands in the node's /tmp)
        (tmp_path / "up.txt").write_text("up\n")
        client("scp", node, key, *protocol, str(tmp_path / "up.txt"), f"{target}:{state}/planted")
        client("scp", node, key, *protocol, str(tmp_path / "up.txt"), f"{target}:{traversal}/planted")
        assert not (state / "planted").exists()


def test_disks_scratch_and_ping_still_work(confined: RunningController, two_nodes: dict[str, object]) -> None:
    node, key = _bob(two_nodes)
    alice = two_nodes["alice"]
    assert isinstance(alice, VcNode)
    ssh_text(node, key, "echo kept > /tmp/scratch.txt")
    assert ssh_text(node, key, "cat /tmp/scratch.txt") == "kept\n"  # /tmp lives as long as the node
    assert (Path(confined.state_dir) / "nodes" / node.id / "tmp" / "scratch.txt").read_text() == "kept\n"
    ssh_text(node, key, f"ping -c1 -W2 {alice.cloud_instance_address}")


def test_power_on_never_writes_through_links_of_the_node(
    confined: RunningController, key: Path, tmp_path: Path
) -> None:
    """A node user replaces ``~/.ssh`` by a link to a host directory: powering the node on
    again must not plant the node's keys there."""
    outside = tmp_path / "host-dir"
    outside.mkdir()
    sdk = connect_sdk(confined, tmp_path / "cfg", "carol")
    _, unit, [node] = create_running_unit(sdk, public_key_of(key), "grp", "links")
    ssh_text(node, key, f"mv .ssh .ssh-old && ln -s '{outside}' .ssh")
    unit.power_off_nodes()
    [on] = unit.power_on_nodes()
    assert list(outside.iterdir()) == []
    assert ssh_text(on, key, "test -L .ssh || echo real dir") == "real dir\n"


@pytest.mark.parametrize(
    "family_type_protocol",
    [
        "AF_PACKET, socket.SOCK_RAW, 0",
        "AF_INET, socket.SOCK_RAW, 6",
        "AF_INET6, socket.SOCK_RAW, 17",
        # finding 5: a raw ICMP socket read every ICMP packet of the host; IPPROTO_RAW
        # (IP_HDRINCL) sent spoofed packets
        "AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP",
        "AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW",
        "AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6",
    ],
)
def test_a_node_cannot_sniff_loopback_traffic(
    two_nodes: dict[str, object], family_type_protocol: str
) -> None:
    """ping works (ICMP datagram sockets), but no socket that reads other programs' packets
    (tokens on 127.0.0.1) or sends forged ones."""
    node, key = _bob(two_nodes)
    result = ssh(node, key, f'python3 -c "import socket; socket.socket(socket.{family_type_protocol})"')
    assert result.returncode != 0
    assert b"Operation not permitted" in result.stderr
