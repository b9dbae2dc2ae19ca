"""The login users of a sandbox node, as in the Base container: ``root`` and ``vcp``.

* ``root`` works in the node's home ``<node>/home`` (``/root`` inside a confined node).
* ``vcp`` (and the unit's ``ssh_user_name``, when it is another name) has its own home
  ``<node>/users/<name>``, shown as ``/home/<name>`` inside a confined node, its own
  ``~/.ssh/authorized_keys`` (the spec's keys) and passwordless ``sudo``.

Inside a confined node a non-root user runs in a user namespace of its own (bubblewrap
``--unshare-user --uid 1000``), so ``id`` says ``uid=1000(vcp)`` and it cannot change
root's files by itself.  A set-uid ``sudo`` cannot work there (no uid 0 is mapped), so
``sudo`` is ``node_sudo.py``: it passes the command and its streams to this node's
:class:`SudoBroker` over a Unix socket that only this node's sessions see, and the broker
runs it as a root session of the node.  Unconfined nodes have no user separation: every
user's commands are processes of the controller's OS user.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

logger = logging.getLogger("vcp.controller")

#: the Base container's login user
BASE_USER = "vcp"
#: uid (and gid) of the first non-root user inside a confined node
FIRST_UID = 1000
#: where the sudo program and the broker's socket appear inside a confined node
BIN_DIR, SUDO_DIR = "/run/vcp-bin", "/run/vcp-sudo"
SOCKET_NAME = "sudo.sock"
#: a broker request is one datagram; bigger ones (``sudo -E`` with a huge environment) are refused
MAX_REQUEST = 1 << 20

#: runs ``argv`` as root with the given standard streams, cwd (inside the node) and extra
#: environment; returns the exit status
RootRunner = Callable[[list[str], tuple[int, int, int], str, dict[str, str]], Awaitable[int]]


@dataclass(frozen=True)
class NodeUser:
    """One login user of a node.

    Attributes:
        name: the login name.
        uid: its uid (and gid) inside a confined node (0 for root).
        home: its home inside the node (root: the node's home path).
    """

    name: str
    uid: int
    home: str


def login_users(node_home: Path, names: list[str]) -> dict[str, NodeUser]:
    """The users of a node: root, then the others with uids 1000, 1001... in order.

    Example:
        >>> sorted(login_users(Path("/n/home"), ["root", "vcp"]))
        ['root', 'vcp']
    """
    users = {"root": NodeUser("root", 0, str(node_home))}
    for name in names:
        if name not in users:
            users[name] = NodeUser(name, FIRST_UID + len(users) - 1, f"/home/{name}")
    return users


def user_dir(node_dir: Path, name: str) -> Path:
    """Where a non-root user's home lives on the host."""
    return node_dir / "users" / name


def identity_files(etc_dir: Path, users: dict[str, NodeUser]) -> dict[str, str]:
    """Write ``passwd`` and ``group`` for the node (the host's, with the node's users in
    place of any entry with the same name or uid); returns ``{path inside: file}``."""
    etc_dir.mkdir(parents=True, exist_ok=True)
    shell = "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"
    others = [u for u in users.values() if u.uid]
    taken_names = {u.name for u in others}
    taken_ids = {str(u.uid) for u in others}
    files = {}
    for name, entry in (
        ("passwd", lambda u: f"{u.name}:x:{u.uid}:{u.uid}:{u.name}:{u.home}:{shell}"),
        ("group", lambda u: f"{u.name}:x:{u.uid}:"),
    ):
        try:
            host_lines = Path("/etc", name).read_text().splitlines()
        except OSError:
            host_lines = []
        kept = []
        for line in host_lines:
            fields = line.split(":")
            if len(fields) > 2 and (fields[0] in taken_names or fields[2] in taken_ids):
                continue
            if name == "group" and fields[0] == "sudo" and len(fields) == 4:  # members of sudo, as in Base
                line = ":".join([*fields[:3], ",".join(filter(None, [fields[3], *sorted(taken_names)]))])
            kept.append(line)
        target = etc_dir / name
        target.write_text("\n".join(kept + [entry(u) for u in others]) + "\n")
        files[f"/etc/{name}"] = str(target)
    return files


def install_sudo(state_dir: Path) -> Path:
    """Write the node ``sudo`` program (``node_sudo.py``) to ``<state dir>/node-bin/sudo``."""
    target = state_dir / "node-bin" / "sudo"
    target.parent.mkdir(parents=True, exist_ok=True)
    source = resources.files("vcpsdk.controller.backends.sandbox").joinpath("node_sudo.py").read_text()
    temporary = target.with_suffix(f".tmp{os.getpid()}")  # replicas on one state dir: their own
    temporary.write_text("#!/usr/bin/python3 -I\n" + source)
    temporary.chmod(0o755)
    temporary.replace(target)
    return target


class SudoBroker:
    """Runs the ``sudo`` requests of one node's users as root sessions of that node.

    It listens on ``<node>/run/sudo.sock`` (``SOCK_SEQPACKET``), shown inside the node's
    sessions only, as ``/run/vcp-sudo/sudo.sock``.  A request is one datagram of JSON
    (``argv``, ``cwd``, ``env``, ``user``) with the caller's stdin, stdout and stderr
    attached; the reply is the exit status.  A caller that goes away ends its command.
    """

    def __init__(self, socket_dir: Path, run_as_root: RootRunner) -> None:
        self.socket_dir = socket_dir
        self._run = run_as_root
        self._server: socket.socket | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Listen (event loop thread)."""
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        path = self.socket_dir / SOCKET_NAME
        path.unlink(missing_ok=True)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        directory = os.open(self.socket_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:  # through /proc: a state dir's path may be longer than a socket address allows
            server.bind(f"/proc/self/fd/{directory}/{SOCKET_NAME}")
        finally:
            os.close(directory)
        os.chmod(path, 0o666)  # the node's sessions (its host uid) connect; only they see it
        server.listen(16)
        server.setblocking(False)
        self._server = server
        asyncio.get_running_loop().add_reader(server.fileno(), self._accept)

    def _accept(self) -> None:
        assert self._server is not None
        try:
            connection, _ = self._server.accept()
        except (BlockingIOError, InterruptedError):
            return
        task = asyncio.ensure_future(self._serve(connection))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, connection: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        connection.setblocking(False)
        fds: list[int] = []
        try:
            readable = loop.create_future()
            loop.add_reader(connection.fileno(), _settle, readable)
            await readable
            loop.remove_reader(connection.fileno())
            message, fds, _, _ = socket.recv_fds(connection, MAX_REQUEST, 3)
            request = json.loads(message)
            if len(fds) != 3:
                raise ValueError("a request carries stdin, stdout and stderr")
            env = {str(k): str(v) for k, v in dict(request.get("env") or {}).items()}
            env.update(SUDO_USER=str(request.get("user", "")), SUDO_COMMAND=" ".join(request["argv"]))
            command = asyncio.ensure_future(
                self._run(
                    [str(a) for a in request["argv"]], (fds[0], fds[1], fds[2]), str(request["cwd"]), env
                )
            )
            gone = loop.create_future()  # the caller's end closed: its command ends too
            loop.add_reader(connection.fileno(), _settle, gone)
            await asyncio.wait([command, gone], return_when=asyncio.FIRST_COMPLETED)
            loop.remove_reader(connection.fileno())
            if not command.done():
                command.cancel()
                return
            connection.send(str(command.result()).encode())
        except (OSError, ValueError, KeyError, TypeError) as error:
            with contextlib.suppress(OSError):
                connection.send(f"cannot run the command: {error}".encode())
        finally:
            for fd in fds:
                os.close(fd)
            connection.close()

    async def close(self) -> None:
        """Stop listening and end running requests."""
        if self._server is not None:
            asyncio.get_running_loop().remove_reader(self._server.fileno())
            self._server.close()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        (self.socket_dir / SOCKET_NAME).unlink(missing_ok=True)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
