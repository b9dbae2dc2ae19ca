"""mdx extension: a REST client of the mdx virtual-machine service (https://mdx.jp).

``MdxResourceExt`` talks to the mdx REST API directly (not through the VC Controller):
it lists the caller's projects, network segments and VM catalogs, deploys VMs, powers
them on and off, destroys them, and manages DNAT entries, IPv4 allow-ACLs and the
project's operation history.  docs/mdx.md lists every REST path and body it uses.

Example (as in the OCS notebooks)::

    from vcpsdk.plugins.mdx_ext import MdxResourceExt, MDX_VM_SPEC_SCHEMA

    mdx = MdxResourceExt(mdx_token)              # token from the mdx user portal
    mdx.set_current_project_by_name("my-project")
    segment_id = mdx.get_segments()[0]["uuid"]
    info = mdx.deploy_vm("vm-01", {
        "catalog": catalog_id, "template_name": template_name,
        "pack_num": 3, "pack_type": "cpu", "disk_size": 40, "gpu": "0",
        "network_adapters": [{"adapter_number": 1, "segment": segment_id}],
        "shared_key": ssh_public_key, "storage_network": "portgroup",
    })
    address = info["service_networks"][0]["ipv4_address"][0]
    mdx.power_off_vm("vm-01")
    mdx.destroy_vm("vm-01")

Waiting: every blocking call polls with the module constants ``SLEEP_TIME_SEC`` (seconds
between polls), ``SLEEP_COUNT`` (polls for power operations and destroy) and
``DEPLOY_VM_SLEEP_COUNT`` (polls for a deploy).  They are read at call time, so a test
or a notebook can change them (``mdx_ext.SLEEP_TIME_SEC = 0``), and notebooks may use
them for their own wait loops.

Errors: every failure raises a subclass of :class:`vcpsdk.errors.VcpSDKError`
(:class:`MdxRestError` and its subclasses below), carrying the HTTP status and the mdx
server's message when there is one, after an ERROR line on logger ``vcp.sdk.mdx``.
The token is never logged nor put in an error message.
"""

from __future__ import annotations

import copy
import ipaddress
import logging
import time
from collections.abc import Iterator, Mapping
from typing import Any, NoReturn

import requests

from vcpsdk.errors import (
    VcpAuthError,
    VcpConflictError,
    VcpConnectionError,
    VcpInvalidArgumentError,
    VcpNotFoundError,
    VcpSDKError,
    VcpTimeoutError,
    family_member_for_status,
    raise_error,
)

try:  # optional at run time; a dependency of the package
    import jsonschema as _jsonschema
except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
    _jsonschema = None

__all__ = [
    "DEFAULT_MDX_ENDPOINT",
    "DELETABLE_STATES",
    "DEPLOY_VM_SLEEP_COUNT",
    "MDX_ALLOW_ACL_IPV4_SPEC_SCHEMA",
    "MDX_VM_SPEC_SCHEMA",
    "PAGE_SIZE",
    "REQUEST_TIMEOUT_SEC",
    "SLEEP_COUNT",
    "SLEEP_TIME_SEC",
    "MdxAuthError",
    "MdxConflictError",
    "MdxConnectionError",
    "MdxInvalidArgumentError",
    "MdxNotFoundError",
    "MdxResourceExt",
    "MdxRestError",
    "MdxRestException",
    "MdxTimeoutError",
    "validate_spec",
]

logger = logging.getLogger("vcp.sdk.mdx")

#: The mdx REST API (and user portal) the client talks to unless told otherwise.
DEFAULT_MDX_ENDPOINT = "https://oprpl.mdx.jp"
#: Seconds between two polls of a wait loop (read at call time).
SLEEP_TIME_SEC: float = 5
#: Polls of a power operation or a destroy before giving up (read at call time).
SLEEP_COUNT: int = 120
#: Polls of ``deploy_vm(wait_for=True)`` before giving up (read at call time).
DEPLOY_VM_SLEEP_COUNT: int = 240
#: VM states from which ``destroy_vm`` is allowed.
DELETABLE_STATES: tuple[str, ...] = ("PowerOFF", "Deallocated")
#: Items asked for per page of a paginated list (``page_size`` query parameter).
PAGE_SIZE: int = 100
#: Seconds one HTTP request may take (connect and read).
REQUEST_TIMEOUT_SEC: float = 60

#: JSON Schema of ``deploy_vm``'s ``vm_spec`` (a project of type "通常", normal).
#: ``additionalProperties`` is false, so a key the schema does not know is refused;
#: notebooks that need a newer API field add it to ``MDX_VM_SPEC_SCHEMA['properties']``.
#: The schema is read at every call, so such changes take effect at once.
MDX_VM_SPEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["catalog", "template_name", "network_adapters"],
    "properties": {
        "catalog": {"type": "string", "minLength": 1},  # catalog uuid
        "template_name": {"type": "string", "minLength": 1},  # vCenter VM template name
        "pack_num": {"type": "integer", "minimum": 1},
        "pack_type": {"type": "string", "enum": ["cpu", "gpu"]},
        "gpu": {"type": "string"},  # number of GPUs, as a string
        "disk_size": {"type": "integer", "minimum": 1},  # GB
        "network_adapters": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["adapter_number", "segment"],
                "properties": {
                    "adapter_number": {"type": "integer", "minimum": 1},
                    "segment": {"type": "string", "minLength": 1},  # segment uuid
                },
            },
        },
        "shared_key": {"type": "string"},  # SSH public key text
        "storage_network": {"type": "string", "enum": ["sr-iov", "pvrdma", "portgroup"]},
        "service_level": {"type": "string"},  # e.g. "spot", "guarantee"
    },
}

#: JSON Schema of ``add_allow_acl_ipv4_info``'s ``allow_acl_spec``.
MDX_ALLOW_ACL_IPV4_SPEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "segment",
        "src_address",
        "src_mask",
        "src_port",
        "dst_address",
        "dst_mask",
        "dst_port",
        "protocol",
    ],
    "properties": {
        "segment": {"type": "string", "minLength": 1},
        "src_address": {"type": "string", "minLength": 1},
        "src_mask": {"type": "string"},
        "src_port": {"type": "string"},
        "dst_address": {"type": "string", "minLength": 1},
        "dst_mask": {"type": "string"},
        "dst_port": {"type": "string"},
        "protocol": {"type": "string", "enum": ["ICMP", "TCP", "UDP"]},
    },
}


