"""Fixtures of the SSH tests: real key pairs, real clients, sandbox nodes to log in to.

The system clients (``ssh``, ``scp``, ``sftp``, ``ssh-keyscan``) run without any
connection sharing and never read a known_hosts file, so each call is a fresh SSH
session.  ``VcNode`` helpers share connections (``ControlMaster``); the
``_close_vcnode_masters`` fixture closes the masters a test opened when it ends, so
no background ``ssh`` outlives the test that started it.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paramiko
import pytest

from vcpsdk import remote
from vcpsdk.controller.backends.sandbox.confine import DISK_ROOT, ROOT_HOME
from vcpsdk.node import VcNode
from vcpsdk.testing import RunningController, running_controller
from vcpsdk.testing.keys import make_ssh_keypair, public_key_of
from vcpsdk.testing.units import connect_sdk, create_running_unit
from vcpsdk.vcpsdk import VcpSDK

OPTIONS = [
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "ConnectTimeout=10",
]


def client_options(node: VcNode, key: Path, port_flag: str = "-p") -> list[str]:
    """Options of a system client for ``node`` (``port_flag`` is ``-P`` for scp/sftp)."""
    return [port_flag, str(node.ssh_port), *OPTIONS, "-i", str(key)]


def ssh(
    node: VcNode, key: Path, command: str, user: str = "root", input: bytes | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """``ssh -p PORT ... user@address command`` (output as bytes)."""
    return subprocess.run(
        ["ssh", *client_options(node, key), f"{user}@{node.cloud_instance_address}", command],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def client(
    tool: str, node: VcNode, key: Path, *args: str, input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """``scp``/``sftp`` with the options for ``node`` (``-P PORT``) and ``args``."""
    return subprocess.run(
        [tool, *client_options(node, key, "-P"), *args],
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )


def sftp_batch(node: VcNode, key: Path, batch: str) -> subprocess.CompletedProcess[bytes]:
    """``sftp -b -`` as root on ``node`` with the commands of ``batch``."""
    return client("sftp", node, key, "-b", "-", f"root@{node.cloud_instance_address}", input=batch.encode())


def ssh_text(node: VcNode, key: Path, command: str, user: str = "root") -> str:
    """stdout of a command that must succeed."""
    result = ssh(node, key, command, user)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout.decode()


@contextmanager
def paramiko_client(node: VcNode, key: Path) -> Iterator[paramiko.SSHClient]:
    """A paramiko client logged in to ``node`` as root with ``key`` (closed at the end)."""
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(
            node.cloud_instance_address,
            port=node.ssh_port,
            username="root",
            key_filename=str(key),
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
        )
        yield client
    finally:
        client.close()


def home_of(state_dir: Path, node: VcNode) -> Path:
    """Where the sandbox keeps the node's home directory."""
    return Path(state_dir) / "nodes" / node.id / "home"


def confined_nodes(state_dir: Path) -> bool:
    """True when the controller of ``state_dir`` confines its nodes (``confinement.json``)."""
    return bool(json.loads((Path(state_dir) / "confinement.json").read_text()).get("confined"))


def inner_home(state_dir: Path, node: VcNode) -> str:
    """The node's (root's) home as its sessions see it: ``/root`` in a confined node,
    its host path in an unconfined one."""
    return ROOT_HOME if confined_nodes(state_dir) else str(home_of(state_dir, node))


def inner_disk(state_dir: Path, node: VcNode, device: str) -> str:
    """Where an attached disk is inside the node: ``/mnt/<device>`` when confined, else
    ``~/mnt/<device>`` (a link in the home on the host)."""
    if confined_nodes(state_dir):
        return f"{DISK_ROOT}/{device}"
    return str(home_of(state_dir, node) / "mnt" / device)


@pytest.fixture
def key(tmp_path: Path) -> Path:
    """A real private key whose public half (``public_key_of(key)``) the test's nodes authorize."""
    return make_ssh_keypair(tmp_path)


@pytest.fixture
def other_key(tmp_path: Path) -> Path:
    """A second real key pair, not given to any node."""
    return make_ssh_keypair(tmp_path)


MakeSshUnit = Callable[..., tuple[Any, list[VcNode]]]


def unit_maker(sdk: VcpSDK, key: Path) -> MakeSshUnit:
    """``make(ugroup, unit, provider='aws', num_nodes=1, **spec attributes)`` →
    ``(unit, nodes)`` with ``key`` authorized on every node."""

    def make(
        ugroup: str = "ssh", unit: str = "node", provider: str = "aws", num_nodes: int = 1, **attributes: Any
    ) -> tuple[Any, list[VcNode]]:
        _, created, nodes = create_running_unit(
            sdk, public_key_of(key), ugroup, unit, provider=provider, num_nodes=num_nodes, **attributes
        )
        return created, nodes

    return make


@pytest.fixture
def make_ssh_unit(vcp_sdk: VcpSDK, key: Path) -> MakeSshUnit:
    """Units of the test's own user on the session controller."""
    return unit_maker(vcp_sdk, key)


@pytest.fixture
def node(make_ssh_unit: MakeSshUnit) -> VcNode:
    """One RUNNING aws node of the session controller that accepts ``key``."""
    _, [single] = make_ssh_unit()
    return single


@pytest.fixture
def private_controller(tmp_path: Path) -> Iterator[RunningController]:
    """A controller of the test alone (own state, own free SSH port)."""
    with running_controller(tmp_path / "private-controller") as running:
        yield running


@pytest.fixture
def private_sdk(private_controller: RunningController, tmp_path: Path) -> VcpSDK:
    """A VcpSDK against ``private_controller``."""
    return connect_sdk(private_controller, tmp_path / "private-cfg", "owner")


@pytest.fixture(autouse=True)
def _close_vcnode_masters(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Record the ``ssh``/``scp`` runs of VcNode helpers; close their masters at the end."""
    targets: set[tuple[str, ...]] = set()
    real_run = remote.run

    def recording_run(argv: list[str], *args: Any, **kwargs: Any) -> Any:
        if argv and argv[0] in ("ssh", "scp"):
            options = [a for a in argv if a.startswith(("ControlPath=", "Port="))]
            target = argv[-2] if argv[0] == "ssh" else argv[-1].rsplit(":", 1)[0]
            targets.add((*options, target))
        return real_run(argv, *args, **kwargs)

    monkeypatch.setattr(remote, "run", recording_run)
    yield
    for *options, target in targets:
        flags = [flag for option in options for flag in ("-o", option)]
        subprocess.run(["ssh", *flags, "-O", "exit", target], capture_output=True, timeout=30, check=False)
