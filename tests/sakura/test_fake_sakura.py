"""The fake Sakura Cloud API (vcpsdk.testing.fakes.sakura) driven through the backend's own
client: the shapes, the state machine (migrating disks, power, still_running), the faults,
and that the secret is never recorded."""

from __future__ import annotations

import json

import pytest
import requests

from vcpsdk.controller.backends.sakura.client import (
    DiskConfig,
    DiskSpec,
    SakuraApiError,
    SakuraClient,
    ServerSpec,
)
from vcpsdk.controller.backends.toolkit.errors import CloudTimeoutError
from vcpsdk.controller.backends.toolkit.retry import RetryPolicy
from vcpsdk.testing.fakes.sakura import GATEWAY, SECRET, SWITCH_ID, TOKEN, UBUNTU, RunningSakura


def ubuntu(client: SakuraClient) -> str:
    [archive] = client.archives("Ubuntu 22.04")
    assert archive["Name"] == UBUNTU
    return str(archive["ID"])


def new_server(client: SakuraClient, name: str = "web", tags: tuple[str, ...] = ("vcp",)) -> str:
    [plan] = client.server_plans(cores=1, memory_gb=1)
    return str(client.create_server(ServerSpec(name, plan["ID"], "vcp-node-id=n1", list(tags)))["ID"])