# --------------------------------------------------------------------------- errors


class MdxRestError(VcpSDKError):
    """An mdx REST API call failed (base class of every error of this module).

    Attributes:
        message: what the SDK was doing and for which object.
        http_status: the HTTP status the mdx server answered, if any.
        server_message: the server's own message (``detail``/``message`` or the body).
    """

    @property
    def status_code(self) -> int:
        """The HTTP status, or 0 when the error did not come from the server."""
        return self.http_status or 0


#: The name used by the original client library.
MdxRestException = MdxRestError


class MdxInvalidArgumentError(MdxRestError, VcpInvalidArgumentError):
    """Wrong arguments (client-side check, or HTTP 400/422 from mdx); nothing was changed."""


class MdxAuthError(MdxRestError, VcpAuthError):
    """No token, or mdx rejected the token or the credentials (HTTP 401/403)."""


class MdxNotFoundError(MdxRestError, VcpNotFoundError):
    """The project, VM, segment or ACL does not exist (or HTTP 404)."""


class MdxConflictError(MdxRestError, VcpConflictError):
    """The VM is in the wrong state for the operation (or HTTP 409)."""


class MdxTimeoutError(MdxRestError, VcpTimeoutError):
    """A wait loop gave up; the operation may still complete on mdx."""


class MdxConnectionError(MdxRestError, VcpConnectionError):
    """The mdx endpoint could not be reached, or the request timed out."""


def _error_class(status: int) -> type[MdxRestError]:
    return family_member_for_status(
        status, (MdxInvalidArgumentError, MdxAuthError, MdxNotFoundError, MdxConflictError), MdxRestError
    )


def _fail(cls: type[MdxRestError], message: str, **kwargs: Any) -> NoReturn:
    """Log an ERROR line (like the rest of the SDK) and raise ``cls``."""
    raise_error(cls, message, log=logger, **kwargs)


def _sleep(seconds: float) -> None:
    """Sleep between two polls (a seam for tests)."""
    if seconds > 0:
        time.sleep(seconds)


# ----------------------------------------------------------------------- validation

_JSON_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, Mapping),
    "array": lambda v: isinstance(v, list | tuple),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _fallback_errors(value: Any, schema: Mapping[str, Any], path: str) -> Iterator[str]:
    """The subset of JSON Schema used by this module's schemas, without ``jsonschema``."""
    where = path or "vm_spec"
    expected = schema.get("type")
    if expected is not None:
        names = [expected] if isinstance(expected, str) else list(expected)
        if not any(_JSON_TYPES.get(name, lambda v: True)(value) for name in names):
            yield f"{where}: {value!r} is not of type {' or '.join(map(repr, names))}"
            return
    if "enum" in schema and value not in schema["enum"]:
        yield f"{where}: {value!r} is not one of {schema['enum']!r}"
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        yield f"{where}: {value!r} is too short"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            yield f"{where}: {value!r} is less than the minimum of {schema['minimum']!r}"
        if "maximum" in schema and value > schema["maximum"]:
            yield f"{where}: {value!r} is greater than the maximum of {schema['maximum']!r}"
    if isinstance(value, Mapping):
        properties = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                yield f"{where}: {key!r} is a required property"
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            sub = f"{path}/{key}" if path else str(key)
            if key in properties:
                yield from _fallback_errors(item, properties[key], sub)
            elif extra is False:
                yield f"{where}: additional property {key!r} is not allowed"
            elif isinstance(extra, Mapping):
                yield from _fallback_errors(item, extra, sub)
    if isinstance(value, list | tuple):
        if len(value) < schema.get("minItems", 0):
            yield f"{where}: {list(value)!r} should have at least {schema['minItems']} item(s)"
        if isinstance(schema.get("items"), Mapping):
            for index, item in enumerate(value):
                sub = f"{path}/{index}" if path else str(index)
                yield from _fallback_errors(item, schema["items"], sub)


def validate_spec(spec: Any, schema: Mapping[str, Any], what: str = "vm_spec") -> None:
    """Check ``spec`` against a JSON Schema; raise :class:`MdxInvalidArgumentError` if it fails.

    Uses the ``jsonschema`` package when it is installed, else a built-in check of the
    keywords this module's schemas use (type, enum, required, properties,
    additionalProperties, items, minItems, minLength, minimum, maximum).

    Args:
        spec: the value to check (e.g. a ``vm_spec`` dict).
        schema: the JSON Schema (e.g. :data:`MDX_VM_SPEC_SCHEMA`).
        what: the name used in the error message.

    Raises:
        MdxInvalidArgumentError: ``spec`` does not match, or ``schema`` is not a valid schema.

    Example::

        validate_spec({"catalog": "c", "template_name": "t",
                       "network_adapters": [{"adapter_number": 1, "segment": "s"}]},
                      MDX_VM_SPEC_SCHEMA)
    """
    if _jsonschema is not None:
        try:
            validator_cls = _jsonschema.validators.validator_for(
                schema, default=_jsonschema.Draft202012Validator
            )
            validator_cls.check_schema(schema)
            error = _jsonschema.exceptions.best_match(validator_cls(schema).iter_errors(spec))
        except _jsonschema.exceptions.SchemaError as e:
            _fail(MdxInvalidArgumentError, f"mdx: the schema for {what} is not valid: {e.message}")
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or what
            _fail(MdxInvalidArgumentError, f"mdx: invalid {what}: {where}: {error.message}")
        return
    problems = list(_fallback_errors(spec, schema, ""))
    if problems:
        _fail(MdxInvalidArgumentError, f"mdx: invalid {what}: {problems[0]}")


