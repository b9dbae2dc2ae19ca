"""Settings of one controller instance (CLI flags or embedded defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
        sandbox_bwrap: the bubblewrap executable that confines sandbox node sessions.
        allow_unconfined_nodes: host the nodes of several users even where sessions
            cannot be confined (``vcc serve --allow-unconfined-nodes``).
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
    sandbox_bwrap: str = "bwrap"
    allow_unconfined_nodes: bool = False

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
