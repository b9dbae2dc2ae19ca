"""The controller wired in one place: how it is built, started and stopped.

Build order (:func:`build_controller`), each part from the ones before it:

1. settings — :class:`~vcpsdk.controller.settings.ControllerSettings` (CLI flags or defaults);
2. store — the database, its schema brought to the newest revision (refused if newer);
3. secrets and vault — the sealing key in the state dir, the token cubbyholes;
4. backends — every enabled entry of the backend registry, the sandbox included;
5. change bus — attached to the store: "something changed" wakes long-polls after commit;
6. membership — this replica among those sharing the database (its lease, the leases of
   host-bound backends such as the sandbox; :mod:`vcpsdk.controller.replica`);
7. worker — claims queued operations and carries them out through the backends;
8. service — the use cases (validation, capabilities, state changes, the work queue).

The HTTP app (:func:`vcpsdk.controller.app.create_app`) sits on top of a built
controller and calls :meth:`Controller.start` / :meth:`Controller.stop` from its
lifespan; ``vcc serve``, the embedded sandbox (which runs ``vcc serve``) and
:func:`vcpsdk.testing.running_controller` all go through here.

Start order (:meth:`Controller.start`): the replica joins (taking the free leases it
wants) → each backend it runs starts, gets back its running nodes (``restore``) and is
asked what they look like (``describe``, reconcile) — a host-bound backend (the sandbox)
only on the replica holding its lease, whenever that replica takes the lease → the worker
starts claiming operations → the heartbeat starts.  Stop order (:meth:`Controller.stop`)
is the reverse: worker → backends → leave (leases given back) → store.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update

from vcpsdk.controller.auth import create_token
from vcpsdk.controller.backends.base import Backend, NodeRequest
from vcpsdk.controller.backends.registry import Backends, build_backends
from vcpsdk.controller.bus import ChangeBus
from vcpsdk.controller.metrics import ControllerMetrics
from vcpsdk.controller.relay import ChangeRelay
from vcpsdk.controller.replica import Membership
from vcpsdk.controller.secrets import KEY_CHECK_META, SecretBox, create_file_once
from vcpsdk.controller.service import Service
from vcpsdk.controller.settings import ControllerSettings
from vcpsdk.controller.store import Node, Store, Token, VaultSecret
from vcpsdk.controller.vault import Vault
from vcpsdk.controller.worker import Worker
from vcpsdk.core.providers import all_providers
from vcpsdk.core.states import RUNNING

logger = logging.getLogger("vcp.controller")
#: the file in a state dir that names it (:meth:`Controller._has_host_files`)
STATE_ID_FILE = "state.id"


@dataclass
class Controller:
    """One controller: its settings and the parts built from them (see the module doc)."""

    settings: ControllerSettings
    store: Store
    secrets: SecretBox
    vault: Vault
    backend_set: Backends
    bus: ChangeBus
    service: Service
    worker: Worker
    vcc_id: str
    metrics: ControllerMetrics
    membership: Membership
    relay: ChangeRelay | None = None  # other replicas' changes (PostgreSQL; relay.py)

    @property
    def backends(self) -> dict[str, Backend]:
        """Every running backend by registry name (``"sandbox"``, ``"aws"``...)."""
        return self.backend_set.by_name

    @property
    def backend(self) -> Backend:
        """The fallback backend (the sandbox): serves every provider no cloud backend claims."""
        return self.backend_set.by_name[self.backend_set.fallback]

    def backend_for(self, provider: str) -> Backend:
        """The backend that provisions ``provider``."""
        return self.backend_set.backend_for(provider)

    def vpn_catalog(self) -> dict[str, Any]:
        """The sandbox catalog, with the entries of configured cloud backends on top."""
        return self.backend_set.vpn_catalog()

    def start(self) -> None:
        """Join the replicas, start the backends this replica runs (host-bound ones once it
        holds their lease), then the worker and the heartbeat."""
        for name, backend in self.backend_set:
            if backend.host_bound and self.settings.sandbox_host and self._has_host_files(name):
                self.membership.want(
                    name,
                    on_acquire=lambda name=name, backend=backend: self._take_up(name, backend),  # type: ignore[misc]
                    on_lose=backend.close,
                )
        self.membership.join()
        for name, backend in self.backend_set:
            if not backend.host_bound:
                self._take_up(name, backend)
        if self.relay:
            self.relay.start()
        self.worker.start()
        self.membership.start()

    def _has_host_files(self, name: str) -> bool:
        """Whether this replica's state dir is the one host-bound backend ``name`` keeps its
        nodes' files in: the state dir of the first replica that hosted it (recorded in the
        database), or any state dir on SQLite (one process).  A replica with another state
        dir never takes the lease: it could not restore those nodes."""
        mine = self._state_dir_id()
        recorded = self.store.set_meta_default(f"{name}_state_dir", mine)
        if recorded == mine or self.membership.single_process:
            return True
        logger.warning(
            "state dir %s is not the one the %s nodes live in (that of the first replica that "
            "hosted them): this replica does not host them, as with --no-sandbox-host; give it "
            "the other replicas' --state-dir to let it",
            self.settings.state_dir,
            name,
        )
        return False

    def _state_dir_id(self) -> str:
        """A random id of the state dir, made once (``state.id``), the same for every
        replica that shares the directory."""
        path = self.settings.state_dir / STATE_ID_FILE
        if not path.exists():
            create_file_once(path, uuid.uuid4().hex.encode(), mode=0o644)
        return path.read_text().strip()

    def _providers_of(self, name: str) -> list[str]:
        return [p.name for p in all_providers() if self.backend_set.name_for(p.name) == name]

    def _take_up(self, name: str, backend: Backend) -> None:
        """Start ``backend`` here: its running nodes back (``restore``), reconciled with what
        it reports, its ownerless disks swept."""
        backend.start()
        providers = self._providers_of(name)
        self._restore(backend, providers)
        self.worker.reconcile(providers)
        self.worker.sweep_disks([backend])

    def _restore(self, backend: Backend, providers: list[str]) -> None:
        """``restore`` on ``backend`` with the nodes the store says are RUNNING on it."""
        with self.store.read() as session:
            rows = session.execute(
                select(Node.node_id, Node.node_no, Node.address).where(
                    Node.kind == "compute", Node.state == RUNNING, Node.provider.in_(providers)
                )
            ).all()
        backend.restore([NodeRequest(r.node_id, r.node_no, r.address) for r in rows])
        port = backend.node_ssh_port()
        if rows and port:  # endpoints listen on this run's port
            with self.store.transaction() as session:
                session.execute(
                    update(Node).where(Node.node_id.in_([r.node_id for r in rows])).values(ssh_port=port)
                )

    def stop(self) -> None:
        """Stop the worker, then the backends, leave the replicas (leases given back: another
        replica takes them at its next heartbeat), then close the store."""
        self.worker.stop()
        if self.relay:
            self.relay.close()
        self.backend_set.close()
        self.membership.leave()
        self.store.close()


def open_store(settings: ControllerSettings) -> Store:
    """The store of ``settings`` (the state dir is created if needed).

    Raises:
        SchemaError: the database was made by a newer vcpsdk.
    """
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return Store(settings.database_url)


def build_controller(settings: ControllerSettings) -> Controller:
    """Build (not start) a controller with its state in ``settings.state_dir``.

    Args:
        settings: where the state lives and how the backends behave.

    Returns:
        The controller; call :meth:`Controller.start` before serving it.

    Raises:
        SchemaError: the state dir was made by a newer vcpsdk.
        ReplicaConflict: another live controller serves the same SQLite database.
        KeyMismatch: the state dir's ``secrets.key`` is not the other replicas' key.
        ValueError / BackendError: the backend configuration is wrong or cannot load.

    Example:
        >>> controller = build_controller(ControllerSettings(state_dir=tmp))  # doctest: +SKIP
        >>> controller.start(); controller.stop()  # doctest: +SKIP
    """
    store = open_store(settings)
    try:
        membership = Membership(store, settings.lease_seconds)
        membership.check()  # before anything else starts: nothing to undo
        vcc_id = store.set_meta_default("vcc_id", uuid.uuid4().hex)
        secrets = SecretBox(settings.state_dir)
        secrets.check(
            store.set_meta_default(KEY_CHECK_META, secrets.check_text())
        )  # one key for all replicas
        vault = Vault(store, secrets, settings.limits)
        backend_set = build_backends(settings, vcc_id)
    except BaseException:
        store.close()
        raise
    metrics = ControllerMetrics(store)
    metrics.instrument(backend_set)  # backend calls and errors (vcpsdk/controller/metrics.py)
    bus = ChangeBus()
    bus.attach(store)
    worker = Worker(store, backend_set.backend_for, Service.catalog_entry, secrets, membership)
    service = Service(store, backend_set.backend_for, worker.wake, vcc_id, secrets, vault, settings.limits)
    relay = ChangeRelay(store, bus, worker.wake)
    metrics.watch_replica(membership, worker, relay)
    return Controller(
        settings, store, secrets, vault, backend_set, bus, service, worker, vcc_id, metrics, membership, relay
    )


def issue_token(settings: ControllerSettings, user: str, superuser: bool = False) -> str:
    """A new access token for ``user`` in the state of ``settings`` (no server needed).

    Raises:
        SchemaError: the state dir was made by a newer vcpsdk.
    """
    store = open_store(settings)
    try:
        return create_token(store, user, superuser=superuser)
    finally:
        store.close()


#: characters of a token's stored hash that ``vcc token list`` shows and ``revoke --id`` takes
TOKEN_ID_LENGTH = 12


@dataclass(frozen=True)
class TokenInfo:
    """One access token as ``vcc token list`` shows it (the token itself is never stored).

    Attributes:
        id: the first :data:`TOKEN_ID_LENGTH` characters of its SHA-256 hash.
        user: the user it belongs to.
        superuser: whether it may use privileged mode.
        created: when it was created (UTC, ``YYYY-MM-DD HH:MM:SS``).
    """

    id: str
    user: str
    superuser: bool
    created: str


def list_tokens(settings: ControllerSettings) -> list[TokenInfo]:
    """Every access token of the state of ``settings``, oldest first.

    Raises:
        SchemaError: the state dir was made by a newer vcpsdk.
    """
    store = open_store(settings)
    try:
        with store.read() as session:
            rows = session.scalars(select(Token).order_by(Token.created_at, Token.id)).all()
            return [
                TokenInfo(
                    r.token_hash[:TOKEN_ID_LENGTH],
                    r.user_name,
                    r.superuser,
                    f"{r.created_at:%Y-%m-%d %H:%M:%S}",
                )
                for r in rows
            ]
    finally:
        store.close()


def revoke_tokens(
    settings: ControllerSettings,
    user: str | None = None,
    token_id: str | None = None,
    token: str | None = None,
) -> int:
    """Delete the tokens of ``user``, the one whose id starts with ``token_id``, or ``token``,
    with their cubbyhole secrets.  The store is the only place a token is looked up in, so
    a running controller refuses a revoked token from its next request on (a controller
    that caches tokens must drop them from its cache).

    Returns:
        int: how many tokens were revoked.

    Raises:
        ValueError: none or several of ``user``/``token_id``/``token`` given, an id shorter
            than 6 characters, or an id that more than one token starts with.
    """
    from vcpsdk.controller.auth import hash_token

    if sum(value is not None for value in (user, token_id, token)) != 1:
        raise ValueError("give exactly one of --user, --id or --token")
    if token_id is not None and len(token_id) < 6:
        raise ValueError("--id needs at least 6 characters of the id vcc token list shows")
    store = open_store(settings)
    try:
        with store.transaction() as session:
            query = select(Token.token_hash)
            if user is not None:
                query = query.where(Token.user_name == user)
            elif token_id is not None:
                query = query.where(Token.token_hash.startswith(token_id.lower()))
            else:
                query = query.where(Token.token_hash == hash_token(token or ""))
            hashes = list(session.scalars(query))
            if token_id is not None and len(hashes) > 1:
                raise ValueError(f"--id {token_id} names {len(hashes)} tokens; give more characters")
            if hashes:
                session.execute(delete(VaultSecret).where(VaultSecret.token_hash.in_(hashes)))
                session.execute(delete(Token).where(Token.token_hash.in_(hashes)))
        return len(hashes)
    finally:
        store.close()