def _first_ipv4(info: Mapping[str, Any] | None) -> str | None:
    """The first IPv4 address of the VM's first service network, if it has one."""
    if not info:
        return None
    networks = info.get("service_networks") or []
    if not networks:
        return None
    for address in networks[0].get("ipv4_address") or []:
        try:
            ipaddress.IPv4Address(str(address))
        except ValueError:
            continue
        return str(address)
    return None


# --------------------------------------------------------------------------- client


class MdxResourceExt:
    """A client of the mdx REST API: projects, segments, catalogs, VMs, DNAT, ACLs, history.

    Every request carries the header ``Authorization: JWT <token>``.  Most calls act on
    the *current project*, chosen with :meth:`set_current_project_by_name` or
    :meth:`set_current_project_id`; calling them before raises :class:`MdxRestError`.

    Args:
        init_token: the mdx REST API token from the mdx user portal ("トークン発行").
            May be ``None`` if :meth:`login` is called next.
        endpoint: base URL of the mdx REST API.
        session: a ``requests.Session`` to use (a new one by default).
        request_timeout: seconds one HTTP request may take.
        page_size: items asked for per page of a paginated list.

    Example::

        mdx = MdxResourceExt(mdx_token)
        project_id = mdx.get_assigned_projects()[0]["projects"][0]["uuid"]
        mdx.set_current_project_id(project_id)
        print(mdx.get_vm_list())
    """

    def __init__(
        self,
        init_token: str | None = None,
        endpoint: str = DEFAULT_MDX_ENDPOINT,
        *,
        session: requests.Session | None = None,
        request_timeout: float = REQUEST_TIMEOUT_SEC,
        page_size: int = PAGE_SIZE,
    ) -> None:
        if page_size < 1:
            raise MdxInvalidArgumentError(f"mdx: page_size must be at least 1, not {page_size}")
        self._endpoint = endpoint.rstrip("/")
        self._token = init_token or None
        self._session = session or requests.Session()
        self._request_timeout = request_timeout
        self._page_size = page_size
        self._project_id: str | None = None

    def __repr__(self) -> str:
        return (
            f"MdxResourceExt(endpoint={self._endpoint!r}, project_id={self._project_id!r}, "
            f"token={'set' if self._token else 'unset'})"
        )

    def __enter__(self) -> MdxResourceExt:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session (connections are reopened if the client is used again).

        Example::

            with MdxResourceExt(token) as mdx:
                mdx.get_assigned_projects()
        """
        self._session.close()

    @property
    def endpoint(self) -> str:
        """The base URL of the mdx REST API (without a trailing slash)."""
        return self._endpoint

    @property
    def token(self) -> str | None:
        """The token in use (a secret: do not print or log it)."""
        return self._token

    @property
    def project_id(self) -> str | None:
        """The uuid of the current project, or ``None`` when none is set."""
        return self._project_id

    # ------------------------------------------------------------------ HTTP plumbing

    def _redact(self, text: str) -> str:
        if self._token and self._token in text:
            text = text.replace(self._token, "***")
        return text

    def _server_message(self, response: requests.Response) -> str | None:
        try:
            body = response.json()
        except ValueError:
            text = response.text.strip()
            return self._redact(text[:2000]) if text else None
        if isinstance(body, Mapping):
            for key in ("detail", "message", "error", "error_message"):
                if isinstance(body.get(key), str) and body[key]:
                    return self._redact(body[key])
            parts = []
            for key, value in body.items():
                if isinstance(value, list):
                    value = " ".join(str(v) for v in value)
                parts.append(f"{key}: {value}")
            return self._redact("; ".join(parts)) or None
        if isinstance(body, list):
            return self._redact("; ".join(str(v) for v in body)) or None
        return self._redact(str(body))

    def _request(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        expected: tuple[int, ...] = (200,),
        auth: bool = True,
        missing_ok: bool = False,
        error_classes: Mapping[int, type[MdxRestError]] | None = None,
    ) -> requests.Response | None:
        """Send one request; return the response, or ``None`` for a 404 when ``missing_ok``."""
        headers = {"Accept": "application/json"}
        if auth:
            if not self._token:
                _fail(
                    MdxAuthError,
                    f"mdx: {what}: no mdx token: pass init_token to MdxResourceExt() or call login() first",
                )
            headers["Authorization"] = f"JWT {self._token}"
        url = self._endpoint + path
        logger.debug("mdx %s %s", method, path)
        try:
            response = self._session.request(
                method, url, params=params, json=body, headers=headers, timeout=self._request_timeout
            )
        except requests.Timeout as e:
            _fail(
                MdxConnectionError,
                f"mdx: {what}: no answer from {self._endpoint} within "
                f"{self._request_timeout} s ({type(e).__name__})",
            )
        except requests.RequestException as e:
            _fail(
                MdxConnectionError,
                f"mdx: {what}: cannot reach {self._endpoint} ({type(e).__name__})",
                server_message=self._redact(str(e))[:500],
            )
        logger.debug("mdx %s %s -> %s", method, path, response.status_code)
        if response.status_code in expected:
            return response
        if missing_ok and response.status_code == 404:
            return None
        cls = (error_classes or {}).get(response.status_code) or _error_class(response.status_code)
        _fail(
            cls,
            f"mdx: {what} failed",
            http_status=response.status_code,
            server_message=self._server_message(response),
        )

    def _json(self, response: requests.Response | None, what: str) -> Any:
        if response is None or response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            _fail(
                MdxRestError,
                f"mdx: {what}: the answer is not JSON",
                http_status=response.status_code,
                server_message=self._redact(response.text[:500]),
            )

    def _get(self, path: str, what: str, **kwargs: Any) -> Any:
        return self._json(self._request("GET", path, what, **kwargs), what)

    def _iter_pages(self, path: str, what: str) -> Iterator[dict[str, Any]]:
        """Yield the items of a paginated list (``?page=N&page_size=M``) across pages.

        The answer of a page is ``{"count", "next", "previous", "results"}``; a plain JSON
        list is taken as the whole list.
        """
        page = 1
        while True:
            body = self._get(path, what, params={"page": page, "page_size": self._page_size})
            if isinstance(body, list):
                yield from body
                return
            if not isinstance(body, Mapping) or not isinstance(body.get("results"), list):
                _fail(MdxRestError, f"mdx: {what}: unexpected answer for page {page}")
            results = body["results"]
            yield from results
            if not body.get("next") or not results:
                return
            page += 1

    def _require_project(self, what: str) -> str:
        if self._project_id is None:
            _fail(
                MdxRestError,
                f"mdx: {what}: no current project: call "
                "set_current_project_by_name() or set_current_project_id() first",
            )
        return self._project_id

    @staticmethod
    def _check_name(value: Any, what: str, name: str) -> None:
        if not isinstance(value, str) or not value:
            _fail(MdxInvalidArgumentError, f"mdx: {what}: {name} must be a non-empty string, not {value!r}")

    # ----------------------------------------------------------------------- tokens

    def login(self, auth_info: Mapping[str, str]) -> None:
        """Get a token with a user name and password (for development; ``POST /api/login/``).

        In normal use take the token from the mdx user portal and pass it as
        ``init_token`` instead.

        Args:
            auth_info: ``{"username": <mdx REST API user>, "password": <its password>}``.

        Returns:
            ``None``; the new token is used by every later call.

        Raises:
            MdxInvalidArgumentError: ``auth_info`` lacks ``username`` or ``password``.
            MdxAuthError: mdx refused the credentials.
            MdxConnectionError: mdx could not be reached.

        Example::

            mdx = MdxResourceExt()
            mdx.login({"username": "alice", "password": getpass()})
        """
        if not isinstance(auth_info, Mapping) or not all(
            isinstance(auth_info.get(k), str) and auth_info.get(k) for k in ("username", "password")
        ):
            _fail(MdxInvalidArgumentError, "mdx: login: auth_info must be {'username': ..., 'password': ...}")
        response = self._request(
            "POST",
            "/api/login/",
            "login",
            body={"username": auth_info["username"], "password": auth_info["password"]},
            auth=False,
            error_classes={400: MdxAuthError},
        )
        body = self._json(response, "login")
        if not isinstance(body, Mapping) or not body.get("token"):
            _fail(MdxAuthError, "mdx: login: the answer holds no token")
        self._token = str(body["token"])

    def refresh_token(self) -> None:
        """Exchange the current token for a fresh one (``POST /api/refresh/``).

        Returns:
            ``None``; the new token replaces the old one, which mdx may revoke.

        Raises:
            MdxAuthError: there is no token, or mdx refused it (expired or revoked).
            MdxConnectionError: mdx could not be reached.

        Example::

            mdx.refresh_token()   # e.g. once an hour in a long-running notebook
        """
        response = self._request("POST", "/api/refresh/", "refresh_token", body={"token": self._token})
        body = self._json(response, "refresh_token")
        if not isinstance(body, Mapping) or not body.get("token"):
            _fail(MdxAuthError, "mdx: refresh_token: the answer holds no token")
        self._token = str(body["token"])

    # --------------------------------------------------------------------- projects

    def get_assigned_projects(self) -> list[dict[str, Any]]:
        """The institutions and projects the user belongs to (``GET /api/project/assigned/``).

        Returns:
            ``[{"uuid", "name", "projects": [{"uuid", "name", "type", "expired"}]}]``: one
            entry per institution; ``type`` is ``"専有"`` (dedicated) or ``"通常"``
            (normal), ``expired`` a bool.

        Raises:
            MdxAuthError: no token, or mdx refused it.
            MdxConnectionError: mdx could not be reached.

        Example::

            project_id = mdx.get_assigned_projects()[0]["projects"][0]["uuid"]
        """
        body = self._get("/api/project/assigned/", "get_assigned_projects")
        return list(body or [])

    def _find_project(self, key: str, value: str) -> dict[str, Any] | None:
        for institution in self.get_assigned_projects():
            for project in institution.get("projects") or []:
                if project.get(key) == value:
                    return dict(project)
        return None

    def get_current_project(self) -> dict[str, Any] | None:
        """The current project, as listed by :meth:`get_assigned_projects`.

        Returns:
            ``{"uuid", "name", "type", "expired"}``, or ``None`` when no project is set or
            the set id is not among the user's projects.

        Raises:
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            print(mdx.get_current_project()["name"])
        """
        if self._project_id is None:
            return None
        return self._find_project("uuid", self._project_id)

    def set_current_project_by_name(self, project_name: str) -> None:
        """Make the project named ``project_name`` the current project.

        Args:
            project_name: the project's name as shown by :meth:`get_assigned_projects`.

        Returns:
            ``None``.

        Raises:
            MdxNotFoundError: the user has no project of that name (the current project is
                left unchanged).
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            mdx.set_current_project_by_name(os.environ["MDX_PROJECT_NAME"])
        """
        self._check_name(project_name, "set_current_project_by_name", "project_name")
        project = self._find_project("name", project_name)
        if project is None:
            _fail(MdxNotFoundError, f"mdx: project {project_name!r} is not found among the assigned projects")
        self._project_id = str(project["uuid"])

    def set_current_project_id(self, project_id: str) -> None:
        """Make the project with uuid ``project_id`` the current project (no request is sent).

        Args:
            project_id: the project's uuid.

        Returns:
            ``None``.

        Raises:
            MdxInvalidArgumentError: ``project_id`` is not a non-empty string.

        Example::

            mdx.set_current_project_id(mdx.get_assigned_projects()[0]["projects"][0]["uuid"])
        """
        self._check_name(project_id, "set_current_project_id", "project_id")
        self._project_id = project_id

    def get_project_history(self) -> list[dict[str, Any]]:
        """The operation history of the current project, all pages.

        Returns:
            ``[{"uuid", "project", "user_name", "type", "object_uuid", "object_name",
            "start_datetime", "end_datetime", "status", "progress", "error_message",
            "error_detail"}]``; ``status`` is ``"Running"``, ``"Completed"`` or ``"Failed"``,
            dates are ``"YYYY-mm-dd HH:MM:SS"``.

        Raises:
            MdxRestError: no current project.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            failed = [h for h in mdx.get_project_history() if h["status"] == "Failed"]
        """
        return list(self.project_history_iter())

    def project_history_iter(self) -> Iterator[dict[str, Any]]:
        """Iterate over the current project's history (``GET /api/history/project/<id>/``).

        Pages are fetched as the iteration goes on.

        Returns:
            an iterator of history entries (see :meth:`get_project_history`).

        Raises:
            MdxRestError: no current project (when the iteration starts).
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            for entry in mdx.project_history_iter():
                print(entry["type"], entry["object_name"], entry["status"])
        """
        project_id = self._require_project("project_history_iter")
        yield from self._iter_pages(f"/api/history/project/{project_id}/", "project_history_iter")

    # --------------------------------------------------------------------- segments

    def get_segments(self) -> list[dict[str, Any]]:
        """The network segments of the current project (``GET /api/segment/project/<id>/all/``).

        Returns:
            ``[{"uuid", "name", "default"}]``; ``default`` is true for the segment made
            with the project.

        Raises:
            MdxRestError: no current project.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            segment_id = mdx.get_segments()[0]["uuid"]
        """
        project_id = self._require_project("get_segments")
        body = self._get(f"/api/segment/project/{project_id}/all/", "get_segments")
        if isinstance(body, Mapping) and isinstance(body.get("results"), list):
            return list(body["results"])
        return list(body or [])

    def get_segment_summary(self, segment_id: str) -> dict[str, Any]:
        """Summary of one segment (``GET /api/segment/<segment_id>/summary``).

        Args:
            segment_id: the segment's uuid.

        Returns:
            ``{"vlan_id", "vni", "ip_range"}``.

        Raises:
            MdxRestError: no current project.
            MdxNotFoundError: no such segment.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            print(mdx.get_segment_summary(segment_id)["ip_range"])
        """
        self._require_project("get_segment_summary")
        self._check_name(segment_id, "get_segment_summary", "segment_id")
        return dict(
            self._get(f"/api/segment/{segment_id}/summary", f"get_segment_summary({segment_id})") or {}
        )

    # --------------------------------------------------------------------- catalogs

    def get_vm_catalogs(self) -> list[dict[str, Any]]:
        """The VM catalogs of the current project (``GET /api/catalog/project/<id>/``).

        Returns:
            ``[{"uuid", "name", "type", "template_name", "os_type", "os_name",
            "os_version", "hw_version", "description", "login_username"}]``;
            ``os_type`` is ``"Linux"`` or ``"Windows"``.

        Raises:
            MdxRestError: no current project.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            ubuntu = [c for c in mdx.get_vm_catalogs() if c["os_name"] == "Ubuntu"][0]
            spec = {"catalog": ubuntu["uuid"], "template_name": ubuntu["template_name"], ...}
        """
        project_id = self._require_project("get_vm_catalogs")
        return list(self._iter_pages(f"/api/catalog/project/{project_id}/", "get_vm_catalogs"))

    # -------------------------------------------------------------------------- VMs

    def vm_info_iter(self) -> Iterator[dict[str, Any]]:
        """Iterate over the VMs of the current project (``GET /api/vm/project/<id>/``).

        Pages are fetched as the iteration goes on.

        Returns:
            an iterator of ``{"uuid", "name", "status", "vcenter", "running_tasks"}``.

        Raises:
            MdxRestError: no current project (when the iteration starts).
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            names = [vm["name"] for vm in mdx.vm_info_iter()]
        """
        project_id = self._require_project("vm_info_iter")
        yield from self._iter_pages(f"/api/vm/project/{project_id}/", "vm_info_iter")

    def get_vm_list(self) -> list[dict[str, Any]]:
        """The VMs of the current project, all pages.

        Returns:
            ``[{"uuid", "name", "status", "vcenter", "running_tasks"}]``; ``status`` is one
            of ``"PowerON"``, ``"PowerOFF"``, ``"Deallocated"``, ``"Suspended"``,
            ``"NotFound"``, ``"Deploying"``, ``"Detached"``.

        Raises:
            MdxRestError: no current project.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            running = [vm["name"] for vm in mdx.get_vm_list() if vm["status"] == "PowerON"]
        """
        return list(self.vm_info_iter())

    def _vm_id(self, vm_name: str) -> str | None:
        for vm in self.vm_info_iter():
            if vm.get("name") == vm_name:
                return str(vm["uuid"])
        return None

    def _find_vm_id(self, vm_name: str, what: str) -> str:
        vm_id = self._vm_id(vm_name)
        if vm_id is None:
            _fail(MdxNotFoundError, f"mdx: {what}: VM {vm_name!r} is not found in project {self._project_id}")
        return vm_id

    def _vm_info_by_id(self, vm_id: str, what: str) -> dict[str, Any] | None:
        body = self._json(self._request("GET", f"/api/vm/{vm_id}/", what, missing_ok=True), what)
        if body is None:
            return None
        info = dict(body)
        info.setdefault("vm_id", vm_id)
        return info

    def get_vm_info(self, vm_name: str) -> dict[str, Any] | None:
        """Details of the VM named ``vm_name`` (``GET /api/vm/<vm_id>/``).

        Args:
            vm_name: the VM's name in the current project.

        Returns:
            ``None`` when there is no such VM (e.g. once destroyed), else ``{"name",
            "vm_id", "os_type", "status", "vmware_tools": [{"status", "version"}], "cpu",
            "memory" ("2 GB"), "gpu" ("1"), "service_networks": [{"adapter_number",
            "ipv4_address": [...], "ipv6_address": [...], "segment"}], "storage_networks":
            [{"adapter_number", "ipv4_address", "ipv6_address", "type"}], "hard_disks":
            [{"disk_number", "device_key", "capacity", "datastore"}], "dvd_media",
            "vcenter", "esxi", "pack_type", "pack_num"}``.

        Raises:
            MdxRestError: no current project.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            info = mdx.get_vm_info("vm-01")
            if info and info["status"] == "PowerON":
                address = info["service_networks"][0]["ipv4_address"][0]
        """
        self._require_project("get_vm_info")
        self._check_name(vm_name, "get_vm_info", "vm_name")
        vm_id = self._vm_id(vm_name)
        if vm_id is None:
            return None
        return self._vm_info_by_id(vm_id, f"get_vm_info({vm_name})")

    def deploy_vm(self, vm_name: str, vm_spec: Mapping[str, Any], wait_for: bool = True) -> dict[str, Any]:
        """Deploy (create and power on) a VM (``POST /api/vm/deploy/``).

        ``vm_spec`` is checked against :data:`MDX_VM_SPEC_SCHEMA` first and is not
        modified.  The request body is ``vm_spec`` plus ``vm_name``, ``project`` (the
        current project), ``os_type`` (``"Linux"``) and ``power_on`` (``true``).

        Args:
            vm_name: the new VM's name.
            vm_spec: ``{"catalog": <catalog uuid>, "template_name": <vCenter template>,
                "pack_num": int, "pack_type": "cpu"|"gpu", "gpu": "0", "disk_size": <GB>,
                "network_adapters": [{"adapter_number": 1, "segment": <segment uuid>}],
                "shared_key": <SSH public key>, "storage_network":
                "sr-iov"|"pvrdma"|"portgroup", "service_level": ...}``.
            wait_for: wait until the VM is PowerON with an IPv4 address on its first service
                network, polling every ``SLEEP_TIME_SEC`` seconds up to
                ``DEPLOY_VM_SLEEP_COUNT`` times.

        Returns:
            the VM's info as :meth:`get_vm_info` returns it.  With ``wait_for=False`` the
            status is usually ``"Deploying"``; if mdx does not list the VM yet, a stub
            ``{"name", "status": "Deploying", "service_networks": [], "task_id"}``.

        Raises:
            MdxRestError: no current project, or the VM disappeared while deploying.
            MdxInvalidArgumentError: ``vm_spec`` does not match the schema, or mdx refused
                it (e.g. the name is taken).
            MdxTimeoutError: no IPv4 address after ``DEPLOY_VM_SLEEP_COUNT`` polls; the
                deploy may still finish on mdx.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            info = mdx.deploy_vm("vm-01", spec)
            print(info["service_networks"][0]["ipv4_address"][0])
        """
        project_id = self._require_project("deploy_vm")
        self._check_name(vm_name, "deploy_vm", "vm_name")
        validate_spec(vm_spec, MDX_VM_SPEC_SCHEMA, "vm_spec")
        body: dict[str, Any] = copy.deepcopy(dict(vm_spec))
        body.setdefault("os_type", "Linux")
        body.setdefault("power_on", True)
        body["project"] = project_id
        body["vm_name"] = vm_name
        response = self._request(
            "POST", "/api/vm/deploy/", f"deploy_vm({vm_name})", body=body, expected=(200, 201, 202)
        )
        answer = self._json(response, f"deploy_vm({vm_name})")
        task_id = answer.get("task_id") if isinstance(answer, Mapping) else None
        logger.info("mdx: deploying VM %s (task %s)", vm_name, task_id)
        if not wait_for:
            info = self.get_vm_info(vm_name)
            if info is None:
                info = {"name": vm_name, "status": "Deploying", "service_networks": [], "task_id": task_id}
            return info
        return self._wait_for_address(vm_name)

    def _wait_for_address(self, vm_name: str) -> dict[str, Any]:
        count = int(DEPLOY_VM_SLEEP_COUNT)
        info: dict[str, Any] | None = None
        vm_id: str | None = None
        seen = False
        for i in range(count):
            if i:
                _sleep(SLEEP_TIME_SEC)
            if vm_id is None:
                vm_id = self._vm_id(vm_name)
            if vm_id is not None:
                info = self._vm_info_by_id(vm_id, f"deploy_vm({vm_name})")
                if info is None:
                    if seen:
                        _fail(
                            MdxRestError,
                            f"mdx: deploy_vm: VM {vm_name!r} disappeared while "
                            "deploying (see get_project_history())",
                        )
                    vm_id = None
                else:
                    seen = True
                    address = _first_ipv4(info)
                    logger.debug(
                        "mdx: deploy_vm(%s) poll %d: %s %s", vm_name, i + 1, info.get("status"), address
                    )
                    if info.get("status") == "PowerON" and address:
                        logger.info("mdx: VM %s is PowerON with address %s", vm_name, address)
                        return info
        status = info.get("status") if info else "not listed"
        _fail(
            MdxTimeoutError,
            f"mdx: deploy_vm: VM {vm_name!r} has no IPv4 address after "
            f"{count} polls every {SLEEP_TIME_SEC} s (last status: {status}); the deploy "
            "may still finish: poll get_vm_info()",
        )

    def _wait_for_status(self, vm_name: str, vm_id: str, target: str, what: str) -> None:
        count = int(SLEEP_COUNT)
        status = None
        for _ in range(count):
            _sleep(SLEEP_TIME_SEC)
            info = self._vm_info_by_id(vm_id, f"{what}({vm_name})")
            if info is None:
                _fail(MdxNotFoundError, f"mdx: {what}: VM {vm_name!r} disappeared while waiting for {target}")
            status = info.get("status")
            logger.debug("mdx: %s(%s): waiting for %s, now %s", what, vm_name, target, status)
            if status == target:
                return
        _fail(
            MdxTimeoutError,
            f"mdx: {what}: VM {vm_name!r} is not {target} after {count} polls "
            f"every {SLEEP_TIME_SEC} s (last status: {status})",
        )

    def _vm_action(
        self,
        vm_name: str,
        what: str,
        action: str,
        *,
        allowed: tuple[str, ...],
        done: tuple[str, ...],
        target: str,
        wait_for: bool,
        body: Any = None,
    ) -> None:
        self._require_project(what)
        self._check_name(vm_name, what, "vm_name")
        vm_id = self._find_vm_id(vm_name, what)
        info = self._vm_info_by_id(vm_id, f"{what}({vm_name})")
        if info is None:
            _fail(MdxNotFoundError, f"mdx: {what}: VM {vm_name!r} is not found")
        status = info.get("status")
        if status in done:
            logger.info("mdx: %s: VM %s is already %s", what, vm_name, status)
            return
        if status not in allowed:
            _fail(
                MdxConflictError,
                f"mdx: {what}: VM {vm_name!r} is {status}; it must be {' or '.join(allowed)}",
            )
        self._request(
            "POST",
            f"/api/vm/{vm_id}/{action}/",
            f"{what}({vm_name})",
            body=body,
            expected=(200, 201, 202, 204),
        )
        logger.info("mdx: %s(%s) requested", what, vm_name)
        if wait_for:
            self._wait_for_status(vm_name, vm_id, target, what)

    def power_on_vm(self, vm_name: str, wait_for: bool = True, *, service_level: str = "spot") -> None:
        """Power on a VM (``POST /api/vm/<vm_id>/power_on/`` with ``{"service_level"}``).

        Does nothing if the VM is already PowerON.

        Args:
            vm_name: the VM's name in the current project.
            wait_for: wait until the VM is PowerON (``SLEEP_COUNT`` polls every
                ``SLEEP_TIME_SEC`` s).
            service_level: the mdx service level to run at (``"spot"`` or ``"guarantee"``).

        Returns:
            ``None``.

        Raises:
            MdxNotFoundError: no such VM.
            MdxConflictError: the VM is neither PowerOFF, Deallocated nor Suspended.
            MdxTimeoutError: the VM is not PowerON in time.
            MdxRestError, MdxAuthError, MdxConnectionError: as :meth:`get_vm_info`.

        Example::

            mdx.power_on_vm("vm-01")
        """
        self._vm_action(
            vm_name,
            "power_on_vm",
            "power_on",
            allowed=("PowerOFF", "Deallocated", "Suspended"),
            done=("PowerON",),
            target="PowerON",
            wait_for=wait_for,
            body={"service_level": service_level},
        )

    def power_off_vm(self, vm_name: str, wait_for: bool = True) -> None:
        """Force a VM off, like pulling the plug (``POST /api/vm/<vm_id>/power_off/``).

        Does nothing if the VM is already PowerOFF or Deallocated.

        Args:
            vm_name: the VM's name in the current project.
            wait_for: wait until the VM is PowerOFF (``SLEEP_COUNT`` polls every
                ``SLEEP_TIME_SEC`` s).

        Returns:
            ``None``.

        Raises:
            MdxNotFoundError: no such VM.
            MdxConflictError: the VM is neither PowerON nor Suspended (e.g. Deploying).
            MdxTimeoutError: the VM is not PowerOFF in time.
            MdxRestError, MdxAuthError, MdxConnectionError: as :meth:`get_vm_info`.

        Example::

            mdx.power_off_vm("vm-01", wait_for=True)
            mdx.destroy_vm("vm-01")
        """
        self._vm_action(
            vm_name,
            "power_off_vm",
            "power_off",
            allowed=("PowerON", "Suspended"),
            done=DELETABLE_STATES,
            target="PowerOFF",
            wait_for=wait_for,
        )

    def power_shutdown_vm(self, vm_name: str, wait_for: bool = True) -> None:
        """Shut the guest OS down cleanly (``POST /api/vm/<vm_id>/shutdown/``).

        Does nothing if the VM is already PowerOFF or Deallocated.

        Args:
            vm_name: the VM's name in the current project.
            wait_for: wait until the VM is PowerOFF (``SLEEP_COUNT`` polls every
                ``SLEEP_TIME_SEC`` s).

        Returns:
            ``None``.

        Raises:
            MdxNotFoundError: no such VM.
            MdxConflictError: the VM is not PowerON.
            MdxTimeoutError: the VM is not PowerOFF in time.
            MdxRestError, MdxAuthError, MdxConnectionError: as :meth:`get_vm_info`.

        Example::

            mdx.power_shutdown_vm("vm-01")
        """
        self._vm_action(
            vm_name,
            "power_shutdown_vm",
            "shutdown",
            allowed=("PowerON",),
            done=DELETABLE_STATES,
            target="PowerOFF",
            wait_for=wait_for,
        )

    def reboot_vm(self, vm_name: str, wait_for: bool = True) -> None:
        """Reboot a running VM (``POST /api/vm/<vm_id>/reboot/``).

        Args:
            vm_name: the VM's name in the current project.
            wait_for: wait until the VM reports PowerON again (``SLEEP_COUNT`` polls every
                ``SLEEP_TIME_SEC`` s).

        Returns:
            ``None``.

        Raises:
            MdxNotFoundError: no such VM.
            MdxConflictError: the VM is not PowerON.
            MdxTimeoutError: the VM is not PowerON in time.
            MdxRestError, MdxAuthError, MdxConnectionError: as :meth:`get_vm_info`.

        Example::

            mdx.reboot_vm("vm-01")
        """
        self._vm_action(
            vm_name, "reboot_vm", "reboot", allowed=("PowerON",), done=(), target="PowerON", wait_for=wait_for
        )

    def destroy_vm(self, vm_name: str, wait_for: bool = True) -> None:
        """Delete a VM (``POST /api/vm/<vm_id>/destroy/``); it must be PowerOFF first.

        Args:
            vm_name: the VM's name in the current project.
            wait_for: wait until mdx no longer knows the VM (``GET /api/vm/<vm_id>/``
                answers 404), polling every ``SLEEP_TIME_SEC`` s up to ``SLEEP_COUNT`` times.
                After that :meth:`get_vm_info` returns ``None``.

        Returns:
            ``None``.

        Raises:
            MdxNotFoundError: no such VM.
            MdxConflictError: the VM is not PowerOFF (or Deallocated): call
                :meth:`power_off_vm` first.  Nothing is sent to mdx then.
            MdxTimeoutError: the VM still exists after ``SLEEP_COUNT`` polls.
            MdxRestError, MdxAuthError, MdxConnectionError: as :meth:`get_vm_info`.

        Example::

            mdx.power_off_vm("vm-01")
            mdx.destroy_vm("vm-01")
            assert mdx.get_vm_info("vm-01") is None
        """
        what = "destroy_vm"
        self._require_project(what)
        self._check_name(vm_name, what, "vm_name")
        vm_id = self._find_vm_id(vm_name, what)
        info = self._vm_info_by_id(vm_id, f"{what}({vm_name})")
        if info is None:
            _fail(MdxNotFoundError, f"mdx: {what}: VM {vm_name!r} is not found")
        status = info.get("status")
        if status not in DELETABLE_STATES:
            _fail(
                MdxConflictError,
                f"mdx: destroy_vm: VM {vm_name!r} is {status}, not PowerOFF: "
                f"call power_off_vm({vm_name!r}) first",
            )
        self._request("POST", f"/api/vm/{vm_id}/destroy/", f"{what}({vm_name})", expected=(200, 202, 204))
        logger.info("mdx: destroy_vm(%s) requested", vm_name)
        if not wait_for:
            return
        count = int(SLEEP_COUNT)
        for _ in range(count):
            _sleep(SLEEP_TIME_SEC)
            if self._vm_info_by_id(vm_id, f"{what}({vm_name})") is None:
                logger.info("mdx: VM %s is destroyed", vm_name)
                return
        _fail(
            MdxTimeoutError,
            f"mdx: destroy_vm: VM {vm_name!r} still exists after {count} polls every {SLEEP_TIME_SEC} s",
        )

    # -------------------------------------------------------------------------- DNAT

    def dnat_iter(self) -> Iterator[dict[str, Any]]:
        """Iterate over the DNAT entries of the current project (``GET /api/dnat/project/<id>``).

        Pages are fetched as the iteration goes on.

        Returns:
            an iterator of ``{"uuid", "pool_address", "segument", "dst_address"}``
            (``segument`` is spelled so by mdx).

        Raises:
            MdxRestError: no current project (when the iteration starts).
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            for dnat in mdx.dnat_iter():
                print(dnat["pool_address"], "->", dnat["dst_address"])
        """
        project_id = self._require_project("dnat_iter")
        yield from self._iter_pages(f"/api/dnat/project/{project_id}", "dnat_iter")

    def get_dnat(self) -> list[dict[str, Any]]:
        """The DNAT entries of the current project, all pages.

        Returns:
            ``[{"uuid", "pool_address", "segument", "dst_address"}]``: global IPv4
            ``pool_address`` forwarded to the private ``dst_address``.

        Raises:
            MdxRestError: no current project.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            global_ips = {d["dst_address"]: d["pool_address"] for d in mdx.get_dnat()}
        """
        return list(self.dnat_iter())

    # -------------------------------------------------------------------------- ACLs

    def get_allow_acl_ipv4_info(self, segment_id: str) -> list[dict[str, Any]]:
        """The IPv4 allow-ACL entries of a segment (``GET /api/acl/segment/<segment_id>/``).

        Args:
            segment_id: the segment's uuid.

        Returns:
            ``[{"uuid", "src_address", "src_mask", "src_port", "dst_address", "dst_mask",
            "dst_port", "protocol"}]``; masks and ports are strings (``"24"``),
            ``protocol`` is ``"ICMP"``, ``"TCP"`` or ``"UDP"``.

        Raises:
            MdxRestError: no current project.
            MdxNotFoundError: no such segment.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            acls = mdx.get_allow_acl_ipv4_info(mdx.get_segments()[0]["uuid"])
        """
        self._require_project("get_allow_acl_ipv4_info")
        self._check_name(segment_id, "get_allow_acl_ipv4_info", "segment_id")
        return list(
            self._iter_pages(f"/api/acl/segment/{segment_id}/", f"get_allow_acl_ipv4_info({segment_id})")
        )

    def add_allow_acl_ipv4_info(self, allow_acl_spec: Mapping[str, Any]) -> dict[str, Any]:
        """Add an IPv4 allow-ACL entry to a segment (``POST /api/acl/``).

        Args:
            allow_acl_spec: ``{"segment": <segment uuid>, "src_address", "src_mask",
                "src_port", "dst_address", "dst_mask", "dst_port", "protocol"}``; masks
                and ports as strings, ``protocol`` ``"ICMP"``, ``"TCP"`` or ``"UDP"``
                (checked against :data:`MDX_ALLOW_ACL_IPV4_SPEC_SCHEMA`).

        Returns:
            the new entry as mdx answers it (with its ``uuid``).

        Raises:
            MdxRestError: no current project.
            MdxInvalidArgumentError: the spec does not match the schema, or mdx refused it.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            acl = mdx.add_allow_acl_ipv4_info({
                "segment": segment_id, "src_address": "192.0.2.0", "src_mask": "24",
                "src_port": "any", "dst_address": "10.0.0.0", "dst_mask": "21",
                "dst_port": "22", "protocol": "TCP"})
        """
        self._require_project("add_allow_acl_ipv4_info")
        validate_spec(allow_acl_spec, MDX_ALLOW_ACL_IPV4_SPEC_SCHEMA, "allow_acl_spec")
        response = self._request(
            "POST", "/api/acl/", "add_allow_acl_ipv4_info", body=dict(allow_acl_spec), expected=(200, 201)
        )
        return dict(self._json(response, "add_allow_acl_ipv4_info") or {})

    def delete_allow_acl_ipv4_info(self, acl_ipv4_id: str) -> None:
        """Delete an IPv4 allow-ACL entry (``DELETE /api/acl/<acl_ipv4_id>/``).

        Args:
            acl_ipv4_id: the entry's uuid (from :meth:`get_allow_acl_ipv4_info`).

        Returns:
            ``None``.

        Raises:
            MdxRestError: no current project.
            MdxNotFoundError: no such entry.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            mdx.delete_allow_acl_ipv4_info(acl["uuid"])
        """
        self._require_project("delete_allow_acl_ipv4_info")
        self._check_name(acl_ipv4_id, "delete_allow_acl_ipv4_info", "acl_ipv4_id")
        self._request(
            "DELETE",
            f"/api/acl/{acl_ipv4_id}/",
            f"delete_allow_acl_ipv4_info({acl_ipv4_id})",
            expected=(200, 202, 204),
        )
