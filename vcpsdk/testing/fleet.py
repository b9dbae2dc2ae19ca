"""A fleet of ``vcc serve`` replicas on one PostgreSQL, behind a round-robin TCP balancer.

What a university runs for many classes (docs/deployment.md), on one machine for tests and
benchmarks: N ``vcc serve`` processes on one database and ONE state dir (the same
``secrets.key``, controller SSH key, TLS certificate and sandbox node files, as replicas on
a shared volume), and a small load balancer on 127.0.0.1 that hands each new TCP connection
to the next replica (round robin, skipping a replica whose port refuses), so that SDK
clients use one URL as they would behind HAProxy.

Each replica listens on its own fixed port (a restart comes back on it) and writes its
stderr to its own log (restarts append).  Its database connections carry the application
name :attr:`FleetReplica.app_name` (``PGAPPNAME``), so that the database itself can say
which replica did what (:class:`OperationAudit`).  All replicas get the same sandbox SSH
port, as replicas on separate machines would: only one of them may host a node's endpoint.

Example::

    from vcpsdk.testing.fleet import fleet

    with fleet(tmp_path, replicas=3) as vccs:
        token = vccs.create_token("alice")
        vcp = VcpSDK(token, config_dir=str(vccs.write_config(tmp_path / "cfg")))
        ...
        vccs.kill(1)          # SIGKILL replica 1
        vccs.restart(1)       # and bring it back on its port

Everything is stopped when the block ends: the balancer, every replica (SIGTERM, then
SIGKILL), the throwaway PostgreSQL when the fleet started one; nothing listens afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from vcpsdk.controller.tls import SELF_SIGNED_DIR
from vcpsdk.core.polling import PollTimeout, poll
from vcpsdk.core.protocol import BASE_PATH
from vcpsdk.testing.network import free_port
from vcpsdk.testing.postgres import postgres_server
from vcpsdk.testing.serve import VCC, subprocess_env

#: seconds a replica may take to answer ``/health`` after its start
START_TIMEOUT = 60.0
#: seconds a replica may take to exit after SIGTERM before it is killed
STOP_TIMEOUT = 15.0
#: bytes the balancer copies at a time
_CHUNK = 65536
#: ``/proc/net/tcp`` state of a listening socket
_TCP_LISTEN = "0A"


# -- the balancer ------------------------------------------------------------------------------


class RoundRobinBalancer:
    """A TCP load balancer on 127.0.0.1: each new connection goes to the next replica port.

    Per-connection round robin, as HAProxy's ``balance roundrobin`` in TCP mode: a keep-alive
    HTTP connection stays with the replica it was given.  A replica whose port refuses (or
    does not accept within ``connect_timeout``) is skipped for that connection; when every
    replica refuses, the client's connection is closed.  TLS passes through untouched.

    Args:
        targets: the replica ports, asked at every new connection (so restarts and kills
            need no bookkeeping here).
        host: the address of the replicas and of the balancer.
        connect_timeout: seconds a replica may take to accept a connection.

    Example::

        with RoundRobinBalancer(lambda: [8081, 8082]) as balancer:
            requests.get(f"http://127.0.0.1:{balancer.port}/vcp/v1/occtr/health")
    """

    def __init__(
        self, targets: Callable[[], Sequence[int]], host: str = "127.0.0.1", connect_timeout: float = 2.0
    ) -> None:
        self.targets = targets
        self.host = host
        self.connect_timeout = connect_timeout
        #: connections handed to each replica port so far
        self.connections: Counter[int] = Counter()
        #: connections closed because every replica refused
        self.refused = 0
        self.port = 0
        self._next = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> int:
        """Listen on a free port of ``host`` (in a thread with its own event loop).

        Returns:
            the balancer's port.
        """
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="fleet-balancer", daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, self.host, 0), loop
        ).result(timeout=30)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def stop(self) -> None:
        """Stop listening, close every forwarded connection, end the thread (idempotent)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError, TimeoutError):
            asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
        self._loop = self._thread = None

    def __enter__(self) -> RoundRobinBalancer:
        """Start the balancer (see :meth:`start`)."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the balancer (see :meth:`stop`)."""
        self.stop()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """A connection to the next replica that accepts one, or None."""
        ports = list(self.targets())
        for _ in ports:
            port = ports[self._next % len(ports)]
            self._next += 1
            try:
                upstream = await asyncio.wait_for(
                    asyncio.open_connection(self.host, port), timeout=self.connect_timeout
                )
            except (OSError, TimeoutError):
                continue
            self.connections[port] += 1
            return upstream
        return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            upstream = await self._connect()
            if upstream is None:
                self.refused += 1
                return
            upstream_reader, upstream_writer = upstream
            self._writers.add(upstream_writer)
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            for end in (writer, upstream_writer):
                if end is not None:
                    self._writers.discard(end)
                    end.transport.abort()
            self._tasks.discard(task)


