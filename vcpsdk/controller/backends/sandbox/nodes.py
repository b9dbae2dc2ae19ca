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
import threading
from collections.abc import Coroutine
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncssh

from vcpsdk.controller.backends.sandbox.confine import SFTP_SERVER, Confinement, NodeView
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

    def owners(self) -> set[str]:
        """The owners of every node that has files here (running or not)."""
        owners = set()
        for node_file in self.root.glob("*/node.json"):
            try:
                owners.add(str(json.loads(node_file.read_text()).get("owner") or ""))
            except (OSError, ValueError):
                owners.add("")
        return owners

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
        self._call(self._stop_all(node_ids))
        for node_id in node_ids:
            directory = self.directory(node_id)
            shutil.rmtree(directory / "home", ignore_errors=True)
            shutil.rmtree(directory / "users", ignore_errors=True)
            (directory / "ssh_host_ed25519_key").unlink(missing_ok=True)

    def stop(self, node_ids: list[str]) -> None:
        """Close the endpoints (connections are refused); files are kept."""
        self._call(self._stop_all(node_ids))

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
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    # -- files ----------------------------------------------------------------------------

    def _write_files(self, config: NodeConfig) -> None:
        directory = self.directory(config.node_id)
        home = directory / "home"
        _write_authorized_keys(home, config.authorized_keys)
        for user in self.users(config).values():
            if user.uid:  # vcp: its own home with the same keys
                _write_authorized_keys(user_dir(directory, user.name), config.authorized_keys)
        key_file = directory / "ssh_host_ed25519_key"
        if not key_file.exists():  # a node keeps its host key for its whole life
            asyncssh.generate_private_key("ssh-ed25519").write_private_key(str(key_file))
            os.chmod(key_file, 0o600)
        (directory / "tmp").mkdir(exist_ok=True)
        (directory / "hostname").write_text(f"{config.node_id}\n")
        mounts = home / "mnt"
        if config.disks and mounts.is_symlink():
            mounts.unlink()
        for device, target in config.disks.items():
            mounts.mkdir(exist_ok=True)
            _mount_point(mounts / Path(device).name, target, bind=self.confinement is not None)
        (directory / "node.json").write_text(json.dumps(asdict(config)))

    def users(self, config: NodeConfig) -> dict[str, NodeUser]:
        """The node's login users (root, vcp, ...) with their uids and homes inside the node
        (unconfined: homes on the host)."""
        users = login_users(self.home(config.node_id), config.users)
        if self.confinement is None:
            directory = self.directory(config.node_id)
            return {
                n: NodeUser(n, u.uid, str(user_dir(directory, n)) if u.uid else u.home)
                for n, u in users.items()
            }
        return users

    def view(self, config: NodeConfig) -> NodeView:
        """What a confined session of the node sees."""
        directory, home = self.directory(config.node_id), self.home(config.node_id)
        disks = {str(home / "mnt" / Path(device).name): target for device, target in config.disks.items()}
        users = self.users(config)
        mounts = {u.home: str(user_dir(directory, u.name)) for u in users.values() if u.uid}
        files = identity_files(directory / "etc", users)
        if self.sudo is not None:
            files[f"{BIN_DIR}/sudo"] = str(self.sudo)
            if os.path.exists("/usr/bin/sudo"):  # the set-uid one cannot work inside
                files["/usr/bin/sudo"] = str(self.sudo)
            files[SUDO_DIR] = str(directory / "run")
        return NodeView(config.node_id, home, directory / "tmp", directory / "hostname", disks, mounts, files)

    def _load(self, node_id: str) -> NodeConfig:
        data = json.loads((self.directory(node_id) / "node.json").read_text())
        return NodeConfig(**data)

    # -- endpoints (event loop side) ------------------------------------------------------

    async def _start_all(self, node_ids: list[str]) -> int:
        for node_id in node_ids:
            if node_id not in self._listeners:
                self._listeners[node_id] = await self._listen(self._load(node_id))
        return self.port or self._wanted_port

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

    async def _stop_all(self, node_ids: list[str]) -> None:
        acceptors = [self._listeners.pop(n) for n in node_ids if n in self._listeners]
        for acceptor in acceptors:
            acceptor.close()
        open_connections = [c for n in node_ids for c in self._connections.pop(n, set())]
        for connection in open_connections:  # a powered-off node drops its sessions too
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


def _write_authorized_keys(home: Path, keys: str) -> None:
    """Create ``~/.ssh/authorized_keys`` once.  Node users own their home: never follow
    a link they made (``.ssh`` → a directory of the host would plant keys there)."""
    ssh_dir = home / ".ssh"
    if ssh_dir.is_symlink():
        ssh_dir.unlink()
    ssh_dir.mkdir(parents=True, exist_ok=True)
    directory = os.open(ssh_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        os.fchmod(directory, 0o700)
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            descriptor = os.open("authorized_keys", flags, 0o600, dir_fd=directory)
        except FileExistsError:  # kept: add_publickey appends to it
            return
        with os.fdopen(descriptor, "w") as file:
            file.write(keys)
    finally:
        os.close(directory)


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
        self._keys_files = {name: home / ".ssh" / "authorized_keys" for name, home in homes.items()}
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

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        if username not in self._keys_files:
            return False
        try:  # read on every attempt: add_publickey appends to this file
            text = self._keys_files[username].read_text()
        except OSError:
            return False
        try:
            authorized = asyncssh.import_authorized_keys(text)
        except (asyncssh.KeyImportError, ValueError):
            return False
        return authorized.validate(key, "", "") is not None


class _Runner:
    """Runs the sessions of one node: as plain processes, or inside its confinement."""

    def __init__(
        self,
        config: NodeConfig,
        home: Path,
        confinement: Confinement | None,
        view: NodeView | None,
        users: dict[str, NodeUser] | None = None,
    ) -> None:
        self.config = config
        self.home = home
        self.confinement = confinement
        self.view = view
        self.users = users or {}

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
        fds: tuple[int, ...] = ()
        cwd = self.home if not user.uid else user_dir(self.home.parent, username)
        if self.confinement is not None and self.view is not None:
            fds = self.confinement.pass_fds()
            argv = self.confinement.argv(
                self.view, argv, seccomp_fd=fds[0] if fds else None, uid=user.uid, chdir=chdir or user.home
            )
        elif chdir:
            cwd = Path(chdir)
        try:
            return await asyncio.create_subprocess_exec(
                *argv,
                cwd=cwd,
                env={**self.environment(username), **env},
                stdin=streams[0],
                stdout=streams[1],
                stderr=streams[2],
                start_new_session=True,
                pass_fds=fds,
            )
        finally:
            for fd in fds:
                os.close(fd)

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


def _mount_point(path: Path, target: str, bind: bool) -> None:
    """Where an attached disk appears in the home: an empty directory the confinement
    bind-mounts the disk on, or (unconfined) a symlink to the disk's directory."""
    if bind:
        if path.is_symlink():
            path.unlink()
        path.mkdir(exist_ok=True)
        return
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
