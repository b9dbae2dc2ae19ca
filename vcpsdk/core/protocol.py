"""The occtr route table: every request the SDK sends and the controller answers.

One :class:`Route` per controller route under :data:`BASE_PATH`: its HTTP method, its
path template, its success status (reads 200, writes 202 — and the one read that
answers 202, ``GET …/backup``) and the message the original SDK logs and raises when
the request fails (``"watch unit failed"``).  Three things are driven from this table:

* the SDK's HTTP client (``OcctrClient.call(route, **path_params)``),
* the controller's routes (``vcpsdk/controller/app.py`` registers them from it),
* the mock controller of unit tests (:mod:`vcpsdk.testing.mock_controller`).

:data:`SECRET_KEYS`, the keys whose values never reach a log line, is derived from the
provider declarations, so a new provider's secret field is redacted without anyone
remembering to.  ``docs/protocol.md`` documents the protocol.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vcpsdk.core.cci import UNIT_NAME_PATTERN
from vcpsdk.core.providers import Provider, all_providers
from vcpsdk.core.states import NODE_OPERATIONS

#: path prefix of every occtr route
BASE_PATH = "/vcp/v1/occtr"
#: request headers: the access token, and "True" for a superuser's privileged request
TOKEN_HEADER = "x-vcc-access-token"
PRIVILEGED_HEADER = "x-vcc-privileged"
#: operations of ``PATCH /vcs/{vcid}/{unit_name}/{operation}`` (every node operation, or
#: ``clear_processing`` to reset a unit stuck in a transitional state)
UNIT_OPERATIONS: tuple[str, ...] = (*NODE_OPERATIONS, "clear_processing")
#: exception names in the controller's error bodies
#: (``{"message": "<date> UTC: <exception>: <detail>"}``)
AUTH_EXC = "VCPAuthException"
NOT_FOUND_EXC = "VCPNotFoundException"
CONFLICT_EXC = "VCPStateConflictException"
INVALID_EXC = "VCPInvalidParameterException"
#: our extension: a token over its request rate (429, with ``Retry-After``)
RATE_EXC = "VCPTooManyRequestsException"
#: our extension: the key under ``extensions`` (in the answers of ``GET ""`` and
#: ``/accounts/authority``) saying that the controller serves Vault's cubbyhole API on its own
#: address, so a config without ``vault_port`` still gets the right ``vault_url``
CUBBYHOLE_EXTENSION = "vault_cubbyhole"
#: where the controller serves that cubbyhole (Vault's own path, relative to its address)
CUBBYHOLE_PATH = "/v1/cubbyhole"
#: keys the protocol itself uses for secrets (CCI payloads, tokens, service-account files)
PROTOCOL_SECRET_KEYS = frozenset({"info", "cci", "token", TOKEN_HEADER, "credentials"})


@dataclass(frozen=True)
class Route:
    """One occtr route.

    Attributes:
        name: the controller's handler name (also the OpenAPI operation name).
        method: HTTP method.
        path: path template under :data:`BASE_PATH`, e.g. ``/vcs/{vcid}/{unit_name}``.
        status: the success status (200 for reads, 202 for writes).
        errmsg: the original SDK's error message; may name path parameters
            (``"{operation} unit failed"``); ``""`` for routes the SDK never calls.
        errmsgs: per-``operation`` messages where the original's do not follow ``errmsg``.
        operations: the values ``{operation}`` may take (empty for other routes).
        summary: one line for the OpenAPI document.
        auth: False for the one route that needs no token (``/health``).
        long_poll: True where the "wait for change" query (``wait_revision``) is honoured.

    Example:
        >>> UNIT_GET.url(vcid="5e3c", unit_name="server")
        '/vcs/5e3c/server'
        >>> NODE_OPERATION.message(operation="suspend")
        'suspend node failed'
    """

    name: str
    method: str
    path: str
    status: int
    errmsg: str = ""
    errmsgs: Mapping[str, str] = field(default_factory=dict, hash=False)
    operations: tuple[str, ...] = ()
    summary: str = ""
    auth: bool = True
    long_poll: bool = False

    @property
    def params(self) -> tuple[str, ...]:
        """Names of the path parameters, in order (``('vcid', 'unit_name')``)."""
        return tuple(name for _, name, _, _ in string.Formatter().parse(self.path) if name)

    def url(self, **params: Any) -> str:
        """The path of this route for ``params`` (relative to :data:`BASE_PATH`).

        Args:
            **params: one value per path parameter.

        Returns:
            str: e.g. ``/vcs/<vcid>/<unit_name>``.

        Raises:
            TypeError: a path parameter is missing or an unknown one is given.
            ValueError: ``operation`` is not one of :attr:`operations`.
        """
        if set(params) != set(self.params):
            raise TypeError(f"route {self.name} takes path parameters {self.params}, got {tuple(params)}")
        problem = self.operation_error(params.get("operation"))
        if problem:
            raise ValueError(f"route {self.name}: {problem}")
        return self.path.format(**params)

    def operation_error(self, operation: Any) -> str | None:
        """Why ``operation`` is refused on this route (the controller's 400 detail), or None.

        Example:
            >>> NODE_OPERATION.operation_error("reboot")[:30]
            'operation[reboot] is unknown; '
        """
        if not self.operations or operation in self.operations:
            return None
        return f"operation[{operation}] is unknown; allowed: {', '.join(self.operations)}"

    def message(self, **params: Any) -> str:
        """The original SDK's error message for this route (and ``operation``).

        Args:
            **params: the path parameters (only ``operation`` matters).

        Returns:
            str: e.g. ``'watch unit failed'``.
        """
        operation = params.get("operation")
        if operation is not None and operation in self.errmsgs:
            return self.errmsgs[operation]
        return self.errmsg.format(**params)


def _operation_route(name: str, owner: str, **extra: Any) -> Route:
    """``PATCH …/{operation}`` on a unit or a node: accepted (202), ``"<op> <owner> failed"``."""
    path = "/vcs/{vcid}/{unit_name}" + ("/{node_id}" if owner == "node" else "") + "/{operation}"
    return Route(name, "PATCH", path, 202, f"{{operation}} {owner} failed", **extra)


ROOT = Route("root", "GET", "", 200, "config vc failed", summary="Connectivity check; advertises extensions")
ROOT_SLASH = Route("root", "GET", "/", 200, summary="Health check")
HEALTH = Route("health", "GET", "/health", 200, summary="Liveness probe (no token needed)", auth=False)
AUTHORITY = Route("authority", "GET", "/accounts/authority", 200, "authority error")
VERSION = Route("version", "GET", "/version", 200, "oc controller version failed")
PUBLICKEY = Route("publickey", "GET", "/publickey", 200, "publickey failed")
VPN_CATALOG = Route("vpn_catalog", "GET", "/vpn_catalog", 200, "vpn_catalog failed")
VCS_LIST = Route("list_vcs", "GET", "/vcs", 200, "config vc failed")
VC_CREATE = Route("create_vc", "POST", "/vcs", 202, "create vc failed")
VC_GET = Route("get_vc", "GET", "/vcs/{vcid}", 200, "config vc failed", long_poll=True)
VC_RENAME = Route("update_vc", "PUT", "/vcs/{vcid}", 202, "update vc failed")
VC_CHANGE_OWNER = Route("patch_vc", "PATCH", "/vcs/{vcid}", 202, "change owner vc failed")
VC_DELETE = Route("delete_vc", "DELETE", "/vcs/{vcid}", 202, "delete vc failed")
UNIT_ADD = Route("add_unit", "POST", "/vcs/{vcid}", 202, "add unit failed")
UNIT_GET = Route("get_unit", "GET", "/vcs/{vcid}/{unit_name}", 200, "config unit failed", long_poll=True)
UNIT_ADD_NODES = Route("add_nodes", "PUT", "/vcs/{vcid}/{unit_name}", 202, "add node failed")
UNIT_DELETE = Route("delete_unit", "DELETE", "/vcs/{vcid}/{unit_name}", 202, "delete unit failed")
UNIT_OPERATION = _operation_route("unit_operation", "unit", operations=UNIT_OPERATIONS)
NODE_GET = Route("get_node", "GET", "/vcs/{vcid}/{unit_name}/{node_id}", 200, "config node failed")
NODE_DELETE = Route("delete_node", "DELETE", "/vcs/{vcid}/{unit_name}/{node_id}", 202, "delete node failed")
NODE_OPERATION = _operation_route(
    "node_operation",
    "node",
    errmsgs={op: f"{op} failed" for op in ("power_off", "power_on", "watch", "unwatch")},
    operations=tuple(NODE_OPERATIONS),
)
NODE_BACKUP = Route("backup", "GET", "/vcs/{vcid}/{unit_name}/{node_id}/backup", 202, "backup failed")

#: every route, in the order the controller registers them
ROUTES: tuple[Route, ...] = (
    ROOT,
    ROOT_SLASH,
    HEALTH,
    AUTHORITY,
    VERSION,
    PUBLICKEY,
    VPN_CATALOG,
    VCS_LIST,
    VC_CREATE,
    VC_GET,
    VC_RENAME,
    VC_CHANGE_OWNER,
    VC_DELETE,
    UNIT_ADD,
    UNIT_GET,
    UNIT_ADD_NODES,
    UNIT_DELETE,
    UNIT_OPERATION,
    NODE_GET,
    NODE_DELETE,
    NODE_OPERATION,
    NODE_BACKUP,
)


@functools.lru_cache(maxsize=256)
def path_pattern(template: str) -> re.Pattern[str]:
    """The regular expression of a path template: each ``{name}`` matches one path segment,
    captured as group ``name`` (the one place templates become patterns: the controller's
    metrics, the 405 ``Allow`` and the mock controller all match paths with it).

    Example:
        >>> path_pattern("/vcs/{vcid}").fullmatch("/vcs/5e3c")["vcid"]
        '5e3c'
    """
    parts = re.split(r"\{(\w+)\}", template)
    return re.compile(
        "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/?#]+)" for i, p in enumerate(parts))
    )


def matching_routes(path: str) -> list[Route]:
    """The routes of the table that serve a concrete ``path``: of the templates that match,
    those with the most literal segments (``…/{node_id}/backup`` is the backup route only,
    not also ``…/{node_id}/{operation}``).

    Example:
        >>> [r.name for r in matching_routes(BASE_PATH + "/vcs/a/b/c/backup")]
        ['backup']
    """
    matches = [route for route in ROUTES if path_pattern(BASE_PATH + route.path).fullmatch(path)]
    most = max((_literal_segments(route) for route in matches), default=0)
    return [route for route in matches if _literal_segments(route) == most]


def _literal_segments(route: Route) -> int:
    return sum(1 for part in route.path.split("/") if part and not part.startswith("{"))


def allowed_methods(path: str) -> list[str]:
    """The methods the route table answers on a concrete ``path`` (the ``Allow`` of a 405).

    Every path that answers GET answers HEAD too (the headers of the GET, no body).

    Args:
        path: a request path, e.g. ``/vcp/v1/occtr/vcs/5e3c``.

    Returns:
        list: sorted methods; empty for a path of no route.

    Example:
        >>> allowed_methods(BASE_PATH + "/vcs")
        ['GET', 'HEAD', 'POST']
    """
    return with_head({route.method for route in matching_routes(path)})


def with_head(methods: Iterable[str]) -> list[str]:
    """``methods`` sorted, with HEAD wherever GET is (the ``Allow`` of a path).

    Example:
        >>> with_head(["GET"])
        ['GET', 'HEAD']
    """
    chosen = set(methods)
    if "GET" in chosen:
        chosen.add("HEAD")
    return sorted(chosen)


def secret_keys(providers: Iterable[Provider] | None = None) -> frozenset[str]:
    """Keys whose values are never logged: every provider's ``secrets`` plus the protocol's.

    Args:
        providers: the declarations to read (default: every declared provider).

    Returns:
        frozenset: e.g. ``access_key``, ``secret_key``, ``password``, ``info``, ``token``.
    """
    chosen = all_providers() if providers is None else providers
    return PROTOCOL_SECRET_KEYS | {key for p in chosen for key in p.secrets}


#: keys whose values are never logged (CCI payloads carry keys and credentials)
SECRET_KEYS: frozenset[str] = secret_keys()


# -- the OpenAPI document -------------------------------------------------------------------

#: the error body of every refusal
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["message"],
    "properties": {
        "message": {
            "type": "string",
            "description": "<date> UTC: <exception>: <detail>; the detail names the field or limit",
        }
    },
}
#: the statuses a refusal may have, and when
ERROR_STATUSES: Mapping[int, str] = {
    400: "invalid request: a bad field, or over a count or name limit (named in the message)",
    403: "unknown token, or privileged mode without a superuser token",
    404: "no such UnitGroup, unit or node (of the caller)",
    405: "method not allowed on this path; the Allow header lists the allowed ones",
    409: "the UnitGroup, unit or node is in a state that does not allow the request",
    413: "request body larger than the max_body_bytes limit",
    429: "the token is over its request rate; retry after Retry-After seconds",
}
_FORCE = {"force": {"type": ["boolean", "string"], "description": "'true' (or true) deletes what is inside"}}
_IGNORED: dict[str, Any] = {"type": "object", "description": "ignored (the original SDK sends {})"}


#: standard base64 (RFC 4648, padded), as the controller decodes ``cci`` and ``info``
BASE64_PATTERN = "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def _base64(description: str) -> dict[str, Any]:
    return {"type": "string", "minLength": 4, "pattern": BASE64_PATTERN, "description": description}


def request_bodies(max_name_length: int = 255, max_nodes_per_request: int = 0) -> dict[str, dict[str, Any]]:
    """JSON Schemas of the request bodies, by route name (a body is always a JSON object).

    Args:
        max_name_length: the controller's name limit (``maxLength`` of ``unit_name``).
        max_nodes_per_request: its per-request node limit (``maximum`` of ``num_nodes``; 0: none).

    Returns:
        dict: route name → schema; routes without a body are absent.
    """
    num_nodes: dict[str, Any] = {"type": ["integer", "null"], "minimum": 1, "description": "null: 1"}
    addresses: dict[str, Any] = {
        "type": ["array", "null"],
        "items": {"type": "string"},
        "description": "null: []",
    }
    if max_nodes_per_request:
        num_nodes["maximum"] = max_nodes_per_request
        addresses["maxItems"] = max_nodes_per_request
    cci = {
        "type": "object",
        "required": ["cci"],
        "properties": {"cci": _base64("base64 of the empty-VC CCI (YAML)")},
    }
    return {
        "create_vc": cci,
        "update_vc": cci,
        "patch_vc": {
            "type": "object",
            "required": ["operation", "owner"],
            "properties": {
                "operation": {"type": "string", "enum": ["change_owner"]},
                "owner": {"type": "string", "minLength": 1, "description": "a user of this controller"},
            },
        },
        "delete_vc": {"type": "object", "properties": _FORCE},
        "delete_unit": {"type": "object", "properties": _FORCE},
        "add_unit": {
            "type": "object",
            "required": ["unit_name", "info"],
            "properties": {
                "unit_name": {"type": "string", "pattern": UNIT_NAME_PATTERN, "maxLength": max_name_length},
                "info": _base64("base64 of the unit CCI (YAML), docs/cci.md"),
            },
        },
        "add_nodes": {
            "type": "object",
            "properties": {
                "num_nodes": num_nodes,
                "ip_address_list": addresses,
                "mac_address_list": addresses,
            },
        },
        "unit_operation": _IGNORED,
        "node_operation": _IGNORED,
        "delete_node": _IGNORED,
    }


def describe_openapi(document: dict[str, Any], **limits: int) -> dict[str, Any]:
    """Complete the OpenAPI document the web framework made from the routes.

    Every route of :data:`ROUTES` gets its request body (:func:`request_bodies`), its
    success and every error status it may answer with :data:`ERROR_SCHEMA`, the enum of
    its ``{operation}`` and the token as its security; the framework's 422 (never
    answered: invalid input is a 400) is removed.

    Args:
        document: the generated document (changed in place).
        **limits: ``max_name_length`` / ``max_nodes_per_request`` for the schemas.

    Returns:
        dict: the document.
    """
    bodies = request_bodies(**limits)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for generated in ("HTTPValidationError", "ValidationError"):
        schemas.pop(generated, None)
    schemas["Error"] = ERROR_SCHEMA
    components["securitySchemes"] = {
        "token": {"type": "apiKey", "in": "header", "name": TOKEN_HEADER},
    }
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for route in ROUTES:
        operation = document.get("paths", {}).get(BASE_PATH + route.path, {}).get(route.method.lower())
        if operation is None:
            continue
        responses = operation["responses"] = {
            str(route.status): {
                "description": route.summary or ("accepted" if route.status == 202 else "OK"),
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        }
        statuses = {405, 413}
        if route.auth:
            statuses |= {400, 403, 429}
            operation["security"] = [{"token": []}]
        if route.params:
            statuses.add(404)
        if route.status == 202:
            statuses.add(409)
        for status in sorted(statuses):
            responses[str(status)] = {"description": ERROR_STATUSES[status], "content": error}
            if status == 429:
                responses["429"]["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
        for parameter in operation.get("parameters", []):
            if parameter.get("name") == "operation" and route.operations:
                parameter["schema"] = {"type": "string", "enum": list(route.operations)}
        if route.name in bodies:
            operation["requestBody"] = {
                "required": route.name in ("create_vc", "update_vc", "patch_vc", "add_unit"),
                "content": {"application/json": {"schema": bodies[route.name]}},
            }
    _merge_overlapping_paths(document.get("paths", {}))
    return document


def _merge_overlapping_paths(paths: dict[str, Any]) -> None:
    """Describe routes whose templates match the same URLs under one path template.

    ``/vcs/{vcid}/{unit_name}/{node_id}`` (GET, DELETE) and ``…/{operation}`` (PATCH) are the
    same URLs: OpenAPI tools would send PATCH to the first and expect 405.  The PATCH is
    moved under the first template, its ``{operation}`` parameter renamed to that
    template's name and documented as the union (an operation for PATCH, a node for the rest).
    """
    by_shape: dict[str, list[str]] = {}
    for path in paths:
        by_shape.setdefault(re.sub(r"\{\w+\}", "{}", path), []).append(path)
    for group in by_shape.values():
        # the template of the resource (``{node_id}``) stays; ``{operation}`` joins it
        kept = next((p for p in group if "{operation}" not in p), group[0])
        for path in group:
            if path != kept:
                _move_operations(paths, path, kept)


def _move_operations(paths: dict[str, Any], path: str, kept: str) -> None:
    """Move the operations of ``path`` under ``kept``, renaming their path parameters."""
    names = dict(zip(re.findall(r"\{(\w+)\}", path), re.findall(r"\{(\w+)\}", kept), strict=True))
    for method, operation in paths.pop(path).items():
        for parameter in operation.get("parameters", []):
            old = parameter.get("name", "")
            if parameter.get("in") == "path" and names.get(old, old) != old:
                parameter["name"] = names[old]
                parameter["description"] = (
                    f"for {method.upper()} this segment is the {old} (see its enum); "
                    f"for the path's other methods the {names[old]}"
                )
        paths[kept][method] = operation