def test_plans_archives_and_json_queries(sakura: RunningSakura, client: SakuraClient) -> None:
    [plan] = client.server_plans(cores=2, memory_gb=4)
    assert plan["CPU"] == 2 and plan["MemoryMB"] == 4096 and plan["Availability"] == "available"
    assert client.server_plans(cores=1, memory_gb=64) == []
    plans = {p["ID"]: p for p in client.disk_plans()}
    assert set(plans) == {2, 4}
    assert [s["SizeMB"] // 1024 for s in plans[4]["Size"]][:5] == [20, 40, 60, 80, 100]
    assert ubuntu(client)
    assert client.archives("no such image") == []
    # a GET's parameters are one URL-encoded JSON document
    listing = sakura.fake.calls("GET", "/product/server")[0]
    assert listing["params"] == {"Count": 0, "Filter": {"CPU": 2, "MemoryMB": 4096}}
    assert listing["path"] == "/cloud/zone/is1a/api/cloud/1.1/product/server"


def test_a_server_with_a_nic_on_the_switch_boots_and_is_deleted(
    sakura: RunningSakura, client: SakuraClient
) -> None:
    server_id = new_server(client)
    assert client.get_server(server_id)["Instance"]["Status"] == "down"
    nic = client.create_interface(server_id)
    client.connect_interface(str(nic["ID"]), SWITCH_ID)
    with pytest.raises(SakuraApiError) as outside:
        client.set_interface_address(str(nic["ID"]), "10.0.0.5")
    assert outside.value.status == 400 and outside.value.error_code == "bad_request"
    with pytest.raises(SakuraApiError, match="outside 127.66.0.0/16"):
        client.set_interface_address(str(nic["ID"]), "127.1.0.5")
    shown = client.set_interface_address(str(nic["ID"]), "127.66.9.21")
    assert shown["UserIPAddress"] == "127.66.9.21" and (shown["Switch"] or {}).get("ID") == SWITCH_ID
    other = new_server(client, "db")
    second = client.create_interface(other)
    client.connect_interface(str(second["ID"]), SWITCH_ID)
    with pytest.raises(SakuraApiError) as taken:
        client.set_interface_address(str(second["ID"]), "127.66.9.21")
    assert taken.value.status == 409 and taken.value.error_code == "ip_address_in_use"

    client.boot(server_id)
    client.wait_power(server_id, "up", timeout=5)
    assert client.get_server(server_id)["Interfaces"][0]["UserIPAddress"] == "127.66.9.21"
    with pytest.raises(SakuraApiError) as running:
        client.delete_server(server_id)
    assert (running.value.status, running.value.error_code) == (409, "still_running")
    with pytest.raises(SakuraApiError, match="still_running"):
        client.create_interface(server_id)  # NICs are added to a stopped server only
    client.shutdown(server_id)
    client.wait_power(server_id, "down", timeout=5)
    client.delete_server(server_id)
    client.wait_gone("server", server_id, timeout=5)
    client.delete_server(other)
    assert sakura.fake.leftovers() == {"servers": [], "disks": [], "interfaces": [], "notes": []}


def test_a_disk_migrates_takes_the_startup_script_and_refuses_delete_while_connected(
    sakura: RunningSakura, client: SakuraClient
) -> None:
    note = client.create_note("boot", "#!/bin/sh\necho hello\n", ["vcp"])
    config = DiskConfig("web", "127.66.9.21", GATEWAY, 16, [str(note["ID"])])
    disk = client.create_disk(DiskSpec("web-boot", 4, 20 * 1024, source_archive_id=ubuntu(client)), config)
    assert disk["Availability"] == "migrating" and disk["SourceArchive"] is not None
    [create] = sakura.fake.calls("POST", "/disk")
    body = json.loads(create["body"])
    assert body["Config"]["Notes"] == [{"ID": note["ID"]}]
    assert body["Config"]["UserSubnet"] == {"DefaultRoute": GATEWAY, "NetworkMaskLen": 16}
    disk_id = str(disk["ID"])
    assert client.get_disk(disk_id)["Availability"] == "migrating"
    assert client.wait_disk(disk_id, timeout=5)["Availability"] == "available"
    assert sakura.fake.startup_scripts[disk_id] == ["#!/bin/sh\necho hello\n"]
    client.delete_note(str(note["ID"]))
    client.configure_disk(disk_id, DiskConfig(host_name="renamed"))
    assert sakura.fake.disk_configs[disk_id]["HostName"] == "renamed"

    server_id = new_server(client)
    client.connect_disk(disk_id, server_id)
    assert [d["ID"] for d in client.get_server(server_id)["Disks"]] == [disk_id]
    with pytest.raises(SakuraApiError) as connected:
        client.delete_disk(disk_id)
    assert (connected.value.status, connected.value.error_code) == (409, "still_connected")
    client.boot(server_id)
    client.wait_power(server_id, "up", timeout=5)
    with pytest.raises(SakuraApiError, match="still_running"):
        client.disconnect_disk(disk_id)
    client.shutdown(server_id, force=True)
    client.wait_power(server_id, "down", timeout=5)
    client.disconnect_disk(disk_id)
    client.delete_disk(disk_id)
    client.delete_server(server_id)
    assert sakura.fake.leftovers() == {"servers": [], "disks": [], "interfaces": [], "notes": []}


def test_sizes_plans_and_archives_are_checked(client: SakuraClient) -> None:
    with pytest.raises(SakuraApiError, match="SizeMB 254976 is not offered"):
        client.create_disk(DiskSpec("big", 4, 249 * 1024))
    with pytest.raises(SakuraApiError, match="disk plan 9 does not exist"):
        client.create_disk(DiskSpec("odd", 9, 20 * 1024))
    with pytest.raises(SakuraApiError, match="server plan 1 does not exist"):
        client.create_server(ServerSpec("x", 1))
    with pytest.raises(SakuraApiError) as missing:
        client.get_archive("113699999999")
    assert missing.value.not_found


def test_servers_are_listed_by_tag_and_zone(sakura: RunningSakura, client: SakuraClient) -> None:
    mine = new_server(client, "a", ("vcp", "vcp-ctl-1"))
    new_server(client, "b", ("vcp", "vcp-ctl-2"))
    assert [s["ID"] for s in client.servers(["vcp", "vcp-ctl-1"])] == [mine]
    assert len(client.servers(["vcp"])) == 2
    other_zone = SakuraClient(sakura.zone_root("tk1a"), TOKEN, SECRET)
    assert other_zone.servers() == []
    with pytest.raises(SakuraApiError) as elsewhere:
        other_zone.get_server(mine)
    assert elsewhere.value.status == 404
    other_zone.close()
    nowhere = SakuraClient(sakura.zone_root("xx9z"), TOKEN, SECRET)
    with pytest.raises(SakuraApiError, match="zone xx9z was not found"):
        nowhere.servers()
    nowhere.close()


def test_wrong_credentials_are_refused_and_the_secret_is_never_recorded(sakura: RunningSakura) -> None:
    wrong = SakuraClient(sakura.zone_root(), TOKEN, "not-the-secret-0001")
    with pytest.raises(SakuraApiError) as refused:
        wrong.servers()
    wrong.close()
    assert refused.value.status == 401 and refused.value.error_code == "unauthorized"
    assert "not-the-secret" not in str(refused.value) and "not-the-secret" not in repr(wrong)
    right = SakuraClient(sakura.zone_root(), TOKEN, SECRET)
    right.servers()
    right.close()
    assert {r["auth"] for r in sakura.fake.requests} == {f"{TOKEN}:***"}
    assert SECRET not in json.dumps(sakura.fake.requests)


def test_busy_is_retried_with_backoff_then_given_up(sakura: RunningSakura, client: SakuraClient) -> None:
    sakura.fake.fail("server.list", 503, "busy", "the API is busy", times=2)
    assert client.servers() == []
    assert len(sakura.fake.calls("GET", "/server")) == 3
    sakura.fake.fail("server.list", 503, "busy", "the API is busy", times=10)
    with pytest.raises(SakuraApiError) as busy:
        client.servers()
    assert busy.value.retryable and busy.value.status == 503
    assert len(sakura.fake.calls("GET", "/server")) == 3 + 4  # max_attempts=4
    # not retried: a conflict
    sakura.fake.faults.clear()
    sakura.fake.fail("server.create", 409, "limit_count_in_account_exceed", times=1)
    with pytest.raises(SakuraApiError, match="limit_count_in_account_exceed"):
        new_server(client)
    assert len(sakura.fake.calls("POST", "/server")) == 1


def test_a_fault_after_some_calls(client: SakuraClient, sakura: RunningSakura) -> None:
    sakura.fake.fail("server.create", 409, "InsufficientInstanceCapacity", times=1, after=2)
    new_server(client, "one")
    new_server(client, "two")
    with pytest.raises(SakuraApiError, match="InsufficientInstanceCapacity"):
        new_server(client, "three")
    new_server(client, "four")
    assert len(sakura.fake.leftovers()["servers"]) == 3


def test_quota_and_an_ignored_shutdown(sakura: RunningSakura) -> None:
    sakura.fake.max_servers = 1
    sakura.fake.ignore_shutdown = True
    client = SakuraClient(
        sakura.zone_root(), TOKEN, SECRET, poll_interval=0.01, retry=RetryPolicy(max_attempts=1)
    )
    server_id = new_server(client)
    with pytest.raises(SakuraApiError) as quota:
        new_server(client)
    assert quota.value.error_code == "limit_count_in_account_exceed"
    client.boot(server_id)
    client.wait_power(server_id, "up", timeout=5)
    client.shutdown(server_id)  # ignored by the guest
    with pytest.raises(CloudTimeoutError, match=f"server {server_id}"):
        client.wait_power(server_id, "down", timeout=0.2)
    client.shutdown(server_id, force=True)
    client.wait_power(server_id, "down", timeout=5)
    with pytest.raises(SakuraApiError, match="already down"):
        client.shutdown(server_id)
    client.close()


def test_unknown_paths_and_bad_queries(sakura: RunningSakura, client: SakuraClient) -> None:
    with pytest.raises(SakuraApiError, match="resource bill is not served"):
        client.request("GET", "bill")
    answer = requests.get(sakura.zone_root() + "server?not-json", auth=(TOKEN, SECRET), timeout=5)
    assert answer.status_code == 400 and answer.json()["error_code"] == "bad_request"
    assert answer.json()["is_fatal"] is True and answer.json()["status"] == "400 Bad Request"
