"""SakuraBackend against the fake IaaS API: the API calls it makes, what ends up in the fake
cloud (the startup script is the bootstrap script), the concurrency bound, power with a
forced fallback, disks, how Sakura's errors are mapped (on the unit too), and that the
token and secret stay out of the logs."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vcpsdk.controller.backends.base import DiskInfo, DiskRequest, NodeRequest, UnitContext
from vcpsdk.controller.backends.registry import REGISTRY
from vcpsdk.controller.backends.sakura import SakuraApiError, SakuraBackend, bootstrap_script, map_error
from vcpsdk.controller.backends.sakura.backend import DISK_PLANS, parse_description
from vcpsdk.controller.backends.sakura.client import DiskSpec, SakuraClient, ServerSpec
from vcpsdk.controller.backends.toolkit.errors import (
    BackendError,
    CloudAuthError,
    CloudError,
    CloudInvalidParameter,
    CloudNotFoundError,
    CloudQuotaError,
    CloudThrottlingError,
    InvalidRequest,
)
from vcpsdk.controller.backends.toolkit.retry import RetryPolicy
from vcpsdk.controller.backends.toolkit.settings import declared_param as param
from vcpsdk.core.polling import FakeClock
from vcpsdk.core.providers import get_provider
from vcpsdk.errors import VcpUnitFailedError
from vcpsdk.testing import running_controller, write_test_public_key
from vcpsdk.testing.fakes.sakura import (
    GATEWAY,
    SECRET,
    SWITCH_ID,
    TOKEN,
    UBUNTU,
    RunningSakura,
    backend_section,
)
from vcpsdk.testing.units import concurrency_peak, connect_sdk

CONTROLLER_ID = "c0ffee00-0000-4000-8000-000000000001"
ROOT = "/cloud/zone/is1a/api/cloud/1.1"


@pytest.fixture
def config(sakura: RunningSakura) -> dict[str, Any]:
    return backend_section(sakura.api_root)


@pytest.fixture
def backend(config: dict[str, Any]) -> Iterator[SakuraBackend]:
    made = SakuraBackend(config, CONTROLLER_ID)
    yield made
    made.close()


def make_unit(config: dict[str, Any], provider: str = "sakura", **params: Any) -> UnitContext:
    catalog, spec = dict(config["vpn_catalog"]["default"]), {"image": "vcp/base:1.0", "cloud_params": params}
    return UnitContext(uuid.uuid4().hex, "group", "unit", provider, "alice", spec, catalog)


def new_nodes(
    backend: SakuraBackend, config: dict[str, Any], count: int, *fixed: str, **kw: Any
) -> list[NodeRequest]:
    """Nodes with the addresses the controller would plan (the fixed ones first)."""
    catalog = config["vpn_catalog"]["default"]
    addresses = backend.plan_addresses("sakura", catalog, list(fixed), count + len(fixed), set())
    return [
        NodeRequest(uuid.uuid4().hex, i + 1, a, list(kw.get("disks") or [])) for i, a in enumerate(addresses)
    ]


def clean(sakura: RunningSakura) -> bool:
    return all(not ids for ids in sakura.fake.leftovers().values())


def calls(sakura: RunningSakura) -> list[str]:
    """``METHOD path`` of every request, ids replaced by ``{id}``."""
    shown = []
    for r in sakura.fake.requests:
        parts = ["{id}" if p.isdigit() and len(p) == 12 else p for p in r["path"][len(ROOT) + 1 :].split("/")]
        shown.append(f"{r['method']} {'/'.join(parts)}")
    return shown


# -- creates ----------------------------------------------------------------------------------


def test_create_nodes_makes_a_server_nic_disk_and_startup_script_per_node(
    sakura: RunningSakura, backend: SakuraBackend, config
) -> None:
    unit = make_unit(config, num_cores=2, memory=4, sakuracloud_disk_plan="ssd", sakuracloud_disk_size=40)
    [node] = new_nodes(backend, config, 0, "127.66.9.21")
    [result] = backend.create_nodes(unit, [node])

    assert [c for c in calls(sakura) if not c.startswith("GET")] == [
        "POST server",
        "POST interface",
        "PUT interface/{id}/to/switch/{id}",
        "PUT interface/{id}",
        "POST note",
        "POST disk",
        "DELETE note/{id}",
        "PUT disk/{id}/to/server/{id}",
        "PUT server/{id}/power",
    ]
    assert sakura.fake.calls("PUT", f"/to/switch/{SWITCH_ID}")
    [server_post] = sakura.fake.calls("POST", "/server")
    server = json.loads(server_post["body"])["Server"]
    assert server["ServerPlan"] == {"ID": 200004002}  # 2 cores, 4 GB
    assert server["Tags"] == ["vcp", backend.controller_tag]
    assert parse_description(server["Description"]) == {
        "vcp-controller": CONTROLLER_ID,
        "vcp-vcid": unit.vcid,
        "vcp-ugroup": "group",
        "vcp-unit": "unit",
        "vcp-role": "node",
        "vcp-node-id": node.node_id,
    }
    [disk_post] = sakura.fake.calls("POST", "/disk")
    body = json.loads(disk_post["body"])
    [ubuntu] = [a for a in sakura.fake.archives.values() if a["Name"] == UBUNTU]
    assert body["Disk"]["Plan"] == {"ID": 4} and body["Disk"]["SizeMB"] == 40 * 1024
    assert body["Disk"]["SourceArchive"] == {"ID": ubuntu["ID"]}
    assert body["Config"]["UserIPAddress"] == "127.66.9.21"
    assert body["Config"]["UserSubnet"] == {"DefaultRoute": GATEWAY, "NetworkMaskLen": 16}
    assert body["Config"]["HostName"] == f"vcp-{node.node_id}"
    [address_put] = sakura.fake.calls("PUT", "/interface/")[1:]
    assert json.loads(address_put["body"]) == {"Interface": {"UserIPAddress": "127.66.9.21"}}
    # the startup script edited into the disk is the bootstrap script, and the note is gone
    disk_id = result.backend_data["disk_id"]
    script = bootstrap_script(unit, node, controller_id=CONTROLLER_ID, controller_address="127.66.0.2")
    assert sakura.fake.startup_scripts[disk_id] == [script]
    assert f"NODE_ID={node.node_id}" in script and "MY_PRIVATE_IP=127.66.9.21" in script
    assert sakura.fake.leftovers()["notes"] == []
    assert result.instance_id == result.backend_data["server_id"]
    assert result.address == "127.66.9.21"
    assert sakura.fake.status(result.instance_id) == "up"


def test_addresses_are_planned_by_the_controller_without_the_gateway(backend: SakuraBackend, config) -> None:
    catalog = config["vpn_catalog"]["default"]
    planned = backend.plan_addresses("sakura", catalog, ["127.66.9.21"], 3, {"127.66.0.10"})
    assert planned == ["127.66.9.21", "127.66.0.11", "127.66.0.12"]
    with pytest.raises(InvalidRequest, match=r"ip_address\[127.66.0.1\] is the gateway"):
        backend.plan_addresses("sakura", catalog, [GATEWAY], 1, set())
    with pytest.raises(InvalidRequest, match="outside private_network_ipmask"):
        backend.plan_addresses("sakura", catalog, ["10.0.0.1"], 1, set())


def test_the_servers_of_one_request_are_created_concurrently_within_the_bound(
    sakura: RunningSakura, config: dict[str, Any]
) -> None:
    backend = SakuraBackend({**config, "max_concurrent_creates": 2}, CONTROLLER_ID)
    unit = make_unit(config)
    client = backend.client(unit, "is1a")
    try:
        with concurrency_peak(client, "create_server") as peak:
            assert len(backend.create_nodes(unit, new_nodes(backend, config, 5))) == 5
    finally:
        backend.close()
    assert len(sakura.fake.calls("POST", "/server")) == 5
    assert peak == [2]  # creates at once, at most


def test_power_off_is_graceful_then_forced_and_describe_finds_servers_again(
    sakura: RunningSakura, backend: SakuraBackend, config
) -> None:
    unit = make_unit(config)
    nodes = new_nodes(backend, config, 2)
    backend.create_nodes(unit, nodes)
    backend.power(unit, nodes[:1], "power_off")
    [graceful] = sakura.fake.calls("DELETE", "/power")
    assert graceful["body"] == ""  # an ACPI shutdown, no Force
    assert backend.describe(unit, nodes) == {nodes[0].node_id: "POWER_OFF", nodes[1].node_id: "RUNNING"}
    # a guest that ignores the shutdown is forced off after shutdown_timeout
    sakura.fake.ignore_shutdown = True
    quick = SakuraBackend({**config, "shutdown_timeout": 0.1}, CONTROLLER_ID)
    quick.power(unit, nodes[1:], "stop")
    assert [json.loads(c["body"] or "{}") for c in sakura.fake.calls("DELETE", "/power")][1:] == [
        {},
        {"Force": True},
    ]
    # a new backend (a restarted controller) finds the servers by tag and description
    assert quick.describe(unit, nodes) == dict.fromkeys([n.node_id for n in nodes], "POWER_OFF")
    assert SakuraBackend(config, "another-controller").describe(unit, nodes[:1]) == {
        nodes[0].node_id: "DELETED"
    }
    quick.power(unit, nodes, "power_on")  # no backend_data: found by description
    quick.close()
    assert len(sakura.fake.calls("PUT", "/power")) == 2 + 2
    assert set(backend.describe(unit, nodes).values()) == {"RUNNING"}
    backend.power(unit, nodes, "power_on")  # already up: nothing sent
    assert len(sakura.fake.calls("PUT", "/power")) == 4
    with pytest.raises(BackendError, match="unknown power action"):
        backend.power(unit, nodes, "hibernate")
    backend.delete_nodes(unit, nodes)
    assert clean(sakura)  # server, NIC, boot disk
    forced = sakura.fake.calls("DELETE", "/power")[-2:]
    assert [json.loads(c["body"]) for c in forced] == [{"Force": True}] * 2
    assert backend.describe(unit, nodes) == dict.fromkeys([n.node_id for n in nodes], "DELETED")
    backend.delete_nodes(unit, nodes)  # again: nothing left to delete is fine
    with pytest.raises(CloudNotFoundError, match="not_found: no server for node"):
        backend.power(unit, nodes[:1], "power_on")


# -- disks ------------------------------------------------------------------------------------


def test_disks_are_copied_connected_and_refused_delete_while_connected(
    sakura: RunningSakura, backend: SakuraBackend, config
) -> None:
    storage = make_unit(
        config, "sakura_disk", sakuracloud_disk_plan="hdd", sakuracloud_disk_size=40, cloud_image=UBUNTU
    )
    requests = [DiskRequest(uuid.uuid4().hex, i + 1, 40) for i in range(2)]
    disks = backend.create_disks(storage, requests)
    posts = [json.loads(c["body"])["Disk"] for c in sakura.fake.calls("POST", "/disk")]
    assert [(p["Plan"], p["SizeMB"]) for p in posts] == [({"ID": 2}, 40960)] * 2
    assert all(p["SourceArchive"]["ID"] for p in posts)
    assert [d.size_gb for d in disks] == [40, 40]

    unit = make_unit(config)
    [node] = new_nodes(backend, config, 1, disks=[DiskInfo(d.disk_id, d.cloud_disk_id) for d in disks])
    [result] = backend.create_nodes(unit, [node])
    assert [v["volume_id"] for v in result.volumes] == [d.cloud_disk_id for d in disks]
    assert [v["device_name"] for v in result.volumes] == ["/dev/vdb", "/dev/vdc"]
    server = sakura.fake.servers[result.instance_id]
    assert {d["ID"] for d in sakura.fake._server_json(server)["Disks"]} >= {d.cloud_disk_id for d in disks}

    with pytest.raises(CloudInvalidParameter, match="still_connected: .*delete the node first"):
        backend.delete_disks(storage, requests)
    backend.delete_nodes(unit, [node])
    assert sorted(sakura.fake.leftovers()["disks"]) == sorted(d.cloud_disk_id for d in disks)  # disconnected
    backend.delete_disks(storage, [DiskRequest(r.disk_id, r.disk_no, 40) for r in requests])  # found by tag
    assert clean(sakura)


def test_sizes_plans_and_archives_are_checked_before_anything_is_made(
    sakura: RunningSakura, backend: SakuraBackend, config
) -> None:
    with pytest.raises(
        CloudInvalidParameter, match=r"249 GB is not offered .* allowed sizes \(GB\): 20, 40, 60"
    ):
        backend.create_disks(
            make_unit(config, "sakura_disk", sakuracloud_disk_size=249), [DiskRequest("d", 1, 249)]
        )
    with pytest.raises(
        CloudInvalidParameter, match=r"num_cores=1 and memory=64 GB .* 1 core: 1, 2, 3, 4, 5 GB"
    ):
        backend.create_nodes(make_unit(config, num_cores=1, memory=64), new_nodes(backend, config, 1))
    with pytest.raises(CloudNotFoundError, match="names no single archive"):
        backend.create_nodes(make_unit(config, cloud_image="no-such-archive"), new_nodes(backend, config, 1))
    with pytest.raises(CloudInvalidParameter, match="sakuracloud_disk_plan 'nvme'"):
        backend.create_nodes(make_unit(config, sakuracloud_disk_plan="nvme"), new_nodes(backend, config, 1))
    assert not [c for c in sakura.fake.requests if c["method"] != "GET"]
    assert clean(sakura)


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "status", "code", "kind"),
    [
        ("server.create", 409, "limit_count_in_account_exceed", CloudQuotaError),
        ("disk.create", 409, "limit_size_in_account_exceed", CloudQuotaError),
        ("server.boot", 403, "forbidden", CloudAuthError),
        ("interface.connect", 404, "not_found", CloudNotFoundError),
        ("disk.connect", 409, "still_running", CloudInvalidParameter),
    ],
)
def test_a_partial_create_is_mapped_and_removed(
    sakura: RunningSakura, backend: SakuraBackend, config, operation: str, status: int, code: str, kind: type
) -> None:
    sakura.fake.fail(operation, status, code, f"refused by the test ({code})", times=1, after=1)
    with pytest.raises(kind) as failure:
        backend.create_nodes(make_unit(config), new_nodes(backend, config, 3))
    assert str(failure.value) == f"{code}: refused by the test ({code})"
    assert getattr(failure.value, "provider", None) == "sakura"
    assert clean(sakura)  # servers, NICs, disks and notes of all three nodes are gone


def test_busy_is_retried_with_backoff_then_mapped(sakura: RunningSakura, config) -> None:
    sakura.fake.fail("server.create", 503, "busy", "the API is busy", times=2)
    backend = SakuraBackend(config, CONTROLLER_ID)
    unit = make_unit(config)
    assert len(backend.create_nodes(unit, new_nodes(backend, config, 1))) == 1
    assert len(sakura.fake.calls("POST", "/server")) == 3
    backend.close()
    sakura.fake.fail("disk.create", 503, "busy", "the API is busy", times=5)
    patient = SakuraBackend({**config, "retry_attempts": 2}, CONTROLLER_ID)
    with pytest.raises(CloudThrottlingError, match="^busy: the API is busy") as failure:
        patient.create_nodes(unit, new_nodes(patient, config, 1, "127.66.9.40"))
    patient.close()
    assert failure.value.retryable


def test_still_running_and_other_codes_map_onto_the_tree() -> None:
    running = map_error(SakuraApiError(409, "still_running", "server 1 is running"))
    assert isinstance(running, CloudInvalidParameter) and str(running) == "still_running: server 1 is running"
    assert isinstance(map_error(SakuraApiError(401, "whatever", "no")), CloudAuthError)
    unavailable = map_error(SakuraApiError(503, "http_503", "down"))
    assert isinstance(unavailable, CloudError) and unavailable.retryable
    assert map_error(KeyError("x")) is None
    typed = BackendError("already typed")
    assert map_error(typed) is typed
    masked = map_error(SakuraApiError(400, "bad_request", f"token {TOKEN} refused"), (TOKEN,))
    assert TOKEN not in str(masked)


def test_wrong_credentials_are_an_auth_error_without_the_secret(
    sakura: RunningSakura, config, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-secret-value-1234"
    backend = SakuraBackend({**config, "sakura_secret": wrong}, CONTROLLER_ID)
    with pytest.raises(CloudAuthError, match="^unauthorized: ") as failure:
        backend.create_nodes(make_unit(config), new_nodes(backend, config, 1))
    backend.close()
    assert wrong not in str(failure.value) and wrong not in caplog.text
    assert clean(sakura)


def test_the_token_and_secret_never_appear_in_logs(
    sakura: RunningSakura, backend: SakuraBackend, config, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    unit = make_unit(config)
    nodes = new_nodes(backend, config, 2)
    backend.create_nodes(unit, nodes)
    backend.power(unit, nodes, "power_off")
    backend.delete_nodes(unit, nodes)
    assert caplog.records  # requests/urllib3 and the backend did log
    for secret in (TOKEN, SECRET):
        assert secret not in caplog.text
        assert all(secret not in str(r.args) for r in caplog.records)
    assert "AUTHORIZED_KEYS" not in caplog.text and "docker run" not in caplog.text


def test_the_users_literal_credentials_are_used_and_vault_references_are_not(
    sakura: RunningSakura, config, monkeypatch: pytest.MonkeyPatch
) -> None:
    operatorless = {k: v for k, v in config.items() if k not in ("sakura_token", "sakura_secret")}
    backend = SakuraBackend(operatorless, CONTROLLER_ID)
    with pytest.raises(CloudAuthError, match="no Sakura Cloud credentials"):
        backend.create_nodes(
            make_unit(config, sakura_secret="vault://sakura/s"), new_nodes(backend, config, 1)
        )
    users = {"sakura_token": TOKEN, "sakura_secret": SECRET}
    assert (
        len(backend.create_nodes(make_unit(config, **users), new_nodes(backend, config, 0, "127.66.9.50")))
        == 1
    )
    backend.close()
    monkeypatch.setenv("SAKURACLOUD_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("SAKURACLOUD_ACCESS_TOKEN_SECRET", SECRET)
    from_env = SakuraBackend({**operatorless, "sakura_secret": "vault://not/resolved"}, CONTROLLER_ID)
    assert len(from_env.create_nodes(make_unit(config), new_nodes(from_env, config, 0, "127.66.9.51"))) == 1
    from_env.close()


def failed_create_message(config: dict[str, Any], tmp_path: Path, num_nodes: int) -> str:
    """Through a controller: a unit of ``num_nodes`` whose create fails; checks that it is in
    ERROR, cleans it up and returns its ``error_message``."""
    key = write_test_public_key(tmp_path / "id.pub")
    with running_controller(tmp_path / "state", backends={"sakura": config}) as running:
        vcp = connect_sdk(running, tmp_path / "cfg", "alice")
        ug = vcp.create_ugroup("failing")
        spec = vcp.get_spec("sakura", "small")
        spec.num_nodes = num_nodes
        spec.set_ssh_pubkey(str(key))
        with pytest.raises(VcpUnitFailedError) as failure:
            ug.create_unit("web", spec)
        unit = ug.get_unit("web")
        assert unit is not None and unit.state == "ERROR"
        ug.cleanup()
    return failure.value.server_message or ""


def test_mapped_errors_reach_the_unit_and_secrets_stay_out_of_the_controller_logs(
    sakura: RunningSakura, config, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sakura.fake.max_servers = 1
    message = failed_create_message(config, tmp_path, 2)
    assert "limit_count_in_account_exceed: the account may have at most 1 servers" in message
    assert clean(sakura)
    for secret in (TOKEN, SECRET):
        assert secret not in caplog.text


# -- wiring -----------------------------------------------------------------------------------


def test_registry_and_catalog(config: dict[str, Any]) -> None:
    assert REGISTRY["sakura"].load() is SakuraBackend
    backend = SakuraBackend(config, CONTROLLER_ID)
    assert set(backend.vpn_catalog()) == {"sakura"}
    assert backend.vpn_catalog()["sakura"]["default"]["sakura_local_switch_id"] == SWITCH_ID
    with pytest.raises(CloudInvalidParameter, match="has no sakura_local_switch_id"):
        unit = make_unit(config)
        unit.catalog.pop("sakura_local_switch_id")
        backend.create_nodes(unit, new_nodes(backend, config, 1))
    backend.close()


# -- re-runs, retries, sweeps, sizes (review findings 2, 10, 12, 13, 15) ------------------------


def interrupted_create(
    sakura: RunningSakura, backend: SakuraBackend, config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> tuple[UnitContext, list[NodeRequest]]:
    """A create of two nodes interrupted as by a crash: one server up, the other half-made
    (no boot disk), and no cleanup ran."""
    unit = make_unit(config)
    nodes = new_nodes(backend, config, 2)
    sakura.fake.fail("disk.create", 409, "still_running", "interrupted", times=1, after=1)
    monkeypatch.setattr(backend, "_remove", lambda *a, **k: None)  # the controller died: no cleanup
    with pytest.raises(CloudInvalidParameter):
        backend.create_nodes(unit, nodes)
    monkeypatch.undo()
    return unit, nodes


def test_a_rerun_of_an_interrupted_create_keeps_the_working_server_and_remakes_the_half_made(
    sakura: RunningSakura, backend: SakuraBackend, config, monkeypatch: pytest.MonkeyPatch
) -> None:
    unit, nodes = interrupted_create(sakura, backend, config, monkeypatch)
    [up] = [s for s in sakura.fake.servers.values() if sakura.fake.status(s["ID"]) == "up"]
    assert len(sakura.fake.servers) == 2  # one node up, one half-made (its NIC holds its address)

    again = backend.create_nodes(unit, nodes)  # the worker re-queues the interrupted create
    assert up["ID"] in {r.instance_id for r in again}  # the working server was kept
    assert sorted(sakura.fake.servers) == sorted(r.instance_id for r in again)
    assert all(sakura.fake.status(r.instance_id) == "up" for r in again)
    assert len(sakura.fake.leftovers()["disks"]) == 2 and sakura.fake.leftovers()["notes"] == []
    posts = len(sakura.fake.calls("POST", "/server"))
    assert [r.instance_id for r in backend.create_nodes(unit, nodes)] == [r.instance_id for r in again]
    assert len(sakura.fake.calls("POST", "/server")) == posts  # a third run makes nothing
    backend.delete_nodes(unit, nodes)
    assert clean(sakura)


def test_a_duplicate_server_of_a_node_is_removed_and_the_up_one_kept(
    sakura: RunningSakura, backend: SakuraBackend, config
) -> None:
    unit = make_unit(config)
    [node] = new_nodes(backend, config, 1)
    [first] = backend.create_nodes(unit, [node])
    client = backend.client(unit, "is1a")
    plan = backend._server_plan(client, "is1a", 1, 1)
    duplicate = client.create_server(  # as a retried POST that had been carried out would leave
        ServerSpec("vcp-dup", plan, backend._description(unit, "node", node.node_id), backend.tags)
    )
    [again] = backend.create_nodes(unit, [node])
    assert again.instance_id == first.instance_id
    assert sorted(sakura.fake.servers) == [first.instance_id] != [duplicate["ID"]]
    backend.delete_nodes(unit, [node])
    assert clean(sakura)


def api_client(clock: FakeClock, attempts: int = 4) -> SakuraClient:
    return SakuraClient(
        "https://sakura.test/api/", "tok", "sec", clock=clock, retry=RetryPolicy(max_attempts=attempts)
    )


def test_a_post_is_retried_on_json_busy_and_429_but_not_on_a_bare_503(requests_mock: Any) -> None:
    url = "https://sakura.test/api/server"
    client = api_client(FakeClock())
    requests_mock.post(url, status_code=503, text="<html>Service Unavailable</html>")
    with pytest.raises(SakuraApiError) as bare:
        client.request("POST", "server", {"Server": {}})
    assert requests_mock.call_count == 1 and not bare.value.retryable  # it may have been made
    assert not map_error(bare.value).retryable  # type: ignore[union-attr]
    busy = {"is_fatal": True, "status": "503", "error_code": "busy", "error_msg": "busy"}
    requests_mock.post(url, [{"status_code": 503, "json": busy}, {"json": {"Server": {"ID": "1"}}}])
    assert client.request("POST", "server", {"Server": {}}) == {"Server": {"ID": "1"}}
    requests_mock.get(url, [{"status_code": 503, "text": "down"}, {"json": {"Servers": []}}])
    assert client.request("GET", "server") == {"Servers": []}  # a read is sent again


def test_429_waits_at_least_its_retry_after(requests_mock: Any) -> None:
    clock = FakeClock()
    client = api_client(clock)
    limited = {
        "status_code": 429,
        "headers": {"Retry-After": "7"},
        "json": {"error_code": "too_many_requests"},
    }
    requests_mock.post("https://sakura.test/api/note", [limited, {"json": {"Note": {"ID": "9"}}}])
    assert client.request("POST", "note", {"Note": {}}) == {"Note": {"ID": "9"}}
    assert requests_mock.call_count == 2 and clock.now() >= 7


def test_a_write_without_an_answer_is_not_retryable_a_read_is(requests_mock: Any) -> None:
    import requests

    client = api_client(FakeClock())
    requests_mock.put("https://sakura.test/api/server/1/power", exc=requests.ConnectionError("reset"))
    with pytest.raises(SakuraApiError) as lost:
        client.request("PUT", "server/1/power")
    assert requests_mock.call_count == 1 and lost.value.error_code == "connection_error"
    assert not map_error(lost.value).retryable  # type: ignore[union-attr]
    read = SakuraApiError(0, "connection_error", "reset", method="GET", json_answer=False)
    assert map_error(read).retryable  # type: ignore[union-attr]


def test_a_secret_the_api_repeats_is_masked_in_the_error_and_the_cleanup_log(
    sakura: RunningSakura, backend: SakuraBackend, config, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sakura.fake.fail("disk.create", 409, "still_running", f"refused for {SECRET} and {TOKEN}", after=1)
    # the first node's own note delete goes through; the cleanup's fail
    sakura.fake.fail("note.delete", 400, "bad_request", f"cleanup refused for {SECRET}", times=9, after=1)
    with pytest.raises(CloudInvalidParameter) as failure:
        backend.create_nodes(make_unit(config), new_nodes(backend, config, 2))
    assert str(failure.value) == "still_running: refused for *** and ***"
    assert "cleanup refused for ***" in caplog.text  # the failed cleanup is logged, masked
    for secret in (TOKEN, SECRET):
        assert secret not in caplog.text


def test_an_injected_secret_is_masked_in_the_units_error_message_and_the_controller_logs(
    sakura: RunningSakura, config, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sakura.fake.fail("interface.update", 409, "ip_address_in_use", f"key {TOKEN}:{SECRET} refused")
    message = failed_create_message(config, tmp_path, 1)
    assert "ip_address_in_use: key ***:*** refused" in message
    assert clean(sakura)
    for secret in (TOKEN, SECRET):
        assert secret not in message and secret not in caplog.text


def test_sweep_removes_what_the_unit_still_has_and_nothing_else(
    sakura: RunningSakura, backend: SakuraBackend, config
) -> None:
    web, db = make_unit(config), make_unit(config)
    web_nodes = new_nodes(backend, config, 2)
    backend.create_nodes(web, web_nodes)
    [kept] = backend.create_nodes(db, new_nodes(backend, config, 0, "127.66.9.60"))
    client = backend.client(web, "is1a")
    stray = client.create_disk(  # a disk of the unit a failed cleanup left
        DiskSpec("vcp-stray", 4, 20 * 1024, backend._description(web, "disk", "d1"), backend.tags)
    )
    client.create_note("vcp-x-startup", "echo", backend.tags, backend._description(web, "script", "n9"))
    backend.sweep(web)
    left = sakura.fake.leftovers()
    assert left["servers"] == [kept.instance_id] and stray["ID"] not in left["disks"]
    assert left["notes"] == [] and len(left["disks"]) == 1
    backend.sweep(web)  # nothing left: nothing to do


def test_each_disk_gets_its_own_size(sakura: RunningSakura, backend: SakuraBackend, config) -> None:
    storage = make_unit(config, "sakura_disk", sakuracloud_disk_plan="ssd")
    made = backend.create_disks(storage, [DiskRequest("d1", 1, 20), DiskRequest("d2", 2, 40)])
    assert [d.size_gb for d in made] == [20, 40]
    posts = [json.loads(c["body"])["Disk"]["SizeMB"] for c in sakura.fake.calls("POST", "/disk")]
    assert sorted(posts) == [20 * 1024, 40 * 1024]
    with pytest.raises(CloudInvalidParameter, match="sakuracloud_disk_size 33 GB is not offered"):
        backend.create_disks(storage, [DiskRequest("d3", 3, 20), DiskRequest("d4", 4, 33)])
    backend.delete_disks(storage, [DiskRequest("d1", 1, 20), DiskRequest("d2", 2, 40)])
    assert clean(sakura)


def test_a_catalog_without_private_network_ipmask_is_refused_naming_the_key(
    backend: SakuraBackend, config
) -> None:
    unit = make_unit(config)
    nodes = new_nodes(backend, config, 1)
    unit.catalog.pop("private_network_ipmask")
    with pytest.raises(CloudInvalidParameter, match="private_network_ipmask"):
        backend.create_nodes(unit, nodes)


def test_defaults_and_disk_plans_come_from_the_provider_declarations() -> None:
    disk_plan = get_provider("sakura").field_named("sakuracloud_disk_plan")
    assert disk_plan is not None and set(DISK_PLANS) == set(disk_plan.choices or ())
    unit = UnitContext("v", "g", "u", "sakura", "o", {"cloud_params": {"memory": 4}}, {})
    assert (param(unit, "sakura", "memory"), param(unit, "sakura", "num_cores")) == (4, 1)
    assert param(unit, "sakura_disk", "sakuracloud_disk_size") == 20


def test_a_loopback_endpoint_ignores_the_proxy_of_the_environment(
    sakura: RunningSakura, config, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    backend = SakuraBackend(config, CONTROLLER_ID)
    unit = make_unit(config)
    nodes = new_nodes(backend, config, 1)
    assert len(backend.create_nodes(unit, nodes)) == 1
    backend.delete_nodes(unit, nodes)
    backend.close()
    assert clean(sakura)
    assert SakuraClient("https://secure.sakura.ad.jp/cloud/", "t", "s").session.trust_env


def test_a_failed_rerun_never_removes_the_working_server(
    sakura: RunningSakura, backend: SakuraBackend, config, monkeypatch: pytest.MonkeyPatch
) -> None:
    unit, nodes = interrupted_create(sakura, backend, config, monkeypatch)
    [up] = [s["ID"] for s in sakura.fake.servers.values() if sakura.fake.status(s["ID"]) == "up"]
    sakura.fake.fail("disk.create", 409, "limit_count_in_account_exceed", "no more disks")
    with pytest.raises(CloudQuotaError):
        backend.create_nodes(unit, nodes)  # the re-run fails again for the half-made node
    assert sorted(sakura.fake.servers) == [up] and sakura.fake.status(up) == "up"
    backend.delete_nodes(unit, nodes)
    assert clean(sakura)
