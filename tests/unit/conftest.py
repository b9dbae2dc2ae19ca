"""Unit-test support: the SDK against a VC Controller mocked at the HTTP level.

The mock bodies have the shapes the real controller builds in
``vcpsdk/controller/service.py`` (``_vcs_json``, ``_unit_json``, ``_node_json``).
``MockVcc`` registers replies on the ``requests_mock`` fixture and returns the
requests the SDK sent as plain :class:`Sent` records (verb, path, query,
headers, JSON body) so tests can compare them with the wire protocol
(reference §6.5).

Test modules import the builders with ``from .conftest import ...``.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import vcpsdk.waiting

HOST = "127.0.0.1"
PORT = 9
BASE = f"http://{HOST}:{PORT}/vcp/v1/occtr"
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


# -- mock bodies ------------------------------------------------------------------------


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
) -> dict[str, Any]:
    """A compute node as ``Service._node_json`` returns it."""
    return {
        "node_no": no,
        "node_id": node_id(no, unit),
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


def decode_cci(payload: str) -> Any:
    """``yaml.safe_load`` of a base64 CCI payload."""
    return yaml.safe_load(base64.b64decode(payload).decode("utf-8"))


# -- recorded requests ------------------------------------------------------------------


@dataclass
class Sent:
    """One request the SDK sent, in the terms of the wire protocol."""

    method: str
    url: str
    path: str  # relative to BASE ("" for the base URL itself)
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    verify: Any = None

    @property
    def call(self) -> tuple[str, str]:
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


Reply = dict[str, Any] | tuple[int, Any] | None


def _response(method: str, reply: Reply) -> dict[str, Any]:
    if reply is None:
        return {"status_code": 404, "json": {"message": f"{CDATE}: VCPNotFoundException: not found"}}
    if isinstance(reply, tuple):
        status, body = reply
        if isinstance(body, str):
            return {"status_code": status, "text": body}
        return {"status_code": status, "json": body}
    return {"status_code": 200 if method == "GET" else 202, "json": reply}


class MockVcc:
    """A VC Controller mocked with requests-mock at ``base``."""

    def __init__(self, mocker: Any, base: str = BASE) -> None:
        self.mocker = mocker
        self.base = base
        self._mark = 0
        self.root_body: dict[str, Any] = {
            "service": "occtr",
            "name": "vcc-unit",
            "vcc_id": VCC_ID,
            "version": "26.11.0+20261121",
            "extensions": dict(LONG_POLL),
        }

    def reply(self, method: str, path: str, *replies: Reply) -> None:
        """Answer ``method path`` with ``replies`` in turn (the last one repeats).

        A reply is a JSON body (200 for GET, 202 otherwise), ``(status, body)``,
        or None for a 404.
        """
        assert replies, "give at least one reply"
        self.mocker.register_uri(method, self.base + path, [_response(method, r) for r in replies])

    def fail(self, method: str, path: str, exc: type[Exception] | Exception) -> None:
        """Make ``method path`` raise ``exc`` in the transport (e.g. connection refused)."""
        self.mocker.register_uri(method, self.base + path, exc=exc)

    def startup(self, long_poll: bool = True, vcs: Iterable[dict[str, Any]] = ()) -> None:
        """Replies to the three requests of ``VcpSDK(...)``."""
        root = dict(self.root_body)
        if not long_poll:
            root.pop("extensions")
        self.reply("GET", "", root)
        self.reply("GET", "/vcs", {"vcs": list(vcs)})
        self.reply("GET", "/accounts/authority", dict(AUTHORITY))

    def mark(self) -> None:
        """Forget the requests sent so far (for :meth:`sent`)."""
        self._mark = len(self.mocker.request_history)

    def sent(self) -> list[Sent]:
        """Requests sent since the last :meth:`mark`."""
        return [_sent(r, self.base) for r in self.mocker.request_history[self._mark :]]

    def calls(self) -> list[tuple[str, str]]:
        """``(verb, path)`` of the requests sent since the last :meth:`mark`."""
        return [s.call for s in self.sent()]


def assert_headers(sent: Iterable[Sent], privileged: bool = False, token: str = TOKEN) -> None:
    """Every request carries the token and JSON content type; the privileged flag only if asked."""
    sent = list(sent)
    assert sent, "no request was sent"
    for s in sent:
        headers = {k.lower(): v for k, v in s.headers.items()}
        assert headers.get("x-vcc-access-token") == token, s
        assert headers.get("content-type") == "application/json", s
        if privileged:
            assert headers.get("x-vcc-privileged") == "True", s
        else:
            assert "x-vcc-privileged" not in headers, s


# -- fixtures ---------------------------------------------------------------------------


class FakeTime:
    """The waiter's clock in unit tests: sleeping only moves a fake clock."""

    def __init__(self) -> None:
        self.time = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds

    def advance(self, seconds: float) -> None:
        self.time += seconds


@pytest.fixture(autouse=True)
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """No unit test ever really sleeps in the waiter."""
    clock = FakeTime()
    monkeypatch.setattr(vcpsdk.waiting, "SYSTEM_CLOCK", clock)
    return clock


def write_config(directory: Path, vcc: dict[str, Any] | None = None, **sections: Any) -> Path:
    """Write ``vcp_config.yml`` into ``directory`` and return the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "vcc": vcc if vcc is not None else {"host": HOST, "vcc_port": PORT, "scheme": "http"},
        "aws": {"access_key": AWS_ACCESS_KEY, "secret_key": AWS_SECRET_KEY},
    }
    data.update(sections)
    (directory / "vcp_config.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return directory


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """``vcc: {host: 127.0.0.1, vcc_port: 9, scheme: http}`` plus AWS credentials."""
    return write_config(tmp_path / "vcp_config")


@pytest.fixture
def vcc(requests_mock: Any) -> MockVcc:
    """The mocked controller, with replies to the SDK's startup requests."""
    mock = MockVcc(requests_mock)
    mock.startup()
    return mock


@pytest.fixture
def make_sdk(vcc: MockVcc, config_dir: Path) -> Callable[..., Any]:
    """``make_sdk(long_poll=True)``: a VcpSDK on the mock; startup requests are forgotten."""
    from vcpsdk.vcpsdk import VcpSDK

    def make(long_poll: bool = True, directory: Path | None = None) -> VcpSDK:
        vcc.startup(long_poll=long_poll)
        sdk = VcpSDK(TOKEN, config_dir=str(directory or config_dir))
        vcc.mark()
        return sdk

    return make


@pytest.fixture
def sdk(make_sdk: Callable[..., Any]) -> Any:
    """A VcpSDK on a mocked controller that advertises long polling."""
    return make_sdk()


@pytest.fixture
def make_ugroup(vcc: MockVcc, sdk: Any) -> Callable[..., Any]:
    """``make_ugroup(vc_json(...))``: the UnitGroup of that body, obtained by ``get_ugroup``.

    GET /vcs and GET /vcs/{vcid} answer with the body; requests are forgotten.
    """

    def make(body: dict[str, Any], client: Any = None) -> Any:
        vcc.reply("GET", "/vcs", {"vcs": [body]})
        vcc.reply("GET", f"/vcs/{body['vcid']}", body)
        ugroup = (client or sdk).get_ugroup(body["name"])
        assert ugroup is not None
        vcc.mark()
        return ugroup

    return make
