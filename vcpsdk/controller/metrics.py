"""The controller's ``/metrics`` in Prometheus' text format (prometheus_client).

Every controller has its own :class:`ControllerMetrics` with its own registry (never the
process-global one: tests run many controllers in one process).  What it exports:

* ``vcc_http_requests_total{method, route, status}`` and
  ``vcc_http_request_duration_seconds{method, route}`` (histogram): every HTTP request,
  labelled with the route *template* (``/vcp/v1/occtr/vcs/{vcid}``), never the path
  itself (:func:`route_template`, from the route table of :mod:`vcpsdk.core.protocol`); a
  path no route matches is counted as ``route="unmatched"``.  Long polls count
  the time they were held.
* ``vcc_backend_calls_total{backend, call}``, ``vcc_backend_errors_total{backend, call,
  error}`` and ``vcc_backend_call_duration_seconds{backend, call}``: the operations the
  controller asks of its backends (``create_nodes``, ``delete_nodes``, ``power``,
  ``create_disks``, ``delete_disks``, ``describe``, ``sweep``), each of which makes one or
  more cloud API requests; ``error`` is the error's class (``CloudQuotaError``...).
* read from the store when scraped (:class:`StoreCollector`, one grouped query per table):
  ``vcc_operations{kind, state}``, ``vcc_operation_queue_depth`` (pending operations),
  ``vcc_operation_queue_oldest_age_seconds``, ``vcc_nodes{provider, kind, state}``,
  ``vcc_replicas`` (live replicas on the database), ``vcc_lease_holder{lease, replica, host, pid}``
  (1 for the live replica holding each lease; ``replica=""`` with 0 when nobody does; ``pid``
  tells replicas of one machine apart) and
  ``vcc_store_up`` (0 when the database could not be read).
* this replica (:class:`ReplicaCollector`): ``vcc_replica_info{replica, host, pid}``,
  ``vcc_replica_lease_held{lease}`` (1 when this replica holds it), and the counters
  ``vcc_replica_operations_started_total``, ``vcc_replica_results_dropped_total`` (late
  results of operations another replica took over) and
  ``vcc_replica_expired_heartbeats_total``; on PostgreSQL the relay's
  ``vcc_relay_notifications_total``, ``vcc_relay_reconnects_total`` and ``vcc_relay_listening``.

No label carries a user name, a UnitGroup or node id, a token or any other value a client
chose: the labels are route templates, methods, statuses, operation kinds, states,
providers, backend names and error classes.  ``vcc serve --metrics`` chooses who may read
it: ``open`` (default, as Prometheus scrapes), ``superuser`` (a superuser token in
``Authorization: Bearer`` or ``x-vcc-access-token``) or ``off`` (404).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Header
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vcpsdk.controller.auth import authenticate
from vcpsdk.controller.errors import AUTH_EXC, ServiceError
from vcpsdk.controller.replica import Membership, database_now
from vcpsdk.controller.store import Lease, Node, Operation, Replica, Store, utcnow
from vcpsdk.core.protocol import BASE_PATH, CUBBYHOLE_PATH, ROUTES, path_pattern

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from vcpsdk.controller.backends.registry import Backends
    from vcpsdk.controller.relay import ChangeRelay
    from vcpsdk.controller.worker import Worker

#: where the metrics are served
METRICS_PATH = "/metrics"
#: who may read ``/metrics`` (``vcc serve --metrics``)
ACCESS_CHOICES = ("open", "superuser", "off")
#: the backend operations that are counted (each makes one or more cloud API requests)
BACKEND_CALLS = ("create_nodes", "delete_nodes", "power", "create_disks", "delete_disks", "describe", "sweep")
#: latency buckets (seconds) of HTTP requests: long polls are held up to 30 s
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: latency buckets (seconds) of backend operations: cloud creates take minutes
BACKEND_BUCKETS = (0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)
logger = logging.getLogger("vcp.controller")


class StoreCollector(Collector):
    """Operations and nodes counted from the store at scrape time (one query per table).

    Args:
        store: the controller's store.
        now: the current UTC time (tests pass a fixed one).
    """

    def __init__(self, store: Store, now: Callable[[], dt.datetime] = utcnow) -> None:
        self.store = store
        self.now = now

    def collect(self) -> Iterable[Metric]:
        """The gauges of operations, the queue and nodes (``vcc_store_up 0`` on a database error)."""
        up = GaugeMetricFamily("vcc_store_up", "1 when the last scrape could read the store, else 0")
        try:
            families = list(self._read())
        except Exception:
            logger.warning("metrics: the store could not be read", exc_info=True)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *families]

    def _read(self) -> Iterator[Metric]:
        with self.store.read() as session:
            operations = session.execute(
                select(
                    Operation.kind, Operation.status, func.count(), func.min(Operation.created_at)
                ).group_by(Operation.kind, Operation.status)
            ).all()
            nodes = session.execute(
                select(Node.provider, Node.kind, Node.state, func.count()).group_by(
                    Node.provider, Node.kind, Node.state
                )
            ).all()
            live = Replica.lease_until > database_now(session)
            replicas = session.execute(select(Replica.id, Replica.host, Replica.pid).where(live)).all()
            leases = session.execute(select(Lease.name, Lease.holder)).all()
        by_state = GaugeMetricFamily(
            "vcc_operations", "Operations by kind and state", labels=["kind", "state"]
        )
        pending, oldest = 0, None
        for kind, status, count, created in operations:
            by_state.add_metric([kind, status], count)
            if status == "pending":
                pending += count
                oldest = created if oldest is None or (created and created < oldest) else oldest
        yield by_state
        yield GaugeMetricFamily("vcc_operation_queue_depth", "Operations waiting to run", value=pending)
        age = max(0.0, (self.now() - oldest).total_seconds()) if oldest else 0.0
        yield GaugeMetricFamily(
            "vcc_operation_queue_oldest_age_seconds",
            "Seconds the oldest pending operation has waited",
            value=age,
        )
        by_node = GaugeMetricFamily(
            "vcc_nodes", "Nodes and disks by provider, kind and state", labels=["provider", "kind", "state"]
        )
        for provider, kind, state, count in nodes:
            by_node.add_metric([provider, kind, state], count)
        yield by_node
        yield GaugeMetricFamily("vcc_replicas", "Live replicas on the database", value=len(replicas))
        where = {replica: (host, str(pid)) for replica, host, pid in replicas}
        holders = GaugeMetricFamily(
            "vcc_lease_holder",
            "The live replica holding each lease",
            labels=["lease", "replica", "host", "pid"],
        )
        for lease, holder in leases:
            if holder in where:
                holders.add_metric([lease, holder, *where[holder]], 1)
            else:
                holders.add_metric([lease, "", "", ""], 0)
        yield holders


class ReplicaCollector(Collector):
    """What this replica does: its id, the leases it holds, the operations it ran.

    Args:
        membership: this replica.
        worker: its worker.
        relay: what hears the other replicas' changes (PostgreSQL), if any.
    """

    def __init__(self, membership: Membership, worker: Worker, relay: ChangeRelay | None = None) -> None:
        self.membership = membership
        self.worker = worker
        self.relay = relay

    def collect(self) -> Iterable[Metric]:
        """The replica's info, lease and worker metrics (read from memory, no query)."""
        info = GaugeMetricFamily(
            "vcc_replica_info", "This replica (value 1)", labels=["replica", "host", "pid"]
        )
        info.add_metric([self.membership.id, self.membership.host, str(os.getpid())], 1)
        held = GaugeMetricFamily(
            "vcc_replica_lease_held", "1 when this replica holds the lease", labels=["lease"]
        )
        mine = self.membership.held()
        for lease in sorted(self.membership.wanted() | mine):
            held.add_metric([lease], 1 if lease in mine else 0)
        counters: list[tuple[str, str, int]] = [
            ("vcc_replica_operations_started", "Operations this replica started", self.worker.started),
            ("vcc_replica_results_dropped", "Late results of operations taken over", self.worker.dropped),
            (
                "vcc_replica_expired_heartbeats",
                "Heartbeats that found the lease out",
                self.membership.expired_heartbeats,
            ),
        ]
        families: list[Metric] = [info, held]
        relay = self.relay
        if relay is not None and relay.enabled:
            counters.append(("vcc_relay_notifications", "Changes heard from other replicas", relay.received))
            counters.append(("vcc_relay_reconnects", "Listening connections made again", relay.reconnects))
            listening = 1 if relay.listening else 0
            families.append(
                GaugeMetricFamily("vcc_relay_listening", "1 while other replicas are heard", value=listening)
            )
        families += [CounterMetricFamily(name, text, value=value) for name, text, value in counters]
        return families


