"""``vcpsdk.plugins.mdx_ext.MdxResourceExt`` against a local fake mdx REST API.

The fake (tests/mdx/fake_mdx.py) runs in-process on 127.0.0.1; an autouse fixture makes
any other host name fail to resolve, so the real https://oprpl.mdx.jp is never contacted.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import logging
import re
import socket
import time
import types
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.helpers import refuse_non_loopback_names
from vcpsdk.core.polling import FakeClock
from vcpsdk.errors import (
    VcpAuthError,
    VcpConflictError,
    VcpConnectionError,
    VcpInvalidArgumentError,
    VcpNotFoundError,
    VcpSDKError,
    VcpTimeoutError,
)
from vcpsdk.extensions.mdx import schemas as mdx_schemas
from vcpsdk.plugins import mdx_ext
from vcpsdk.plugins.mdx_ext import (
    MDX_VM_SPEC_SCHEMA,
    MdxAuthError,
    MdxConflictError,
    MdxConnectionError,
    MdxInvalidArgumentError,
    MdxNotFoundError,
    MdxResourceExt,
    MdxRestError,
    MdxRestException,
    MdxTimeoutError,
)
from vcpsdk.testing.fakes.mdx import (
    EXPIRED_PROJECT,
    INSTITUTION,
    OTHER_PROJECT,
    PROJECT,
    SECOND_PROJECT,
    USERS,
    FakeMdx,
    RunningFake,
    running_fake_mdx,
)

IPV4 = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$")
POOL = ipaddress.IPv4Network("127.50.0.0/24")


# ------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def server() -> Iterator[RunningFake]:
    with running_fake_mdx() as running:
        yield running


@pytest.fixture
def fake(server: RunningFake) -> FakeMdx:
    server.fake.reset()
    return server.fake


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Refuse to resolve any host but the loopback one; record what was refused."""
    return refuse_non_loopback_names(monkeypatch)


@pytest.fixture(autouse=True)
def fast_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mdx_ext, "SLEEP_TIME_SEC", 0)


@pytest.fixture(autouse=True)
def pristine_schema() -> Iterator[None]:
    snapshot = copy.deepcopy(MDX_VM_SPEC_SCHEMA)
    yield
    MDX_VM_SPEC_SCHEMA.clear()
    MDX_VM_SPEC_SCHEMA.update(snapshot)


class RecordingClock(FakeClock):
    """A fake clock that records the pauses it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        super().sleep(seconds)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the sleeps of the client's wait loops (they do not really sleep)."""
    clock = RecordingClock()
    monkeypatch.setattr(MdxResourceExt, "clock", clock)
    return clock.sleeps


@pytest.fixture
def token(fake: FakeMdx) -> str:
    return fake.issue_token("alice")


@pytest.fixture
def mdx(server: RunningFake, token: str) -> Iterator[MdxResourceExt]:
    """A client with a valid token and no current project."""
    with MdxResourceExt(token, endpoint=server.endpoint) as client:
        yield client


@pytest.fixture
def pmdx(mdx: MdxResourceExt) -> MdxResourceExt:
    """A client whose current project is PROJECT."""
    mdx.set_current_project_by_name(PROJECT)
    return mdx


@pytest.fixture
def spec(pmdx: MdxResourceExt) -> dict[str, Any]:
    """A valid vm_spec, built as mdx_ops.mdx_get_vm_spec does."""
    catalog = pmdx.get_vm_catalogs()[0]
    return dict(
        catalog=catalog["uuid"],
        template_name=catalog["template_name"],
        pack_num=3,
        pack_type="cpu",
        disk_size=40,
        gpu="0",
        network_adapters=[dict(adapter_number=1, segment=pmdx.get_segments()[0]["uuid"])],
        shared_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKey test@vcpsdk",
        storage_network="portgroup",
    )


#: an ACL rule without its segment (a value only sent to the fake mdx server)
ACL_RULE = {
    "src_address": "198.51.100.0",
    "src_mask": "24",
    "src_port": "any",
    "dst_address": "10.0.0.0",
    "dst_mask": "21",
    "dst_port": "443",
    "protocol": "TCP",
}


def last_body(fake: FakeMdx, method: str, path_part: str) -> Any:
    with fake.lock:
        hits = [r for r in fake.requests if r["method"] == method and path_part in r["path"]]
    assert hits, (method, path_part)
    return json.loads(hits[-1]["body"]) if hits[-1]["body"] else None


# ------------------------------------------------------------ construction, tokens


def test_defaults_and_no_request_at_construction(loopback_only: list[str]) -> None:
    mdx = MdxResourceExt()
    assert mdx.endpoint == "https://oprpl.mdx.jp" == mdx_ext.DEFAULT_MDX_ENDPOINT
    assert mdx.token is None and mdx.project_id is None
    assert loopback_only == []  # nothing was resolved, let alone contacted


def test_default_endpoint_is_blocked_in_tests_and_maps_to_connection_error(loopback_only: list[str]) -> None:
    mdx = MdxResourceExt("some-token")
    with pytest.raises(MdxConnectionError) as e:
        mdx.get_assigned_projects()
    assert isinstance(e.value, VcpConnectionError) and isinstance(e.value, ConnectionError)
    assert loopback_only == ["oprpl.mdx.jp"]
    assert "some-token" not in str(e.value)


def test_connection_refused_is_a_connection_error() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    mdx = MdxResourceExt("t", endpoint=f"http://127.0.0.1:{port}")
    with pytest.raises(MdxConnectionError, match="cannot reach"):
        mdx.get_assigned_projects()


