"""HTTP face of the VC Controller: the occtr routes under ``/vcp/v1/occtr``.

Reads answer 200, writes 202, a deleted UnitGroup 404; errors are JSON
``{"message": "<date> UTC: <Exception>: <detail>"}``.  Our one extension, "wait
for change" (``?wait_revision=N&wait_sec=S`` on UnitGroup and unit reads), is
advertised in the body of ``GET /vcp/v1/occtr``; clients that do not know it
simply poll.  The OpenAPI document is served at ``/vcp/v1/occtr/openapi.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from vcpsdk import VCP_SDK_VERSION, __version__
from vcpsdk.controller.auth import authenticate
from vcpsdk.controller.errors import INVALID_EXC, NOT_FOUND_EXC, ServiceError, User, invalid
from vcpsdk.controller.keys import controller_public_key
from vcpsdk.controller.runtime import Controller, build_controller
from vcpsdk.controller.settings import ControllerSettings
from vcpsdk.core import protocol as routes
from vcpsdk.core.protocol import BASE_PATH
from vcpsdk.core.providers import all_providers

F = TypeVar("F", bound=Callable[..., Any])
logger = logging.getLogger("vcp.controller")


def current_user(
    request: Request,
    x_vcc_access_token: Annotated[str | None, Header()] = None,
    x_vcc_privileged: Annotated[str | None, Header()] = None,
) -> User:
    """The caller of a request, from ``x-vcc-access-token`` / ``x-vcc-privileged``."""
    controller: Controller = request.app.state.controller
    return authenticate(controller.store, x_vcc_access_token, x_vcc_privileged)


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; any Content-Type is accepted, an empty body is ``{}``."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise invalid("request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise invalid("request body must be a JSON object")
    return value


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

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse({"message": exc.message}, status_code=exc.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        exception = NOT_FOUND_EXC if exc.status_code == 404 else INVALID_EXC
        error = ServiceError(exc.status_code, exception, str(exc.detail))
        return JSONResponse({"message": error.message}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [
            f"{'.'.join(str(p) for p in err.get('loc', ()) if p != 'body')}: {err.get('msg')}"
            for err in exc.errors()
        ]
        error = ServiceError(400, INVALID_EXC, "; ".join(parts) or "invalid request")
        return JSONResponse({"message": error.message}, status_code=400)

    app.include_router(_router(controller), prefix=BASE_PATH)
    app.include_router(_vault_router(controller))
    return app


def _vault_router(ctl: Controller) -> APIRouter:
    """Vault's cubbyhole API (``/v1/cubbyhole/<path>``) for ``vcc_info()['vault_url']``."""
    router = APIRouter(tags=["vault"])
    vault = ctl.service.vault

    def vault_error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"errors": [message]}, status_code=status)

    # Vault's API, not occtr's: kept out of the OpenAPI document (see docs/protocol.md)
    @router.api_route(
        "/v1/cubbyhole/{path:path}", methods=["GET", "POST", "PUT", "DELETE", "LIST"], include_in_schema=False
    )
    async def cubbyhole(
        path: str,
        request: Request,
        x_vault_token: Annotated[str | None, Header()] = None,
    ) -> Response:
        try:
            user = await run_in_threadpool(authenticate, ctl.store, x_vault_token, None)
        except ServiceError:
            return vault_error(403, "permission denied")
        method = request.method
        if method == "GET" and request.query_params.get("list") == "true":
            method = "LIST"
        if method in ("POST", "PUT"):
            try:
                data = json.loads(await request.body() or b"{}")
            except ValueError:
                return vault_error(400, "failed to parse JSON input")
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


def _router(ctl: Controller) -> APIRouter:
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

    async def long_poll(
        vcid: str, wait_revision: int | None, wait_sec: float, read: Callable[[], dict[str, Any]]
    ) -> JSONResponse:
        result = await run_in_threadpool(read)
        if wait_revision is None or result.get("revision") != wait_revision:
            return ok(result)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(max(wait_sec, 0.0), ctl.settings.long_poll_max_sec)
        while True:
            future = ctl.bus.waiter(vcid)
            try:
                result = await run_in_threadpool(read)
                remaining = deadline - loop.time()
                if result.get("revision") != wait_revision or remaining <= 0:
                    return ok(result)
                # re-read at least once a second: other replicas do not wake this bus
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(future), timeout=min(remaining, 1.0))
            finally:
                ctl.bus.discard(vcid, future)

    @route(routes.ROOT)
    @route(routes.ROOT_SLASH)
    def root(user: UserDep) -> JSONResponse:
        return ok(
            {
                "service": "occtr",
                "name": ctl.settings.name,
                "vcc_id": ctl.vcc_id,
                "version": VCP_SDK_VERSION,
                "extensions": {
                    "long_poll": {
                        "query": ["wait_revision", "wait_sec"],
                        "max_wait_sec": ctl.settings.long_poll_max_sec,
                    },
                },
            }
        )

    @route(routes.HEALTH)
    def health() -> JSONResponse:
        return ok({"status": "ok"})

    @route(routes.AUTHORITY)
    def authority(user: UserDep) -> JSONResponse:
        return ok(
            {
                "role": "fullaccess",
                "user_name": user.name,
                "user_role": "superuser" if user.superuser else "regular",
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
        user: UserDep,
        body: JsonBody,
    ) -> JSONResponse:
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
