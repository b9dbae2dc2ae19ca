"""HTTP face of the VC Controller: the occtr routes under ``/vcp/v1/occtr``.

Reads answer 200, writes 202, a deleted UnitGroup 404; errors are JSON
``{"message": "<date> UTC: <Exception>: <detail>"}``.  Our one extension, "wait
for change" (``?wait_revision=N&wait_sec=S`` on UnitGroup and unit reads), is
advertised in the body of ``GET /vcp/v1/occtr``; clients that do not know it
simply poll.  The OpenAPI document is served at ``/vcp/v1/occtr/openapi.json``: it
describes every request body and every status the server answers (with the error
body), from the route table in :mod:`vcpsdk.core.protocol`.

Limits (:class:`~vcpsdk.controller.settings.Limits`) are enforced here for what every
request shares: the body size (413, checked before the body is read), the nesting of a
JSON body (400) and the request rate of a token (429 with ``Retry-After``); the service
checks names and counts.  A refused request answers a complete response, so the client's
keep-alive connection goes on serving the next request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vcpsdk import VCP_SDK_VERSION, __version__
from vcpsdk.controller.auth import TokenCache, hash_token, lookup_token, user_for
from vcpsdk.controller.backends.toolkit.ratelimit import RateLimiter
from vcpsdk.controller.errors import (
    INVALID_EXC,
    NOT_FOUND_EXC,
    ServiceError,
    User,
    invalid,
    too_large,
    too_many_requests,
)
from vcpsdk.controller.keys import controller_public_key
from vcpsdk.controller.metrics import METRICS_PATH, RequestMetrics, metrics_endpoint
from vcpsdk.controller.runtime import Controller, build_controller
from vcpsdk.controller.settings import ControllerSettings, Limits
from vcpsdk.controller.store.database import driver_message
from vcpsdk.core import protocol as routes
from vcpsdk.core.cci import UNSTORABLE_MESSAGE, UNSTORABLE_TEXT
from vcpsdk.core.protocol import BASE_PATH
from vcpsdk.core.providers import all_providers

F = TypeVar("F", bound=Callable[..., Any])
#: threads that run request handlers at once (anyio's default is 40): every thread
#: shares one GIL, so a handful keeps the cores busy, and fewer threads let the one
#: holding the database's write turn finish sooner (more requests wait in the event
#: loop instead, in arrival order); the environment variable ``VCC_REQUEST_THREADS`` sets it
REQUEST_THREADS = int(os.environ.get("VCC_REQUEST_THREADS", "6"))
#: methods of Vault's cubbyhole API (``/v1/cubbyhole/<path>``)
VAULT_METHODS = ["DELETE", "GET", "LIST", "POST", "PUT"]
logger = logging.getLogger("vcp.controller")
#: seconds between re-reads of a long poll while every change wakes it (a safety net only)
LONG_POLL_REREAD = 10.0
#: ... and while changes of other replicas may not (PostgreSQL, the relay not listening)
LONG_POLL_REREAD_UNHEARD = 1.0
#: the exception class name of a 503 while the database cannot be reached
UNAVAILABLE_EXC = "VCPServiceUnavailableException"
#: what a client is told while the database cannot be reached (no URL, no password)
DATABASE_UNAVAILABLE = "the controller's database cannot be reached; try again"
#: seconds a client is asked to wait (``Retry-After``) while the database cannot be reached
DATABASE_RETRY_AFTER = 2
#: seconds between two WARNING lines about an unreachable database (the rest: DEBUG)
DATABASE_WARNING_EVERY = 30.0


def database_unreachable(error: BaseException) -> bool:
    """True for a SQLAlchemy error that means the database cannot be reached (the server is
    down, refuses connections, or dropped the connection), not a wrong statement.

    Example:
        >>> database_unreachable(ValueError("x"))
        False
    """
    if not isinstance(error, DBAPIError):
        return False
    return isinstance(error, OperationalError) or error.connection_invalidated


class DatabaseOutageLog:
    """Logs an unreachable database at WARNING once per :data:`DATABASE_WARNING_EVERY`
    seconds, one line without a traceback (requests failing meanwhile log at DEBUG)."""

    def __init__(self, every: float = DATABASE_WARNING_EVERY) -> None:
        self.every = every
        self._last: float | None = None
        self._quiet = 0
        self._lock = threading.Lock()

    def failed(self, where: str, error: BaseException) -> None:
        """Note that ``where`` (a request path, or ``/health``) failed with ``error``."""
        reason = driver_message(error)
        now = time.monotonic()
        with self._lock:
            loud = self._last is None or now - self._last >= self.every
            quiet, self._quiet = self._quiet, 0 if loud else self._quiet + 1
            if loud:
                self._last = now
        if loud:
            more = f" ({quiet} more failures since the last warning)" if quiet else ""
            logger.warning("the database cannot be reached (%s, %s)%s", where, reason, more)
        else:
            logger.debug("the database cannot be reached (%s, %s)", where, reason)


class TokenRates:
    """One token bucket per access token (``requests_per_second``, ``request_burst``)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._buckets: dict[str, RateLimiter] = {}
        self._lock = threading.Lock()

    def check(self, token_hash: str) -> None:
        """Count one request of a token.

        Raises:
            ServiceError: 429 with ``Retry-After`` when the token is over its rate.
        """
        rate = self.limits.requests_per_second
        if rate <= 0:
            return
        with self._lock:
            bucket = self._buckets.get(token_hash)
            if bucket is None:
                burst = max(1, self.limits.request_burst)
                bucket = self._buckets[token_hash] = RateLimiter(rate, burst)
        wait = bucket.try_acquire()
        if wait > 0:
            raise too_many_requests(rate, self.limits.request_burst, wait)


