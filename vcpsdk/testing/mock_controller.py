"""A VC Controller mocked at the HTTP level, built from the occtr route table.

:class:`MockController` sits on a ``requests_mock`` mocker (the ``requests_mock`` pytest
fixture, or :func:`mocked_controller`).  Every route of :data:`vcpsdk.core.protocol.ROUTES`
answers by default with a body of the shape the real controller builds
(``vcpsdk/controller/service.py``) and the route's success status; a unit CCI sent to
``POST /vcs/{vcid}`` is checked with the controller's own parser
(:func:`vcpsdk.core.cci.parse_unit_cci`, with the type of a UnitGroup created through the
mock, else the type the CCI implies: ``num_disks`` → storage).  Tests script other answers with
:meth:`MockController.reply` / :meth:`MockController.on` and read back what the SDK sent
as plain :class:`Sent` records (verb, path, query, headers, JSON body).

Example (pytest, with the ``requests-mock`` plugin of the ``test`` extra)::

    from vcpsdk.core import protocol as routes
    from vcpsdk.testing.mock_controller import TOKEN, VCID, MockController, vc_json
    from vcpsdk.vcpsdk import VcpSDK


    def test_rename(requests_mock, tmp_path):
        mock = MockController(requests_mock)
        vcp = VcpSDK(TOKEN, config_dir=str(mock.write_config(tmp_path / "cfg")))
        mock.on(routes.VCS_LIST, {"vcs": [vc_json("ug1")]})
        ug = vcp.get_ugroup("ug1")
        ug.update_ugroup_name("ug2")
        assert ("PUT", f"/vcs/{VCID}") in mock.calls()

Nothing is sent over the network: the base URL is ``http://127.0.0.1:9/vcp/v1/occtr``.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from vcpsdk import VCP_SDK_VERSION, __version__
from vcpsdk.core import protocol as routes
from vcpsdk.core.cci import CciError, check_unit_name, parse_unit_cci, parse_vc_cci
from vcpsdk.core.providers import all_providers

HOST = "127.0.0.1"
PORT = 9
BASE = f"http://{HOST}:{PORT}{routes.BASE_PATH}"
TOKEN = "unit-test-token-9f8e7d6c5b4a"
VCC_ID = "c0ffee0011223344556677889900aabb"
VCID = "5e3c9a7b1d2f4a6c8e0b1d3f5a7c9e1b"
VCID2 = "7a1b2c3d4e5f60718293a4b5c6d7e8f9"
VCID3 = "9d8c7b6a5f4e3d2c1b0a998877665544"
CDATE = "2026/01/01 00:00:00 UTC"
MDATE = "2026-01-01T00:00:00Z"
AUTHORITY = {"role": "fullaccess", "user_name": "alice", "user_role": "regular"}
AWS_ACCESS_KEY = "AKIAUNITTEST0000"
AWS_SECRET_KEY = "unit-test-secret-key"
LONG_POLL = {"long_poll": {"query": ["wait_revision", "wait_sec"], "max_wait_sec": 25.0}}
#: our controller serves Vault's cubbyhole itself and says so (root and authority answers)
CUBBYHOLE = {routes.CUBBYHOLE_EXTENSION: {"path": routes.CUBBYHOLE_PATH}}
#: a syntactically valid controller public key (no private half exists)
PUBLICKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f vcc@mock"


# -- bodies of the shapes the controller builds ----------------------------------------


def instance_name(vcid: str = VCID) -> str:
    """``VCP-<vcc_id[:8]>-<vcid[:8]>`` as the controller names cloud instances."""
    return f"VCP-{VCC_ID[:8]}-{vcid[:8]}"


def node_id(no: int, unit: str = "server") -> str:
    """A 32-character node id that is easy to recognise in assertions."""
    return f"{unit[:4]}{no:04d}".ljust(32, "0")


def node_json(
    no: int,
    *,
    unit: str = "server",
    vcid: str = VCID,
    state: str = "RUNNING",
    address: str | None = None,
    instance_id: str | None = None,
    volumes: Iterable[dict[str, str]] = (),
    watch_mode: bool = True,
    error_message: str = "",
    provider: str = "aws",
    node: str | None = None,
) -> dict[str, Any]:
    """A compute node as ``Service._node_json`` returns it (``node`` overrides the id)."""
    return {
        "node_no": no,
        "node_id": node or node_id(no, unit),
        "cloud_instance_address": f"127.30.2.{10 + no}" if address is None else address,
        "cloud_instance_id": f"i-{no:017x}" if instance_id is None else instance_id,
        "cloud_instance_name": instance_name(vcid),
        "volumes": list(volumes),
        "boot_date": CDATE,
        "container_date": CDATE,
        "watch_mode": watch_mode,
        "name": instance_name(vcid),
        "provider": provider,
        "state": state,
        "error_message": error_message,
        "ssh_port": 22,
        "ssh_user_name": "root",
    }


def disk_json(
    no: int,
    *,
    unit: str = "disks",
    vcid: str = VCID,
    state: str = "RUNNING",
    in_use: bool = False,
    size: int = 8,
    cloud_disk_id: str | None = None,
    provider: str = "aws_disk",
) -> dict[str, Any]:
    """A disk of a storage unit as ``Service._node_json`` returns it."""
    return {
        "disk_no": no,
        "disk_id": node_id(no, unit),
        "in_use": in_use,
        "cdate": CDATE,
        "cloud_disk_id": f"vol-{no:017x}" if cloud_disk_id is None else cloud_disk_id,
        "cloud_disk_size": size,
        "name": instance_name(vcid),
        "provider": provider,
        "state": state,
        "error_message": "",
    }


def unit_json(
    name: str = "server",
    nodes: Iterable[dict[str, Any]] = (),
    *,
    unit_type: str = "compute",
    provider: str | None = None,
    state: str | None = None,
    error_message: str = "",
    revision: int | None = None,
) -> dict[str, Any]:
    """A unit as ``Service._unit_json`` returns it (``revision`` is added by unit GETs)."""
    nodes = list(nodes)
    if state is None:
        states = {n["state"] for n in nodes}
        state = "RUNNING" if not states else states.pop() if len(states) == 1 else "INDEFINITE"
    body: dict[str, Any] = {
        "name": name,
        "type": unit_type,
        "provider": provider or ("aws_disk" if unit_type == "storage" else "aws"),
        "state": state,
        "error_message": error_message,
        "info": "",
        "cdate": CDATE,
        "mdate": MDATE,
    }
    body["disk" if unit_type == "storage" else "node"] = nodes
    if revision is not None:
        body["revision"] = revision
    return body


def vc_json(
    name: str = "ug1",
    units: Iterable[dict[str, Any]] = (),
    *,
    vcid: str = VCID,
    vcno: int = 1,
    owner: str = "alice",
    vc_type: str = "compute",
    state: str = "RUNNING",
    revision: int = 1,
    error_message: str = "",
) -> dict[str, Any]:
    """A UnitGroup as ``Service._vcs_json`` returns it."""
    return {
        "vcid": vcid,
        "vcno": vcno,
        "name": name,
        "description": name,
        "owner": owner,
        "type": vc_type,
        "state": state,
        "cdate": CDATE,
        "vcc_id": VCC_ID,
        "error_message": error_message,
        "revision": revision,
        "unit": [{k: v for k, v in u.items() if k != "revision"} for u in units],
    }


def error_json(exception: str, detail: str) -> dict[str, str]:
    """An error body as the controller sends it: ``{"message": "<date> UTC: <Exception>: <detail>"}``."""
    return {"message": f"{CDATE}: {exception}: {detail}"}


@cache
def sandbox_vpn_catalog() -> dict[str, Any]:
    """The VPN catalog the sandbox controller serves (``vcpsdk/controller/sandbox_catalog.yml``)."""
    text = resources.files("vcpsdk.controller").joinpath("sandbox_catalog.yml").read_text("utf-8")
    catalog: dict[str, Any] = yaml.safe_load(text)
    return catalog


def decode_cci(payload: str) -> Any:
    """``yaml.safe_load`` of a base64 CCI payload."""
    return yaml.safe_load(base64.b64decode(payload).decode("utf-8"))


def write_config(directory: Path, vcc: dict[str, Any] | None = None, **sections: Any) -> Path:
    """Write a ``vcp_config.yml`` pointing at the mock (plus AWS credentials) into ``directory``.

    Args:
        directory: the config directory (created).
        vcc: the ``vcc:`` section (default: the mock's host, port and ``scheme: http``).
        **sections: more sections, e.g. ``azure={...}`` (they replace defaults of the same name).

    Returns:
        Path: ``directory``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "vcc": vcc if vcc is not None else {"host": HOST, "vcc_port": PORT, "scheme": "http"},
        "aws": {"access_key": AWS_ACCESS_KEY, "secret_key": AWS_SECRET_KEY},
    }
    data.update(sections)
    (directory / "vcp_config.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return directory


# -- the route table as URL patterns ----------------------------------------------------


def match_route(method: str, path: str) -> tuple[routes.Route, dict[str, str]] | None:
    """The route table entry serving ``method path`` and its path parameters, or None.

    Args:
        method: HTTP method.
        path: path relative to the base URL (``""`` for the base itself).

    Returns:
        ``(route, params)`` or None when no route of the table matches.

    Example:
        >>> match_route("PATCH", "/vcs/v1/server/watch")[0].name
        'unit_operation'
    """
    for route in routes.ROUTES:
        if route.method == method:
            found = routes.path_pattern(route.path).fullmatch(path)
            if found:
                return route, {k: urllib.parse.unquote(v) for k, v in found.groupdict().items()}
    return None


# -- recorded requests ------------------------------------------------------------------


@dataclass
class Sent:
    """One request the SDK sent, in the terms of the wire protocol.

    Attributes:
        method: HTTP method.
        url: the full URL.
        path: the path relative to the base URL (``""`` for the base URL itself).
        query: parsed query string.
        headers: request headers.
        body: the decoded JSON body (None for none).
        verify: the TLS verification setting used.
    """

    method: str
    url: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    verify: Any = None

    @property
    def call(self) -> tuple[str, str]:
        """``(method, path)``."""
        return self.method, self.path


def _sent(request: Any, base: str) -> Sent:
    parts = urllib.parse.urlsplit(request.url)
    base_path = urllib.parse.urlsplit(base).path
    assert parts.path.startswith(base_path), request.url
    body = None
    if request.body is not None:
        raw = request.body.decode() if isinstance(request.body, bytes) else request.body
        body = json.loads(raw)
    return Sent(
        method=request.method,
        url=request.url,
        path=parts.path[len(base_path) :],
        query=urllib.parse.parse_qs(parts.query, keep_blank_values=True),
        headers=dict(request.headers),
        body=body,
        verify=request.verify,
    )


#: a scripted answer: a JSON body (the route's success status), ``(status, body)`` (a ``str``
#: body is sent as text), or None for the controller's 404
Reply = dict[str, Any] | tuple[int, Any] | None


def _response(status: int, reply: Reply) -> dict[str, Any]:
    if reply is None:
        return {"status_code": 404, "json": error_json(routes.NOT_FOUND_EXC, "not found")}
    if isinstance(reply, tuple):
        code, body = reply
        if isinstance(body, str):
            return {"status_code": code, "text": body}
        return {"status_code": code, "json": body}
    return {"status_code": status, "json": reply}


class MockController:
    """A VC Controller mocked on a ``requests_mock`` mocker at ``base``.

    Args:
        mocker: the ``requests_mock`` fixture or a ``requests_mock.Mocker``.
        base: the occtr base URL (default ``http://127.0.0.1:9/vcp/v1/occtr``).
        token: when given, the default answers refuse other tokens with 403 as the
            controller does.

    Example:
        >>> mock = MockController(requests_mock)  # doctest: +SKIP
        >>> mock.on(routes.UNIT_GET, unit_json("server"), vcid=VCID, unit_name="server")  # doctest: +SKIP
    """

    def __init__(self, mocker: Any, base: str = BASE, token: str | None = None) -> None:
        self.mocker = mocker
        self.base = base
        self.token = token
        self._mark = 0
        #: types of the UnitGroups created through the mock (``vcid`` → ``compute``/``storage``)
        self.ugroup_types: dict[str, str] = {}
        self.root_body: dict[str, Any] = {
            "service": "occtr",
            "name": "vcc-unit",
            "vcc_id": VCC_ID,
            "version": VCP_SDK_VERSION,
            "extensions": {**LONG_POLL, **CUBBYHOLE},
        }
        for route in routes.ROUTES:
            url = re.compile("^" + re.escape(base) + routes.path_pattern(route.path).pattern + r"(\?.*)?$")
            mocker.register_uri(route.method, url, json=self._default_handler(route))

    # -- scripting ------------------------------------------------------------------------

    def reply(self, method: str, path: str, *replies: Reply) -> None:
        """Answer ``method path`` with ``replies`` in turn (the last one repeats).

        Args:
            method: HTTP method.
            path: a concrete path of a route of the table (``/vcs/<vcid>``).
            *replies: JSON bodies (sent with the route's success status), ``(status, body)``,
                or None for a 404.

        Raises:
            AssertionError: no reply given, or ``method path`` is no occtr route.
        """
        assert replies, "give at least one reply"
        found = match_route(method, path)
        assert found is not None, f"{method} {path!r} is not a route of the occtr route table"
        status = found[0].status
        self.mocker.register_uri(method, self.base + path, [_response(status, r) for r in replies])

    def on(self, route: routes.Route, *replies: Reply, **params: Any) -> None:
        """Answer ``route`` with ``params`` (its path parameters) with ``replies`` in turn.

        Args:
            route: a route of :mod:`vcpsdk.core.protocol`, e.g. ``routes.UNIT_GET``.
            *replies: as for :meth:`reply`.
            **params: the route's path parameters.
        """
        self.reply(route.method, route.url(**params), *replies)

    def fail(self, method: str, path: str, exc: type[Exception] | Exception) -> None:
        """Make ``method path`` raise ``exc`` in the transport (e.g. connection refused)."""
        self.mocker.register_uri(method, self.base + path, exc=exc)

    def startup(self, long_poll: bool = True, vcs: Iterable[dict[str, Any]] = ()) -> None:
        """Replies to the three requests of ``VcpSDK(...)``.

        Args:
            long_poll: advertise this project's extensions ("wait for change" and the
                cubbyhole on the controller's own address; default True); False answers as
                the original controller does.
            vcs: the UnitGroups ``GET /vcs`` lists.
        """
        root = dict(self.root_body)
        authority: dict[str, Any] = {**AUTHORITY, "extensions": CUBBYHOLE}
        if not long_poll:
            root.pop("extensions")
            authority.pop("extensions")
        self.on(routes.ROOT, root)
        self.on(routes.VCS_LIST, {"vcs": list(vcs)})
        self.on(routes.AUTHORITY, authority)

    def write_config(self, directory: Path, **sections: Any) -> Path:
        """:func:`write_config` for this mock's host and port."""
        parts = urllib.parse.urlsplit(self.base)
        vcc = {"host": parts.hostname, "vcc_port": parts.port, "scheme": parts.scheme}
        return write_config(directory, vcc, **sections)

    # -- what was sent ----------------------------------------------------------------------

    def mark(self) -> None:
        """Forget the requests sent so far (for :meth:`sent`)."""
        self._mark = len(self.mocker.request_history)

    def sent(self) -> list[Sent]:
        """Requests sent since the last :meth:`mark`."""
        return [_sent(r, self.base) for r in self.mocker.request_history[self._mark :]]

    def calls(self) -> list[tuple[str, str]]:
        """``(verb, path)`` of the requests sent since the last :meth:`mark`."""
        return [s.call for s in self.sent()]

    # -- default answers ----------------------------------------------------------------------

    def _default_handler(self, route: routes.Route) -> Callable[[Any, Any], Any]:
        def handle(request: Any, context: Any) -> Any:
            path = urllib.parse.urlsplit(request.url).path[len(urllib.parse.urlsplit(self.base).path) :]
            found = match_route(route.method, path)
            params = found[1] if found else {}
            status, body = self.default_answer(route, params, request)
            context.status_code = status
            return body

        return handle

    def default_answer(self, route: routes.Route, params: dict[str, str], request: Any) -> tuple[int, Any]:
        """The status and body the mock sends for ``route`` when nothing was scripted.

        Args:
            route: the route of the table.
            params: its path parameters.
            request: the ``requests_mock`` request (headers, JSON body).

        Returns:
            ``(status, body)``: the route's success status and a body of the controller's shape,
            or the controller's 400 / 403 for an unknown operation, a bad CCI or a wrong token.
        """
        token = (request.headers.get(routes.TOKEN_HEADER) or "").strip()
        if route.auth and self.token is not None and token != self.token:
            detail = f"{token[:8]}:token lookup is failed: permission denied"
            return 403, error_json(routes.AUTH_EXC, detail)
        problem = route.operation_error(params.get("operation"))
        if problem:
            return 400, error_json(routes.INVALID_EXC, problem)
        try:
            body = self._default_body(route, params, _json_body(request))
        except CciError as e:
            return 400, error_json(routes.INVALID_EXC, str(e))
        return route.status, body

    @staticmethod
    def _default_vc(vcid: str) -> dict[str, Any]:
        return vc_json(vcid=vcid, units=[unit_json("server", [node_json(1, vcid=vcid)])])

    def _default_body(self, route: routes.Route, params: dict[str, str], body: dict[str, Any]) -> Any:
        vcid = params.get("vcid", VCID)
        unit = params.get("unit_name", "server")
        if route in (routes.VC_CREATE, routes.VC_RENAME):
            _, vc_type, _ = parse_vc_cci(body.get("cci"))  # the controller's own checks
            self.ugroup_types[vcid] = vc_type
        elif route == routes.UNIT_ADD:
            unit = check_unit_name(body.get("unit_name"))
            parse_unit_cci(body.get("info"), self.ugroup_types.get(vcid))
        answers: dict[routes.Route, Callable[[], Any]] = {
            routes.ROOT: lambda: dict(self.root_body),
            routes.ROOT_SLASH: lambda: dict(self.root_body),
            routes.HEALTH: lambda: {"status": "ok"},
            routes.AUTHORITY: lambda: {**AUTHORITY, "extensions": CUBBYHOLE},
            routes.VERSION: lambda: {
                "version": VCP_SDK_VERSION,
                "git_tag": f"vcpsdk-{__version__}",
                "name": self.root_body["name"],
                "plugin": {p.name: p.version for p in all_providers()},
            },
            routes.PUBLICKEY: lambda: {"publickey": PUBLICKEY},
            routes.VPN_CATALOG: lambda: {"vpn_catalog": {**sandbox_vpn_catalog(), "cci_version": "1.0"}},
            routes.VCS_LIST: lambda: {"vcs": [self._default_vc(VCID)]},
            routes.VC_CREATE: lambda: {"vcid": VCID},
            routes.VC_GET: lambda: self._default_vc(vcid),
            routes.UNIT_ADD: lambda: {"vcid": vcid, "unit_name": unit},
            routes.UNIT_GET: lambda: unit_json(unit, [node_json(1, unit=unit, vcid=vcid)], revision=1),
            routes.UNIT_ADD_NODES: lambda: {"vcid": vcid, "unit_name": unit, "node_ids": [node_id(2, unit)]},
            routes.NODE_GET: lambda: node_json(1, unit=unit, vcid=vcid, node=params.get("node_id")),
        }
        if route in answers:
            return answers[route]()
        if "node_id" in params:  # node writes
            return {"vcid": vcid, "node_id": params["node_id"]}
        if "unit_name" in params:  # unit writes
            return {"vcid": vcid, "unit_name": unit}
        return {"vcid": vcid}  # UnitGroup writes


def _json_body(request: Any) -> dict[str, Any]:
    try:
        value = request.json() if request.body else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def assert_headers(sent: Iterable[Sent], privileged: bool = False, token: str = TOKEN) -> None:
    """Every request carries the token and JSON content type; the privileged flag only if asked.

    Raises:
        AssertionError: naming the offending request.
    """
    sent = list(sent)
    assert sent, "no request was sent"
    for s in sent:
        headers = {k.lower(): v for k, v in s.headers.items()}
        assert headers.get(routes.TOKEN_HEADER) == token, s
        assert headers.get("content-type") == "application/json", s
        if privileged:
            assert headers.get(routes.PRIVILEGED_HEADER) == "True", s
        else:
            assert routes.PRIVILEGED_HEADER not in headers, s


@contextmanager
def mocked_controller(base: str = BASE, token: str | None = None) -> Iterator[MockController]:
    """A :class:`MockController` on a fresh ``requests_mock.Mocker`` for the ``with`` block.

    Needs the ``requests-mock`` package (the ``test`` extra).

    Example:
        >>> with mocked_controller() as mock:  # doctest: +SKIP
        ...     mock.startup()
        ...     vcp = VcpSDK(TOKEN, config_dir=str(mock.write_config(tmp_path)))
    """
    import requests_mock  # test dependency: imported on use

    with requests_mock.Mocker() as mocker:
        yield MockController(mocker, base, token)


__all__ = [
    "BASE",
    "TOKEN",
    "MockController",
    "Sent",
    "assert_headers",
    "disk_json",
    "match_route",
    "mocked_controller",
    "node_json",
    "unit_json",
    "vc_json",
    "write_config",
]