async def _pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
    """Copy ``source`` to ``target`` until EOF (then half-close ``target``); a reset on
    either side closes both directions."""
    try:
        while data := await source.read(_CHUNK):
            target.write(data)
            await target.drain()
        if target.can_write_eof():
            target.write_eof()
    except OSError:
        target.transport.abort()
        raise


# -- the replicas ------------------------------------------------------------------------------


@dataclass
class FleetReplica:
    """One ``vcc serve`` process of a fleet.

    Attributes:
        index: its number in the fleet (0, 1, ...).
        port: its HTTP(S) port on 127.0.0.1 (kept across restarts).
        log_path: its stderr (every start appends to it).
        process: the running process (``None`` before the first start).
        generation: how many times it was started (1 after the first start).
        killed: generations that were killed with SIGKILL.
        ended: when each ended generation was killed or stopped (UTC), by generation.
        process_groups: the process group of every start (each start leads its own).
    """

    index: int
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    generation: int = 0
    killed: list[int] = field(default_factory=list)
    ended: dict[int, dt.datetime] = field(default_factory=dict)
    process_groups: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``r<index>``."""
        return f"r{self.index}"

    @property
    def app_name(self) -> str:
        """The PostgreSQL application name of this generation's connections
        (``vcc-fleet-r1-g2``: replica 1, second start)."""
        return app_name(self.index, self.generation)

    @property
    def alive(self) -> bool:
        """Whether its process runs."""
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id of the current generation (``None`` before the first start)."""
        return self.process.pid if self.process else None

    def log(self) -> str:
        """Everything the replica wrote on stderr so far, over all its starts."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def app_name(index: int, generation: int) -> str:
    """The PostgreSQL application name of replica ``index``'s ``generation``-th start."""
    return f"vcc-fleet-r{index}-g{generation}"