def test_no_token_fails_before_any_request(server: RunningFake, fake: FakeMdx) -> None:
    mdx = MdxResourceExt(endpoint=server.endpoint)
    with pytest.raises(MdxAuthError, match="no mdx token"):
        mdx.get_assigned_projects()
    assert fake.requests == []


def test_jwt_scheme_is_sent(mdx: MdxResourceExt, fake: FakeMdx, token: str) -> None:
    mdx.get_assigned_projects()
    assert fake.requests[-1]["authorization"] == f"JWT {token}"


@pytest.mark.parametrize("bad", ["not-a-jwt", "a.b.c"])
def test_bad_token_is_an_auth_error(server: RunningFake, fake: FakeMdx, bad: str) -> None:
    mdx = MdxResourceExt(bad, endpoint=server.endpoint)
    with pytest.raises(MdxAuthError) as e:
        mdx.get_assigned_projects()
    err = e.value
    assert isinstance(err, VcpAuthError) and isinstance(err, VcpSDKError)
    assert err.http_status == 401 and err.status_code == 401
    assert err.server_message in ("Error decoding signature.", "Signature verification failed.")
    assert err.args == ("VCP", err.message)
    assert "http_status(401)" in str(err)


def test_token_of_another_fake_is_refused(server: RunningFake, fake: FakeMdx) -> None:
    foreign = FakeMdx().issue_token("alice")  # well-formed, other signing key
    with pytest.raises(MdxAuthError, match="Signature verification failed"):
        MdxResourceExt(foreign, endpoint=server.endpoint).get_assigned_projects()


def test_login_and_refresh(server: RunningFake, fake: FakeMdx) -> None:
    mdx = MdxResourceExt(endpoint=server.endpoint)
    mdx.login({"username": "alice", "password": USERS["alice"]})
    first = mdx.token
    assert first and first.count(".") == 2
    assert mdx.get_assigned_projects()[0]["name"] == INSTITUTION

    mdx.refresh_token()
    assert mdx.token and mdx.token != first
    assert last_body(fake, "POST", "/api/refresh/") == {"token": first}
    assert mdx.get_assigned_projects()  # the new token works
    with pytest.raises(MdxAuthError, match="http_status\\(401\\)"):  # the old one is revoked
        MdxResourceExt(first, endpoint=server.endpoint).get_assigned_projects()


def test_login_failures(server: RunningFake, fake: FakeMdx) -> None:
    mdx = MdxResourceExt(endpoint=server.endpoint)
    with pytest.raises(MdxAuthError) as e:
        mdx.login({"username": "alice", "password": "wrong"})
    assert e.value.http_status == 400
    assert "Unable to log in" in (e.value.server_message or "")
    assert mdx.token is None
    with pytest.raises(MdxInvalidArgumentError):
        mdx.login({"username": "alice"})
    assert fake.count_requests("POST", "/api/login/") == 1


def test_refresh_with_revoked_token_fails(server: RunningFake, fake: FakeMdx, token: str) -> None:
    mdx = MdxResourceExt(token, endpoint=server.endpoint)
    fake.tokens.pop(token)
    with pytest.raises(MdxAuthError):
        mdx.refresh_token()


def test_token_is_never_logged_nor_in_errors(
    server: RunningFake, fake: FakeMdx, token: str, caplog: pytest.LogCaptureFixture, spec: dict[str, Any]
) -> None:
    caplog.set_level(logging.DEBUG)
    mdx = MdxResourceExt(token, endpoint=server.endpoint)
    mdx.set_current_project_by_name(PROJECT)
    mdx.deploy_vm("vm-log", spec)
    fake.fail_next(500, {"detail": f"internal error for token {token}"})
    with pytest.raises(MdxRestError) as e:
        mdx.get_vm_list()
    assert token not in str(e.value) and "***" in str(e.value)
    with pytest.raises(MdxConflictError):
        mdx.destroy_vm("vm-log")
    mdx.refresh_token()
    assert caplog.records, "the client logs"
    assert token not in caplog.text and mdx.token not in caplog.text
    assert token not in repr(mdx) and "token=set" in repr(mdx)


