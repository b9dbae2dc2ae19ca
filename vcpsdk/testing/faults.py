"""Fault injection for a test controller: failing units, slow boots, HTTP errors and timeouts.

Every :class:`~vcpsdk.testing.RunningController` carries a :class:`Faults` (``.faults``);
the pytest plugin hands it to tests as ``vcp_faults`` and disarms it after each test.
Nothing here touches the controller's production code paths:

* unit faults wrap the ``create_nodes`` / ``create_disks`` of the controller's backend
  objects (an attribute of the instance, removed when disarmed), so the worker sees the
  backend fail or take longer exactly as a cloud would;
* HTTP faults are an ASGI middleware (:class:`HttpFaults`) around the controller's app,
  inert (one list check per request) until armed.

Example::

    with running_controller(tmp_path / "vcc") as vcc:
        vcc.faults.fail_next_unit("quota exceeded")
        vcc.faults.http_error(503, times=2, route=protocol.VCS_LIST)
        vcc.faults.timeout(times=1, method="POST")
        ...
        vcc.faults.clear()
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vcpsdk.core.protocol import BASE_PATH, Route

if TYPE_CHECKING:
    from vcpsdk.controller.runtime import Controller

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]

#: the longest a "timed out" request is held when its client does not hang up first
DEFAULT_HOLD_SEC = 300.0


def _route_pattern(route: Route | str | None) -> re.Pattern[str] | None:
    """A regex of the paths ``route`` names (``None``: every path).

    A :class:`~vcpsdk.core.protocol.Route` matches its path template (a parameter is one
    path segment); a string is a glob (``fnmatch``) on the path under ``/vcp/v1/occtr``.
    """
    if route is None:
        return None
    if isinstance(route, Route):
        parts = re.split(r"\{[^}]+\}", route.path)
        return re.compile(re.escape(BASE_PATH) + "[^/]+".join(re.escape(p) for p in parts) + "/?")
    glob = route if route.startswith(BASE_PATH) else BASE_PATH + route
    return re.compile(fnmatch.translate(glob))


@dataclass
class HttpFault:
    """One armed HTTP fault (see :meth:`Faults.http_error` and :meth:`Faults.timeout`).

    Attributes:
        status: the status answered (a timeout answers 504 if its client is still there).
        times: how many matching requests it still hits.
        method: the HTTP method it hits (``None``: any).
        pattern: the paths it hits (``None``: any).
        message: the ``message`` of the answer's JSON body.
        hold: seconds a request is held before the answer (``None``: answer at once).
        headers: extra response headers (``Retry-After``).
        hits: the ``(method, path)`` of the requests it hit.
    """

    status: int
    times: int
    method: str | None
    pattern: re.Pattern[str] | None
    message: str
    hold: float | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hits: list[tuple[str, str]] = field(default_factory=list)

    def matches(self, method: str, path: str) -> bool:
        """True when this fault still hits a ``method`` request of ``path``."""
        if self.times <= 0 or (self.method and self.method != method):
            return False
        return self.pattern is None or self.pattern.fullmatch(path) is not None


class HttpFaults:
    """The armed HTTP faults and the ASGI middleware that applies them.

    ``wrap(app)`` gives an ASGI app that answers a request the first armed fault matches
    with that fault (consuming one of its ``times``) and hands every other request (and
    the lifespan) to ``app``.  The same ``HttpFaults`` wraps the app of every (re)start.
    """

    def __init__(self) -> None:
        self._faults: list[HttpFault] = []
        self._lock = threading.Lock()

    def add(self, fault: HttpFault) -> HttpFault:
        """Arm ``fault``; returns it (its ``hits`` grow as requests hit it)."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Disarm every HTTP fault."""
        with self._lock:
            self._faults.clear()

    @property
    def armed(self) -> list[HttpFault]:
        """The faults that still hit requests."""
        with self._lock:
            return [f for f in self._faults if f.times > 0]

    def _take(self, method: str, path: str) -> HttpFault | None:
        if not self._faults:  # the common case: nothing armed
            return None
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    fault.hits.append((method, path))
                    return fault
        return None

    def wrap(self, app: Asgi) -> Asgi:
        """The ASGI app ``app`` with these faults applied in front of it (its attributes,
        e.g. a FastAPI app's ``state``, stay reachable on the wrapper)."""
        return _FaultyApp(app, self)

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the request of ``scope`` if an armed fault matches it; True if it did."""
        fault = self._take(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if fault is None:
            return False
        if fault.hold is not None and await _client_left(receive, fault.hold):
            return True
        body = json.dumps({"message": fault.message}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        headers += [(k.lower().encode(), v.encode()) for k, v in fault.headers.items()]
        await send({"type": "http.response.start", "status": fault.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True


class _FaultyApp:
    """An ASGI app behind :class:`HttpFaults`; other attributes are the wrapped app's."""

    def __init__(self, app: Asgi, faults: HttpFaults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not await self.faults.answer(scope, receive, send):
            await self.app(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)


async def _client_left(receive: Receive, seconds: float) -> bool:
    """Wait up to ``seconds`` for the client to hang up; True if it did."""

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass  # the request body, read and dropped

    try:
        await asyncio.wait_for(disconnected(), timeout=seconds)
    except TimeoutError:
        return False
    return True


@dataclass
class _UnitFault:
    """A fault of the next unit operation(s) of a backend: a failure or a delay."""

    kind: str  # "fail" | "delay"
    times: int | None  # None: every later creation
    provider: str | None
    message: str = ""
    seconds: float = 0.0

    def matches(self, provider: str) -> bool:
        return (self.times is None or self.times > 0) and self.provider in (None, provider)


class Faults:
    """Fault injection of one test controller (``RunningController.faults``).

    Unit faults hit what the controller's worker asks of its backends (the sandbox and
    any cloud backend); HTTP faults hit requests before the controller sees them.  Both
    survive :meth:`RunningController.restart` until they are used up or :meth:`clear` ed.

    Example::

        faults.fail_next_unit("quota exceeded")     # the next unit ends in ERROR
        faults.boot_delay(3)                         # every later boot takes 3 s more
        faults.http_error(503, times=2, route="/vcs", method="GET")
        faults.timeout(times=1, method="POST")       # held until the client gives up
    """

    def __init__(self) -> None:
        self.http = HttpFaults()
        self._unit_faults: list[_UnitFault] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None
        self._hooked: list[Any] = []

    # -- unit faults ------------------------------------------------------------------

    def fail_next_unit(self, message: str, times: int = 1, provider: str | None = None) -> None:
        """Make the next ``times`` unit (and disk) creations fail with ``message``.

        The backend raises :class:`~vcpsdk.controller.backends.base.BackendError` before
        creating anything, so the unit ends in ``ERROR`` with ``error_message`` =
        ``message`` and the SDK's ``create_unit`` raises as it would for a cloud refusal.
        Adding nodes to an existing unit counts as a creation too.

        Args:
            message: the error message the unit shows.
            times: how many creations fail.
            provider: only units of this provider (``"aws"``...); ``None``: any.
        """
        self._add(_UnitFault("fail", times, provider, message=message))

    def boot_delay(self, seconds: float, times: int | None = None, provider: str | None = None) -> None:
        """Make node creations take ``seconds`` longer (the unit stays ``BOOTING`` meanwhile).

        Args:
            seconds: the added delay of each creation (one batch of nodes).
            times: how many creations are slowed (``None``: all, until :meth:`clear`).
            provider: only units of this provider; ``None``: any.
        """
        self._add(_UnitFault("delay", times, provider, seconds=seconds))

    def _add(self, fault: _UnitFault) -> None:
        with self._lock:
            self._unit_faults.append(fault)
        if self._controller is not None:
            self._hook(self._controller)

    def _before_create(self, provider: str) -> None:
        """Apply the unit faults due for a creation of ``provider`` (in the worker thread)."""
        delay, failure = 0.0, None
        with self._lock:
            for fault in self._unit_faults:
                if failure is None and fault.matches(provider):
                    if fault.times is not None:
                        fault.times -= 1
                    if fault.kind == "delay":
                        delay += fault.seconds
                    else:
                        failure = fault.message
        if delay:
            time.sleep(delay)  # a slow cloud: the worker waits, as it would for a real boot
        if failure is not None:
            from vcpsdk.controller.backends.base import BackendError

            raise BackendError(failure)

    # -- HTTP faults ------------------------------------------------------------------

    def http_error(
        self,
        status: int,
        times: int = 1,
        route: Route | str | None = None,
        method: str | None = None,
        message: str | None = None,
        retry_after: float | None = None,
    ) -> HttpFault:
        """Answer the next ``times`` matching requests with HTTP ``status``.

        Args:
            status: the HTTP status, e.g. 503.
            times: how many requests are answered so.
            route: which requests: a :class:`~vcpsdk.core.protocol.Route` (e.g.
                ``protocol.UNIT_ADD``; its method too unless ``method`` is given), or a glob
                of the path under ``/vcp/v1/occtr`` (``"/vcs/*"``); ``None``: any.
            method: only requests of this HTTP method (``"GET"``...); ``None``: any.
            message: the ``message`` of the JSON body (default: ``"injected fault: HTTP <status>"``).
            retry_after: a ``Retry-After`` header (seconds).

        Returns:
            the armed fault; its ``hits`` list the requests it answered.

        Example::

            faults.http_error(503, times=2, route=protocol.VCS_LIST)  # the SDK retries GETs on 503
        """
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        return self.http.add(
            HttpFault(
                status=status,
                times=times,
                method=_method_of(route, method),
                pattern=_route_pattern(route),
                message=message or f"injected fault: HTTP {status}",
                headers=headers,
            )
        )

    def timeout(
        self,
        times: int = 1,
        route: Route | str | None = None,
        method: str | None = None,
        hold: float = DEFAULT_HOLD_SEC,
    ) -> HttpFault:
        """Leave the next ``times`` matching requests unanswered until their client gives up.

        A request is held until its client closes the connection (its read timeout), at
        most ``hold`` seconds, then answered 504.  The SDK retries a timed-out GET twice; a
        write fails with :class:`~vcpsdk.errors.VcpConnectionError` (``no answer from ...``).
        The SDK waits 120 s for an answer: in pytest, ``vcp_faults.timeout(...,
        client_timeout=...)`` shortens that for the test.

        Args:
            times: how many requests time out.
            route: which requests (see :meth:`http_error`).
            method: only requests of this HTTP method.
            hold: the longest a request is held.

        Returns:
            the armed fault.
        """
        return self.http.add(
            HttpFault(
                status=504,
                times=times,
                method=_method_of(route, method),
                pattern=_route_pattern(route),
                message="injected fault: gateway timeout",
                hold=hold,
            )
        )

    # -- lifecycle --------------------------------------------------------------------

    def attach(self, controller: Controller) -> None:
        """Apply the unit faults to ``controller``'s backends (on each (re)start)."""
        self._controller = controller
        self._hooked = []
        with self._lock:
            armed = bool(self._unit_faults)
        if armed:
            self._hook(controller)

    def _hook(self, controller: Controller) -> None:
        """Wrap the creations of every backend of ``controller`` (once per backend object)."""
        for backend in controller.backends.values():
            if any(backend is hooked for hooked in self._hooked):
                continue
            self._hooked.append(backend)
            for name in ("create_nodes", "create_disks"):
                original = getattr(backend, name)

                def faulty(unit: Any, items: Any, _original: Any = original) -> Any:
                    self._before_create(unit.provider)
                    return _original(unit, items)

                setattr(backend, name, faulty)  # an instance attribute: the class is untouched

    def clear(self) -> None:
        """Disarm every fault and unwrap the backends."""
        with self._lock:
            self._unit_faults.clear()
        for backend in self._hooked:
            for name in ("create_nodes", "create_disks"):
                vars(backend).pop(name, None)
        self._hooked = []
        self.http.clear()


def _method_of(route: Route | str | None, method: str | None) -> str | None:
    if method:
        return method.upper()
    return route.method if isinstance(route, Route) else None
