"""Settings of one controller instance (CLI flags or embedded defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

#: the longest UnitGroup or unit name the database columns hold (``vcs.name``, ``units.name``)
NAME_COLUMN_LENGTH = 255


@dataclass(frozen=True)
class Limits:
    """What one request, one unit and one user may ask of a shared controller.

    A request over a limit is refused (400, 413 or 429) with a message naming the limit
    and its value, and nothing is created.  ``0`` switches a count or rate limit off.
    ``docs/protocol.md`` ("Limits") lists them; ``vcc serve --limit NAME=VALUE`` or
    ``--limits FILE`` (YAML ``{name: value}``) change them.

    Attributes:
        max_body_bytes: largest request body (413).
        max_name_length: longest UnitGroup or unit name, at most
            :data:`NAME_COLUMN_LENGTH` (the same in SQLite and PostgreSQL).
        max_yaml_bytes: largest CCI (``cci``/``info``) YAML, counted after alias expansion.
        max_depth: deepest nesting of a JSON body or a CCI YAML document.
        max_nodes_per_request: nodes or disks one request may create
            (``num_nodes``, ``num_disks``, address lists); the defaults keep one user
            well below the ~250 addresses of a provider's /24 range.
        max_disks_per_node: disks one node may attach (``volume_id`` list).
        max_nodes_per_unit: nodes or disks of one unit.
        max_nodes_per_user: nodes and disks of all the UnitGroups of one user (quota).
        requests_per_second: sustained requests of one token (429 with ``Retry-After``).
        request_burst: requests one token may send at once before the rate applies.
        max_secret_bytes: largest Vault cubbyhole secret (its JSON body; 413).
        max_secrets_per_token: cubbyhole entries of one token (400).
        max_secret_bytes_per_token: stored (sealed) bytes of all the cubbyhole entries of
            one token (400); a sealed entry takes about 4/3 of its JSON.
        node_processes_per_user: processes and threads of one user's confined sandbox
            sessions together, over all their nodes (``RLIMIT_NPROC`` of the user's host
            uid; only when the controller runs as root).
        node_file_bytes: largest file a sandbox node session may write (``RLIMIT_FSIZE``).
        node_memory_bytes: address space of one process of a sandbox node (``RLIMIT_AS``).
    """

    max_body_bytes: int = 1024 * 1024
    max_name_length: int = NAME_COLUMN_LENGTH
    max_yaml_bytes: int = 256 * 1024
    max_depth: int = 32
    max_nodes_per_request: int = 50
    max_disks_per_node: int = 16
    max_nodes_per_unit: int = 100
    max_nodes_per_user: int = 100
    requests_per_second: float = 50.0
    request_burst: int = 200
    max_secret_bytes: int = 64 * 1024
    max_secrets_per_token: int = 100
    max_secret_bytes_per_token: int = 1024 * 1024

    node_processes_per_user: int = 1024
    node_file_bytes: int = 8 << 30
    node_memory_bytes: int = 16 << 30

    def summary(self) -> str:
        """All the limits on one line, ``name=value`` (what ``vcc serve`` prints at start).

        Example:
            >>> Limits().summary().split()[0]
            'max_body_bytes=1048576'
        """
        return " ".join(f"{f.name}={_shown(getattr(self, f.name))}" for f in fields(self))

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"limit {f.name} must be a number >= 0, got {value!r}")
        if not 1 <= self.max_name_length <= NAME_COLUMN_LENGTH:
            raise ValueError(f"limit max_name_length must be 1..{NAME_COLUMN_LENGTH}")
        for name in ("max_body_bytes", "max_yaml_bytes", "max_depth"):
            if getattr(self, name) < 1:
                raise ValueError(f"limit {name} must be >= 1")

    def updated(self, values: dict[str, Any]) -> Limits:
        """These limits with ``values`` (``{name: number or numeric text}``) changed.

        Raises:
            ValueError: an unknown limit or a value that is not a number >= 0.

        Example:
            >>> Limits().updated({"max_body_bytes": "2048"}).max_body_bytes
            2048
        """
        kinds = {f.name: int if f.type in ("int", int) else float for f in fields(self)}
        changes: dict[str, Any] = {}
        for name, value in values.items():
            if name not in kinds:
                raise ValueError(f"unknown limit {name!r}; known: {', '.join(kinds)}")
            try:
                changes[name] = kinds[name](value)
            except (TypeError, ValueError):
                raise ValueError(f"limit {name} must be a number, got {value!r}") from None
        return replace(self, **changes)


def _shown(value: float) -> str:
    """A limit as ``--limit`` takes it: ``1048576``, ``0.5``."""
    return f"{value:g}" if isinstance(value, float) else str(value)


#: seconds a replica counts as alive after its last heartbeat (``vcc serve --lease-seconds``)
DEFAULT_LEASE_SECONDS = 15.0
#: the shortest lease accepted: heartbeats come every third of it, a shorter one flaps
MIN_LEASE_SECONDS = 2.0


@dataclass
class ControllerSettings:
    """Where the controller keeps its state and how the sandbox behaves.

    Attributes:
        state_dir: directory of the SQLite database, sandbox disks and keys.
        database_url: SQLAlchemy URL; default ``sqlite:///<state_dir>/vcc.db``.
        name: controller name shown by ``version()``.
        boot_delay: seconds a sandbox node takes to boot.
        vpn_catalog_file: YAML file replacing the sandbox VPN catalog.
        long_poll_max_sec: longest a "wait for change" request is held.
        ssh_port: port of the sandbox nodes' SSH endpoints (22 by default).
        fallback_ssh_port: used when ``ssh_port`` cannot be bound (not root, or taken).
        backends: operator configuration of cloud backends, ``{name: {...}}`` (e.g.
            ``{"aws": {"region": ..., "vpn_catalog": {...}}}``); providers without a
            configured backend use the sandbox.  See ``docs/backends.md``.
        tls_cert: certificate (PEM) to serve HTTPS with; plain http when ``None``.
        tls_key: the certificate's private key (PEM).
        limits: request, unit and user limits (:class:`Limits`).
        sandbox_bwrap: the bubblewrap executable that confines sandbox node sessions.
        allow_unconfined_nodes: host the nodes of several users even where sessions
            cannot be confined (``vcc serve --allow-unconfined-nodes``).
        metrics: who may read ``/metrics``: ``open``, ``superuser`` or ``off``
            (``vcc serve --metrics``; see :mod:`vcpsdk.controller.metrics`).
        sandbox_uid_base: a root controller runs the confined sessions of its N-th user
            as host uid/gid ``sandbox_uid_base + N`` (unused by host accounts).
        lease_seconds: replicas on one database: how long this replica counts as alive
            after its last heartbeat; its operations and leases are taken over after that
            (``vcc serve --lease-seconds``; see :mod:`vcpsdk.controller.replica`).
        sandbox_host: this replica may hold the ``sandbox`` lease and run the sandbox's
            node endpoints (``vcc serve --no-sandbox-host`` for replicas that cannot reach
            the state dir the sandbox nodes live in).
    """

    state_dir: Path
    database_url: str = ""
    name: str = "vcc-sandbox"
    boot_delay: float = 0.5
    vpn_catalog_file: Path | None = None
    long_poll_max_sec: float = 30.0
    ssh_port: int = 22
    fallback_ssh_port: int = 2222
    backends: dict[str, dict[str, Any]] = field(default_factory=dict)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    limits: Limits = field(default_factory=Limits)
    sandbox_bwrap: str = "bwrap"
    allow_unconfined_nodes: bool = False
    metrics: str = "open"
    sandbox_uid_base: int = 200000
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    sandbox_host: bool = True

    def __post_init__(self) -> None:
        self.state_dir = Path(self.state_dir).expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.state_dir / 'vcc.db'}"
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("a TLS certificate needs its key (--tls-cert and --tls-key go together)")

    @property
    def scheme(self) -> str:
        """``https`` when a certificate is configured, else ``http``."""
        return "https" if self.tls_cert else "http"
