"""Sandbox nodes as real SSH endpoints: one asyncssh listener per node.

Each running node listens on its own loopback address (port 22 when the
controller may bind it, else a configured port).  It accepts exactly the public
keys delivered through ``AUTHORIZED_KEYS`` (and those later appended to
``~/.ssh/authorized_keys``) for ``root`` and the unit's ``ssh_user_name``.
Commands run through ``/bin/sh -c`` with the node's home directory as working
directory and ``params_e`` as environment; stdin, stdout, stderr and the exit
status pass through.

With a :class:`~vcpsdk.controller.backends.sandbox.confine.Confinement` that works on
this host, every session (command, SCP, and SFTP through OpenSSH's ``sftp-server``)
runs inside the node's bubblewrap view (see ``confine.py``).  Without one, commands run
as plain processes of the controller and SFTP/SCP are served in-process, inside the
node's home directory.

Files of a node live in ``<state>/nodes/<node_id>/``: its host key (stable for the
node's life), ``node.json`` (what is needed to bring the endpoint back after a
controller restart), ``home/``, the scratch directory ``tmp/`` and ``hostname``.
All listeners run on one private event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import resource
import shutil
import signal
import socket
import stat
import threading
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncssh

from vcpsdk.controller.backends.sandbox.confine import (
    DISK_ROOT,
    ROOT_HOME,
    SFTP_SERVER,
    Confinement,
    NodeView,
)
from vcpsdk.controller.backends.sandbox.network import NodeAddresses
from vcpsdk.controller.backends.sandbox.users import (
    BIN_DIR,
    SUDO_DIR,
    NodeUser,
    SudoBroker,
    identity_files,
    install_sudo,
    login_users,
    user_dir,
)

logger = logging.getLogger("vcp.controller")
T = TypeVar("T")

#: environment every node command gets besides ``params_e``
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: the first host uid of confined sessions (root controller): user number N runs as base + N
DEFAULT_UID_BASE = 200000
#: ``{owner: number}`` of the controller users whose nodes exist(ed), in the state dir
UIDS_FILE = "sandbox-uids.json"
#: largest ``~/.ssh/authorized_keys`` a login reads (a bigger file refuses the login)
MAX_KEYS_BYTES = 64 * 1024
#: seconds a login waits for ``authorized_keys`` to be read
KEYS_READ_TIMEOUT = 5.0


@dataclass
class NodeConfig:
    """Everything a node endpoint needs; saved as ``node.json``."""

    node_id: str
    address: str
    users: list[str]
    environment: dict[str, str]
    authorized_keys: str
    disks: dict[str, str] = field(default_factory=dict)  # device name → directory
    owner: str = ""  # the user whose unit the node belongs to ("" in files of older versions)


class NodeHub:
    """Runs the SSH endpoints of all sandbox nodes of one controller."""

    def __init__(
        self,
        state_dir: Path,
        ssh_port: int = 22,
        fallback_port: int = 2222,
        confinement: Confinement | None = None,
        addresses: NodeAddresses | None = None,
        uid_base: int = DEFAULT_UID_BASE,
    ) -> None:
        _raise_open_file_limit()
        #: private network: a node's address is on ``lo`` only while its endpoint is open
        self.addresses = addresses
        self._up: dict[str, str] = {}  # node id → address added to lo
        self._brokers: dict[str, SudoBroker] = {}  # node id → its sudo broker (confined nodes)
        #: sessions run confined when this is set and works on this host
        self.confinement = confinement if confinement is not None and confinement.confined else None
        self.root = Path(state_dir) / "nodes"
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)  # bwrap (root, or the controller's uid) is the only one that looks in
        self._uid_base = uid_base
        self._uids_file = Path(state_dir) / UIDS_FILE
        self._uids_lock = threading.Lock()
        #: powered-off nodes: a bound, non-listening socket keeps their address:port theirs
        self._reserved: dict[str, socket.socket] = {}
        self._idle = {n: c.address for n, c in self._configs().items()}  # nodes not listening
        self._addresses: dict[str, str] = {}  # node id → address it listens on
        self._retry: asyncio.TimerHandle | None = None
        #: the ``sudo`` of confined nodes' users (``users.py``)
        self.sudo = install_sudo(Path(state_dir)) if self.confinement is not None else None
        self._wanted_port = ssh_port
        self._fallback_port = fallback_port
        self.port: int | None = None  # decided by the first successful bind
        self._listeners: dict[str, asyncssh.SSHAcceptor] = {}
        # open connections per node: closing a listener leaves accepted ones running
        self._connections: dict[str, set[asyncssh.SSHServerConnection]] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="vcc-ssh", daemon=True)
        self._thread.start()

    # -- plumbing -----------------------------------------------------------------------

    def _call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 120) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def directory(self, node_id: str) -> Path:
        """Where node ``node_id`` keeps its files."""
        return self.root / node_id

    def home(self, node_id: str) -> Path:
        """The node's home (working) directory."""
        return self.directory(node_id) / "home"

    def _configs(self) -> dict[str, NodeConfig]:
        """Every node that has files here (running or not)."""
        configs = {}
        for node_file in self.root.glob("*/node.json"):
            try:
                configs[node_file.parent.name] = NodeConfig(**json.loads(node_file.read_text()))
            except (OSError, ValueError, TypeError):
                configs[node_file.parent.name] = NodeConfig(node_file.parent.name, "", [], {}, "")
        return configs

    def owners(self) -> set[str]:
        """The owners of every node that has files here (running or not)."""
        return {c.owner for c in self._configs().values()}

    def host_uid(self, owner: str) -> int | None:
        """The host uid (and gid) the confined sessions of ``owner``'s nodes run as: the
        uid base + the owner's number (given once, kept in ``sandbox-uids.json``); ``None``
        when sessions keep the controller's uid (not root, or unconfined)."""
        if self.confinement is None or not self.confinement.drops_privileges:
            return None
        with self._uids_lock:
            try:
                numbers: dict[str, int] = json.loads(self._uids_file.read_text())
            except (OSError, ValueError):
                numbers = {}
            if owner not in numbers:
                numbers[owner] = max(numbers.values(), default=0) + 1
                temporary = self._uids_file.with_suffix(".tmp")
                temporary.write_text(json.dumps(numbers))
                temporary.replace(self._uids_file)
            return self._uid_base + numbers[owner]

    def is_listening(self, node_id: str) -> bool:
        """True while the node's SSH endpoint accepts connections."""
        return node_id in self._listeners

    # -- lifecycle ------------------------------------------------------------------------

    def provision(self, configs: list[NodeConfig]) -> int:
        """Create the files of new nodes and start their endpoints; returns the SSH port.

        On failure every node of the batch is removed again.
        """
        try:
            for config in configs:
                self._write_files(config)
            return self._call(self._start_all([c.node_id for c in configs]))
        except BaseException:
            self.destroy([c.node_id for c in configs])
            raise

    def start(self, node_ids: list[str]) -> int:
        """(Re)start endpoints of existing nodes (power on, start, controller restart).

        Files a released node lost (home, host key) are created again.
        """
        present = [n for n in node_ids if (self.directory(n) / "node.json").is_file()]
        for node_id in present:
            self._write_files(self._load(node_id))
        return self._call(self._start_all(present))

    def release(self, node_ids: list[str]) -> None:
        """Give the host up (``stop``): close the endpoint and delete the home and host key;
        only ``node.json`` stays so that ``start`` re-creates the node at the same address."""
        self._call(self._stop_all(node_ids, keep=True))
        for node_id in node_ids:
            directory = self.directory(node_id)
            shutil.rmtree(directory / "home", ignore_errors=True)
            shutil.rmtree(directory / "users", ignore_errors=True)
            (directory / "ssh_host_ed25519_key").unlink(missing_ok=True)

    def stop(self, node_ids: list[str]) -> None:
        """Close the endpoints (connections are refused); files are kept, and so is the
        address:port (a bound socket that does not listen: nobody else can bind it)."""
        self._call(self._stop_all(node_ids, keep=True))

    def destroy(self, node_ids: list[str]) -> None:
        """Close the endpoints and delete the nodes' files."""
        self._call(self._stop_all(node_ids))
        for node_id in node_ids:
            shutil.rmtree(self.directory(node_id), ignore_errors=True)

    def close(self) -> None:
        """Close every endpoint and stop the event loop."""
        if self._loop.is_closed():
            return
        self._call(self._stop_all(list(self._listeners)))
        for node_id in list(self._reserved):
            self._unreserve(node_id)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    # -- files ----------------------------------------------------------------------------

    def _write_files(self, config: NodeConfig) -> None:
        """The node's files.  What lies inside a home, scratch or disk belongs to the node's
        users: it is never followed (links) nor read as a trusted file here."""
        directory = self.directory(config.node_id)
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)  # other host accounts never reach what a node planted
        uid = self.host_uid(config.owner)
        home = directory / "home"
        _owned_dir(home, uid)
        _write_authorized_keys(home, config.authorized_keys, uid)
        for user in self.users(config).values():
            if user.uid:  # vcp: its own home with the same keys
                _owned_dir(user_dir(directory, user.name), uid)
                _write_authorized_keys(user_dir(directory, user.name), config.authorized_keys, uid)
        key_file = directory / "ssh_host_ed25519_key"
        if not key_file.exists():  # a node keeps its host key for its whole life
            asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(key_file))
            os.chmod(key_file, 0o600)
        _owned_dir(directory / "tmp", uid)
        (directory / "hostname").write_text(f"{config.node_id}\n")
        if self.confinement is not None and config.disks:  # disks at /mnt/<device>; ~/mnt leads there
            _link_disk_root(home)
            for target in config.disks.values():
                if uid is not None:
                    os.chown(target, uid, uid, follow_symlinks=False)
        else:
            mounts = home / "mnt"
            if config.disks and mounts.is_symlink():
                mounts.unlink()
            for device, target in config.disks.items():
                mounts.mkdir(exist_ok=True)
                _mount_point(mounts / Path(device).name, target)
        (directory / "node.json").write_text(json.dumps(asdict(config)))

    def users(self, config: NodeConfig) -> dict[str, NodeUser]:
        """The node's login users (root, vcp, ...) with their uids and homes inside the node
        (unconfined: homes on the host)."""
        users = login_users(Path(ROOT_HOME), config.users)
        if self.confinement is None:
            directory = self.directory(config.node_id)
            return {
                n: NodeUser(n, u.uid, str(user_dir(directory, n) if u.uid else self.home(config.node_id)))
                for n, u in users.items()
            }
        return users

    def view(self, config: NodeConfig) -> NodeView:
        """What a confined session of the node sees."""
        directory, home = self.directory(config.node_id), self.home(config.node_id)
        disks = {f"{DISK_ROOT}/{Path(device).name}": target for device, target in config.disks.items()}
        users = self.users(config)
        mounts = {u.home: str(user_dir(directory, u.name)) for u in users.values() if u.uid}
        files = identity_files(directory / "etc", users)
        if self.sudo is not None:
            files[f"{BIN_DIR}/sudo"] = str(self.sudo)
            if os.path.exists("/usr/bin/sudo"):  # the set-uid one cannot work inside
                files["/usr/bin/sudo"] = str(self.sudo)
            files[SUDO_DIR] = str(directory / "run")
        return NodeView(
            config.node_id,
            home,
            directory / "tmp",
            directory / "hostname",
            disks,
            mounts,
            files,
            host_uid=self.host_uid(config.owner),
        )

    def _load(self, node_id: str) -> NodeConfig:
        data = json.loads((self.directory(node_id) / "node.json").read_text())
        return NodeConfig(**data)

    # -- endpoints (event loop side) ------------------------------------------------------

    async def _start_all(self, node_ids: list[str]) -> int:
        for node_id in node_ids:
            if node_id not in self._listeners:
                # no longer idle before the await: another node's stop must not reserve its port again
                idle = self._idle.pop(node_id, None)
                self._unreserve(node_id)
                config = self._load(node_id)
                try:
                    self._listeners[node_id] = await self._listen(config)
                except BaseException:
                    if idle is not None:
                        self._idle[node_id] = idle
                    raise
                self._addresses[node_id] = config.address
        self._reserve_idle()
        return self.port or self._wanted_port

    def _unreserve(self, node_id: str) -> None:
        reservation = self._reserved.pop(node_id, None)
        if reservation is not None:
            reservation.close()

    def _reserve_idle(self) -> None:
        """Bind (without listening, without ``SO_REUSEADDR``) the address:port of every
        node that is not listening, so that no other program (a node's) can take it.  A
        port still held by closed connections (``TIME_WAIT``) is tried again later."""
        self._retry = None
        if self.addresses is not None or self.port is None:
            return  # private network: an idle node has no address at all
        pending = False
        for node_id, address in self._idle.items():
            if node_id in self._reserved or not address:
                continue
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            reservation = socket.socket(family, socket.SOCK_STREAM)
            try:
                reservation.bind((address, self.port))
            except OSError as error:
                reservation.close()
                pending = pending or error.errno == errno.EADDRINUSE
                continue
            self._reserved[node_id] = reservation
        if pending and self._retry is None:
            self._retry = self._loop.call_later(5, self._reserve_idle)

    async def _listen(self, config: NodeConfig) -> asyncssh.SSHAcceptor:
        directory = self.directory(config.node_id)
        host_key = asyncssh.read_private_key(str(directory / "ssh_host_ed25519_key"))
        home = directory / "home"

        connections = self._connections.setdefault(config.node_id, set())
        users = self.users(config)
        runner = _Runner(
            config, home, self.confinement, self.view(config) if self.confinement else None, users
        )
        homes = {n: home if not u.uid else user_dir(directory, n) for n, u in users.items()}

        def server_factory() -> asyncssh.SSHServer:
            return _NodeServer(config, homes, connections, runner if runner.confined else None)

        def sftp_factory(channel: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
            user_home = homes.get(channel.get_extra_info("username") or "root", home)
            return _NodeSFTPServer(channel, chroot=os.fsencode(user_home))

        options: dict[str, Any] = {
            "server_factory": server_factory,
            "server_host_keys": [host_key],
            "encoding": None,
            "reuse_address": True,
        }
        if not runner.confined:  # confined sessions are opened by _NodeServer.session_requested
            options.update(process_factory=runner.command, sftp_factory=sftp_factory, allow_scp=True)
        port = self.port or self._wanted_port
        if self.addresses is not None:
            await self.addresses.add(config.address)
            self._up[config.node_id] = config.address
        if runner.confined and config.node_id not in self._brokers:
            broker = SudoBroker(directory / "run", runner.run_as_root)
            await broker.start()
            self._brokers[config.node_id] = broker
        try:
            acceptor = await asyncssh.listen(config.address, port, **options)
        except OSError as e:
            first_bind = self.port is None and port != self._fallback_port
            if not first_bind or e.errno not in (errno.EACCES, errno.EPERM, errno.EADDRINUSE):
                raise _bind_error(e, config.address, port) from None
            # not root, or port 22 taken (a host sshd): every node uses the fallback port
            logger.warning(
                "cannot bind port %s (%s); sandbox nodes listen on port %s",
                port,
                os.strerror(e.errno or 0),
                self._fallback_port,
            )
            port = self._fallback_port
            try:
                acceptor = await asyncssh.listen(config.address, port, **options)
            except OSError as again:
                raise _bind_error(again, config.address, port) from None
        self.port = port
        return acceptor

    async def _stop_all(self, node_ids: list[str], keep: bool = False) -> None:
        """Close the endpoints; ``keep``: the nodes stay (their address:port is reserved)."""
        acceptors = [self._listeners.pop(n) for n in node_ids if n in self._listeners]
        for acceptor in acceptors:
            acceptor.close()
        open_connections = [c for n in node_ids for c in self._connections.pop(n, set())]
        for connection in open_connections:  # a powered-off node drops its sessions too
            with contextlib.suppress(OSError, AttributeError):  # reset: no TIME_WAIT on the port
                connection.get_extra_info("socket").setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
            connection.close()
        for acceptor in acceptors:
            await acceptor.wait_closed()
        for connection in open_connections:
            await connection.wait_closed()
        for node_id in node_ids:
            broker = self._brokers.pop(node_id, None)
            if broker is not None:
                await broker.close()
        if self.addresses is not None:  # a node that is not up has no address
            for node_id in node_ids:
                if node_id in self._up:
                    await self.addresses.remove(self._up.pop(node_id))
        for node_id in node_ids:
            address = self._addresses.pop(node_id, "")
            if keep and not self._idle.get(node_id):
                with contextlib.suppress(OSError, ValueError, TypeError):
                    address = address or self._load(node_id).address
                self._idle[node_id] = address
            else:
                self._idle.pop(node_id, None)
                self._unreserve(node_id)
        if keep:
            self._reserve_idle()


def _owned_dir(path: Path, uid: int | None) -> None:
    """Make ``path`` (its parent is the controller's) a directory owned by ``uid`` (the
    node's host uid; ``None``: keep the controller's).  A directory of an older version
    (owned by the controller) is handed over whole, links included, never followed."""
    path.mkdir(parents=True, exist_ok=True)
    if uid is None or os.lstat(path).st_uid == uid:
        return
    os.chown(path, uid, uid, follow_symlinks=False)
    for parent, directories, files in os.walk(path):
        for name in directories + files:
            os.chown(os.path.join(parent, name), uid, uid, follow_symlinks=False)


def _remove_entry(directory: int, name: str) -> None:
    """Remove ``name`` (of any kind) from the directory open as ``directory``."""
    if stat.S_ISDIR(os.stat(name, dir_fd=directory, follow_symlinks=False).st_mode):
        shutil.rmtree(name, dir_fd=directory)
    else:
        os.unlink(name, dir_fd=directory)


def _is_good_keys_file(mode: int, size: int) -> bool:
    return stat.S_ISREG(mode) and size <= MAX_KEYS_BYTES


def _write_authorized_keys(home: Path, keys: str, uid: int | None = None) -> None:
    """Create ``~/.ssh/authorized_keys`` (owned by ``uid``) unless a good one is there.
    Node users own their home: never follow a link they made (``.ssh`` → a directory of
    the host would plant keys there); a ``.ssh`` or ``authorized_keys`` that is not a
    directory / a regular file of at most :data:`MAX_KEYS_BYTES` (a FIFO, a link to
    ``/dev/zero``) is replaced by the spec's keys."""
    home_fd = os.open(home, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        with contextlib.suppress(FileNotFoundError):
            if not stat.S_ISDIR(os.stat(".ssh", dir_fd=home_fd, follow_symlinks=False).st_mode):
                _remove_entry(home_fd, ".ssh")
        with contextlib.suppress(FileExistsError):
            os.mkdir(".ssh", 0o700, dir_fd=home_fd)
        directory = os.open(".ssh", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=home_fd)
    finally:
        os.close(home_fd)
    try:
        os.fchmod(directory, 0o700)
        if uid is not None:
            os.fchown(directory, uid, uid)
        with contextlib.suppress(FileNotFoundError):
            found = os.stat("authorized_keys", dir_fd=directory, follow_symlinks=False)
            if _is_good_keys_file(found.st_mode, found.st_size):
                return  # kept: add_publickey appends to it
            logger.warning("%s/.ssh/authorized_keys was not a small regular file: replaced", home)
            _remove_entry(directory, "authorized_keys")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        descriptor = os.open("authorized_keys", flags, 0o600, dir_fd=directory)
        if uid is not None:
            os.fchown(descriptor, uid, uid)
        with os.fdopen(descriptor, "w") as file:
            file.write(keys)
    finally:
        os.close(directory)


def read_authorized_keys(home: Path) -> str:
    """``<home>/.ssh/authorized_keys`` as a login reads it: never through a link, a regular
    file of at most :data:`MAX_KEYS_BYTES` only, without ever blocking (a FIFO).

    Raises:
        FileNotFoundError: there is no such file.
        OSError: it cannot be read, or is a link, or lies in a linked ``.ssh``.
        ValueError: it is not a regular file, or it is too large.
    """
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY
    home_fd = os.open(home, flags | os.O_DIRECTORY)
    try:
        ssh_fd = os.open(".ssh", flags | os.O_DIRECTORY, dir_fd=home_fd)
    finally:
        os.close(home_fd)
    try:
        descriptor = os.open("authorized_keys", flags, dir_fd=ssh_fd)
    finally:
        os.close(ssh_fd)
    with os.fdopen(descriptor, "rb") as file:
        found = os.fstat(file.fileno())
        if not stat.S_ISREG(found.st_mode):
            raise ValueError("is not a regular file")
        data = file.read(MAX_KEYS_BYTES + 1)
    if len(data) > MAX_KEYS_BYTES:
        raise ValueError(f"is larger than {MAX_KEYS_BYTES} bytes")
    return data.decode("utf-8", "replace")


def _raise_open_file_limit() -> None:
    """Every node holds a listening socket: lift the soft descriptor limit (often 1024)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            logger.warning("cannot raise the open file limit above %s; large sandboxes may fail", soft)


#: what to do when a node's address and port are taken (often another controller or the
#: embedded sandbox on the same host, using the same catalog range)
IN_USE_HINT = (
    "; if another controller or VcpSDK() sandbox runs on this host, give this one other "
    "addresses (vcc serve --vpn-catalog FILE) or another port (--ssh-port)"
)


def _bind_error(error: OSError, address: str, port: int) -> OSError:
    if error.errno == errno.EADDRINUSE:
        return OSError(error.errno, f"{address}:{port} is already in use by another program{IN_USE_HINT}")
    return OSError(error.errno, f"cannot listen on {address}:{port}: {error.strerror}")


class _NodeSFTPServer(asyncssh.SFTPServer):
    """SFTP (and SCP) inside the node's home directory."""

    def exit(self) -> None:
        # OpenSSH's scp (SFTP mode) treats a session without an exit status as a failure
        self.channel.exit(0)


class _NodeServer(asyncssh.SSHServer):
    """Public-key authentication against the node's authorized keys."""

    def __init__(
        self,
        config: NodeConfig,
        homes: dict[str, Path],
        connections: set[asyncssh.SSHServerConnection],
        confined: _Runner | None = None,
    ) -> None:
        self._config = config
        self._homes = homes
        self._connections = connections
        self._connection: asyncssh.SSHServerConnection | None = None
        self._confined = confined

    def session_requested(self) -> asyncssh.SSHServerSession[bytes] | bool:
        """Confined nodes: a session that runs commands, SCP and SFTP inside the node."""
        if self._confined is None:
            return False
        return _ConfinedSession(self._confined)

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._connection = conn
        self._connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._connection is not None:
            self._connections.discard(self._connection)

    def begin_auth(self, username: str) -> bool:
        return True  # authentication is always required

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        """Accept ``key`` when the user's ``~/.ssh/authorized_keys`` lists it; the file is
        read on every attempt (add_publickey appends to it), off the event loop, safely
        (:func:`read_authorized_keys`): a bad file refuses the login and logs one line."""
        if username not in self._homes:
            return False
        reading = asyncio.to_thread(read_authorized_keys, self._homes[username])
        try:
            text = await asyncio.wait_for(reading, KEYS_READ_TIMEOUT)
        except FileNotFoundError:
            return False
        except (TimeoutError, OSError, ValueError) as error:
            logger.warning(
                "node %s: login of %s refused: ~/.ssh/authorized_keys %s",
                self._config.node_id,
                username,
                str(error) or "cannot be read in time",
            )
            return False
        try:
            authorized = asyncssh.import_authorized_keys(text)
        except (asyncssh.KeyImportError, ValueError):
            return False
        return authorized.validate(key, "", "") is not None


@dataclass
class _Runner:
    """Runs the sessions of one node: as plain processes, or inside its confinement."""

    config: NodeConfig
    home: Path
    confinement: Confinement | None
    view: NodeView | None
    users: dict[str, NodeUser] = field(default_factory=dict)

    @property
    def confined(self) -> bool:
        """True when the node's sessions run inside its confinement."""
        return self.confinement is not None and self.view is not None

    def _user(self, username: str) -> NodeUser:
        return self.users.get(username) or NodeUser(username, 0, str(self.home))

    def environment(self, username: str) -> dict[str, str]:
        """The environment of a session of ``username``."""
        return {
            "PATH": f"{BIN_DIR}:{BASE_PATH}" if self.confined else BASE_PATH,
            "HOME": self._user(username).home,
            "USER": username,
            "LOGNAME": username,
            "SHELL": "/bin/sh",
            "LANG": "C.UTF-8",
            **self.config.environment,
        }

    async def command(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        """Run the client's command (or a shell) as a process of the node."""
        command = process.command
        argv = ["/bin/sh", "-c", command] if command is not None else ["/bin/sh", "-i"]
        username = process.get_extra_info("username") or "root"
        status = await self.run(argv, username, process.stdin, process.stdout, process.stderr)
        process.exit(status)
        await process.wait_closed()

    async def _spawn(
        self,
        argv: list[str],
        username: str,
        streams: tuple[Any, Any, Any],
        chdir: str | None,
        env: dict[str, str],
    ) -> asyncio.subprocess.Process:
        """Start ``argv`` as ``username`` (confined: in the node's view, as its uid)."""
        user = self._user(username)
        cwd = self.home if not user.uid else user_dir(self.home.parent, username)
        if self.confinement is not None and self.view is not None:
            cwd = Path("/")  # the session changes into its home inside the node
            argv = self.confinement.argv(self.view, argv, uid=user.uid, chdir=chdir or user.home)
        elif chdir:
            cwd = Path(chdir)
        return await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env={**self.environment(username), **env},
            stdin=streams[0],
            stdout=streams[1],
            stderr=streams[2],
            start_new_session=True,
        )

    async def run_as_root(
        self, argv: list[str], streams: tuple[int, int, int], chdir: str, env: dict[str, str]
    ) -> int:
        """A ``sudo`` request (``users.SudoBroker``): ``argv`` as root with the caller's
        streams, in its working directory (root's view is the same); returns the exit status."""
        try:
            child = await self._spawn(argv, "root", streams, chdir, env)
        except OSError as e:
            os.write(streams[2], f"sudo: cannot start command: {e}\n".encode())
            return 127
        try:
            status = await child.wait()
        except asyncio.CancelledError:
            _kill(child)
            raise
        return status if status >= 0 else 128 - status

    async def run(
        self,
        argv: list[str],
        username: str,
        stdin: asyncssh.SSHReader[bytes],
        stdout: asyncssh.SSHWriter[bytes],
        stderr: asyncssh.SSHWriter[bytes],
    ) -> int:
        """Run ``argv`` with the session's streams; returns the exit status to report."""
        pipe = asyncio.subprocess.PIPE
        try:
            child = await self._spawn(argv, username, (pipe, pipe, pipe), None, {})
        except OSError as e:
            stderr.write(f"cannot start command: {e}\n".encode())
            return 127
        assert child.stdin is not None and child.stdout is not None and child.stderr is not None
        feeding = asyncio.ensure_future(_feed_stdin(stdin, child.stdin))
        try:
            # forward the output ourselves: exit() must come only after both streams ended,
            # or the tail of a large output would be lost
            await asyncio.gather(_pump(child.stdout, stdout), _pump(child.stderr, stderr))
            status = await child.wait()
        except (asyncio.CancelledError, asyncssh.Error, ConnectionError):
            _kill(child)
            raise
        finally:
            feeding.cancel()  # the command is done: input it did not read is dropped
        return status if status >= 0 else 128 - status


class _ConfinedSession(asyncssh.SSHServerProcess[bytes]):
    """A session of a confined node: commands and SCP (``scp -t/-f`` is a command) run
    through the runner; the ``sftp`` subsystem is OpenSSH's sftp-server, run the same way."""

    def __init__(self, runner: _Runner) -> None:
        super().__init__(runner.command, None, 3, False)
        self._runner = runner
        self._sftp = False
        self._channel: asyncssh.SSHServerChannel[bytes] | None = None

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:  # type: ignore[override]
        self._channel = chan
        super().connection_made(chan)

    def subsystem_requested(self, subsystem: str) -> bool:
        self._sftp = subsystem == "sftp"
        return self._sftp

    def session_started(self) -> None:
        if not self._sftp:
            super().session_started()
            return
        chan = self._channel
        assert chan is not None
        stdin = asyncssh.SSHReader[bytes](self, chan)
        stdout = asyncssh.SSHWriter[bytes](self, chan)
        stderr = asyncssh.SSHWriter[bytes](self, chan, asyncssh.EXTENDED_DATA_STDERR)
        chan.get_connection().create_task(self._serve_sftp(chan, stdin, stdout, stderr))

    async def _serve_sftp(
        self,
        chan: asyncssh.SSHServerChannel[bytes],
        stdin: asyncssh.SSHReader[bytes],
        stdout: asyncssh.SSHWriter[bytes],
        stderr: asyncssh.SSHWriter[bytes],
    ) -> None:
        username = chan.get_extra_info("username") or "root"
        status = await self._runner.run([SFTP_SERVER], username, stdin, stdout, stderr)
        chan.exit(status)


def _link_disk_root(home: Path) -> None:
    """Confined nodes: ``~/mnt`` is a link to ``/mnt`` (where bwrap mounts the disks),
    made only when the home has no ``mnt`` (the node's own ``mnt``, whatever it is, is
    kept; it is resolved inside the node only).  The empty mount points of older
    versions (``~/mnt/<device>`` directories) make way for the link."""
    mounts = home / "mnt"
    with contextlib.suppress(OSError):
        if stat.S_ISDIR(os.lstat(mounts).st_mode):
            for entry in os.listdir(mounts):
                os.rmdir(mounts / entry)  # empty directories only; never a link's target
            os.rmdir(mounts)
    with contextlib.suppress(FileExistsError):
        os.symlink(DISK_ROOT, mounts, target_is_directory=True)


def _mount_point(path: Path, target: str) -> None:
    """Where an attached disk appears in an unconfined node's home: a symlink to the
    disk's directory."""
    if path.is_dir() and not path.is_symlink():
        with contextlib.suppress(OSError):  # an empty mount point of a confined run
            path.rmdir()
    if not os.path.lexists(path):
        path.symlink_to(target, target_is_directory=True)


async def _feed_stdin(source: asyncssh.SSHReader[bytes], target: asyncio.StreamWriter) -> None:
    """Copy the client's input to the command; a command that stops reading is fine."""
    try:
        while chunk := await source.read(65536):
            target.write(chunk)
            await target.drain()
    except (BrokenPipeError, ConnectionResetError):
        return
    finally:
        with contextlib.suppress(OSError):
            target.close()


async def _pump(source: asyncio.StreamReader, target: asyncssh.SSHWriter[bytes]) -> None:
    while chunk := await source.read(65536):
        target.write(chunk)
        await target.drain()


def _kill(child: asyncio.subprocess.Process) -> None:
    if child.returncode is None:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