async def user_of(request: Request, token: str | None, privileged: str | None) -> User:
    """The caller (403 for an unknown token), counted against its token's rate (429).

    A token used in the last seconds is answered from the app's :class:`TokenCache` in
    the event loop; only a lookup in the database takes a thread.
    """
    controller: Controller = request.app.state.controller
    tokens: TokenCache = request.app.state.tokens
    token = (token or "").strip()
    owner = None
    if token:
        digest = hash_token(token)
        owner = tokens.cached(digest)
        if owner is None:
            lookup = lambda: lookup_token(controller.store, digest)  # noqa: E731
            owner = await run_in_threadpool(tokens.owner, digest, lookup)
    user = user_for(owner, token, privileged)
    request.app.state.rates.check(user.token_hash)
    return user


async def current_user(
    request: Request,
    x_vcc_access_token: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_vcc_privileged: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> User:
    """The caller of a request, from ``x-vcc-access-token`` / ``x-vcc-privileged``."""
    return await user_of(request, x_vcc_access_token, x_vcc_privileged)


def load_json(raw: bytes, max_depth: int) -> Any:
    """A JSON document no deeper than ``max_depth`` whose strings are valid Unicode.

    Args:
        raw: the request body.
        max_depth: the ``max_depth`` limit.

    Returns:
        The decoded value.

    Raises:
        ValueError: not JSON, too deep, or a string with NUL or a lone surrogate (``"\\ud800"``);
            the message names the limit.

    Example:
        >>> load_json(b'[[1]]', 1)
        Traceback (most recent call last):
        ...
        ValueError: request body is nested deeper than the limit max_depth=1
    """
    too_deep = f"request body is nested deeper than the limit max_depth={max_depth}"
    try:
        value = json.loads(raw)
    except RecursionError:
        raise ValueError(too_deep) from None
    except ValueError:
        raise ValueError("request body is not valid JSON") from None
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth >= max_depth:
                raise ValueError(too_deep)
            children = list(item.items()) if isinstance(item, dict) else [(None, v) for v in item]
            for key, child in children:
                pending.append((key, depth + 1))
                pending.append((child, depth + 1))
        elif isinstance(item, str) and UNSTORABLE_TEXT.search(item):
            raise ValueError(f"request body has {UNSTORABLE_MESSAGE}")
    return value


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; any Content-Type is accepted, an empty body is ``{}``."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        value = load_json(raw, request.app.state.controller.settings.limits.max_depth)
    except ValueError as e:
        raise invalid(str(e)) from None
    if not isinstance(value, dict):
        raise invalid("request body must be a JSON object")
    return value


def error_response(error: ServiceError) -> JSONResponse:
    """The JSON answer of a refused request (``{"message": ...}`` and its headers)."""
    return JSONResponse({"message": error.message}, status_code=error.status, headers=error.headers)


def refusal(path: str, error: ServiceError) -> JSONResponse:
    """The answer of a refused request in the body format of its API: Vault's
    ``{"errors": [detail]}`` on the cubbyhole routes, occtr's ``{"message": ...}`` elsewhere."""
    if path.startswith(routes.CUBBYHOLE_PATH + "/"):
        return JSONResponse({"errors": [error.detail]}, status_code=error.status, headers=error.headers)
    return error_response(error)


def path_methods(app: ASGIApp, scope: Scope) -> list[str]:
    """The ``Allow`` of a path: the route table's methods for an occtr path, else the methods
    of the app's routes whose path matches (``/openapi.json``: GET, HEAD)."""
    table = routes.allowed_methods(scope["path"])
    if table:
        return table
    methods = {
        method
        for method in ("DELETE", "GET", "LIST", "PATCH", "POST", "PUT")
        if any(
            route.matches({**scope, "method": method})[0] == Match.FULL
            for route in getattr(app, "routes", [])
        )
    }
    return routes.with_head(methods)


class HeadAsGet:
    """ASGI middleware: every GET route answers HEAD with the GET's status and headers, no body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; a HEAD goes on as a GET whose body is dropped."""
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class BodyLimit:
    """ASGI middleware: refuse a body over ``max_body_bytes`` with 413.

    A declared ``Content-Length`` over the limit is refused before the app runs, after
    the body is read and dropped (so the connection stays usable); a chunked body is
    counted as it is read and refused once over.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def error(self) -> ServiceError:
        """The 413 refusal naming the limit."""
        return too_large("request body", "max_body_bytes", self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 413."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            more = True
            while more:  # drop the body: the client may send its next request after it
                message = await receive()
                more = message["type"] == "http.request" and message.get("more_body", False)
            await refusal(scope["path"], self.error())(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise self.error()
            return message

        await self.app(scope, counted, send)


UserDep = Annotated[User, Depends(current_user)]
# routes list the user before the body, so a bad token is refused before the body is read
JsonBody = Annotated[dict[str, Any], Depends(json_body)]


def create_app(settings: ControllerSettings | Controller) -> FastAPI:
    """The FastAPI application of a controller (built here from ``settings``, or given).

    The app's lifespan starts the controller and stops it (see ``runtime.py``).
    """
    controller = settings if isinstance(settings, Controller) else build_controller(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        controller.bus.bind(asyncio.get_running_loop())
        anyio.to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
        controller.start()
        try:
            yield
        finally:
            await run_in_threadpool(controller.stop)

    app = FastAPI(
        title="VC Controller (occtr)",
        version=VCP_SDK_VERSION,
        description="Wire-compatible VC Controller of vcpsdk; see docs/protocol.md.",
        lifespan=lifespan,
        openapi_url=f"{BASE_PATH}/openapi.json",
        docs_url=f"{BASE_PATH}/docs",
        redoc_url=None,
    )
    app.state.controller = controller
    limits = controller.settings.limits
    app.state.rates = TokenRates(limits)
    app.state.tokens = TokenCache()
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes)
    app.add_middleware(HeadAsGet)
    app.add_middleware(RequestMetrics, metrics=controller.metrics)  # outermost: counts 413s too

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        return error_response(exc)

    outages = DatabaseOutageLog()

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if not database_unreachable(exc):
            raise exc  # a fault of ours: a 500 with its traceback in the log
        outages.failed(request.url.path, exc)
        headers = {"Retry-After": str(DATABASE_RETRY_AFTER)}
        return refusal(request.url.path, ServiceError(503, UNAVAILABLE_EXC, DATABASE_UNAVAILABLE, headers))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        exception = NOT_FOUND_EXC if exc.status_code == 404 else INVALID_EXC
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only the first route's
            headers["Allow"] = ", ".join(path_methods(request.app, request.scope))
        return refusal(request.url.path, ServiceError(exc.status_code, exception, str(exc.detail), headers))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [
            f"{'.'.join(str(p) for p in err.get('loc', ()) if p != 'body')}: {err.get('msg')}"
            for err in exc.errors()
        ]
        error = ServiceError(400, INVALID_EXC, "; ".join(parts) or "invalid request")
        return JSONResponse({"message": error.message}, status_code=400)

    app.include_router(_router(controller, outages), prefix=BASE_PATH)
    app.include_router(_vault_router(controller))
    if controller.settings.metrics != "off":  # Prometheus text format, vcpsdk/controller/metrics.py
        endpoint = metrics_endpoint(controller.metrics, controller.store, controller.settings.metrics)
        app.add_api_route(METRICS_PATH, endpoint, methods=["GET"], include_in_schema=False)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            app.openapi_schema = routes.describe_openapi(
                document,
                max_name_length=limits.max_name_length,
                max_nodes_per_request=limits.max_nodes_per_request,
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def _vault_router(ctl: Controller) -> APIRouter:
    """Vault's cubbyhole API (``/v1/cubbyhole/<path>``) for ``vcc_info()['vault_url']``."""
    router = APIRouter(tags=["vault"])
    vault = ctl.service.vault

    def vault_error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"errors": [message]}, status_code=status)

    # Vault's API, not occtr's: kept out of the OpenAPI document (see docs/protocol.md)
    @router.api_route(routes.CUBBYHOLE_PATH + "/{path:path}", methods=VAULT_METHODS, include_in_schema=False)
    async def cubbyhole(
        path: str,
        request: Request,
        x_vault_token: Annotated[str | None, Header()] = None,
    ) -> Response:
        try:
            user = await user_of(request, x_vault_token, None)
        except ServiceError as e:
            if e.status == 429:
                return JSONResponse({"errors": [e.detail]}, status_code=429, headers=e.headers)
            return vault_error(403, "permission denied")
        try:
            return await cubbyhole_call(request, user, path)
        except ServiceError as e:
            return vault_error(e.status, e.detail)

    async def cubbyhole_call(request: Request, user: User, path: str) -> Response:
        method = request.method
        if method == "GET" and request.query_params.get("list") == "true":
            method = "LIST"
        if UNSTORABLE_TEXT.search(path) or len(path) > vault.MAX_PATH:
            return vault_error(400, f"the path must be valid text of at most {vault.MAX_PATH} characters")
        if method in ("POST", "PUT"):
            try:
                data = load_json(await request.body() or b"{}", ctl.settings.limits.max_depth)
            except ValueError as e:
                return vault_error(400, f"failed to parse JSON input: {e}")
            if not isinstance(data, dict):
                return vault_error(400, "the secret must be a JSON object")
            await run_in_threadpool(vault.write, user.token_hash, path, data)
            return Response(status_code=204)
        if method == "DELETE":
            await run_in_threadpool(vault.delete, user.token_hash, path)
            return Response(status_code=204)
        if method == "LIST":
            keys = await run_in_threadpool(vault.list, user.token_hash, path)
            return JSONResponse({"data": {"keys": keys}}) if keys else vault_error(404, "")
        data = await run_in_threadpool(vault.read, user.token_hash, path)
        if data is None:
            return vault_error(404, "")
        return JSONResponse({"data": data, "lease_duration": 0, "renewable": False})

    return router


