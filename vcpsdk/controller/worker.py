"""The worker: carries queued operations out through the backends.

The ``operations`` table is the queue every replica on the database drains.  A worker
*claims* operations in one transaction (``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL: two replicas never claim the same row) and marks them ``running`` with its
replica id (``claimed_by``) and an attempt number.  Only the oldest unfinished operation
of a unit can be claimed, so operations of one unit run strictly in order whichever
replica runs them; operations of different units run in parallel on a small thread pool.

An operation claimed by a replica whose lease ran out (see :mod:`vcpsdk.controller.replica`)
is claimed again by a live one and run again: backends are idempotent by node id.  Every
write that records an operation's result first locks the row and checks that the claim is
still this attempt's; a replica that was paused past its lease drops its late result.
Operations on a *host-bound* backend (the sandbox: its nodes' endpoints live in one
process) are claimed only by the replica holding that backend's lease.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Select, and_, delete, exists, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased

from vcpsdk.controller.backends.base import (
    Backend,
    BackendError,
    DiskInfo,
    DiskRequest,
    NodeRequest,
    UnitContext,
)
from vcpsdk.controller.bus import changed
from vcpsdk.controller.replica import Membership, live_replicas
from vcpsdk.controller.secrets import SecretBox
from vcpsdk.controller.store import Node, Operation, Store, Unit, Vc, utcnow
from vcpsdk.controller.store.addresses import release_addresses, release_unwritten
from vcpsdk.controller.store.database import driver_message, retry_transient
from vcpsdk.core import states as S
from vcpsdk.core.providers import all_providers

logger = logging.getLogger("vcp.controller")


class ClaimLost(RuntimeError):
    """The operation was claimed again by another replica (this one's lease ran out)."""


class Worker:
    """Drains the ``operations`` table.

    Every change it makes to a UnitGroup goes through :func:`vcpsdk.controller.bus.changed`.
    """

    def __init__(
        self,
        store: Store,
        backend_for: Callable[[str], Backend],
        catalog_entry: Callable[[Backend, str, str], dict[str, Any]],
        secrets: SecretBox,
        membership: Membership,
        threads: int = 8,
    ) -> None:
        """Args:
        store: the controller's database (its ``operations`` table is the queue).
        backend_for: the backend that provisions a provider.
        catalog_entry: the VPN catalog entry of a unit (backend, provider, name).
        secrets: opens the sealed credentials of a unit for its backend.
        membership: this replica (its id marks its claims; its leases say which
            host-bound backends it runs).
        threads: operations of different units that may run at once.
        """
        self.store = store
        self.membership = membership
        self.threads = threads
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vcc-op")
        self.secrets = secrets
        self.backend_for = backend_for
        self.catalog_entry = catalog_entry
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._running = 0  # operations this replica runs now
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._dispatch, name="vcc-dispatch", daemon=True)
        #: operations this replica started, and results it dropped (claimed again elsewhere)
        self.started = 0
        self.dropped = 0

    def start(self) -> None:
        """Release units a crash cut off (when no other replica is alive) and start
        dispatching; interrupted operations are claimed again like any other."""
        if self.membership.live_count() <= 1:  # nobody else can be writing a large request
            with self.store.transaction(background=True) as session:
                self._release_unqueued(session)
                release_unwritten(session)  # addresses claimed for nodes a crash kept unwritten
        self._thread.start()
        self.wake()

    def reconcile(self, providers: list[str] | None = None) -> None:
        """After a restart, align node states with what their backends report (``describe``).

        Args:
            providers: only units of these providers (default: every provider).

        A node whose instance was terminated outside the controller becomes HOST_ERROR with
        a message saying so, rather than failing later with a confusing cloud error.
        """
        with self.store.read() as session:
            query = select(Unit).where(Unit.type == "compute")
            if providers is not None:
                query = query.where(Unit.provider.in_(providers))
            units = list(session.scalars(query))
            work = []
            for unit in units:
                try:
                    backend, ctx = self._context(session, unit)
                except Exception:  # e.g. its catalog entry is gone: leave the unit as it is
                    logger.exception("cannot reconcile unit %s", unit.name)
                    continue
                nodes = list(
                    session.scalars(
                        select(Node).where(Node.unit_id == unit.id, Node.state.in_((S.RUNNING, S.POWER_OFF)))
                    )
                )
                if nodes:
                    work.append((backend, ctx, unit.id, self._requests(session, nodes)))
        for backend, ctx, unit_id, requests in work:
            try:
                reported = backend.describe(ctx, requests)
            except Exception:  # a cloud that does not answer now is asked again next start
                logger.exception("reconciling unit %s failed", ctx.unit_name)
                continue
            if not reported:
                continue
            with self.store.transaction(background=True) as session:
                # the UnitGroup first, as requests and operations lock it: one lock order
                session.get(Vc, ctx.vcid, with_for_update=True)
                for node in session.scalars(select(Node).where(Node.node_id.in_(list(reported)))):
                    state = reported[node.node_id]
                    if state == "DELETED":
                        node.state = S.HOST_ERROR
                        node.error_message = (
                            f"instance {node.instance_id} was terminated outside "
                            "the controller; delete this node"
                        )
                    elif state in (S.RUNNING, S.POWER_OFF):
                        node.state = state
                reconciled = session.get(Unit, unit_id)
                if reconciled is not None and not reconciled.processing:
                    states = list(session.scalars(select(Node.state).where(Node.unit_id == unit_id)))
                    reconciled.state = S.aggregate_state(states)
                vc = session.get(Vc, ctx.vcid)
                if vc is not None:
                    changed(session, vc)

    @staticmethod
    def _release_unqueued(session: Session) -> None:
        """Units left processing with nothing queued: a large request was cut off by a
        crash while it wrote its nodes in batches (its operation is queued last).  Their
        unfinished nodes become ERROR, so that the user can delete them."""
        queued = select(Operation.id).where(Operation.unit_id == Unit.id).exists()
        for unit in session.scalars(select(Unit).where(Unit.processing.is_(True), ~queued)):
            nodes = list(session.scalars(select(Node).where(Node.unit_id == unit.id)))
            for node in nodes:
                if node.state in S.TRANSITIONAL:
                    node.state = S.ERROR
                    node.error_message = "creation interrupted by a controller restart; delete this node"
            unit.processing = False
            unit.state = S.aggregate_state([n.state for n in nodes])
            vc = session.get(Vc, unit.vcid)
            if vc is not None:
                changed(session, vc)

    def sweep_disks(self, backends: list[Backend] | None = None) -> dict[str, list[str]]:
        """After a restart, remove disks no disk row owns (left by a crash mid-creation).

        Asks every backend of a disk provider that can list its own disks
        (``sweep_disks(owned)``, e.g. the sandbox's directories); a disk whose creation
        is still queued keeps its row, so the re-run reuses what the first attempt made.

        Args:
            backends: only these backends (default: every backend of a disk provider).

        Returns:
            the removed disks by provider (only providers where something was removed).
        """
        with self.store.read() as session:
            rows = session.execute(select(Node.node_id, Node.instance_id).where(Node.kind == "storage")).all()
        owned = {value for row in rows for value in row if value}
        removed: dict[str, list[str]] = {}
        seen: set[int] = set()
        for provider in all_providers():
            if provider.unit_type != "storage":
                continue
            try:
                backend = self.backend_for(provider.name)
            except Exception:  # a provider no backend serves here
                continue
            sweep = getattr(backend, "sweep_disks", None)
            if sweep is None or id(backend) in seen or (backends is not None and backend not in backends):
                continue
            seen.add(id(backend))
            gone = sweep(owned)
            if gone:
                logger.warning("removed %d disk(s) without owner: %s", len(gone), ", ".join(gone))
                removed[provider.name] = gone
        return removed

    def wake(self) -> None:
        """Tell the dispatcher that new work may be queued."""
        self._wake.set()

    def stop(self) -> None:
        """Stop dispatching and wait for running operations."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=False)

    def _dispatch(self) -> None:
        failing = False
        while not self._stop.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._start_ready_operations()
            except DBAPIError as error:  # the database is away: said once, tried every second
                if not failing:
                    logger.warning("cannot claim operations: %s", driver_message(error))
                failing = True
                continue
            except Exception:  # keep dispatching whatever one round did
                logger.exception("dispatching operations failed")
            if failing:
                logger.warning("claiming operations again")
            failing = False

    def _hosted_elsewhere(self) -> list[str]:
        """Providers whose backend is host-bound to a lease this replica does not hold."""
        providers = []
        for provider in all_providers():
            try:
                backend = self.backend_for(provider.name)
            except Exception:  # a provider no backend serves: its operations fail when run
                continue
            if backend.host_bound and not self.membership.holds(backend.name):
                providers.append(provider.name)
        return providers

    def _claimable(self, session: Session) -> Select[Operation]:
        """Operations this replica may claim now, oldest first: pending ones and those of
        dead replicas, each the oldest unfinished one of its unit, on a backend it runs."""
        earlier = aliased(Operation)
        blocked = exists().where(
            earlier.unit_id == Operation.unit_id,
            earlier.id < Operation.id,
            earlier.status.in_(("pending", "running")),
        )
        dead_claim = and_(  # this replica's own claims run in its pool, even if its lease looks out
            Operation.claimed_by != self.membership.id, Operation.claimed_by.not_in(live_replicas(session))
        )
        orphaned = and_(Operation.status == "running", or_(Operation.claimed_by.is_(None), dead_claim))
        query = (
            select(Operation)
            .outerjoin(Unit, Unit.id == Operation.unit_id)
            .where(or_(Operation.status == "pending", orphaned), ~blocked)
            .order_by(Operation.id)
        )
        elsewhere = self._hosted_elsewhere()
        if elsewhere:  # a unit that is gone has no provider: anyone may finish its operation
            query = query.where(or_(Unit.provider.is_(None), Unit.provider.not_in(elsewhere)))
        return query

    def _start_ready_operations(self) -> None:
        with self._lock:
            free = self.threads - self._running
        if free <= 0 or not self.membership.alive():  # a stalled heartbeat: others take over
            return
        # a read first: most wake-ups (an operation finished elsewhere) find nothing to
        # claim, and a write transaction would make every request's write wait for nothing
        with self.store.read() as session:
            if session.scalar(self._claimable(session).with_only_columns(Operation.id).limit(1)) is None:
                return
        started: list[tuple[int, int, str]] = []
        with self.store.transaction(background=True) as session:
            claim = self._claimable(session).limit(free).with_for_update(skip_locked=True, of=Operation)
            for op in session.scalars(claim):
                if op.status == "running":
                    logger.warning(
                        "operation %d %s: replica %s stopped renewing its lease; running it again",
                        op.id,
                        op.kind,
                        op.claimed_by,
                    )
                op.status = "running"
                op.claimed_by = self.membership.id
                op.attempt = (op.attempt or 0) + 1
                op.started_at = utcnow()
                started.append((op.id, op.attempt, op.kind))
        # submit only once the claim is committed: a fast operation may finish (and
        # delete its row) before this thread would otherwise commit
        for op_id, attempt, kind in started:
            logger.info(
                "operation %d %s started (attempt %d) on replica %s", op_id, kind, attempt, self.membership.id
            )
            with self._lock:
                self._running += 1
                self.started += 1
            self._pool.submit(self._run, op_id, attempt, kind)

    def _run(self, op_id: int, attempt: int, kind: str) -> None:
        try:
            self._execute(op_id, attempt)
            logger.info("operation %d %s done on replica %s", op_id, kind, self.membership.id)
        except ClaimLost:
            with self._lock:
                self.dropped += 1
            logger.warning(
                "operation %d %s was claimed again by another replica (this one's lease ran out); "
                "its result here is dropped",
                op_id,
                kind,
            )
        except Exception as e:
            if isinstance(e, BackendError):  # its message is masked; the cloud SDK's error may not be
                logger.error("operation %d %s failed on replica %s: %s", op_id, kind, self.membership.id, e)
            else:
                logger.exception("operation %d %s failed on replica %s", op_id, kind, self.membership.id)
            try:
                self._fail(op_id, attempt, e)
            except ClaimLost:
                with self._lock:
                    self.dropped += 1
        finally:
            with self._lock:
                self._running -= 1
            self.wake()

    def _own(self, session: Session, op_id: int, attempt: int) -> Operation:
        """Lock the operation's UnitGroup, then its row, and check that it is still this
        attempt's claim.  (Requests lock the UnitGroup first too: the worker's bookkeeping
        and a request's changes to one UnitGroup take turns, in one lock order.)

        Raises:
            ClaimLost: another replica claimed it again (or finished it) meanwhile.
        """
        vcid = session.scalar(select(Operation.vcid).where(Operation.id == op_id))
        if vcid is not None:
            session.get(Vc, vcid, with_for_update=True, populate_existing=True)
        op = session.get(Operation, op_id, with_for_update=True, populate_existing=True)
        if op is None or op.claimed_by != self.membership.id or op.attempt != attempt:
            raise ClaimLost(op_id)
        return op

    # -- execution ------------------------------------------------------------------------

    def _context(self, session: Session, unit: Unit) -> tuple[Backend, UnitContext]:
        vc = session.get(Vc, unit.vcid)
        assert vc is not None
        backend = self.backend_for(unit.provider)
        # disks need it too (availability zone of an EBS volume...)
        catalog = self.catalog_entry(backend, unit.provider, unit.spec["private_network"])
        spec = dict(unit.spec)
        spec["cloud_params"] = self.secrets.open(spec.get("cloud_params") or {})
        ctx = UnitContext(
            vcid=vc.vcid,
            vc_name=vc.name,
            unit_name=unit.name,
            provider=unit.provider,
            owner=vc.owner,
            spec=spec,
            catalog=catalog,
        )
        return backend, ctx

    @staticmethod
    def _requests(session: Session, nodes: list[Node]) -> list[NodeRequest]:
        requests = []
        for node in nodes:
            disks = []
            for disk_id in node.disk_refs or []:
                disk = session.get(Node, disk_id)
                if disk is not None:
                    disks.append(DiskInfo(disk.node_id, disk.instance_id, dict(disk.backend_data)))
            requests.append(
                NodeRequest(node.node_id, node.node_no, node.address, disks, dict(node.backend_data))
            )
        return requests

    def _execute(self, op_id: int, attempt: int) -> str:
        # read what to do (no write lock held while the backend works)
        with self.store.read() as session:
            op = session.get(Operation, op_id)
            assert op is not None
            vcid = op.vcid
            unit = session.get(Unit, op.unit_id)
            if unit is not None:
                backend, ctx = self._context(session, unit)
                kind, unit_type = op.kind, unit.type
                if kind == "delete_unit":
                    nodes = list(session.scalars(select(Node).where(Node.unit_id == unit.id)))
                else:
                    nodes = list(session.scalars(select(Node).where(Node.node_id.in_(op.node_ids))))
                requests = self._requests(session, nodes)
                disk_requests = [
                    DiskRequest(n.node_id, n.node_no, n.disk_size or 0, dict(n.backend_data)) for n in nodes
                ]
        if unit is None:  # its unit is gone: nothing to do
            gone = delete(Operation).where(Operation.id == op_id)
            self._record(op_id, attempt, lambda session: session.execute(gone))
            return vcid

        if kind == "create":
            if unit_type == "storage":
                results: Any = backend.create_disks(ctx, disk_requests)
            else:
                results = backend.create_nodes(ctx, requests)

            def created(session: Session) -> None:
                self._record_created(session, unit_type, results)
                self._finish(session, op_id)

            self._record(op_id, attempt, created)
        elif kind in ("delete_nodes", "delete_unit"):
            if unit_type == "storage":
                backend.delete_disks(ctx, disk_requests)
            else:
                backend.delete_nodes(ctx, requests)
            if kind == "delete_unit":
                backend.sweep(ctx)

            def deleted(session: Session) -> None:
                self._drop_nodes(session, [r.node_id for r in requests])
                if kind == "delete_unit":
                    self._drop_unit(session, op_id)
                else:
                    self._finish(session, op_id)

            self._record(op_id, attempt, deleted)
        else:
            backend.power(ctx, requests, kind)
            port = backend.node_ssh_port()

            def powered(session: Session) -> None:
                final = S.NODE_OPERATIONS[kind].final
                now = utcnow()
                for node in session.scalars(select(Node).where(Node.node_id.in_(op.node_ids))):
                    if node.state == S.DELETING:
                        continue
                    node.state = final or node.state
                    if final == S.RUNNING:
                        node.container_date = now
                        node.ssh_port = port or node.ssh_port
                        if kind != "resume":
                            node.boot_date = now
                self._finish(session, op_id)

            self._record(op_id, attempt, powered)
        return vcid

    @retry_transient
    def _record(self, op_id: int, attempt: int, record: Callable[[Session], Any]) -> None:
        """Record what the backend did, in one transaction that first checks the claim
        (:meth:`_own`); run again from the start after a deadlock on PostgreSQL."""
        with self.store.transaction(background=True) as session:
            self._own(session, op_id, attempt)
            record(session)

    @staticmethod
    def _record_created(session: Session, unit_type: str, results: list[Any]) -> None:
        # bulk UPDATEs by primary key: one statement for 1000 nodes, no ORM objects
        now = utcnow()
        if unit_type == "storage":
            rows = [
                {
                    "node_id": r.disk_id,
                    "instance_id": r.cloud_disk_id,
                    "disk_size": r.size_gb,
                    "backend_data": dict(r.backend_data),
                }
                for r in results
            ]
        else:
            rows = [
                {
                    "node_id": r.node_id,
                    "instance_id": r.instance_id,
                    "address": r.address,
                    "volumes": list(r.volumes),
                    "backend_data": dict(r.backend_data),
                    "ssh_port": r.ssh_port,
                    "boot_date": now,
                    "container_date": now,
                }
                for r in results
            ]
        if not rows:
            return
        ids = [row["node_id"] for row in rows]
        existing = set(session.scalars(select(Node.node_id).where(Node.node_id.in_(ids))))
        rows = [row for row in rows if row["node_id"] in existing]  # deleted meanwhile
        if rows:
            session.execute(update(Node), rows)
        session.execute(
            update(Node)
            .where(Node.node_id.in_(ids), Node.state.in_((S.BOOTING, S.CREATING)))
            .values(state=S.RUNNING)
            .execution_options(synchronize_session=False)
        )

    @staticmethod
    def _drop_nodes(session: Session, node_ids: list[str]) -> None:
        if not node_ids:
            return
        touched = set(session.scalars(select(Node.vcid).where(Node.attached_to.in_(node_ids))))
        session.execute(update(Node).where(Node.attached_to.in_(node_ids)).values(attached_to=None))
        session.execute(delete(Node).where(Node.node_id.in_(node_ids)))
        release_addresses(session, node_ids)
        for vcid in touched:  # disks detached: their groups changed too
            vc = session.get(Vc, vcid)
            if vc is not None:
                changed(session, vc)

    def _finish(self, session: Session, op_id: int, error: str = "") -> None:
        op = session.get(Operation, op_id)
        assert op is not None
        op.status = "failed" if error else "done"
        unit = session.get(Unit, op.unit_id)
        vc = session.get(Vc, op.vcid)
        if unit is not None:
            more = session.scalar(
                select(Operation.id)
                .where(Operation.unit_id == unit.id, Operation.status == "pending")
                .limit(1)
            )
            unit.processing = more is not None
            if error:
                unit.state = S.ERROR
                unit.error_message = error
            elif not unit.processing:
                node_states = list(session.scalars(select(Node.state).where(Node.unit_id == unit.id)))
                unit.state = S.aggregate_state(node_states)
            unit.mdate = utcnow()
        if vc is not None:
            changed(session, vc)
        session.execute(delete(Operation).where(Operation.id == op_id, Operation.status == "done"))

    def _drop_unit(self, session: Session, op_id: int) -> None:
        op = session.get(Operation, op_id)
        assert op is not None
        unit = session.get(Unit, op.unit_id)
        session.execute(delete(Operation).where(Operation.unit_id == op.unit_id))
        if unit is not None:
            session.delete(unit)
        session.flush()
        vc = session.get(Vc, op.vcid)
        if vc is None:
            return
        changed(session, vc)
        if not vc.deleting:
            return
        remaining = list(session.scalars(select(Unit).where(Unit.vcid == vc.vcid)))
        if not remaining:
            session.execute(delete(Operation).where(Operation.vcid == vc.vcid))
            session.delete(vc)
        elif not any(u.state == S.DELETING for u in remaining):
            vc.deleting = False  # only attached storage units are left: the group stays

    @retry_transient
    def _fail(self, op_id: int, attempt: int, error: Exception) -> str | None:
        stamp = utcnow().strftime("%Y/%m/%d %H:%M:%S")
        with self.store.transaction(background=True) as session:
            op = self._own(session, op_id, attempt)
            unit = session.get(Unit, op.unit_id)
            provider = unit.provider if unit else "?"
            message = f"{stamp} UTC: * provider.{provider}: {error}"
            nodes = session.scalars(select(Node).where(Node.node_id.in_(op.node_ids or [])))
            for node in nodes:
                if node.state in S.TRANSITIONAL:
                    node.state = S.ERROR
                    node.error_message = message
                if op.kind == "create":
                    session.execute(
                        update(Node).where(Node.attached_to == node.node_id).values(attached_to=None)
                    )
            if op.kind == "delete_unit" and unit is not None:
                vc = session.get(Vc, op.vcid)
                if vc is not None:
                    vc.deleting = False
            self._finish(session, op_id, error=message)
            return op.vcid