def test_verbose_3_never_logs_the_login_token_nor_the_password(
    server: RunningFake, fake: FakeMdx, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mdx = MdxResourceExt(endpoint=server.endpoint, verbose=3)
    mdx.login({"username": "alice", "password": USERS["alice"]})
    first = mdx.token
    mdx.refresh_token()
    assert first and mdx.token and first != mdx.token
    assert "[POST]" in caplog.text and "HTTP STATUS 200" in caplog.text  # verbose=3 works
    # the login and refresh answers are logged, their token redacted
    assert caplog.text.count('"token": "<redacted') == 2
    for secret in (first, mdx.token, USERS["alice"]):
        assert secret not in caplog.text


def test_error_bodies_never_show_a_secret_field(
    pmdx: MdxResourceExt, fake: FakeMdx, caplog: pytest.LogCaptureFixture
) -> None:
    fake.fail_next(400, {"token": ["SECRET-JWT-123 is malformed"], "password": "hunter22"})
    with pytest.raises(MdxRestError) as e:
        pmdx.get_vm_list()
    assert "SECRET-JWT-123" not in str(e.value) and "hunter22" not in str(e.value)
    assert "token: <redacted" in str(e.value)
    assert "SECRET-JWT-123" not in caplog.text and "hunter22" not in caplog.text


# ---------------------------------------------------------------------- projects


def test_assigned_projects_shape(mdx: MdxResourceExt) -> None:
    institutions = mdx.get_assigned_projects()
    assert [i["name"] for i in institutions] == [INSTITUTION, "Univ"]
    project = institutions[0]["projects"][0]
    assert set(project) == {"uuid", "name", "type", "expired"}
    assert project["name"] == PROJECT and project["type"] == "通常" and project["expired"] is False
    assert institutions[1]["projects"][0]["type"] == "専有"
    assert [p["expired"] for p in institutions[0]["projects"]] == [False, False, True]


def test_notebook_project_selection_by_id(mdx: MdxResourceExt) -> None:
    assert mdx.get_current_project() is None
    project_id = mdx.get_assigned_projects()[0]["projects"][0]["uuid"]
    assert mdx.set_current_project_id(project_id) is None
    assert mdx.project_id == project_id
    assert mdx.get_current_project() == {
        "uuid": project_id,
        "name": PROJECT,
        "type": "通常",
        "expired": False,
    }


def test_project_selection_by_name(mdx: MdxResourceExt) -> None:
    assert mdx.set_current_project_by_name(SECOND_PROJECT) is None
    assert mdx.get_current_project()["name"] == SECOND_PROJECT
    mdx.set_current_project_by_name(OTHER_PROJECT)
    assert mdx.get_current_project()["name"] == OTHER_PROJECT
    mdx.set_current_project_by_name(EXPIRED_PROJECT)
    assert mdx.get_current_project()["expired"] is True


def test_unknown_project_name(pmdx: MdxResourceExt) -> None:
    before = pmdx.project_id
    with pytest.raises(MdxNotFoundError, match="'no-such-project' is not found") as e:
        pmdx.set_current_project_by_name("no-such-project")
    assert isinstance(e.value, VcpNotFoundError)
    assert pmdx.project_id == before  # unchanged


def test_unknown_project_id(mdx: MdxResourceExt) -> None:
    mdx.set_current_project_id("00000000-0000-0000-0000-000000000000")
    assert mdx.get_current_project() is None
    with pytest.raises(MdxNotFoundError) as e:
        mdx.get_segments()
    assert e.value.http_status == 404 and e.value.server_message == "Not found."
    with pytest.raises(MdxInvalidArgumentError):
        mdx.set_current_project_id("")


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.get_segments(),
        lambda m: m.get_segment_summary("x"),
        lambda m: m.get_vm_catalogs(),
        lambda m: m.get_vm_list(),
        lambda m: list(m.vm_info_iter()),
        lambda m: m.get_vm_info("x"),
        lambda m: m.deploy_vm("x", {}),
        lambda m: m.power_on_vm("x"),
        lambda m: m.power_off_vm("x"),
        lambda m: m.power_shutdown_vm("x"),
        lambda m: m.reboot_vm("x"),
        lambda m: m.destroy_vm("x"),
        lambda m: m.get_dnat(),
        lambda m: list(m.dnat_iter()),
        lambda m: m.get_allow_acl_ipv4_info("x"),
        lambda m: m.add_allow_acl_ipv4_info({}),
        lambda m: m.delete_allow_acl_ipv4_info("x"),
        lambda m: m.get_project_history(),
        lambda m: list(m.project_history_iter()),
    ],
)
def test_project_scoped_calls_need_a_project(mdx: MdxResourceExt, fake: FakeMdx, call: Any) -> None:
    with pytest.raises(MdxRestError, match="no current project"):
        call(mdx)
    assert fake.requests == []


# -------------------------------------------------------- segments and catalogs


def test_segments_and_summary(pmdx: MdxResourceExt) -> None:
    segments = pmdx.get_segments()
    assert [set(s) for s in segments] == [{"uuid", "name", "default"}] * 2
    assert segments[0]["default"] is True and segments[1]["default"] is False
    summary = pmdx.get_segment_summary(pmdx.get_segments()[0]["uuid"])
    assert set(summary) == {"vlan_id", "vni", "ip_range"}
    ipaddress.IPv4Network(summary["ip_range"])
    with pytest.raises(MdxNotFoundError):
        pmdx.get_segment_summary("no-such-segment")


def test_catalogs_across_pages(server: RunningFake, token: str, fake: FakeMdx) -> None:
    mdx = MdxResourceExt(token, endpoint=server.endpoint, page_size=2)
    mdx.set_current_project_by_name(PROJECT)
    catalogs = mdx.get_vm_catalogs()
    assert len(catalogs) == 3
    assert set(catalogs[0]) == {
        "uuid",
        "name",
        "type",
        "template_name",
        "os_type",
        "os_name",
        "os_version",
        "hw_version",
        "description",
        "login_username",
    }
    pages = [r["query"] for r in fake.requests if "/api/catalog/project/" in r["path"]]
    assert pages == [{"page": "1", "page_size": "2"}, {"page": "2", "page_size": "2"}]


# ----------------------------------------------------------------------- deploy


def test_deploy_wait_for_true(
    pmdx: MdxResourceExt,
    fake: FakeMdx,
    spec: dict[str, Any],
    sleeps: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mdx_ext, "SLEEP_TIME_SEC", 0.25)
    original = copy.deepcopy(spec)
    info = pmdx.deploy_vm("vm-01", spec, wait_for=True)
    assert info["status"] == "PowerON"
    address = info["service_networks"][0]["ipv4_address"][0]
    assert ipaddress.IPv4Address(address) in POOL
    assert info["name"] == "vm-01" and info["vm_id"] == fake.vm_by_name("vm-01").uuid
    for key in (
        "os_type",
        "vmware_tools",
        "cpu",
        "memory",
        "gpu",
        "service_networks",
        "storage_networks",
        "hard_disks",
        "dvd_media",
        "vcenter",
        "esxi",
        "pack_type",
        "pack_num",
    ):
        assert key in info
    # Deploying for deploy_polls=2 polls, then PowerON with an address: 3 polls, 2 sleeps
    assert fake.vm_by_name("vm-01").polls == 3
    assert sleeps == [0.25, 0.25]
    assert spec == original  # the caller's dict is not modified
    body = last_body(fake, "POST", "/api/vm/deploy/")
    assert body == {
        **original,
        "vm_name": "vm-01",
        "project": pmdx.project_id,
        "os_type": "Linux",
        "power_on": True,
    }
    assert pmdx.get_vm_info("vm-01")["service_networks"][0]["ipv4_address"] == [address]


