"""The embedded sandbox: a local controller that ``VcpSDK()`` starts or reuses.

With no ``vcp_config.yml`` the SDK talks to a sandbox controller bound to
127.0.0.1.  Its state (SQLite, disks, keys) lives under a per-user data directory
(``$VCPSDK_DATA_DIR`` or the platform's user data dir); a token is created for the
user once and kept in a 0600 file.  A file lock makes concurrent scripts share one
server; the server outlives the script, so state survives a kernel restart.
"""

from __future__ import annotations

import getpass
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
import requests
from filelock import FileLock

from vcpsdk.core import protocol
from vcpsdk.core.polling import PollTimeout, poll
from vcpsdk.errors import VcpConnectionError

HOST = "127.0.0.1"
START_TIMEOUT_SEC = 60.0
#: the SSH port the sandbox was started with (its nodes use it, else the fallback 2222)
SSH_PORT_FILE = "ssh_port"
#: the file holding the boot delay the sandbox was started with (for ``vcc sandbox status``)
BOOT_DELAY_FILE = "boot_delay"


@dataclass(frozen=True)
class Sandbox:
    """Where the local sandbox controller listens and the user's token."""

    base_url: str
    token: str
    port: int
    pid: int
    data_dir: Path


def data_dir() -> Path:
    """Per-user directory of the sandbox (``$VCPSDK_DATA_DIR`` overrides it)."""
    chosen = os.environ.get("VCPSDK_DATA_DIR")
    base = Path(chosen).expanduser() if chosen else Path(platformdirs.user_data_dir("vcpsdk"))
    return base / "sandbox"


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _read_server(path: Path) -> dict[str, int] | None:
    try:
        info = json.loads(path.read_text())
        return {"port": int(info["port"]), "pid": int(info["pid"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sandbox_url(port: int) -> str:
    """The occtr base URL of a sandbox controller listening on ``port`` of 127.0.0.1."""
    return f"http://{HOST}:{port}{protocol.BASE_PATH}"


def _healthy(port: int) -> bool:
    try:
        response = requests.get(sandbox_url(port) + protocol.HEALTH.path, timeout=2)
    except requests.RequestException:
        return False
    return response.status_code == 200


def _start_server(directory: Path, server_file: Path) -> dict[str, int]:
    server_file.unlink(missing_ok=True)
    boot_delay = os.environ.get("VCPSDK_SANDBOX_BOOT_DELAY", "0.5")
    log = open(directory / "server.log", "ab")
    command = [
        sys.executable,
        "-m",
        "vcpsdk.controller.cli",
        "serve",
        "--host",
        HOST,
        "--port",
        "0",
        "--port-file",
        str(server_file),
        "--state-dir",
        str(directory / "state"),
        "--boot-delay",
        boot_delay,
        "--name",
        "sandbox",
        "--ssh-port",
        os.environ.get("VCPSDK_SANDBOX_SSH_PORT", "22"),
    ]
    (directory / SSH_PORT_FILE).write_text(command[-1])  # for ``vcc sandbox status``
    (directory / BOOT_DELAY_FILE).write_text(boot_delay)
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
    )
    log.close()

    def started() -> dict[str, int] | None:
        info = _read_server(server_file)
        return info if info and info["pid"] == process.pid and _healthy(info["port"]) else None

    def settled(info: dict[str, int] | None) -> bool:
        return info is not None or process.poll() is not None

    try:
        info = poll(started, settled, timeout=START_TIMEOUT_SEC, interval=0.05)
    except PollTimeout:
        info = None
    if info is not None:
        return info
    process.kill()
    raise VcpConnectionError(
        "server error",
        server_message=f"the sandbox controller did not start; see {directory / 'server.log'}",
    )


def _user_token(directory: Path) -> str:
    token_file = directory / "token"
    if token_file.is_file():
        return token_file.read_text().strip()
    from vcpsdk.controller.runtime import issue_token
    from vcpsdk.controller.settings import ControllerSettings

    token = issue_token(ControllerSettings(state_dir=directory / "state"), getpass.getuser(), superuser=True)
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def ensure_sandbox() -> Sandbox:
    """Start the local sandbox controller unless one is running; return how to reach it."""
    directory = _private_dir(data_dir())
    server_file = directory / "server.json"
    with FileLock(str(directory / "sandbox.lock"), timeout=START_TIMEOUT_SEC):
        token = _user_token(directory)
        info = _read_server(server_file)
        if not (info and _pid_alive(info["pid"]) and _healthy(info["port"])):
            info = _start_server(directory, server_file)
    return Sandbox(
        base_url=sandbox_url(info["port"]),
        token=token,
        port=info["port"],
        pid=info["pid"],
        data_dir=directory,
    )


def running_sandbox() -> dict[str, int] | None:
    """``{"port", "pid"}`` of the local sandbox controller when it runs and answers, else None."""
    info = _read_server(data_dir() / "server.json")
    if info and _pid_alive(info["pid"]) and _healthy(info["port"]):
        return info
    return None


def node_confinement() -> str:
    """One line saying whether the local sandbox's nodes are confined (bubblewrap).

    The running controller writes ``state/confinement.json`` when it starts.

    Returns:
        ``"nodes are confined (bubblewrap)"``, ``"nodes are NOT confined: <reason>"``, or
        ``"node confinement unknown"`` before the controller has started once.
    """
    try:
        status = json.loads((data_dir() / "state" / "confinement.json").read_text())
    except (OSError, ValueError):
        return "node confinement unknown"
    if status.get("confined"):
        return "nodes are confined (bubblewrap)"
    return f"nodes are NOT confined: {status.get('reason') or 'unknown reason'}"


@dataclass(frozen=True)
class SandboxStatus:
    """What ``vcc sandbox status`` reports about the local sandbox.

    Attributes:
        running: whether the controller runs and answers.
        data_dir: the sandbox's state directory.
        pid: the controller's process id (None when stopped).
        url: its occtr base URL (``''`` when stopped).
        ssh_ports: the SSH ports its nodes listen on (on their own addresses).
        ssh_port_wanted: the SSH port it was started with (``''`` when unknown).
        ugroups: how many UnitGroups it holds, every user's (None when unknown).
        node_states: how many compute nodes are in each state.
        disks: how many disks (nodes of storage units) it holds.
        confinement: :func:`node_confinement`.
        problem: why the UnitGroups could not be counted (``''`` when they were).
        boot_delay: the seconds a node takes to boot, as started (``''`` when unknown).
    """

    running: bool
    data_dir: Path
    pid: int | None = None
    url: str = ""
    ssh_ports: tuple[int, ...] = ()
    ssh_port_wanted: str = ""
    ugroups: int | None = None
    node_states: dict[str, int] = field(default_factory=dict)
    disks: int = 0
    boot_delay: str = ""
    confinement: str = ""
    problem: str = ""

    def lines(self) -> list[str]:
        """The report, one line each: running or not, PID, URL, SSH port, UnitGroups and nodes,
        node confinement.

        Example:
            >>> print("\\n".join(sandbox_status().lines()))  # doctest: +SKIP
            sandbox running at http://127.0.0.1:40123/vcp/v1/occtr (pid 4242, state /home/u/...)
            sandbox nodes are confined (bubblewrap)
            sandbox SSH port 22 (ssh -p 22 root@<node address>)
            sandbox holds 1 UnitGroup, 2 nodes (2 RUNNING), 0 disks (every user's)
            sandbox nodes boot in 0.5 s (vcc sandbox start --boot-delay S)
        """
        if not self.running:
            return [
                f"sandbox not running (stopped; state {self.data_dir})",
                "start it with `vcc sandbox start`, or VcpSDK() with no vcc: section in vcp_config.yml",
            ]
        return [
            f"sandbox running at {self.url} (pid {self.pid}, state {self.data_dir})",
            f"sandbox {self.confinement}",
            f"sandbox SSH port {self._ssh_port()}",
            f"sandbox holds {self._contents()}",
            *(
                [f"sandbox nodes boot in {self.boot_delay} s (vcc sandbox start --boot-delay S)"]
                if self.boot_delay
                else []
            ),
        ]

    def _ssh_port(self) -> str:
        if self.ssh_ports:
            ports = ", ".join(map(str, self.ssh_ports))
            return f"{ports} (ssh -p {self.ssh_ports[0]} root@<node address>)"
        wanted = self.ssh_port_wanted or "unknown"
        return f"{wanted}, else 2222 (decided when the first node starts)"

    def _contents(self) -> str:
        if self.ugroups is None:
            return f"unknown UnitGroups and nodes ({self.problem})"
        nodes = sum(self.node_states.values())
        states = ", ".join(f"{n} {s}" for s, n in sorted(self.node_states.items()))
        return (
            f"{_plural(self.ugroups, 'UnitGroup')}, {_plural(nodes, 'node')}"
            f"{f' ({states})' if states else ''}, {_plural(self.disks, 'disk')} (every user's)"
        )


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def sandbox_status() -> SandboxStatus:
    """The local sandbox's status: whether it runs and, when it does, its PID, URL, SSH port,
    UnitGroups and nodes (one privileged ``GET /vcs`` with the sandbox token).

    Returns:
        SandboxStatus: see :meth:`SandboxStatus.lines`.

    Example:
        >>> sandbox_status().running  # doctest: +SKIP
        True
    """
    directory = data_dir()
    info = running_sandbox()
    if info is None:
        return SandboxStatus(running=False, data_dir=directory)
    try:
        wanted = (directory / SSH_PORT_FILE).read_text().strip()
    except OSError:
        wanted = ""
    try:
        boot_delay = (directory / BOOT_DELAY_FILE).read_text().strip()
    except OSError:
        boot_delay = ""
    url = sandbox_url(info["port"])
    counted = _count(url, directory)
    return SandboxStatus(
        running=True,
        data_dir=directory,
        pid=info["pid"],
        url=url,
        ssh_port_wanted=wanted,
        boot_delay=boot_delay,
        confinement=node_confinement(),
        **counted,
    )


def _count(url: str, directory: Path) -> dict[str, Any]:
    """``ugroups``, ``node_states``, ``disks`` and ``ssh_ports`` of the sandbox at ``url``, or
    ``problem`` saying why they could not be read."""
    from vcpsdk.errors import VcpSDKError
    from vcpsdk.occtr import OcctrClient
    from vcpsdk.records import Vc

    try:
        token = (directory / "token").read_text().strip()
        body = OcctrClient(url, token).call(protocol.VCS_LIST, privileged=True)
    except (OSError, VcpSDKError) as error:
        return {"problem": f"cannot read them: {error}"}
    vcs = [Vc(v) for v in body.get("vcs") or []]
    nodes = [n for vc in vcs for u in vc.units for n in u.nodes]
    compute = [n for n in nodes if n.type == "compute"]
    return {
        "ugroups": len(vcs),
        "node_states": dict(Counter(n.state for n in compute)),
        "disks": len(nodes) - len(compute),
        "ssh_ports": tuple(sorted({n.ssh_port for n in compute if n.cloud_instance_address})),
    }


def stop_sandbox(timeout: float = 10.0) -> bool:
    """Stop the local sandbox controller; True if one was running."""
    directory = data_dir()
    info = _read_server(directory / "server.json")
    if not info or not _pid_alive(info["pid"]):
        return False
    os.kill(info["pid"], signal.SIGTERM)

    def alive() -> bool:
        try:  # reap it when it is our own child
            os.waitpid(info["pid"], os.WNOHANG)
        except ChildProcessError:
            pass
        return _pid_alive(info["pid"])

    try:
        poll(alive, lambda running: not running, timeout=timeout, interval=0.05)
    except PollTimeout:
        pass  # killed below
    if _pid_alive(info["pid"]):
        os.kill(info["pid"], signal.SIGKILL)
    (directory / "server.json").unlink(missing_ok=True)
    return True