class ControllerMetrics:
    """The metrics of one controller, in a registry of its own.

    Args:
        store: counted at scrape time (:class:`StoreCollector`); None leaves those out.

    Example:
        >>> metrics = ControllerMetrics()
        >>> metrics.observe_request("GET", "/health", 200, 0.01)
        >>> b'vcc_http_requests_total{method="GET",route="/health",status="200"} 1.0' in metrics.exposition()
        True
    """

    def __init__(self, store: Store | None = None) -> None:
        self.registry = CollectorRegistry()
        self.requests = self._counter(
            "vcc_http_requests",
            "HTTP requests by method, route template and status",
            "method",
            "route",
            "status",
        )
        self.latency = self._histogram(
            "vcc_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            REQUEST_BUCKETS,
            "method",
            "route",
        )
        self.backend_calls = self._counter(
            "vcc_backend_calls",
            "Backend operations (cloud API requests) by backend and call",
            "backend",
            "call",
        )
        self.backend_errors = self._counter(
            "vcc_backend_errors",
            "Backend operations that failed, by call and error class",
            "backend",
            "call",
            "error",
        )
        self.backend_latency = self._histogram(
            "vcc_backend_call_duration_seconds",
            "Time a backend operation took",
            BACKEND_BUCKETS,
            "backend",
            "call",
        )
        if store is not None:
            self.registry.register(StoreCollector(store))

    def watch_replica(self, membership: Membership, worker: Worker, relay: ChangeRelay | None = None) -> None:
        """Export this replica's metrics (:class:`ReplicaCollector`)."""
        self.registry.register(ReplicaCollector(membership, worker, relay))

    def _counter(self, name: str, documentation: str, *labels: str) -> Counter:
        return Counter(name, documentation, labels, registry=self.registry)

    def _histogram(
        self, name: str, documentation: str, buckets: tuple[float, ...], *labels: str
    ) -> Histogram:
        return Histogram(name, documentation, labels, buckets=buckets, registry=self.registry)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered HTTP request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_backend_call(
        self, backend: str, call: str, seconds: float, error: BaseException | None
    ) -> None:
        """Count one backend operation (``error``: what it raised, None on success)."""
        self.backend_calls.labels(backend, call).inc()
        self.backend_latency.labels(backend, call).observe(seconds)
        if error is not None:
            self.backend_errors.labels(backend, call, type(error).__name__).inc()

    def instrument(self, backends: Backends) -> None:
        """Count the :data:`BACKEND_CALLS` of every backend of ``backends`` (wraps them in place)."""
        for name, backend in backends:
            for call in BACKEND_CALLS:
                method = getattr(backend, call, None)
                if callable(method):
                    setattr(backend, call, self._metered(name, call, method))

    def _metered(self, backend: str, call: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def metered(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            error: BaseException | None = None
            try:
                return method(*args, **kwargs)
            except BaseException as e:
                error = e
                raise
            finally:
                self.observe_backend_call(backend, call, time.perf_counter() - started, error)

        return metered

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format (the body of ``GET /metrics``)."""
        return generate_latest(self.registry)


def _templates() -> list[tuple[str | None, re.Pattern[str], str]]:
    """(method or None for any, pattern, template) of every path the controller serves,
    templates with fewer parameters first (a literal segment wins over a parameter)."""
    served: set[tuple[str | None, str]] = {(route.method, BASE_PATH + route.path) for route in ROUTES}
    served |= {(None, METRICS_PATH), (None, f"{BASE_PATH}/openapi.json"), (None, f"{BASE_PATH}/docs")}
    patterns: list[tuple[str | None, re.Pattern[str], str]] = [
        (method, path_pattern(template), template)
        for method, template in sorted(served, key=lambda m_t: (m_t[1].count("{"), m_t[1], m_t[0] or ""))
    ]
    patterns.append((None, re.compile(re.escape(CUBBYHOLE_PATH) + "(/.*)?"), CUBBYHOLE_PATH + "/{path}"))
    return patterns


_TEMPLATES = _templates()


def route_template(method: str, path: str) -> str:
    """The route template a request belongs to (``unmatched`` for any other request).

    Args:
        method: the request's method (two routes of one shape differ by method).
        path: the request's path.

    Returns:
        e.g. ``/vcp/v1/occtr/vcs/{vcid}``.

    Example:
        >>> route_template("GET", BASE_PATH + "/vcs/5e3c")
        '/vcp/v1/occtr/vcs/{vcid}'
    """
    other_method = "unmatched"  # a known path with another method (405): its template
    for allowed, pattern, template in _TEMPLATES:
        if pattern.fullmatch(path):
            if allowed is None or allowed == method:
                return template
            if other_method == "unmatched":
                other_method = template
    return other_method


class RequestMetrics:
    """ASGI middleware: count every HTTP request by method, route template and status.

    Args:
        app: the application.
        metrics: where requests are counted.
    """

    def __init__(self, app: ASGIApp, metrics: ControllerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on and count it once answered (500 when the app raised)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            route = route_template(scope["method"], scope["path"])
            self.metrics.observe_request(scope["method"], route, status, time.perf_counter() - started)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (None for any other).

    Example:
        >>> bearer_token("Bearer abc")
        'abc'
    """
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def metrics_endpoint(metrics: ControllerMetrics, store: Store, access: str) -> Callable[..., Response]:
    """The handler of ``GET /metrics`` for an ``access`` of :data:`ACCESS_CHOICES`.

    Args:
        metrics: what it serves.
        store: where tokens are looked up (``access="superuser"``).
        access: ``open`` or ``superuser`` (``off``: do not route it at all).

    Returns:
        A FastAPI endpoint; with ``superuser`` it answers 403 without a superuser token.
    """
    if access not in ACCESS_CHOICES:
        raise ValueError(f"metrics access {access!r}: use one of {', '.join(ACCESS_CHOICES)}")

    def read_metrics(
        authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
        x_vcc_access_token: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> Response:
        if access != "open":
            user = authenticate(store, bearer_token(authorization) or x_vcc_access_token, None)
            if not user.superuser:
                raise ServiceError(403, AUTH_EXC, "/metrics is readable with a superuser token only")
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return read_metrics