def test_deploy_waits_for_the_address_after_power_on(
    pmdx: MdxResourceExt, fake: FakeMdx, spec: dict[str, Any]
) -> None:
    fake.address_polls = 3
    info = pmdx.deploy_vm("vm-late-ip", spec)
    assert info["status"] == "PowerON" and IPV4.match(info["service_networks"][0]["ipv4_address"][0])
    assert fake.vm_by_name("vm-late-ip").polls == 2 + 3 + 1


def test_wait_constants_are_shared_by_every_import_path(
    pmdx: MdxResourceExt, fake: FakeMdx, spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import vcpsdk.extensions.mdx as package
    from vcpsdk.extensions.mdx import settings

    for name in mdx_ext.__all__:
        assert getattr(mdx_ext, name) is getattr(package, name), name
    monkeypatch.setattr(package, "SLEEP_COUNT", 2)
    assert mdx_ext.SLEEP_COUNT == settings.SLEEP_COUNT == 2
    clock = RecordingClock()
    client = MdxResourceExt(pmdx.token, endpoint=pmdx.endpoint, clock=clock)
    client.set_current_project_id(pmdx.project_id)
    client.deploy_vm("vm-clock", spec)
    fake.power_polls = 20
    with pytest.raises(MdxTimeoutError, match="after 2 polls"):
        client.power_off_vm("vm-clock")
    assert clock.sleeps[-2:] == [0, 0]  # SLEEP_TIME_SEC (0 in these tests), on the given clock


def test_deploy_wait_for_false_then_notebook_wait_loop(
    pmdx: MdxResourceExt, fake: FakeMdx, spec: dict[str, Any]
) -> None:
    from vcpsdk.plugins.mdx_ext import SLEEP_COUNT, SLEEP_TIME_SEC  # as the notebooks do

    info = pmdx.deploy_vm("vm-async", spec, wait_for=False)
    assert info["status"] == "Deploying"
    assert info["service_networks"][0]["ipv4_address"] == []
    assert [vm["status"] for vm in pmdx.get_vm_list()] == ["Deploying"]
    assert pmdx.get_vm_list()[0]["running_tasks"] == ["Deploy"]

    address = None
    for _ in range(SLEEP_COUNT):
        vm_info = pmdx.get_vm_info("vm-async")
        if vm_info["status"] == "PowerON":
            address = vm_info["service_networks"][0]["ipv4_address"][0]
            break
        time.sleep(SLEEP_TIME_SEC)
    assert address is not None and ipaddress.IPv4Address(address) in POOL


def test_mdx_ops_style_parallel_deploy(pmdx: MdxResourceExt, fake: FakeMdx, spec: dict[str, Any]) -> None:
    """scripts/mdx_ops.py: deploy several VMs with wait_for=False, then one wait loop."""
    from vcpsdk.plugins.mdx_ext import DEPLOY_VM_SLEEP_COUNT, SLEEP_TIME_SEC

    vms = ["node-1", "node-2", "node-3"]
    for vm in vms:
        pmdx.deploy_vm(vm, spec.copy(), wait_for=False)
    rest = vms.copy()
    addresses = {}
    for _ in range(DEPLOY_VM_SLEEP_COUNT):
        for vm in rest:
            info = pmdx.get_vm_info(vm)
            if info["status"] != "PowerON":
                continue
            addr = info["service_networks"][0]["ipv4_address"][0]
            if IPV4.match(addr) is None:
                continue
            rest.remove(vm)
            addresses[vm] = addr
            break
        if not rest:
            break
        time.sleep(SLEEP_TIME_SEC)
    assert rest == []
    assert len(set(addresses.values())) == 3


def test_deploy_timeout(
    pmdx: MdxResourceExt,
    fake: FakeMdx,
    spec: dict[str, Any],
    sleeps: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake.deploy_polls = 50
    monkeypatch.setattr(mdx_ext, "DEPLOY_VM_SLEEP_COUNT", 4)  # read at call time
    with pytest.raises(MdxTimeoutError) as e:
        pmdx.deploy_vm("vm-slow", spec)
    assert isinstance(e.value, VcpTimeoutError) and isinstance(e.value, TimeoutError)
    assert "'vm-slow'" in str(e.value) and "Deploying" in str(e.value) and "4 polls" in str(e.value)
    assert fake.vm_by_name("vm-slow").polls == 4 and len(sleeps) == 3


def test_deploy_refused_by_server(pmdx: MdxResourceExt, fake: FakeMdx, spec: dict[str, Any]) -> None:
    pmdx.deploy_vm("dup", spec)
    with pytest.raises(MdxInvalidArgumentError) as e:
        pmdx.deploy_vm("dup", spec)
    assert e.value.http_status == 400
    assert "already exists" in (e.value.server_message or "")
    bad = {**spec, "catalog": "no-such-catalog"}
    with pytest.raises(MdxInvalidArgumentError, match="catalog: Invalid pk"):
        pmdx.deploy_vm("other", bad)


# ------------------------------------------------------------ vm_spec validation

INVALID_SPECS = {
    "unknown key": lambda s: {**s, "flavor": "large"},
    "disk_size as string": lambda s: {**s, "disk_size": "40"},
    "pack_num as bool": lambda s: {**s, "pack_num": True},
    "pack_num zero": lambda s: {**s, "pack_num": 0},
    "bad pack_type": lambda s: {**s, "pack_type": "tpu"},
    "bad storage_network": lambda s: {**s, "storage_network": "nfs"},
    "missing catalog": lambda s: {k: v for k, v in s.items() if k != "catalog"},
    "missing network_adapters": lambda s: {k: v for k, v in s.items() if k != "network_adapters"},
    "empty network_adapters": lambda s: {**s, "network_adapters": []},
    "adapter without segment": lambda s: {**s, "network_adapters": [{"adapter_number": 1}]},
    "adapter extra key": lambda s: {
        **s,
        "network_adapters": [{**s["network_adapters"][0], "mac": "00:00:00:00:00:01"}],
    },
    "gpu as int": lambda s: {**s, "gpu": 1},
    "not a dict": lambda s: [s],
}


@pytest.mark.parametrize("use_jsonschema", [True, False], ids=["jsonschema", "fallback"])
@pytest.mark.parametrize("case", sorted(INVALID_SPECS))
def test_invalid_vm_spec(
    pmdx: MdxResourceExt,
    fake: FakeMdx,
    spec: dict[str, Any],
    case: str,
    use_jsonschema: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not use_jsonschema:
        monkeypatch.setattr(mdx_schemas, "_jsonschema", None)
    else:
        assert mdx_schemas._jsonschema is not None, "jsonschema is a dependency"
    with pytest.raises(MdxInvalidArgumentError, match="invalid vm_spec") as e:
        pmdx.deploy_vm("vm-bad", INVALID_SPECS[case](spec))
    assert isinstance(e.value, ValueError) and isinstance(e.value, VcpInvalidArgumentError)
    assert fake.count_requests("POST", "/api/vm/deploy/") == 0
    assert fake.vm_by_name("vm-bad") is None


@pytest.mark.parametrize("use_jsonschema", [True, False], ids=["jsonschema", "fallback"])
def test_valid_specs_pass_both_validators(
    spec: dict[str, Any], use_jsonschema: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not use_jsonschema:
        monkeypatch.setattr(mdx_schemas, "_jsonschema", None)
    minimal = {k: spec[k] for k in ("catalog", "template_name", "network_adapters")}
    for candidate in (spec, minimal, {**spec, "service_level": "spot"}):
        mdx_ext.validate_spec(candidate, MDX_VM_SPEC_SCHEMA)


@pytest.mark.parametrize("use_jsonschema", [True, False], ids=["jsonschema", "fallback"])
def test_notebooks_extend_the_schema(
    pmdx: MdxResourceExt,
    fake: FakeMdx,
    spec: dict[str, Any],
    use_jsonschema: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not use_jsonschema:
        monkeypatch.setattr(mdx_schemas, "_jsonschema", None)
    # the notebook cell "fix: mdx REST API (2023-01-31)", verbatim
    from vcpsdk.plugins.mdx_ext import MDX_VM_SPEC_SCHEMA

    if "service_level" not in MDX_VM_SPEC_SCHEMA["properties"]:
        MDX_VM_SPEC_SCHEMA["properties"].update({"service_level": {"type": "string"}})
    spec.update({"service_level": "guarantee"})
    assert pmdx.deploy_vm("vm-guarantee", spec)["status"] == "PowerON"
    assert last_body(fake, "POST", "/api/vm/deploy/")["service_level"] == "guarantee"

    # a field the schema does not know is refused until a notebook adds it
    spec["os_type"] = "Linux"
    with pytest.raises(MdxInvalidArgumentError, match="os_type"):
        pmdx.deploy_vm("vm-os", spec)
    MDX_VM_SPEC_SCHEMA["properties"]["os_type"] = {"type": "string", "enum": ["Linux", "Windows"]}
    pmdx.deploy_vm("vm-os", spec, wait_for=False)
    assert last_body(fake, "POST", "/api/vm/deploy/")["os_type"] == "Linux"


def test_broken_schema_is_reported(pmdx: MdxResourceExt, spec: dict[str, Any]) -> None:
    MDX_VM_SPEC_SCHEMA["properties"]["disk_size"] = {"type": "gigabytes"}
    with pytest.raises(MdxInvalidArgumentError, match="schema for vm_spec is not valid"):
        pmdx.deploy_vm("vm-x", spec)


# ------------------------------------------------------------ VM list and info


def test_vm_list_and_iter_across_pages(
    server: RunningFake, token: str, fake: FakeMdx, spec: dict[str, Any]
) -> None:
    mdx = MdxResourceExt(token, endpoint=server.endpoint, page_size=2)
    mdx.set_current_project_by_name(PROJECT)
    assert mdx.get_vm_list() == []
    names = [f"vm-{i}" for i in range(5)]
    for name in names:
        mdx.deploy_vm(name, spec, wait_for=False)
    fake.requests.clear()
    listed = mdx.get_vm_list()
    assert [vm["name"] for vm in listed] == names
    assert all(set(vm) == {"uuid", "name", "status", "vcenter", "running_tasks"} for vm in listed)
    pages = [r["query"]["page"] for r in fake.requests if "/api/vm/project/" in r["path"]]
    assert pages == ["1", "2", "3"]

    iterator = mdx.vm_info_iter()
    assert isinstance(iterator, types.GeneratorType)
    fake.requests.clear()
    assert next(iterator)["name"] == "vm-0"
    assert len(fake.requests) == 1  # lazily: only the first page so far
    assert [vm["name"] for vm in iterator] == names[1:]
    # a VM on the last page is found by name
    assert mdx.get_vm_info("vm-4")["name"] == "vm-4"


def test_get_vm_info_unknown_is_none(pmdx: MdxResourceExt) -> None:
    assert pmdx.get_vm_info("no-such-vm") is None


def test_vm_in_other_project_is_not_seen(pmdx: MdxResourceExt, spec: dict[str, Any]) -> None:
    pmdx.deploy_vm("mine", spec)
    pmdx.set_current_project_by_name(OTHER_PROJECT)
    assert pmdx.get_vm_info("mine") is None and pmdx.get_vm_list() == []


# ------------------------------------------------------------------ power ops


def test_power_cycle(pmdx: MdxResourceExt, fake: FakeMdx, spec: dict[str, Any], sleeps: list[float]) -> None:
    pmdx.deploy_vm("vm-p", spec)
    assert pmdx.power_off_vm("vm-p", wait_for=True) is None
    assert pmdx.get_vm_info("vm-p")["status"] == "PowerOFF"
    assert fake.count_requests("POST", "/power_off/") == 1

    pmdx.power_off_vm("vm-p")  # already off: nothing is sent
    assert fake.count_requests("POST", "/power_off/") == 1

    pmdx.power_on_vm("vm-p")
    assert pmdx.get_vm_info("vm-p")["status"] == "PowerON"
    assert last_body(fake, "POST", "/power_on/") == {"service_level": "spot"}
    pmdx.power_on_vm("vm-p")  # already on: nothing is sent
    assert fake.count_requests("POST", "/power_on/") == 1

    pmdx.power_shutdown_vm("vm-p")
    assert pmdx.get_vm_info("vm-p")["status"] == "PowerOFF"
    assert fake.count_requests("POST", "/shutdown/") == 1

    pmdx.power_on_vm("vm-p", service_level="guarantee")
    assert last_body(fake, "POST", "/power_on/") == {"service_level": "guarantee"}
    polls = fake.vm_by_name("vm-p").polls
    pmdx.reboot_vm("vm-p")
    # the fake reports PowerOFF for one poll, then PowerON: the client polled twice
    assert fake.vm_by_name("vm-p").polls == polls + 1 + 2
    assert pmdx.get_vm_info("vm-p")["status"] == "PowerON"
    assert fake.count_requests("POST", "/reboot/") == 1
    history_types = [h["type"] for h in pmdx.get_project_history()[:6]]
    assert history_types == ["Reboot", "PowerOn", "Shutdown", "PowerOn", "PowerOff", "Deploy"]


def test_power_off_wait_for_false(pmdx: MdxResourceExt, fake: FakeMdx, spec: dict[str, Any]) -> None:
    from vcpsdk.plugins.mdx_ext import SLEEP_COUNT, SLEEP_TIME_SEC

    fake.power_polls = 3
    pmdx.deploy_vm("vm-q", spec)
    pmdx.power_off_vm("vm-q", wait_for=False)
    assert pmdx.get_vm_list()[0]["running_tasks"] == ["PowerOff"]
    seen = []
    for _ in range(SLEEP_COUNT):
        seen.append(pmdx.get_vm_info("vm-q")["status"])
        if seen[-1] == "PowerOFF":
            break
        time.sleep(SLEEP_TIME_SEC)
    assert seen == ["PowerON", "PowerON", "PowerON", "PowerOFF"]


def test_power_wait_timeout(
    pmdx: MdxResourceExt, fake: FakeMdx, spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    pmdx.deploy_vm("vm-t", spec)
    fake.power_polls = 20
    monkeypatch.setattr(mdx_ext, "SLEEP_COUNT", 3)
    with pytest.raises(MdxTimeoutError, match="not PowerOFF after 3 polls"):
        pmdx.power_off_vm("vm-t")


def test_power_ops_state_errors(pmdx: MdxResourceExt, fake: FakeMdx, spec: dict[str, Any]) -> None:
    pmdx.deploy_vm("vm-s", spec)
    pmdx.power_off_vm("vm-s")
    with pytest.raises(MdxConflictError, match="is PowerOFF; it must be PowerON"):
        pmdx.reboot_vm("vm-s")
    pmdx.deploy_vm("vm-d", spec, wait_for=False)
    with pytest.raises(MdxConflictError, match="is Deploying"):
        pmdx.power_off_vm("vm-d")
    for op in (pmdx.power_on_vm, pmdx.power_off_vm, pmdx.power_shutdown_vm, pmdx.reboot_vm, pmdx.destroy_vm):
        with pytest.raises(MdxNotFoundError, match="'ghost' is not found"):
            op("ghost")
    assert fake.count_requests("POST", "/reboot/") == 0


def test_server_side_conflict_is_mapped(pmdx: MdxResourceExt, fake: FakeMdx, spec: dict[str, Any]) -> None:
    pmdx.deploy_vm("vm-busy", spec)
    pmdx.power_off_vm("vm-busy", wait_for=False)  # a task is now running on the fake
    fake.set_status("vm-busy", "PowerON")
    fake.vm_by_name("vm-busy").pending.append([5, lambda v: None])
    with pytest.raises(MdxConflictError) as e:
        pmdx.power_off_vm("vm-busy", wait_for=False)
    assert e.value.http_status == 409 and "running task" in (e.value.server_message or "")


def test_suspended_and_notfound_states(pmdx: MdxResourceExt, fake: FakeMdx, spec: dict[str, Any]) -> None:
    pmdx.deploy_vm("vm-z", spec)
    fake.set_status("vm-z", "Suspended")
    assert pmdx.get_vm_info("vm-z")["status"] == "Suspended"
    pmdx.power_on_vm("vm-z")
    assert pmdx.get_vm_info("vm-z")["status"] == "PowerON"

    fake.set_status("vm-z", "NotFound")
    assert pmdx.get_vm_info("vm-z")["status"] == "NotFound"
    with pytest.raises(MdxConflictError, match="NotFound"):
        pmdx.destroy_vm("vm-z")


# ----------------------------------------------------------------------- destroy


def test_destroy_running_vm_is_refused(pmdx: MdxResourceExt, fake: FakeMdx, spec: dict[str, Any]) -> None:
    pmdx.deploy_vm("vm-r", spec)
    with pytest.raises(MdxConflictError) as e:
        pmdx.destroy_vm("vm-r")
    assert isinstance(e.value, VcpConflictError)
    assert "is PowerON, not PowerOFF" in str(e.value) and "power_off_vm('vm-r')" in str(e.value)
    assert fake.count_requests("POST", "/destroy/") == 0
    assert pmdx.get_vm_info("vm-r")["status"] == "PowerON"


def test_destroy_wait_for_true(
    pmdx: MdxResourceExt, fake: FakeMdx, spec: dict[str, Any], sleeps: list[float]
) -> None:
    pmdx.deploy_vm("vm-x", spec)
    pmdx.power_off_vm("vm-x")
    sleeps.clear()
    assert pmdx.destroy_vm("vm-x", wait_for=True) is None
    assert fake.vm_by_name("vm-x") is None
    assert len(sleeps) == 2  # listed for destroy_polls=1 poll, gone at the next
    assert pmdx.get_vm_info("vm-x") is None
    assert pmdx.get_project_history()[0]["type"] == "Destroy"
    assert pmdx.get_project_history()[0]["status"] == "Completed"


def test_destroy_wait_for_false_and_notebook_cleanup(
    pmdx: MdxResourceExt, fake: FakeMdx, spec: dict[str, Any]
) -> None:
    from vcpsdk.plugins.mdx_ext import SLEEP_COUNT, SLEEP_TIME_SEC

    fake.destroy_polls = 3
    pmdx.deploy_vm("vm-y", spec)
    # the notebooks' cleanup cell: each step guarded, as they do
    try:
        pmdx.power_off_vm("vm-y", wait_for=True)
    except Exception as e:  # pragma: no cover - would be a failure
        pytest.fail(f"power_off_vm raised {e}")
    pmdx.destroy_vm("vm-y", wait_for=False)
    assert pmdx.get_vm_info("vm-y") is not None  # still listed right after the request
    for _ in range(SLEEP_COUNT):
        if pmdx.get_vm_info("vm-y") is None:
            break
        time.sleep(SLEEP_TIME_SEC)
    assert pmdx.get_vm_info("vm-y") is None
    # running the cleanup cell again: both raise "not found", which the notebooks swallow
    for step in (pmdx.power_off_vm, pmdx.destroy_vm):
        with pytest.raises(MdxNotFoundError):
            step("vm-y", wait_for=True)


def test_destroy_timeout(
    pmdx: MdxResourceExt, fake: FakeMdx, spec: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    pmdx.deploy_vm("vm-w", spec)
    pmdx.power_off_vm("vm-w")
    fake.destroy_polls = 100
    monkeypatch.setattr(mdx_ext, "SLEEP_COUNT", 2)
    with pytest.raises(MdxTimeoutError, match="still exists after 2 polls"):
        pmdx.destroy_vm("vm-w")


# ---------------------------------------------------------------- DNAT and ACL


def test_dnat_across_pages(server: RunningFake, token: str, fake: FakeMdx) -> None:
    mdx = MdxResourceExt(token, endpoint=server.endpoint, page_size=2)
    mdx.set_current_project_by_name(PROJECT)
    dnat = mdx.get_dnat()
    assert len(dnat) == 5
    assert all(set(d) == {"uuid", "pool_address", "segument", "dst_address"} for d in dnat)
    assert [r["query"]["page"] for r in fake.requests if "/api/dnat/" in r["path"]] == ["1", "2", "3"]
    iterator = mdx.dnat_iter()
    assert isinstance(iterator, types.GeneratorType)
    assert list(iterator) == dnat


def test_allow_acl_ipv4_cycle(pmdx: MdxResourceExt, fake: FakeMdx) -> None:
    segment_id = pmdx.get_segments()[0]["uuid"]
    before = pmdx.get_allow_acl_ipv4_info(segment_id)
    assert len(before) == 3
    assert set(before[0]) == {
        "uuid",
        "src_address",
        "src_mask",
        "src_port",
        "dst_address",
        "dst_mask",
        "dst_port",
        "protocol",
    }
    acl_spec = {"segment": segment_id, **ACL_RULE}
    added = pmdx.add_allow_acl_ipv4_info(acl_spec)
    assert added["uuid"] and added["src_address"] == "198.51.100.0"
    after = pmdx.get_allow_acl_ipv4_info(segment_id)
    assert [a["uuid"] for a in after] == [a["uuid"] for a in before] + [added["uuid"]]
    assert pmdx.get_allow_acl_ipv4_info(pmdx.get_segments()[1]["uuid"]) == []

    assert pmdx.delete_allow_acl_ipv4_info(added["uuid"]) is None
    assert pmdx.get_allow_acl_ipv4_info(segment_id) == before
    with pytest.raises(MdxNotFoundError) as e:
        pmdx.delete_allow_acl_ipv4_info(added["uuid"])
    assert e.value.http_status == 404
    assert [h["type"] for h in pmdx.get_project_history()[:2]] == ["DeleteAclIPv4", "AddAclIPv4"]


def test_allow_acl_errors(pmdx: MdxResourceExt, fake: FakeMdx) -> None:
    segment_id = pmdx.get_segments()[0]["uuid"]
    good = {"segment": segment_id, **ACL_RULE}
    with pytest.raises(MdxInvalidArgumentError, match="protocol"):
        pmdx.add_allow_acl_ipv4_info({**good, "protocol": "SCTP"})
    with pytest.raises(MdxInvalidArgumentError, match="dst_port"):
        pmdx.add_allow_acl_ipv4_info({k: v for k, v in good.items() if k != "dst_port"})
    with pytest.raises(MdxInvalidArgumentError, match="src_mask"):
        pmdx.add_allow_acl_ipv4_info({**good, "src_mask": 24})
    assert fake.count_requests("POST", "/api/acl/") == 0
    with pytest.raises(MdxInvalidArgumentError, match="segment: Invalid pk"):
        pmdx.add_allow_acl_ipv4_info({**good, "segment": "no-such-segment"})
    with pytest.raises(MdxNotFoundError):
        pmdx.get_allow_acl_ipv4_info("no-such-segment")


# ---------------------------------------------------------------------- history


def test_project_history_across_pages(
    server: RunningFake, token: str, fake: FakeMdx, spec: dict[str, Any]
) -> None:
    mdx = MdxResourceExt(token, endpoint=server.endpoint, page_size=2)
    mdx.set_current_project_by_name(PROJECT)
    mdx.deploy_vm("vm-h", spec)
    mdx.power_off_vm("vm-h")
    history = mdx.get_project_history()
    assert len(history) == 5  # 3 seeded + deploy + power off
    keys = {
        "uuid",
        "project",
        "user_name",
        "type",
        "object_uuid",
        "object_name",
        "start_datetime",
        "end_datetime",
        "status",
        "progress",
        "error_message",
        "error_detail",
    }
    assert all(set(h) == keys for h in history)
    assert [h["type"] for h in history[:2]] == ["PowerOff", "Deploy"]
    assert all(h["status"] == "Completed" and h["progress"] == 100 for h in history)
    assert history[0]["object_name"] == "vm-h" and history[0]["project"] == mdx.project_id
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", history[0]["end_datetime"])
    iterator = mdx.project_history_iter()
    assert isinstance(iterator, types.GeneratorType) and list(iterator) == history


def test_running_deploy_shows_in_history(pmdx: MdxResourceExt, spec: dict[str, Any]) -> None:
    pmdx.deploy_vm("vm-run", spec, wait_for=False)
    entry = pmdx.get_project_history()[0]
    assert (entry["type"], entry["status"], entry["progress"]) == ("Deploy", "Running", 0)


# ----------------------------------------------------------------- error mapping


@pytest.mark.parametrize(
    ("status", "body", "cls", "message"),
    [
        (500, {"detail": "internal error"}, MdxRestError, "internal error"),
        (502, "Bad Gateway from the proxy", MdxRestError, "Bad Gateway from the proxy"),
        (403, {"detail": "You do not have permission."}, MdxAuthError, "You do not have permission."),
        (
            422,
            {"disk_size": ["too large"], "gpu": ["bad"]},
            MdxInvalidArgumentError,
            "disk_size: too large; gpu: bad",
        ),
        (409, {"message": "busy"}, MdxConflictError, "busy"),
    ],
)
def test_http_errors_carry_status_and_server_message(
    pmdx: MdxResourceExt,
    fake: FakeMdx,
    status: int,
    body: Any,
    cls: type,
    message: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.fail_next(status, body)
    with caplog.at_level(logging.ERROR, logger="vcp.sdk"), pytest.raises(cls) as e:
        pmdx.get_segments()
    err = e.value
    assert type(err) is cls and isinstance(err, VcpSDKError) and isinstance(err, MdxRestException)
    assert err.http_status == status and err.server_message == message
    assert str(err) == f"mdx: get_segments failed: http_status({status}): {message}"
    assert str(err) in caplog.text  # logged at ERROR, then raised (the SDK's convention)


def test_non_json_success_is_an_error(
    pmdx: MdxResourceExt, fake: FakeMdx, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = requests.Session.request

    def garbled(self: requests.Session, *args: Any, **kwargs: Any) -> requests.Response:
        response = real(self, *args, **kwargs)
        response._content = b"<html>maintenance</html>"
        return response

    monkeypatch.setattr(requests.Session, "request", garbled)
    with pytest.raises(MdxRestError, match="not JSON"):
        pmdx.get_segments()


def test_error_classes() -> None:
    assert MdxRestException is MdxRestError
    for cls, base in (
        (MdxAuthError, VcpAuthError),
        (MdxNotFoundError, VcpNotFoundError),
        (MdxConflictError, VcpConflictError),
        (MdxTimeoutError, VcpTimeoutError),
        (MdxConnectionError, VcpConnectionError),
        (MdxInvalidArgumentError, VcpInvalidArgumentError),
    ):
        assert issubclass(cls, MdxRestError) and issubclass(cls, base)
    assert MdxRestError("x").status_code == 0


def test_public_members_have_docstrings() -> None:
    for name in mdx_ext.__all__:
        obj = getattr(mdx_ext, name)
        if callable(obj) and not isinstance(obj, dict):
            assert obj.__doc__, name
    for name, member in vars(MdxResourceExt).items():
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            assert member.__doc__, name
        else:
            assert member.__doc__ and "Example::" in member.__doc__, name
