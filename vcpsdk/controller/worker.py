"""The worker: carries queued operations out through the backends.

Operations of one unit run strictly in order; operations of different units run in
parallel on a small thread pool.  On start, operations that were running when the
controller stopped are queued again (backends are idempotent by node id).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from vcpsdk.controller.backends.base import (
    Backend,
    BackendError,
    DiskInfo,
    DiskRequest,
    NodeRequest,
    UnitContext,
)
from vcpsdk.controller.bus import changed
from vcpsdk.controller.secrets import SecretBox
from vcpsdk.controller.store import Node, Operation, Store, Unit, Vc, utcnow
from vcpsdk.core import states as S
from vcpsdk.core.providers import all_providers

logger = logging.getLogger("vcp.controller")


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
        threads: int = 8,
    ) -> None:
        """Args:
        store: the controller's database (its ``operations`` table is the queue).
        backend_for: the backend that provisions a provider.
        catalog_entry: the VPN catalog entry of a unit (backend, provider, name).
        secrets: opens the sealed credentials of a unit for its backend.
        threads: operations of different units that may run at once.
        """
        self.secrets = secrets
        self.store = store
        self.backend_for = backend_for
        self.catalog_entry = catalog_entry
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="vcc-op")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._busy_units: set[int] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._dispatch, name="vcc-dispatch", daemon=True)

    def start(self) -> None:
        """Requeue interrupted operations and start dispatching."""
        with self.store.transaction(background=True) as session:
            session.execute(update(Operation).where(Operation.status == "running").values(status="pending"))
            self._release_unqueued(session)
        self.sweep_disks()
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

    def sweep_disks(self) -> dict[str, list[str]]:
        """After a restart, remove disks no disk row owns (left by a crash mid-creation).

        Asks every backend of a disk provider that can list its own disks
        (``sweep_disks(owned)``, e.g. the sandbox's directories); a disk whose creation
        is still queued keeps its row, so the re-run reuses what the first attempt made.

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
            if sweep is None or id(backend) in seen:
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
        while not self._stop.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._start_ready_operations()
            except Exception:  # keep dispatching whatever one round did
                logger.exception("dispatching operations failed")

    def _start_ready_operations(self) -> None:
        started: list[tuple[int, int]] = []
        with self._lock:
            # a read first: most wake-ups (an operation finished) find nothing to start,
            # and a write transaction would make every request's write wait for nothing
            with self.store.read() as session:
                ready = session.scalars(select(Operation.unit_id).where(Operation.status == "pending")).all()
            if not set(ready) - self._busy_units:
                return
            with self.store.transaction(background=True) as session:
                pending = session.scalars(
                    select(Operation).where(Operation.status == "pending").order_by(Operation.id)
                ).all()
                seen: set[int] = set()
                for op in pending:
                    if op.unit_id in self._busy_units or op.unit_id in seen:
                        seen.add(op.unit_id)
                        continue
                    seen.add(op.unit_id)
                    op.status = "running"
                    started.append((op.id, op.unit_id))
            # submit only once "running" is committed: a fast operation may finish (and
            # delete its row) before this thread would otherwise commit
            for op_id, unit_id in started:
                self._busy_units.add(unit_id)
                self._pool.submit(self._run, op_id, unit_id)

    def _run(self, op_id: int, unit_id: int) -> None:
        try:
            self._execute(op_id)
        except BackendError as e:  # its message is masked; the cloud SDK's error it came from may not be
            logger.error("operation %s failed: %s", op_id, e)
            self._fail(op_id, e)
        except Exception as e:
            logger.exception("operation %s failed", op_id)
            self._fail(op_id, e)
        finally:
            with self._lock:
                self._busy_units.discard(unit_id)
            self.wake()

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

    def _execute(self, op_id: int) -> str:
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
            with self.store.transaction(background=True) as session:
                session.execute(update(Operation).where(Operation.id == op_id).values(status="done"))
            return vcid

        if kind == "create":
            if unit_type == "storage":
                results: Any = backend.create_disks(ctx, disk_requests)
            else:
                results = backend.create_nodes(ctx, requests)
            with self.store.transaction(background=True) as session:
                self._record_created(session, unit_type, results)
                self._finish(session, op_id)
        elif kind in ("delete_nodes", "delete_unit"):
            if unit_type == "storage":
                backend.delete_disks(ctx, disk_requests)
            else:
                backend.delete_nodes(ctx, requests)
            if kind == "delete_unit":
                backend.sweep(ctx)
            with self.store.transaction(background=True) as session:
                self._drop_nodes(session, [r.node_id for r in requests])
                if kind == "delete_unit":
                    self._drop_unit(session, op_id)
                else:
                    self._finish(session, op_id)
        else:
            backend.power(ctx, requests, kind)
            port = backend.node_ssh_port()
            with self.store.transaction(background=True) as session:
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
        return vcid

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

    def _fail(self, op_id: int, error: Exception) -> str | None:
        stamp = utcnow().strftime("%Y/%m/%d %H:%M:%S")
        with self.store.transaction(background=True) as session:
            op = session.get(Operation, op_id)
            if op is None:
                return None
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