class Fleet:
    """N ``vcc serve`` replicas on one database and one state dir, behind a balancer.

    Use :func:`fleet` (it also starts a throwaway PostgreSQL); the class is for callers
    that bring their own database URL.

    Args:
        base_dir: where the shared state dir, the logs and the port files go.
        database_url: the SQLAlchemy URL of the (PostgreSQL) database.
        replicas: how many replicas.
        extra_args: more ``vcc serve`` arguments for every replica (``--backends FILE``...).
        tls: serve HTTPS with the self-signed certificate of the shared state dir.
        boot_delay: seconds a sandbox node takes to boot (``--boot-delay``).
        env: environment variables of every replica (on top of :func:`subprocess_env`).
        log_level: ``vcc serve --log-level`` (``info`` shows the worker's operation lines).
        lease_seconds: ``vcc serve --lease-seconds``: a replica silent this long is taken
            over (``None``: the controller's default).

    Example::

        with Fleet(tmp_path, url, replicas=2) as vccs:
            print(vccs.url)
    """

    def __init__(
        self,
        base_dir: Path,
        database_url: str,
        replicas: int = 3,
        extra_args: Sequence[str] = (),
        tls: bool = False,
        boot_delay: float = 0.0,
        env: Mapping[str, str] | None = None,
        log_level: str = "info",
        lease_seconds: float | None = None,
    ) -> None:
        if replicas < 1:
            raise ValueError("a fleet has at least one replica")
        self.base_dir = Path(base_dir)
        self.database_url = database_url
        self.state_dir = self.base_dir / "state"
        self.extra_args = list(extra_args)
        self.tls = tls
        self.boot_delay = boot_delay
        self.env = dict(env or {})
        self.log_level = log_level
        self.lease_seconds = lease_seconds
        #: the sandbox nodes' SSH port, the same on every replica
        self.ssh_port = free_port()
        #: the port a replica's nodes use when it cannot bind :attr:`ssh_port` (its own, not
        #: 2222: other sandboxes of this host use that one)
        self.fallback_ssh_port = free_port()
        self.replicas = [
            FleetReplica(i, free_port(), self.base_dir / f"replica-{i}.log") for i in range(replicas)
        ]
        self.balancer = RoundRobinBalancer(self._live_ports)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start every replica at once (as a service manager does: one migrates the database,
        the others wait; the shared keys and certificate are created once), wait until each
        is healthy, then start the balancer.

        Raises:
            RuntimeError: a replica exited or did not answer ``/health`` in time (its log's
                end is in the message).
        """
        self.base_dir.mkdir(parents=True, exist_ok=True)
        for replica in self.replicas:
            self._spawn(replica)
        for replica in self.replicas:
            self.wait_healthy(replica.index)
        self.balancer.start()

    def stop(self) -> None:
        """Stop the balancer and every replica (SIGTERM, SIGKILL after
        :data:`STOP_TIMEOUT`), then SIGKILL whatever is left in the process groups of all
        their starts (e.g. node sessions of a killed replica); idempotent."""
        self.balancer.stop()
        for replica in self.replicas:
            if replica.process is not None:
                self._terminate(replica)
        for replica in self.replicas:
            for group in replica.process_groups:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(group, signal.SIGKILL)

    def __enter__(self) -> Fleet:
        """Start the fleet (see :meth:`start`); a failed start stops what was started."""
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the fleet (see :meth:`stop`)."""
        self.stop()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def scheme(self) -> str:
        """``https`` with ``tls``, else ``http``."""
        return "https" if self.tls else "http"

    @property
    def cert_path(self) -> Path | None:
        """The shared self-signed certificate (``None`` without ``tls``)."""
        return self.state_dir / SELF_SIGNED_DIR / "cert.pem" if self.tls else None

    @property
    def port(self) -> int:
        """The balancer's port: the one address clients use."""
        return self.balancer.port

    @property
    def url(self) -> str:
        """The occtr base URL behind the balancer (``http://127.0.0.1:<port>/vcp/v1/occtr``)."""
        return f"{self.scheme}://127.0.0.1:{self.port}{BASE_PATH}"

    def replica_url(self, index: int) -> str:
        """The occtr base URL of replica ``index`` itself (bypassing the balancer)."""
        return f"{self.scheme}://127.0.0.1:{self.replicas[index].port}{BASE_PATH}"

    def origin(self, index: int) -> str:
        """``http(s)://127.0.0.1:<port>`` of replica ``index`` (``/metrics`` lives there)."""
        return f"{self.scheme}://127.0.0.1:{self.replicas[index].port}"

    def _live_ports(self) -> list[int]:
        return [r.port for r in self.replicas if r.alive]

    # -- clients -----------------------------------------------------------------------------

    def create_token(self, user: str, superuser: bool = False) -> str:
        """``vcc token create --database-url`` → a new token (accepted by every replica).

        Args:
            user: the token's user.
            superuser: make it a superuser's token.

        Returns:
            the token.
        """
        args = [*VCC, "token", "create", "--user", user, "--state-dir", str(self.state_dir)]
        args += ["--database-url", self.database_url, *(["--superuser"] if superuser else [])]
        done = subprocess.run(args, check=True, capture_output=True, text=True, env=subprocess_env())
        return done.stdout.strip()

    def create_tokens(self, users: Sequence[str]) -> list[str]:
        """New tokens for ``users``, written straight into the fleet's database (one
        connection for all, faster than a ``vcc token create`` each).

        Returns:
            one token per user, in order.
        """
        from vcpsdk.controller.auth import create_token
        from vcpsdk.controller.store import Store

        store = Store(self.database_url)
        try:
            return [create_token(store, user) for user in users]
        finally:
            store.close()

    def write_config(self, config_dir: Path, replica: int | None = None, progress: bool = False) -> Path:
        """Write a ``vcp_config.yml`` pointing the SDK at the balancer (with ``tls``:
        ``scheme: https`` and ``insecure_request_warning: False`` for the self-signed
        certificate).

        Args:
            config_dir: where (created if needed).
            replica: point at this replica itself instead of the balancer.
            progress: show the waits' progress (off: many clients' lines cost only CPU).

        Returns:
            ``config_dir``.
        """
        config_dir.mkdir(parents=True, exist_ok=True)
        scheme = "https\n  insecure_request_warning: False" if self.tls else "http"
        port = self.port if replica is None else self.replicas[replica].port
        (config_dir / "vcp_config.yml").write_text(
            f"vcc:\n  host: 127.0.0.1\n  vcc_port: {port}\n  scheme: {scheme}\n"
            f"progress: {'true' if progress else 'false'}\n"
        )
        return config_dir

    def get(self, index: int, path: str, timeout: float = 10.0) -> requests.Response:
        """``GET`` ``path`` (e.g. ``/metrics``) from replica ``index`` itself."""
        verify: str | bool = str(self.cert_path) if self.cert_path else True
        return requests.get(self.origin(index) + path, timeout=timeout, verify=verify)

    # -- replicas ----------------------------------------------------------------------------

    def kill(self, index: int) -> None:
        """SIGKILL replica ``index`` (as ``kill -9``: no shutdown at all) and reap it."""
        replica = self.replicas[index]
        if not replica.alive:
            return
        assert replica.process is not None
        replica.process.kill()
        replica.process.wait(timeout=STOP_TIMEOUT)
        replica.killed.append(replica.generation)
        replica.ended[replica.generation] = _utcnow()
        self._note(replica, "killed (SIGKILL)")

    def stop_replica(self, index: int) -> None:
        """Stop replica ``index`` gracefully (SIGTERM, SIGKILL after :data:`STOP_TIMEOUT`)."""
        self._terminate(self.replicas[index])

    def restart(self, index: int, wait: bool = True) -> None:
        """Start replica ``index`` again on its port (stopping it first if it runs).

        Args:
            index: the replica.
            wait: wait until it answers ``/health``.

        Raises:
            RuntimeError: it did not come back (its log's end is in the message).
        """
        replica = self.replicas[index]
        if replica.alive:
            self._terminate(replica)
        self._spawn(replica)
        if wait:
            self.wait_healthy(index)

    def wait_healthy(self, index: int, timeout: float = START_TIMEOUT) -> None:
        """Wait until replica ``index`` answers ``GET /health`` with 200.

        Raises:
            RuntimeError: it exited, or did not answer within ``timeout`` seconds.
        """
        replica = self.replicas[index]

        def healthy() -> bool | None:
            if not replica.alive:
                return None  # ends the wait: reported below
            try:
                return self.get(index, f"{BASE_PATH}/health", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        with contextlib.suppress(PollTimeout):
            poll(healthy, lambda ok: ok is not False, timeout=timeout, interval=0.1)
        if not replica.alive or not healthy():
            raise RuntimeError(
                f"replica {replica.name} did not become healthy "
                f"(exit {replica.process.poll() if replica.process else None}): {replica.log()[-3000:]}"
            )

    def _spawn(self, replica: FleetReplica) -> None:
        if replica.process is not None:  # a generation that exited by itself ended by now
            replica.ended.setdefault(replica.generation, _utcnow())
        replica.generation += 1
        self._note(replica, f"starting generation {replica.generation} on port {replica.port}")
        args = [
            *VCC,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(replica.port),
            "--state-dir",
            str(self.state_dir),
            "--database-url",
            self.database_url,
            "--boot-delay",
            str(self.boot_delay),
            "--ssh-port",
            str(self.ssh_port),
            "--fallback-ssh-port",
            str(self.fallback_ssh_port),
            "--log-level",
            self.log_level,
            *(["--tls-self-signed"] if self.tls else []),
            *(["--lease-seconds", str(self.lease_seconds)] if self.lease_seconds else []),
            *self.extra_args,
        ]
        env = subprocess_env({**self.env, "PGAPPNAME": replica.app_name, "VCC_REPLICA_NAME": replica.name})
        with replica.log_path.open("ab") as log:
            replica.process = subprocess.Popen(
                args, stdout=subprocess.DEVNULL, stderr=log, env=env, start_new_session=True
            )
        replica.process_groups.append(replica.process.pid)

    def _terminate(self, replica: FleetReplica) -> None:
        process = replica.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
        replica.ended[replica.generation] = _utcnow()
        self._note(replica, f"stopped (exit {process.returncode})")

    @staticmethod
    def _note(replica: FleetReplica, what: str) -> None:
        with replica.log_path.open("a", encoding="utf-8") as log:
            log.write(f"=== fleet {_utcnow().isoformat()} replica {replica.name}: {what}\n")

    # -- observations ------------------------------------------------------------------------

    def listeners(self) -> list[tuple[str, int]]:
        """Listening TCP sockets on the sandbox SSH ports of the fleet (:attr:`ssh_port`,
        :attr:`fallback_ssh_port`; IPv4, this network namespace): ``(address, port)`` once
        per socket, so a node served twice appears twice."""
        ports = (self.ssh_port, self.fallback_ssh_port)
        return [sock for sock in listening_sockets() if sock[1] in ports]

    def server_errors(self) -> dict[str, int]:
        """HTTP 5xx answers by replica, from each live replica's ``/metrics``
        (``vcc_http_requests_total``); a killed replica's count is lost with it."""
        counts: dict[str, int] = {}
        for replica in self.replicas:
            if not replica.alive:
                continue
            text = self.get(replica.index, "/metrics").text
            counts[replica.name] = int(
                sum(
                    float(line.rsplit(" ", 1)[1])
                    for line in text.splitlines()
                    if line.startswith("vcc_http_requests_total{") and 'status="5' in line
                )
            )
        return counts

    def tracebacks(self) -> dict[str, int]:
        """Tracebacks each replica logged over all its starts (an unhandled error each)."""
        return {r.name: r.log().count("Traceback (most recent call last)") for r in self.replicas}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def listening_sockets() -> list[tuple[str, int]]:
    """Every listening IPv4 TCP socket of this network namespace (``/proc/net/tcp``), as
    ``(address, port)``, once per socket.

    Example::

        ("127.30.2.10", 2222) in listening_sockets()
    """
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] != _TCP_LISTEN:
            continue
        address, port = fields[1].split(":")
        packed = int(address, 16).to_bytes(4, "little")
        found.append((str(ipaddress.IPv4Address(packed)), int(port, 16)))
    return found