def _router(ctl: Controller, outages: DatabaseOutageLog) -> APIRouter:
    router = APIRouter()
    service = ctl.service
    registered: list[routes.Route] = []

    def route(entry: routes.Route) -> Callable[[F], F]:
        """Register the decorated handler for ``entry`` of the route table."""

        def register(endpoint: F) -> F:
            router.add_api_route(
                entry.path,
                endpoint,
                methods=[entry.method],
                status_code=entry.status,
                summary=entry.summary or None,
                name=entry.name,
            )
            registered.append(entry)
            return endpoint

        return register

    def accepted(body: dict[str, Any]) -> JSONResponse:
        return JSONResponse(body, status_code=202)

    def ok(body: Any) -> JSONResponse:
        return JSONResponse(body)

    def reread() -> float:
        """Seconds a long poll waits before reading again without a wake-up: long when every
        change reaches this bus (one process, or the relay hears the other replicas)."""
        heard = ctl.store.serializes_writes or (ctl.relay is not None and ctl.relay.listening)
        return LONG_POLL_REREAD if heard else LONG_POLL_REREAD_UNHEARD

    async def long_poll(
        vcid: str, wait_revision: int | None, wait_sec: float, read: Callable[[], dict[str, Any]]
    ) -> JSONResponse:
        if wait_revision is None:
            return ok(await run_in_threadpool(read))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(max(wait_sec, 0.0), ctl.settings.long_poll_max_sec)
        while True:
            future = ctl.bus.waiter(vcid)
            try:
                result = await run_in_threadpool(read)
                remaining = deadline - loop.time()
                if result.get("revision") != wait_revision or remaining <= 0:
                    return ok(result)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(future), timeout=min(remaining, reread()))
            finally:
                ctl.bus.discard(vcid, future)

    # our extensions, advertised where clients look (the original ignores unknown fields)
    extensions = {
        "long_poll": {"query": ["wait_revision", "wait_sec"], "max_wait_sec": ctl.settings.long_poll_max_sec},
        routes.CUBBYHOLE_EXTENSION: {"path": routes.CUBBYHOLE_PATH},
    }

    @route(routes.ROOT)
    @route(routes.ROOT_SLASH)
    def root(user: UserDep) -> JSONResponse:
        return ok(
            {
                "service": "occtr",
                "name": ctl.settings.name,
                "vcc_id": ctl.vcc_id,
                "version": VCP_SDK_VERSION,
                "extensions": extensions,
            }
        )

    @route(routes.HEALTH)
    def health() -> JSONResponse:  # a thread of the pool: the query never blocks the event loop
        try:
            with ctl.store.read() as session:  # read-only: never waits for SQLite's writer
                session.execute(text("SELECT 1"))
        except DBAPIError as error:  # a load balancer takes this replica out meanwhile
            outages.failed(routes.HEALTH.path, error)
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return ok({"status": "ok"})

    @route(routes.AUTHORITY)
    def authority(user: UserDep) -> JSONResponse:
        return ok(
            {
                "role": "fullaccess",
                "user_name": user.name,
                "user_role": "superuser" if user.superuser else "regular",
                "extensions": {routes.CUBBYHOLE_EXTENSION: extensions[routes.CUBBYHOLE_EXTENSION]},
            }
        )

    @route(routes.VERSION)
    def version(user: UserDep) -> JSONResponse:
        return ok(
            {
                "version": VCP_SDK_VERSION,
                "git_tag": f"vcpsdk-{__version__}",
                "name": ctl.settings.name,
                "plugin": {p.name: p.version for p in all_providers()},
            }
        )

    @route(routes.PUBLICKEY)
    def publickey(user: UserDep) -> JSONResponse:
        return ok({"publickey": controller_public_key(ctl.settings.state_dir)})

    @route(routes.VPN_CATALOG)
    def vpn_catalog(user: UserDep) -> JSONResponse:
        catalog: dict[str, Any] = ctl.vpn_catalog()
        catalog["cci_version"] = "1.0"
        return ok({"vpn_catalog": catalog})

    @route(routes.VCS_LIST)
    def list_vcs(user: UserDep) -> JSONResponse:
        return ok(service.list_vcs(user))

    @route(routes.VC_CREATE)
    def create_vc(user: UserDep, body: JsonBody) -> JSONResponse:
        return accepted(service.create_vc(user, body.get("cci")))

    @route(routes.VC_GET)
    async def get_vc(
        vcid: str,
        user: UserDep,
        wait_revision: int | None = None,
        wait_sec: Annotated[float, Query(ge=0)] = 25.0,
    ) -> JSONResponse:
        return await long_poll(vcid, wait_revision, wait_sec, lambda: service.get_vc(user, vcid))

    @route(routes.VC_RENAME)
    def update_vc(vcid: str, user: UserDep, body: JsonBody) -> JSONResponse:
        return accepted(service.update_vc(user, vcid, body.get("cci")))

    @route(routes.VC_CHANGE_OWNER)
    def patch_vc(vcid: str, user: UserDep, body: JsonBody) -> JSONResponse:
        return accepted(service.change_owner(user, vcid, body))

    @route(routes.VC_DELETE)
    def delete_vc(vcid: str, user: UserDep, body: JsonBody) -> JSONResponse:
        return accepted(service.delete_vc(user, vcid, _force(body)))

    @route(routes.UNIT_ADD)
    def add_unit(vcid: str, user: UserDep, body: JsonBody) -> JSONResponse:
        return accepted(service.add_unit(user, vcid, body))

    @route(routes.UNIT_GET)
    async def get_unit(
        vcid: str,
        unit_name: str,
        user: UserDep,
        wait_revision: int | None = None,
        wait_sec: Annotated[float, Query(ge=0)] = 25.0,
    ) -> JSONResponse:
        return await long_poll(vcid, wait_revision, wait_sec, lambda: service.get_unit(user, vcid, unit_name))

    @route(routes.UNIT_ADD_NODES)
    def add_nodes(vcid: str, unit_name: str, user: UserDep, body: JsonBody) -> JSONResponse:
        return accepted(service.add_nodes(user, vcid, unit_name, body))

    @route(routes.UNIT_DELETE)
    def delete_unit(vcid: str, unit_name: str, user: UserDep, body: JsonBody) -> JSONResponse:
        return accepted(service.delete_unit(user, vcid, unit_name, _force(body)))

    @route(routes.UNIT_OPERATION)
    def unit_operation(
        vcid: str, unit_name: str, operation: str, user: UserDep, body: JsonBody
    ) -> JSONResponse:
        problem = routes.UNIT_OPERATION.operation_error(operation)
        if problem:
            raise invalid(problem)
        return accepted(service.unit_operation(user, vcid, unit_name, operation))

    @route(routes.NODE_GET)
    def get_node(vcid: str, unit_name: str, node_id: str, user: UserDep) -> JSONResponse:
        return ok(service.get_node(user, vcid, unit_name, node_id))

    @route(routes.NODE_DELETE)
    def delete_node(vcid: str, unit_name: str, node_id: str, user: UserDep, body: JsonBody) -> JSONResponse:
        return accepted(service.delete_node(user, vcid, unit_name, node_id))

    @route(routes.NODE_OPERATION)
    def node_operation(
        vcid: str,
        unit_name: str,
        node_id: str,
        operation: str,
        request: Request,
        user: UserDep,
        body: JsonBody,
    ) -> JSONResponse:
        if routes.NODE_OPERATION not in routes.matching_routes(request.url.path):  # e.g. PATCH …/backup
            raise StarletteHTTPException(405, "Method Not Allowed")
        problem = routes.NODE_OPERATION.operation_error(operation)
        if problem:
            raise invalid(problem)
        return accepted(service.node_operation(user, vcid, unit_name, node_id, operation))

    @route(routes.NODE_BACKUP)
    def backup(vcid: str, unit_name: str, node_id: str, user: UserDep) -> JSONResponse:
        return accepted(service.backup_node(user, vcid, unit_name, node_id))

    missing = [f"{r.method} {r.path}" for r in routes.ROUTES if r not in registered]
    if missing:
        raise RuntimeError(f"route table entries without a handler: {', '.join(missing)}")
    return router


def _force(body: dict[str, Any] | None) -> bool:
    """``{"force": "true"}`` (the original sends strings) or a JSON boolean."""
    value = (body or {}).get("force", "false")
    return value is True or str(value).strip().lower() == "true"
