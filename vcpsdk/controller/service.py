"""Use cases of the VC Controller: validation, state changes and the work queue.

A write checks everything first, then changes states and queues an operation in one
transaction, and returns at once (HTTP 202); the worker carries the operation out
through a backend.  A request that cannot succeed is refused before anything is
created.  Every message keeps the original controller's shape:
``<date> UTC: <ExceptionClass>: <detail>``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from vcpsdk.controller.backends.base import Backend, InvalidRequest
from vcpsdk.controller.bus import changed
from vcpsdk.controller.errors import (
    AUTH_EXC,
    CONFLICT_EXC,
    INVALID_EXC,
    NOT_FOUND_EXC,
    ServiceError,
    User,
    conflict,
    invalid,
    not_found,
    over_limit,
)
from vcpsdk.controller.secrets import SecretBox
from vcpsdk.controller.settings import Limits
from vcpsdk.controller.store import Node, Operation, Store, Token, Unit, Vc, format_date, utcnow
from vcpsdk.controller.store.addresses import (
    AddressTaken,
    addresses_in_use,
    claim_addresses,
    planning_lock,
    release_addresses,
)
from vcpsdk.controller.store.database import OWNER_LOCKS, lock_name, retry_transient, writing
from vcpsdk.controller.vault import Vault
from vcpsdk.core import states as S
from vcpsdk.core.cci import (
    CciError,
    YamlLimits,
    check_unit_name,
    info_text,
    parse_unit_cci,
    parse_vc_cci,
)
from vcpsdk.core.providers import Capabilities, get_provider

__all__ = [
    "AUTH_EXC",
    "CONFLICT_EXC",
    "INVALID_EXC",
    "NOT_FOUND_EXC",
    "Service",
    "ServiceError",
    "User",
    "conflict",
    "invalid",
    "not_found",
    "require_capability",
]


#: node columns the JSON views read (not the backend's private data)
VIEW_COLUMNS = (
    Node.node_id,
    Node.unit_id,
    Node.kind,
    Node.node_no,
    Node.provider,
    Node.state,
    Node.address,
    Node.instance_id,
    Node.boot_date,
    Node.container_date,
    Node.watch_mode,
    Node.error_message,
    Node.volumes,
    Node.disk_size,
    Node.attached_to,
    Node.cdate,
    Node.ssh_port,
)


#: UnitGroup columns the JSON views read (plain rows: building ORM objects costs more
#: than the query on every poll)
VC_VIEW_COLUMNS = (
    Vc.vcid,
    Vc.vcno,
    Vc.name,
    Vc.description,
    Vc.owner,
    Vc.type,
    Vc.deleting,
    Vc.cdate,
    Vc.revision,
)
#: unit columns the JSON views read
UNIT_VIEW_COLUMNS = (
    Unit.id,
    Unit.name,
    Unit.type,
    Unit.provider,
    Unit.state,
    Unit.processing,
    Unit.error_message,
    Unit.info,
    Unit.spec,
    Unit.cdate,
    Unit.mdate,
)


#: default :attr:`Service.batch_size`
NODE_BATCH = 500
#: plans a request makes when other requests claim the addresses it chose first
PLAN_ATTEMPTS = 3


@dataclass
class _Pending:
    """The nodes of a large request still to be written after its first transaction."""

    vcid: str
    unit_id: int
    ids: list[str]
    rows: list[dict[str, Any]]


def require_capability(provider: str, capability: str, action: str) -> None:
    """Refuse ``action`` unless ``provider`` declares ``capability``.

    Args:
        provider: a provider name.
        capability: a field of :class:`vcpsdk.core.providers.Capabilities`.
        action: what the request wanted to do, for the message.

    Raises:
        ServiceError: HTTP 400 naming the provider and the capability.
    """
    if not getattr(get_provider(provider).capabilities, capability):
        raise invalid(
            f"provider {provider} does not support {Capabilities.allows(capability)} "
            f"(capability {capability}), so cannot {action}"
        )


class Service:
    """The controller's use cases over a store and backends.

    Every change of a UnitGroup goes through :func:`vcpsdk.controller.bus.changed`
    (revision bump, long-poll wake-up after the commit).
    """

    def __init__(
        self,
        store: Store,
        backend_for: Callable[[str], Backend],
        wake_worker: Callable[[], None],
        vcc_id: str,
        secrets: SecretBox,
        vault: Vault,
        limits: Limits | None = None,
    ) -> None:
        """Args:
        store: the controller's database.
        backend_for: the backend that provisions a provider.
        wake_worker: tells the worker that operations were queued.
        vcc_id: the controller's id.
        secrets: seals credentials before they are stored.
        vault: the cubbyholes ``vault://`` references are resolved from.
        limits: names, counts and CCI sizes a request may have (default :class:`Limits`).
        """
        self.limits = limits or Limits()
        self.yaml_limits = YamlLimits(self.limits.max_yaml_bytes, self.limits.max_depth)
        self.secrets = secrets
        self.vault = vault
        self.store = store
        self.backend_for = backend_for
        self.wake_worker = wake_worker
        self.vcc_id = vcc_id
        #: nodes (or disks) one transaction writes: a larger request writes the rest in
        #: more transactions, so that other users' writes never wait for all of it
        self.batch_size = NODE_BATCH

    # -- reading ----------------------------------------------------------------------

    @staticmethod
    def _visible(vc: Any, user: User) -> bool:
        """Whether ``user`` may see UnitGroup ``vc`` (a ``Vc`` or a row with its ``owner``)."""
        return vc is not None and (vc.owner == user.name or user.privileged)

    def _visible_vc(self, session: Session, user: User, vcid: str) -> Vc:
        """The caller's UnitGroup ``vcid`` (404 when missing or not theirs).

        In a write transaction it is locked, after its owner: the writes of one user (its
        quota) and then of one UnitGroup (its units' counters and states) take turns,
        whichever replica serves them (see :func:`~vcpsdk.controller.store.database.lock_name`).
        """
        vc = session.get(Vc, vcid)
        if vc is None or not self._visible(vc, user):
            raise not_found(f"{vcid}:vc is not found")
        if writing(session):
            lock_name(session, OWNER_LOCKS, vc.owner)
            vc = session.get(Vc, vcid, with_for_update=True, populate_existing=True)
            if vc is None or not self._visible(vc, user):
                raise not_found(f"{vcid}:vc is not found")
        return vc

    def _unit(self, session: Session, vc: Vc, unit_name: str) -> Unit:
        unit = session.scalar(select(Unit).where(Unit.vcid == vc.vcid, Unit.name == unit_name))
        if unit is None:
            raise not_found(f"{vc.vcid}:{unit_name}:| unit is not found")
        return unit

    def _vc_type(self, user: User, vcid: str) -> str | None:
        """The type of the caller's UnitGroup ``vcid``, or None when it is not visible."""
        with self.store.read() as session:
            vc = session.get(Vc, vcid)
            return vc.type if vc is not None and self._visible(vc, user) else None

    def _locate(self, session: Session, user: User, vcid: str, unit_name: str) -> tuple[Vc, Unit]:
        """The caller's UnitGroup ``vcid`` and its unit ``unit_name`` (404 when either is missing)."""
        vc = self._visible_vc(session, user, vcid)
        return vc, self._unit(session, vc, unit_name)

    def _locate_node(
        self, session: Session, user: User, vcid: str, unit_name: str, node_id: str
    ) -> tuple[Vc, Unit, Node]:
        """:meth:`_locate` and the unit's node (or disk) ``node_id`` (404 when missing)."""
        vc, unit = self._locate(session, user, vcid, unit_name)
        return vc, unit, self._node(session, unit, node_id)

    def list_vcs(self, user: User) -> dict[str, Any]:
        """``{"vcs": [...]}``: the caller's UnitGroups, or all of them when privileged."""
        with self.store.read() as session:
            query = select(*VC_VIEW_COLUMNS).order_by(Vc.vcno)
            if not user.privileged:
                query = query.where(Vc.owner == user.name)
            vcs = list(session.execute(query))
            return {"vcs": self._vcs_json(session, vcs)}

    def get_vc(self, user: User, vcid: str) -> dict[str, Any]:
        """One UnitGroup with its units and nodes; 404 once it is gone."""
        with self.store.read() as session:
            vc = session.execute(select(*VC_VIEW_COLUMNS).where(Vc.vcid == vcid)).first()
            if vc is None or not self._visible(vc, user):
                raise not_found(f"{vcid}:vc is not found")
            return self._vcs_json(session, [vc])[0]

    def get_unit(self, user: User, vcid: str, unit_name: str) -> dict[str, Any]:
        """One unit with its nodes (or disks)."""
        with self.store.read() as session:
            # one query for both (plain rows): the group, and its unit if there is one
            query = (
                select(Vc.vcid, Vc.owner, Vc.revision, *UNIT_VIEW_COLUMNS)
                .outerjoin(Unit, (Unit.vcid == Vc.vcid) & (Unit.name == unit_name))
                .where(Vc.vcid == vcid)
                .limit(1)
            )
            found = session.execute(query).first()
            if found is None or not self._visible(found, user):
                raise not_found(f"{vcid}:vc is not found")
            if found.id is None:
                raise not_found(f"{vcid}:{unit_name}:| unit is not found")
            nodes = self._node_rows(session, Node.unit_id == found.id)
            body = self._unit_json(found, found, nodes)
            body["revision"] = found.revision
            return body

    def get_node(self, user: User, vcid: str, unit_name: str, node_id: str) -> dict[str, Any]:
        """One node (or disk)."""
        with self.store.read() as session:
            vc, unit, node = self._locate_node(session, user, vcid, unit_name, node_id)
            return self._node_json(vc, node, unit.spec.get("ssh_user_name") or "root")

    def revision(self, vcid: str) -> int | None:
        """Current change counter of a UnitGroup (None once it is gone)."""
        with self.store.read() as session:
            rev: int | None = session.scalar(select(Vc.revision).where(Vc.vcid == vcid))
            return rev

    # -- JSON ---------------------------------------------------------------------------

    def _vcs_json(self, session: Session, vcs: list[Any]) -> list[dict[str, Any]]:
        """JSON of UnitGroups (rows of :data:`VC_VIEW_COLUMNS`) with their units and nodes."""
        if not vcs:
            return []
        ids = [vc.vcid for vc in vcs]
        units_by_vc: dict[str, list[Any]] = defaultdict(list)
        unit_rows = select(Unit.vcid, *UNIT_VIEW_COLUMNS).where(Unit.vcid.in_(ids)).order_by(Unit.id)
        for unit in session.execute(unit_rows):
            units_by_vc[unit.vcid].append(unit)
        nodes_by_unit: dict[int, list[Any]] = defaultdict(list)
        for node in self._node_rows(session, Node.vcid.in_(ids)):
            nodes_by_unit[node.unit_id].append(node)
        result = []
        for vc in vcs:
            units = units_by_vc[vc.vcid]
            result.append(
                {
                    "vcid": vc.vcid,
                    "vcno": vc.vcno,
                    "name": vc.name,
                    "description": vc.description,
                    "owner": vc.owner,
                    "type": vc.type,
                    "state": self._vc_state(vc, units),
                    "cdate": format_date(vc.cdate),
                    "vcc_id": self.vcc_id,
                    "error_message": "",
                    "revision": vc.revision,
                    "unit": [self._unit_json(vc, u, nodes_by_unit[u.id]) for u in units],
                }
            )
        return result

    @staticmethod
    def _node_rows(session: Session, condition: Any) -> list[Any]:
        """Node rows for JSON views: plain rows (same attribute names as ``Node``),
        because building ORM objects dominates the cost of large units."""
        query = select(*VIEW_COLUMNS).where(condition).order_by(Node.node_no)
        return list(session.execute(query))

    @staticmethod
    def _vc_state(vc: Any, units: list[Any]) -> str:
        if vc.deleting:
            return S.DELETING
        if any(u.state == S.ERROR for u in units):
            return S.ERROR
        if any(u.processing for u in units):
            return S.APPLYING
        return S.RUNNING

    def _unit_json(self, vc: Any, unit: Any, nodes: list[Any]) -> dict[str, Any]:
        """JSON of a unit (a ``Unit`` or a row of :data:`UNIT_VIEW_COLUMNS`) of UnitGroup
        ``vc`` (anything with its ``vcid``) and its ``nodes``."""
        body: dict[str, Any] = {
            "name": unit.name,
            "type": unit.type,
            "provider": unit.provider,
            "state": unit.state,
            "error_message": unit.error_message,
            "info": info_text(unit.info),  # YAML text, as the original client expects
            "cdate": format_date(unit.cdate),
            "mdate": unit.mdate.isoformat() + "Z",
        }
        key = "disk" if unit.type == "storage" else "node"
        ssh_user = unit.spec.get("ssh_user_name") or "root"
        body[key] = [self._node_json(vc, n, ssh_user) for n in nodes]
        return body

    def _node_json(self, vc: Any, node: Any, ssh_user: str = "root") -> dict[str, Any]:
        """JSON of a node or disk (an ORM ``Node`` or a row of its table)."""
        if node.kind == "storage":
            return {
                "disk_no": node.node_no,
                "disk_id": node.node_id,
                "in_use": node.attached_to is not None,
                "cdate": format_date(node.cdate),
                "cloud_disk_id": node.instance_id,
                "cloud_disk_size": node.disk_size,
                "name": self.instance_name(vc.vcid),
                "provider": node.provider,
                "state": node.state,
                "error_message": node.error_message,
            }
        return {
            "node_no": node.node_no,
            "node_id": node.node_id,
            "cloud_instance_address": node.address or "",
            "cloud_instance_id": node.instance_id,
            "cloud_instance_name": self.instance_name(vc.vcid),
            "volumes": node.volumes or [],
            "boot_date": format_date(node.boot_date),
            "container_date": format_date(node.container_date),
            "watch_mode": node.watch_mode,
            "name": self.instance_name(vc.vcid),
            "provider": node.provider,
            "state": node.state,
            "error_message": node.error_message,
            "ssh_port": node.ssh_port or 22,
            "ssh_user_name": ssh_user,
        }

    def instance_name(self, vcid: str) -> str:
        """Cloud instance name: ``VCP-<controller id[:8]>-<vcid[:8]>``."""
        return f"VCP-{self.vcc_id[:8]}-{vcid[:8]}"

    # -- UnitGroups -----------------------------------------------------------------------

    @retry_transient
    def create_vc(self, user: User, cci: Any) -> dict[str, Any]:
        """Create an empty UnitGroup from an empty-VC CCI; returns ``{"vcid": ...}``."""
        name, vc_type, description = self._vc_cci(cci)
        vcid = uuid.uuid4().hex
        with self.store.transaction() as session:
            session.add(
                vc := Vc(
                    vcid=vcid,
                    vcno=self.store.next_vcno(session),
                    name=name,
                    owner=user.name,
                    type=vc_type,
                    description=description,
                    cdate=utcnow(),
                    revision=0,
                )
            )
            changed(session, vc)
        return {"vcid": vcid}

    @retry_transient
    def update_vc(self, user: User, vcid: str, cci: Any) -> dict[str, Any]:
        """Rename a UnitGroup (PUT of an empty-VC CCI); its type cannot change."""
        name, vc_type, description = self._vc_cci(cci)
        with self.store.transaction() as session:
            vc = self._visible_vc(session, user, vcid)
            if vc_type != vc.type:
                raise invalid(f"{vcid}:vc type cannot change from {vc.type} to {vc_type}")
            vc.name = name
            vc.description = description
            changed(session, vc)
        return {"vcid": vcid}

    def _vc_cci(self, cci: Any) -> tuple[str, str, str]:
        """The checked empty-VC CCI (400 naming the field or the limit)."""
        try:
            name, vc_type, description = parse_vc_cci(cci, self.yaml_limits)
        except CciError as e:
            raise invalid(str(e)) from None
        self._check_name("vc.name", name)
        return name, vc_type, description

    def _check_name(self, what: str, name: str) -> None:
        """Refuse a UnitGroup or unit name longer than ``max_name_length`` (400)."""
        if len(name) > self.limits.max_name_length:
            raise over_limit(
                f"{what} ({len(name)} characters)", "max_name_length", self.limits.max_name_length
            )

    def _check_counts(
        self,
        session: Session,
        vc: Vc,
        unit_id: int | None,
        count: int,
        disks: int = 0,
        requested: str = "",
    ) -> None:
        """Refuse ``count`` new nodes (or disks) over a per-request, per-unit or per-user limit.

        Args:
            session: the write transaction.
            vc: the UnitGroup (its owner's quota counts).
            unit_id: the unit they join (None: a new unit).
            count: how many are created.
            disks: how many disks each attaches.
            requested: the field the caller sent, as the message shows it (default
                ``num_nodes=<count>``; ``num_disks=<count>`` for a disk unit).

        Raises:
            ServiceError: 400 naming the limit and its value.
        """
        limits = self.limits
        in_unit = 0
        if unit_id is not None and limits.max_nodes_per_unit:
            in_unit = session.scalar(select(func.count(Node.node_id)).where(Node.unit_id == unit_id)) or 0
        checks = [
            (requested or f"num_nodes={count}", "max_nodes_per_request", count, limits.max_nodes_per_request),
            (f"{disks} disks per node", "max_disks_per_node", disks, limits.max_disks_per_node),
            (
                f"{in_unit} + {count} nodes of the unit",
                "max_nodes_per_unit",
                in_unit + count,
                limits.max_nodes_per_unit,
            ),
        ]
        for what, name, value, limit in checks:
            if limit and value > limit:
                raise over_limit(what, name, limit)
        if limits.max_nodes_per_user and count:
            owned = self._owned_count(session, vc.owner)
            if owned + count > limits.max_nodes_per_user:
                what = f"{owned} + {count} nodes and disks of user {vc.owner}"
                raise over_limit(what, "max_nodes_per_user", limits.max_nodes_per_user)

    @retry_transient
    def change_owner(self, user: User, vcid: str, body: dict[str, Any]) -> dict[str, Any]:
        """PATCH ``{"owner": new, "operation": "change_owner"}``."""
        if body.get("operation") != "change_owner":
            raise invalid(f"operation[{body.get('operation')}] is unknown; allowed: change_owner")
        new_owner = body.get("owner")
        if not isinstance(new_owner, str) or not new_owner:
            raise invalid("owner must be a non-empty user name")
        with self.store.transaction() as session:
            vc = self._visible_vc(session, user, vcid)
            if new_owner != vc.owner:
                lock_name(session, OWNER_LOCKS, new_owner)  # its quota is checked next
                self._check_new_owner(session, vc, new_owner)
            vc.owner = new_owner
            changed(session, vc)
        return {"vcid": vcid}

    @staticmethod
    def _owned_count(session: Session, owner: str) -> int:
        """Nodes and disks of all the UnitGroups of ``owner`` (what ``max_nodes_per_user`` counts)."""
        query = select(func.count(Node.node_id)).join(Vc, Vc.vcid == Node.vcid).where(Vc.owner == owner)
        return session.scalar(query) or 0

    def _check_new_owner(self, session: Session, vc: Vc, new_owner: str) -> None:
        """Refuse to give ``vc`` to ``new_owner`` unless it is a user of this controller and
        its nodes and disks fit in that user's ``max_nodes_per_user`` quota.

        Both refusals have the same text, so that the answer never tells whether a user
        exists (the caller learns only "cannot take it"); the text names the limit.

        Raises:
            ServiceError: 400 naming ``owner`` and ``max_nodes_per_user``.
        """
        quota = self.limits.max_nodes_per_user
        known = session.scalar(select(Token.id).where(Token.user_name == new_owner).limit(1))
        fits = known is not None
        if fits and quota:
            moved = session.scalar(select(func.count(Node.node_id)).where(Node.vcid == vc.vcid)) or 0
            fits = self._owned_count(session, new_owner) + moved <= quota
        if not fits:
            raise invalid(
                f"owner[{new_owner}] cannot take this UnitGroup: not a user of this controller, "
                f"or its nodes and disks would put that user over the limit max_nodes_per_user={quota}"
            )

    @retry_transient
    def delete_vc(self, user: User, vcid: str, force: bool) -> dict[str, Any]:
        """Delete a UnitGroup; with ``force`` its units (and their nodes) first.

        Storage units whose disks are still attached stay, and so does their group.
        """
        with self.store.transaction() as session:
            vc = self._visible_vc(session, user, vcid)
            units = list(session.scalars(select(Unit).where(Unit.vcid == vcid)))
            changed(session, vc)  # waiting readers see the new state, or the 404 once it is gone
            if not units:
                session.execute(delete(Operation).where(Operation.vcid == vcid))
                session.delete(vc)
                deleted = True
            else:
                if not force:
                    raise conflict(f"{vcid}:| vc has {len(units)} unit(s), so cannot delete without force")
                queued = [u for u in units if self._start_unit_delete(session, vc, u)]
                vc.deleting = bool(queued)
                deleted = False
        if not deleted:
            self.wake_worker()
        return {"vcid": vcid}

    # -- units ---------------------------------------------------------------------------

    @retry_transient
    def add_unit(self, user: User, vcid: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``{"info": base64 unit CCI, "unit_name": name}``: create a unit and its nodes."""
        try:
            unit_name = check_unit_name(body.get("unit_name"))
            self._check_name("unit_name", unit_name)
            # the UnitGroup's type tells a disk unit (cloud_provider: aws) from a node unit
            spec = parse_unit_cci(body.get("info"), self._vc_type(user, vcid), self.yaml_limits)
            self.secrets.open(spec.cloud_params)  # a value sealed with another key is refused here
        except (CciError, ValueError) as e:
            raise invalid(str(e)) from None
        _check_cci_name(unit_name, spec.document)
        backend = self.backend_for(spec.provider)
        self._check_capabilities(
            spec.provider, spec.unit_type, spec.ip_addresses, spec.disks, spec.cloud_params
        )
        if backend.uses_credentials:  # a cloud needs them: vault:// → the user's cubbyhole
            spec.cloud_params = self.vault.resolve(user, spec.provider, spec.cloud_params)
        # sealing and redacting (crypto, YAML) before the transaction: it stays short
        info = self.secrets.redact_info(spec.provider, spec.document)
        sealed = self.secrets.seal(spec.provider, spec.cloud_params)
        with self.store.transaction() as session:
            vc = self._visible_vc(session, user, vcid)
            if vc.deleting:
                raise conflict(f"{vcid}:| vc is now deleting, so cannot add unit")
            if spec.unit_type != vc.type:
                raise invalid(
                    f"{vcid}:{unit_name}:| provider {spec.provider} makes {spec.unit_type} units "
                    f"but the UnitGroup type is {vc.type}"
                )
            exists = session.scalar(select(Unit.id).where(Unit.vcid == vcid, Unit.name == unit_name))
            if exists is not None:
                raise conflict(f"{vcid}:{unit_name}:| unit already exists")
            unit = Unit(
                vcid=vcid,
                name=unit_name,
                type=spec.unit_type,
                provider=spec.provider,
                state=S.RUNNING,
                cdate=utcnow(),
                mdate=utcnow(),
                # credentials never reach the store in clear (see controller/secrets.py)
                info=info,
                spec={
                    "provider": spec.provider,
                    "private_network": spec.private_network,
                    "image": spec.image,
                    "params_v": spec.params_v,
                    "params_e": spec.params_e,
                    "docker_opt": spec.docker_opt,
                    "cloud_params": sealed,
                    "ssh_user_name": spec.ssh_user_name,
                    "disks": spec.disks,
                    "last_node_no": 0,
                },
            )
            if spec.disks and spec.count != 1:
                raise invalid(
                    f"disks (volume_id) can be attached only to a unit of one node; num_nodes={spec.count}"
                )
            count_field = "num_disks" if spec.unit_type == "storage" else "num_nodes"
            self._check_counts(session, vc, None, spec.count, len(spec.disks), f"{count_field}={spec.count}")
            self._check_hosting(backend, vc, spec.unit_type, spec.count)
            session.add(unit)
            session.flush()
            pending = None
            if spec.count:
                _, pending = self._queue_new_nodes(
                    session,
                    user,
                    vc,
                    unit,
                    spec.count,
                    spec.ip_addresses,
                    spec.disks,
                    S.CREATING if spec.unit_type == "storage" else S.BOOTING,
                    spec.mac_addresses,
                )
            changed(session, vc)
        self._write_rest(pending, new_unit=True)
        self.wake_worker()
        return {"vcid": vcid, "unit_name": unit_name}

    @staticmethod
    def _check_hosting(backend: Backend, vc: Vc, unit_type: str, count: int) -> None:
        """Refuse new nodes the backend would not host for the UnitGroup's owner (a sandbox
        that cannot confine nodes while another user's exist): 400 before anything is made."""
        if unit_type != "compute" or not count:
            return
        try:
            backend.check_hosting(vc.owner)
        except InvalidRequest as e:
            raise invalid(str(e)) from None

    @staticmethod
    def _check_capabilities(
        provider: str, unit_type: str, ips: list[str], disks: list[str], cloud_params: dict[str, Any]
    ) -> None:
        """Refuse what ``provider`` does not declare (400 naming provider and capability)."""
        if unit_type == "storage":
            require_capability(provider, "disk_api", "create disks")
        if ips:
            require_capability(provider, "fixed_ip", "set ip_addresses")
        if disks:
            require_capability(provider, "attach_volume", "attach disks")
        if cloud_params.get("tags"):
            require_capability(provider, "tag", "set tags")

    @retry_transient
    def add_nodes(self, user: User, vcid: str, unit_name: str, body: dict[str, Any]) -> dict[str, Any]:
        """PUT ``{"ip_address_list", "mac_address_list", "num_nodes"}``: add nodes or disks."""
        ips = body.get("ip_address_list")
        macs = body.get("mac_address_list")
        if not isinstance(ips, list | None) or not isinstance(macs, list | None):
            raise invalid("ip_address_list must array")
        ips, macs = ips or [], macs or []
        if ips and macs and len(ips) != len(macs):
            raise invalid("mac_address_list and ip_address_list has element but their length are different")
        num_nodes = body.get("num_nodes")
        count = len(ips) or len(macs) or (1 if num_nodes is None else num_nodes)  # null: 1
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise invalid(f"num_nodes must be an integer >= 1, got {count!r}")
        requested = _check_address_lists(num_nodes, ips, macs)
        with self.store.transaction() as session:
            vc, unit = self._locate(session, user, vcid, unit_name)
            self._check_idle(vc, unit)
            self._check_counts(session, vc, unit.id, count, requested=requested)
            self._check_hosting(self.backend_for(unit.provider), vc, unit.type, count)
            if ips and unit.type != "storage":
                require_capability(unit.provider, "fixed_ip", "add nodes with ip_address_list")
            if unit.type == "storage" and ips:
                raise invalid("can't set ip_address(es) to storage")
            if unit.spec.get("disks"):
                raise invalid(
                    f"{vcid}:{unit_name}:| unit attaches disks (spec.disks); a disk can be "
                    "attached to one node only, so nodes cannot be added"
                )
            state = S.CREATING if unit.type == "storage" else S.INDEFINITE
            new_ids, pending = self._queue_new_nodes(
                session,
                user,
                vc,
                unit,
                count,
                [str(ip) for ip in ips],
                [],
                S.CREATING if unit.type == "storage" else S.BOOTING,
                [str(m) for m in macs],
            )
            unit.state = state
            changed(session, vc)
        self._write_rest(pending, new_unit=False)
        self.wake_worker()
        return {"vcid": vcid, "unit_name": unit_name, "node_ids": new_ids}

    def _queue_new_nodes(
        self,
        session: Session,
        user: User,
        vc: Vc,
        unit: Unit,
        count: int,
        fixed_ips: list[str],
        disk_refs: list[str],
        state: str,
        mac_addresses: list[str] | None = None,
    ) -> tuple[list[str], _Pending | None]:
        """Plan and write the new nodes (or disks) of ``unit``; queue their creation.

        Up to :attr:`batch_size` rows go in this transaction; a larger request returns
        the rest as a :class:`_Pending` for :meth:`_write_rest` after this commit.
        """
        backend = self.backend_for(unit.provider)
        spec = dict(unit.spec)
        first_no = spec.get("last_node_no", 0) + 1
        kind = unit.type
        ids = [uuid.uuid4().hex for _ in range(count)]
        if kind == "compute":
            catalog = self.catalog_entry(backend, unit.provider, spec["private_network"])
            addresses = self._plan_addresses(session, backend, vc, unit, catalog, fixed_ips, ids)
            disks = self._claim_disks(session, user, disk_refs, count)
        else:
            addresses = [None] * count
            disks = []
        size = self._disk_size(unit) if kind == "storage" else None
        now = utcnow()
        rows = [
            {
                "node_id": node_id,
                "unit_id": unit.id,
                "vcid": vc.vcid,
                "kind": kind,
                "node_no": first_no + i,
                "provider": unit.provider,
                "state": state,
                "address": addresses[i],
                "disk_refs": [d.node_id for d in disks],
                "disk_size": size,
                "cdate": now,
                "backend_data": {"mac_address": mac_addresses[i]} if mac_addresses else {},
            }
            for i, node_id in enumerate(ids)
        ]
        session.execute(insert(Node), rows[: self.batch_size])
        for disk in disks:
            disk.attached_to = ids[0]
        spec["last_node_no"] = first_no + count - 1
        unit.spec = spec
        unit.processing = True
        unit.state = state
        unit.error_message = ""
        unit.mdate = utcnow()
        rest = rows[self.batch_size :]
        if not rest:
            session.add(Operation(vcid=vc.vcid, unit_id=unit.id, kind="create", node_ids=ids))
            return ids, None
        # the rest goes in later transactions (see _write_rest); its addresses are claimed
        # already (_plan_addresses), so other requests do not choose them meanwhile
        return ids, _Pending(vc.vcid, unit.id, ids, rest)

    @staticmethod
    def _plan_addresses(
        session: Session,
        backend: Backend,
        vc: Vc,
        unit: Unit,
        catalog: dict[str, Any],
        fixed_ips: list[str],
        ids: list[str],
    ) -> list[str | None]:
        """Choose and claim the addresses of the new nodes ``ids`` (one per node, in order).

        The planners of all replicas take turns (:func:`planning_lock`) and plan from the
        addresses the database says are in use; every chosen address is claimed in this
        transaction, also those of nodes a large request writes later.  Should the database
        refuse a claim all the same, the request plans again (the refused address is in
        use by then) up to :data:`PLAN_ATTEMPTS` times.

        The planning lock is taken after the request's owner and UnitGroup locks
        (:meth:`_visible_vc`) and held only from here to the commit: meanwhile the
        request claims addresses, writes its own nodes and changes its own unit and
        UnitGroup, rows no other planner waits for, so planners never wait for each other
        in a circle.  Each statement sees what committed before it (PostgreSQL's read
        committed), so the claims of the planner before are seen.

        Returns:
            One entry per node of ``ids``: its address, or None when the cloud assigns it.

        Raises:
            ServiceError: 400 naming a bad or taken fixed address (``ip_address[...] is not
                available``) or a full network; 409 naming the addresses other requests kept
                claiming first.
        """
        planning_lock(session)
        taken: list[str] = []
        for _ in range(PLAN_ATTEMPTS):
            in_use = addresses_in_use(session)
            try:
                addresses = backend.plan_addresses(unit.provider, catalog, fixed_ips, len(ids), in_use)
            except InvalidRequest as e:
                raise invalid(f"{vc.vcid}:{unit.name}:| {e}") from None
            try:
                claim_addresses(session, [(a, n) for a, n in zip(addresses, ids, strict=False) if a])
            except AddressTaken as e:
                taken = e.addresses
                continue
            return addresses
        raise conflict(
            f"{vc.vcid}:{unit.name}:| address(es) {', '.join(taken)} were claimed by other "
            "requests at the same moment; send the request again"
        )

    def _write_rest(self, pending: _Pending | None, new_unit: bool) -> None:
        """Write the nodes of a large request in batches of :attr:`batch_size`, each in its
        own short transaction (other users' writes take their turn in between), then queue
        its operation.  On failure, what the request made is removed again.

        Raises:
            ServiceError: 409 when the unit was deleted meanwhile.
        """
        if pending is None:
            return
        try:
            for start in range(0, len(pending.rows), self.batch_size):
                self._write_batch(pending, pending.rows[start : start + self.batch_size])
            with self.store.transaction() as session:
                # the UnitGroup locked first, in the one lock order of requests and the worker
                vc = session.get(Vc, pending.vcid, with_for_update=True)
                unit = session.get(Unit, pending.unit_id)
                if vc is None or unit is None or unit.state == S.DELETING:
                    raise conflict(f"{pending.vcid}:| unit was deleted while its nodes were being made")
                session.add(
                    Operation(vcid=pending.vcid, unit_id=pending.unit_id, kind="create", node_ids=pending.ids)
                )
                changed(session, vc)
        except BaseException:
            self._undo_new_nodes(pending, new_unit)
            raise

    def _write_batch(self, pending: _Pending, rows: list[dict[str, Any]]) -> None:
        """One batch of a large request's nodes, in its own transaction."""
        with self.store.transaction() as session:
            unit = session.get(Unit, pending.unit_id)
            if unit is None or unit.state == S.DELETING:
                raise conflict(f"{pending.vcid}:| unit was deleted while its nodes were being made")
            session.execute(insert(Node), rows)

    def _undo_new_nodes(self, pending: _Pending, new_unit: bool) -> None:
        """Remove the nodes a failed large request made (and its unit, if it made it) and
        free the addresses claimed for all of its nodes."""
        with self.store.transaction() as session:
            session.get(Vc, pending.vcid, with_for_update=True)  # the one lock order (see above)
            session.execute(delete(Node).where(Node.node_id.in_(pending.ids)))
            release_addresses(session, pending.ids)
            unit = session.get(Unit, pending.unit_id)
            if unit is not None and unit.state != S.DELETING:
                if new_unit:
                    session.delete(unit)
                else:
                    unit.processing = False
                    states = session.scalars(select(Node.state).where(Node.unit_id == unit.id))
                    unit.state = S.aggregate_state(list(states))
            vc = session.get(Vc, pending.vcid)
            if vc is not None:
                changed(session, vc)

    @staticmethod
    def _disk_size(unit: Unit) -> int:
        decl = get_provider(unit.provider)
        params = unit.spec["cloud_params"]
        for f in decl.fields:
            if f.kind is int and f.name != "block_duration_minutes":
                return int(params.get(f.key, f.default))
        return 0

    def _claim_disks(self, session: Session, user: User, refs: list[str], count: int) -> list[Node]:
        if not refs:
            return []
        if len(set(refs)) != len(refs):
            raise invalid(f"volume_id lists the same disk twice: {', '.join(refs)}")
        if count != 1:
            raise invalid(f"disks (volume_id) can be attached only to a unit of one node; num_nodes={count}")
        disks = []
        for ref in refs:
            disk = self._find_disk(session, user, ref)
            if disk in disks:
                raise invalid(f"volume_id names disk {disk.instance_id} twice")
            if disk.state != S.RUNNING:
                raise conflict(f"volume_id[{ref}]: disk is {disk.state}, so cannot attach")
            if disk.attached_to is not None:
                raise conflict(f"volume_id[{ref}]: disk is in-use, so cannot attach")
            disks.append(disk)
        return disks

    def _find_disk(self, session: Session, user: User, ref: str) -> Node:
        """The disk a ``volume_id`` entry names: ``vcp:<vcid>:<unit>:<disk_id>`` or the
        cloud volume id itself (``cloud_disk_id``, as 2018 notebooks pass it)."""
        if ref.startswith("vcp:"):
            parts = ref.split(":")
            if len(parts) != 4:
                raise invalid(f"volume_id[{ref}] must look like vcp:<vcid>:<unit>:<disk_id>")
            _, disk_vcid, disk_unit, disk_id = parts
            disk = session.get(Node, disk_id)
            if disk is not None and (
                disk.vcid != disk_vcid or getattr(session.get(Unit, disk.unit_id), "name", None) != disk_unit
            ):
                disk = None
        else:
            disk = session.scalar(
                select(Node).where(Node.kind == "storage", Node.instance_id == ref).limit(1)
            )
        owner_vc = session.get(Vc, disk.vcid) if disk is not None else None
        if (
            disk is None
            or disk.kind != "storage"
            or owner_vc is None
            or (owner_vc.owner != user.name and not user.privileged)
        ):
            raise invalid(
                f"volume_id[{ref}]: no such disk; use storage_ugroup.find_nodes() or a "
                "cloud_disk_id of one of your disks"
            )
        return disk

    @staticmethod
    def catalog_entry(backend: Backend, provider: str, name: str) -> dict[str, Any]:
        """The VPN catalog entry ``name`` of ``provider`` (its base provider for disks)."""
        catalog = backend.vpn_catalog()
        decl = get_provider(provider)
        for key in (provider, decl.config_section):
            if key and key in catalog:
                entries = catalog[key]
                if name not in entries:
                    raise invalid(
                        f"private_network[{name}] is not in the vpn_catalog of provider "
                        f"{provider}; known: {', '.join(entries)}"
                    )
                return dict(entries[name] or {})
        raise invalid(f"provider {provider} has no vpn_catalog entry on this controller")

    @staticmethod
    def _check_idle(vc: Vc, unit: Unit) -> None:
        if vc.deleting:
            raise conflict(f"{vc.vcid}:{unit.name}:| Conflict: vc is now deleting, so cannot apply")
        if unit.processing:
            raise conflict(f"{vc.vcid}:{unit.name}:| Conflict: unit is now processing, so cannot apply")

    @retry_transient
    def delete_unit(self, user: User, vcid: str, unit_name: str, force: bool) -> dict[str, Any]:
        """DELETE a unit; ``force`` is needed while it still has nodes."""
        with self.store.transaction() as session:
            vc, unit = self._locate(session, user, vcid, unit_name)
            if not force:
                self._check_idle(vc, unit)
                count = session.scalar(select(Node.node_id).where(Node.unit_id == unit.id).limit(1))
                if count is not None:
                    raise conflict(f"{vcid}:{unit_name}:| unit has node(s), so cannot delete without force")
            if not self._start_unit_delete(session, vc, unit):
                raise conflict(
                    f"{vcid}:{unit_name}:| disk(s) of this unit are in-use (attached), "
                    "so cannot delete; delete the compute unit that uses them first"
                )
            changed(session, vc)
        self.wake_worker()
        return {"vcid": vcid, "unit_name": unit_name}

    def _start_unit_delete(self, session: Session, vc: Vc, unit: Unit) -> bool:
        """Queue the deletion of ``unit``; False when attached disks keep it."""
        nodes = list(session.scalars(select(Node).where(Node.unit_id == unit.id)))
        if unit.type == "storage" and any(n.attached_to for n in nodes):
            return False
        if unit.state == S.DELETING:
            return True
        for node in nodes:
            node.state = S.DELETING
        unit.state = S.DELETING
        unit.processing = True
        unit.mdate = utcnow()
        session.add(Operation(vcid=vc.vcid, unit_id=unit.id, kind="delete_unit", node_ids=[]))
        return True

    @retry_transient
    def unit_operation(self, user: User, vcid: str, unit_name: str, op: str) -> dict[str, Any]:
        """PATCH ``/vcs/{vcid}/{unit}/{op}``: apply a node operation to every node of a unit."""
        if op == "clear_processing":
            return self._clear_processing(user, vcid, unit_name)
        with self.store.transaction() as session:
            vc, unit = self._locate(session, user, vcid, unit_name)
            if unit.type != "compute":
                raise invalid(f"{op} only compute unit")
            self._check_idle(vc, unit)
            nodes = list(session.scalars(select(Node).where(Node.unit_id == unit.id)))
            operation = S.NODE_OPERATIONS[op]
            targets = [n for n in nodes if n.state in operation.allowed]
            if not targets:
                raise conflict(
                    f"{vcid}:{unit_name}:| no node is in a state that allows {op} "
                    f"(allowed: {', '.join(sorted(operation.allowed))})"
                )
            self._check_operation(unit, operation)
            self._queue_node_operation(session, vc, unit, nodes, targets, op)
        self.wake_worker()
        return {"vcid": vcid, "unit_name": unit_name}

    def _clear_processing(self, user: User, vcid: str, unit_name: str) -> dict[str, Any]:
        with self.store.transaction() as session:
            vc, unit = self._locate(session, user, vcid, unit_name)
            session.execute(
                update(Operation)
                .where(Operation.unit_id == unit.id, Operation.status == "pending")
                .values(status="failed", error="cleared by clear_processing")
            )
            unit.processing = False
            nodes = list(session.scalars(select(Node).where(Node.unit_id == unit.id)))
            for node in nodes:  # no operation will finish these any more
                if node.state in S.TRANSITIONAL:
                    node.state = S.ERROR
                    node.error_message = "operation cleared by clear_processing"
            unit.state = S.aggregate_state([n.state for n in nodes])
            changed(session, vc)
        return {"vcid": vcid, "unit_name": unit_name}

    # -- nodes ---------------------------------------------------------------------------

    def _node(self, session: Session, unit: Unit, node_id: str) -> Node:
        node = session.get(Node, node_id)
        if node is None or node.unit_id != unit.id:
            raise not_found(f"{unit.vcid}:{unit.name}:{node_id}:| node is not found")
        return node

    @retry_transient
    def delete_node(self, user: User, vcid: str, unit_name: str, node_id: str) -> dict[str, Any]:
        """DELETE one node (or disk)."""
        with self.store.transaction() as session:
            vc, unit, node = self._locate_node(session, user, vcid, unit_name, node_id)
            self._check_idle(vc, unit)
            if node.kind == "storage" and node.attached_to:
                raise conflict(f"{vcid}:{unit_name}:{node_id}:| disk is in-use, so cannot delete")
            nodes = list(session.scalars(select(Node).where(Node.unit_id == unit.id)))
            node.state = S.DELETING
            unit.state = S.DELETING if len(nodes) == 1 else S.INDEFINITE
            unit.processing = True
            unit.mdate = utcnow()
            changed(session, vc)
            session.add(Operation(vcid=vcid, unit_id=unit.id, kind="delete_nodes", node_ids=[node_id]))
        self.wake_worker()
        return {"vcid": vcid, "node_id": node_id}

    @retry_transient
    def node_operation(self, user: User, vcid: str, unit_name: str, node_id: str, op: str) -> dict[str, Any]:
        """PATCH ``/vcs/{vcid}/{unit}/{node}/{op}``."""
        with self.store.transaction() as session:
            vc, unit, node = self._locate_node(session, user, vcid, unit_name, node_id)
            if node.kind != "compute":
                raise invalid(f"{op} only compute node")
            self._check_idle(vc, unit)
            operation = S.NODE_OPERATIONS[op]
            if node.state not in operation.allowed:
                raise conflict(
                    f"{vcid}:{unit_name}:{node_id}:| node is {node.state}, so cannot {op} "
                    f"(allowed from: {', '.join(sorted(operation.allowed))})"
                )
            self._check_operation(unit, operation)
            nodes = list(session.scalars(select(Node).where(Node.unit_id == unit.id)))
            self._queue_node_operation(session, vc, unit, nodes, [node], op)
        self.wake_worker()
        return {"vcid": vcid, "node_id": node_id}

    @staticmethod
    def _check_operation(unit: Unit, operation: S.NodeOperation) -> None:
        """Refuse an operation whose capability the provider lacks, e.g. power without a power API (400).

        Checked after the node states: an operation the node's state forbids stays a
        state conflict (409) on every provider, as the compatibility suite expects.
        """
        if operation.capability is not None:
            require_capability(unit.provider, operation.capability, operation.name)

    def _queue_node_operation(
        self, session: Session, vc: Vc, unit: Unit, nodes: list[Node], targets: list[Node], op: str
    ) -> None:
        operation = S.NODE_OPERATIONS[op]
        if operation.transitional is None:  # watch / unwatch: no state change
            for node in targets:
                node.watch_mode = op == "watch"
            changed(session, vc)
            return
        for node in targets:
            node.state = operation.transitional
        unit.state = operation.transitional if len(targets) == len(nodes) else S.INDEFINITE
        unit.processing = True
        unit.mdate = utcnow()
        changed(session, vc)
        session.add(Operation(vcid=vc.vcid, unit_id=unit.id, kind=op, node_ids=[n.node_id for n in targets]))

    @retry_transient
    def backup_node(self, user: User, vcid: str, unit_name: str, node_id: str) -> dict[str, Any]:
        """GET ``.../backup``: accepted (202); the sandbox keeps no container images."""
        with self.store.transaction() as session:
            _, _, node = self._locate_node(session, user, vcid, unit_name, node_id)
            if node.kind != "compute":
                raise invalid("backup only compute node")
            if node.state != S.RUNNING:
                raise conflict(f"{vcid}:{unit_name}:{node_id}:| node is {node.state}, so cannot backup")
        return {"vcid": vcid, "node_id": node_id}


def _check_cci_name(unit_name: str, document: dict[str, Any]) -> None:
    """Refuse a unit CCI whose ``name`` differs from the request's ``unit_name`` (400 naming both).

    Raises:
        ServiceError: ``unit_name[aaa] and the CCI's unit name[bbb] differ; ...``.
    """
    cci_name = document.get("name")
    if cci_name is not None and str(cci_name) != unit_name:
        raise invalid(
            f"unit_name[{unit_name}] and the CCI's unit name[{cci_name}] differ; "
            "give the same name in both (or leave name out of the CCI)"
        )


def _check_address_lists(num_nodes: Any, ips: list[Any], macs: list[Any]) -> str:
    """Refuse an address list shorter than an explicit ``num_nodes`` (400 naming the fields).

    A list as long as ``num_nodes`` (or longer, as the original SDK sends ``add_server``)
    sets the count; ``num_nodes`` absent or null takes the list's length.

    Returns:
        str: the field that sets the count, as the limit messages show it
        (``num_nodes=3``, ``ip_address_list has 3 entries``).

    Raises:
        ServiceError: ``mac_address_list has 1 entry for num_nodes=3; give one per node``, or
            ``ip_address_list must be a list of strings``.
    """
    for name, values in (("ip_address_list", ips), ("mac_address_list", macs)):
        if not all(isinstance(value, str) for value in values):
            raise invalid(f"{name} must be a list of strings")
    for name, values in (("ip_address_list", ips), ("mac_address_list", macs)):
        if not values:
            continue
        entries = f"{name} has {len(values)} {'entry' if len(values) == 1 else 'entries'}"
        if isinstance(num_nodes, int) and not isinstance(num_nodes, bool) and len(values) < num_nodes:
            raise invalid(f"{entries} for num_nodes={num_nodes}; give one per node")
        return entries
    return f"num_nodes={1 if num_nodes is None else num_nodes}"