@contextmanager
def fleet(
    base_dir: Path, replicas: int = 3, database_url: str | None = None, **options: Any
) -> Iterator[Fleet]:
    """Run a :class:`Fleet` (and, without ``database_url``, a throwaway PostgreSQL for it)
    for the ``with`` block.

    Args:
        base_dir: where the fleet's files go (a throwaway database server's directory is
            made in the system's temp dir, which its ``postgres`` OS user can enter).
        replicas: how many ``vcc serve`` replicas.
        database_url: an existing database; ``None`` starts a throwaway PostgreSQL server.
        **options: more :class:`Fleet` arguments (``tls``, ``boot_delay``, ``extra_args``...).

    Yields:
        the running fleet.

    Raises:
        PostgresUnavailable: no PostgreSQL server can run here (never a silent skip).
    """
    if database_url is not None:
        with Fleet(base_dir, database_url, replicas, **options) as running:
            yield running
        return
    with postgres_server() as server:  # the system's temp dir: as root, ``postgres`` must enter it
        url = server.create_database("fleet")
        with Fleet(base_dir / "fleet", url, replicas, **options) as running:
            yield running


# -- the client load ---------------------------------------------------------------------------

#: the providers a :class:`MixClient` cycles through (the sandbox serves each on its own range)
MIX_PROVIDERS = ("aws", "azure", "oracle", "sakura")
#: UnitGroups a :class:`MixClient` keeps alive at most (the others it cleans up at once)
MIX_KEPT_GROUPS = 2
_VCID_IN_URL = re.compile(r"/vcs/([0-9A-Za-z]+)")


@dataclass
class MixResult:
    """What one :class:`MixClient` saw.

    Attributes:
        operations: SDK calls that changed something and completed (create a UnitGroup or
            a unit, add, power off/on, delete nodes, clean up a UnitGroup).
        latencies: seconds of every HTTP request it sent.
        server_errors: ``METHOD url: status body`` of every 5xx answer.
        failures: SDK calls that raised (``type: message``).
        revision_regressions: a UnitGroup's revision read lower than one read before.
    """

    operations: int = 0
    latencies: list[float] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    revision_regressions: list[str] = field(default_factory=list)


class MixClient:
    """One user's realistic sandbox load through the public SDK, with its own model of what
    it made.

    Each round creates a UnitGroup, a unit of 2 nodes (waiting) and one of 1 node (not
    waiting), adds 2 nodes, powers a node off (and on again in every other round), deletes
    a node, and cleans the UnitGroup up, except the last :data:`MIX_KEPT_GROUPS` rounds'
    groups, which it keeps.  It remembers every node it made and did not delete, with the
    state it asked for, and every UnitGroup revision it read; :meth:`lost_updates` compares
    that model with the controller's answer.

    Args:
        index: the client's number (its UnitGroups are named ``c<index>-<round>``).
        token: its user's token.
        config_dir: a directory with the ``vcp_config.yml`` pointing at the controller.
        pubkey: an SSH public key file for the nodes.
        providers: the providers its rounds cycle through (default :data:`MIX_PROVIDERS`,
            all served by the sandbox unless ``vcc serve --backends`` gives them a cloud).

    Example::

        client = MixClient(0, vccs.create_token("u0"), vccs.write_config(cfg), key)
        client.run(until=time.time() + 30)
        assert not client.lost_updates()
    """

    def __init__(
        self, index: int, token: str, config_dir: Path, pubkey: Path, providers: Sequence[str] = MIX_PROVIDERS
    ) -> None:
        from vcpsdk.vcpsdk import VcpSDK

        self.index = index
        self.pubkey = str(pubkey)
        self.providers = tuple(providers)
        self.result = MixResult()
        #: UnitGroup name → node id → the state it should be in
        self.expected: dict[str, dict[str, str]] = {}
        #: UnitGroups of failed rounds: what their nodes should be is unknown (the failure
        #: is in :attr:`MixResult.failures`); :meth:`lost_updates` checks only that they exist
        self.uncertain: set[str] = set()
        self._revisions: dict[str, int] = {}
        self.vcp = VcpSDK(token, config_dir=str(config_dir))
        session = self.vcp._session.client.session
        send = session.request

        def observed(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            response = send(method, url, *args, **kwargs)
            self.result.latencies.append(time.perf_counter() - start)
            if response.status_code >= 500:
                self.result.server_errors.append(
                    f"{method} {url}: {response.status_code} {response.text[:200]}"
                )
            self._saw_revision(url, response)
            return response

        session.request = observed  # type: ignore[method-assign,assignment]

    def _saw_revision(self, url: str, response: requests.Response) -> None:
        found = _VCID_IN_URL.search(url)
        if not found or not response.ok:
            return
        try:
            body = response.json()
        except ValueError:
            return
        revision = body.get("revision") if isinstance(body, dict) else None
        if not isinstance(revision, int):
            return
        vcid = found.group(1)
        before = self._revisions.get(vcid, revision)
        if revision < before:
            self.result.revision_regressions.append(f"UnitGroup {vcid}: revision {before} then {revision}")
        self._revisions[vcid] = max(before, revision)

    def spec(self, provider: str, nodes: int) -> Any:
        """A ``small`` compute spec of ``provider`` for ``nodes`` nodes with the client's key."""
        spec = self.vcp.get_spec(provider, "small")
        spec.set_ssh_pubkey(self.pubkey)
        spec.num_nodes = nodes
        return spec

    def run(self, until: float) -> MixResult:
        """Run rounds until the time ``until`` (``time.time()``); a failed round is
        recorded in :attr:`MixResult.failures` and the next one starts.

        Returns:
            :attr:`result`.
        """
        round_no = 0
        while time.time() < until:
            try:
                self._round(round_no)
            except Exception as error:  # recorded; the load goes on
                self.result.failures.append(f"round {round_no}: {type(error).__name__}: {str(error)[:300]}")
                self.uncertain.add(f"c{self.index}-{round_no}")
            round_no += 1
        return self.result

    def _round(self, round_no: int) -> None:
        name = f"c{self.index}-{round_no}"
        provider = self.providers[(self.index + round_no) % len(self.providers)]
        group = self.vcp.create_ugroup(name)
        model = self.expected[name] = {}
        self.result.operations += 1
        web = group.create_unit("web", self.spec(provider, 2))
        model.update({n.id: "RUNNING" for n in web.find_nodes()})
        self.result.operations += 1
        group.create_unit("db", self.spec(provider, 1), wait_for=False)
        self.result.operations += 1
        model.update({n.id: "RUNNING" for n in web.add_nodes(num_add_nodes=2)})
        self.result.operations += 1
        model.update({n.id: "RUNNING" for n in group.wait_unit_applied("db").find_nodes()})
        first = next(n.id for n in web.find_nodes() if n.no == 1)
        web.power_off_nodes(node_no=1)
        model[first] = "POWER_OFF"
        self.result.operations += 1
        if round_no % 2 == 0:
            web.power_on_nodes(node_no=1)
            model[first] = "RUNNING"
            self.result.operations += 1
        before = {n.id for n in web.find_nodes()}
        left = {n.id for n in web.delete_nodes(node_no=2)}
        for gone in before - left:
            model.pop(gone, None)
        self.result.operations += 1
        kept = sorted(self.expected, key=lambda n: int(n.rsplit("-", 1)[1]))
        for old in kept[:-MIX_KEPT_GROUPS]:
            old_group = self.vcp.get_ugroup(old)
            if old_group is not None:
                old_group.cleanup()
            del self.expected[old]
            self.result.operations += 1

    def lost_updates(self) -> list[str]:
        """Differences between this client's model and the controller's answer: UnitGroups
        missing or left over, nodes missing, left over or in another state (nodes of the
        UnitGroups of failed rounds are not compared: see :attr:`uncertain`)."""
        found: list[str] = []
        actual = {g.name: g for g in self.vcp.find_ugroups()}
        for name in sorted(set(actual) - set(self.expected)):
            found.append(f"UnitGroup {name} still exists (it was cleaned up)")
        for name, model in sorted(self.expected.items()):
            group = actual.get(name)
            if group is None:
                found.append(f"UnitGroup {name} is missing")
                continue
            if name in self.uncertain:
                continue
            nodes = {n.id: n.state for n in group.find_nodes()}
            for node_id in sorted(set(model) | set(nodes)):
                want, have = model.get(node_id, "deleted"), nodes.get(node_id, "missing")
                if want != have:
                    found.append(f"UnitGroup {name} node {node_id}: expected {want}, controller says {have}")
        return found

    def cleanup(self) -> None:
        """Clean up every UnitGroup of this user (waiting); the model becomes empty."""
        for group in self.vcp.find_ugroups():
            group.cleanup()
            self.result.operations += 1
        self.expected.clear()


# -- the database's own record of who ran what -------------------------------------------------

#: the audit table, function and trigger :class:`OperationAudit` installs
_AUDIT_SQL = """
CREATE TABLE IF NOT EXISTS fleet_operation_events (
    seq bigserial PRIMARY KEY,
    op_id integer NOT NULL,
    unit_id integer,
    kind text,
    event text NOT NULL,
    claimed_by text,
    attempt integer,
    app text,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE OR REPLACE FUNCTION fleet_operation_audit() RETURNS trigger AS $$
DECLARE
    what text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO fleet_operation_events (op_id, unit_id, kind, event, claimed_by, attempt, app)
        VALUES (OLD.id, OLD.unit_id, OLD.kind, 'deleted', OLD.claimed_by, OLD.attempt,
                current_setting('application_name'));
        RETURN OLD;
    END IF;
    IF NEW.status = 'running' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'running'
            OR OLD.claimed_by IS DISTINCT FROM NEW.claimed_by
            OR OLD.attempt IS DISTINCT FROM NEW.attempt) THEN
        what := 'claimed';
    ELSIF NEW.status IN ('done', 'failed')
            AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status) THEN
        what := NEW.status;
    ELSIF TG_OP = 'UPDATE' AND NEW.status = 'pending' AND OLD.status IS DISTINCT FROM 'pending' THEN
        what := 'requeued';
    ELSIF TG_OP = 'INSERT' THEN
        what := 'queued';
    ELSE
        RETURN NEW;
    END IF;
    INSERT INTO fleet_operation_events (op_id, unit_id, kind, event, claimed_by, attempt, app)
    VALUES (NEW.id, NEW.unit_id, NEW.kind, what, NEW.claimed_by, NEW.attempt,
            current_setting('application_name'));
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS fleet_operation_audit ON operations;
CREATE TRIGGER fleet_operation_audit AFTER INSERT OR UPDATE OR DELETE ON operations
    FOR EACH ROW EXECUTE FUNCTION fleet_operation_audit();
"""


@dataclass(frozen=True)
class OperationEvent:
    """One recorded change of an operation.

    Attributes:
        op_id: the operation.
        unit_id: its unit.
        kind: ``create``, ``delete_nodes``, ``power_off``...
        event: ``queued``, ``claimed`` (it started running, or changed hands), ``requeued``,
            ``done``, ``failed`` or ``deleted`` (its row went away, e.g. once done).
        app: the application name of the connection that made the change (the replica:
            :func:`app_name`).
        at: when (the database's clock).
    """

    op_id: int
    unit_id: int | None
    kind: str
    event: str
    app: str
    at: dt.datetime


@dataclass
class AuditReport:
    """What :meth:`OperationAudit.report` found.

    Attributes:
        claims: operations claimed (started) at least once.
        run_twice: ``(op id, kind, replicas)`` of operations started again while the replica
            that had started them before still ran (not killed or stopped in between), or
            finished more than once.
        unit_overlaps: ``(unit id, op id, op id)``: an operation of a unit started while
            another operation of the same unit, started by a live replica, had not finished.
        unfinished: ids of claimed operations that never finished.
        by_replica: claims per replica application name.
    """

    claims: int = 0
    run_twice: list[tuple[int, str, list[str]]] = field(default_factory=list)
    unit_overlaps: list[tuple[int, int, int]] = field(default_factory=list)
    unfinished: list[int] = field(default_factory=list)
    by_replica: Counter[str] = field(default_factory=Counter)


class OperationAudit:
    """The database's own record of every operation's claims and ends, per replica.

    A trigger on ``operations`` (installed once the schema exists) writes one row per
    change of state into ``fleet_operation_events``, with the connection's application
    name, so which replica started which operation needs nothing from the worker's logs.

    Args:
        database_url: the fleet's database (SQLAlchemy URL).

    Example::

        audit = OperationAudit(vccs.database_url)
        audit.install()
        ...
        report = audit.report(vccs)
        assert not report.run_twice
    """

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def _connect(self) -> Any:
        import psycopg

        url = self.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        return psycopg.connect(url, autocommit=True)

    def install(self) -> None:
        """Create the audit table and trigger (idempotent)."""
        with self._connect() as connection:
            connection.execute(_AUDIT_SQL)

    def events(self) -> list[OperationEvent]:
        """Every recorded change, in the order they were made."""
        with self._connect() as connection:
            rows = connection.execute(
                "SELECT op_id, unit_id, kind, event, app, at FROM fleet_operation_events ORDER BY seq"
            ).fetchall()
        return [OperationEvent(*row) for row in rows]

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of one SQL query on the fleet's database (for checks in tests)."""
        with self._connect() as connection:
            return list(connection.execute(sql, params).fetchall())

    def report(self, running: Fleet) -> AuditReport:
        """Operations run twice, units whose operations overlapped, operations unfinished.

        A second claim of an operation is a take-over (fine) only when the replica
        generation that claimed it before was killed or stopped before the new claim, and
        the operation had not finished; a second ``done``/``failed`` is always a double run.

        Args:
            running: the fleet (for when each replica generation ended).
        """
        ended = _generation_ends(running)
        report = AuditReport()
        claimers: dict[int, list[tuple[str, dt.datetime]]] = {}
        finished: set[int] = set()
        running_by_unit: dict[int, dict[int, str]] = {}
        for event in self.events():
            op = event.op_id
            if event.event == "claimed":
                report.by_replica[event.app] += 1
                before = claimers.setdefault(op, [])
                if not before:
                    report.claims += 1
                elif op in finished or not _ended_before(ended, before[-1][0], event.at):
                    report.run_twice.append((op, event.kind, [app for app, _ in before] + [event.app]))
                before.append((event.app, event.at))
                if event.unit_id is not None:
                    unit_ops = running_by_unit.setdefault(event.unit_id, {})
                    for other, app in unit_ops.items():
                        if other != op and not _ended_before(ended, app, event.at):
                            report.unit_overlaps.append((event.unit_id, other, op))
                    unit_ops[op] = event.app
                continue
            if event.event in ("done", "failed"):
                if op in finished:
                    report.run_twice.append((op, event.kind, [app for app, _ in claimers.get(op, [])]))
                finished.add(op)
            elif event.event == "deleted":
                finished.add(op)
            if event.unit_id is not None:  # finished, gone or queued again: not running
                running_by_unit.get(event.unit_id, {}).pop(op, None)
        report.unfinished = sorted(op for op in claimers if op not in finished)
        return report


def _generation_ends(running: Fleet) -> dict[str, dt.datetime]:
    """When each ended replica generation (by application name) was killed or stopped."""
    ends: dict[str, dt.datetime] = {}
    for replica in running.replicas:
        for generation, when in replica.ended.items():
            ends[app_name(replica.index, generation)] = when
    return ends


def _ended_before(ends: dict[str, dt.datetime], app: str, when: dt.datetime) -> bool:
    end = ends.get(app)
    return end is not None and end <= when


__all__ = [
    "AuditReport",
    "Fleet",
    "FleetReplica",
    "MixClient",
    "MixResult",
    "OperationAudit",
    "OperationEvent",
    "RoundRobinBalancer",
    "app_name",
    "fleet",
    "listening_sockets",
]
