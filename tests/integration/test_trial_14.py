"""Findings of the new-user trial of issue 14 (/work/trial-14.md: 6, 7, 9-13, 15-18).

Quotas that change_owner must respect, cubbyhole quotas in Vault's own error format,
address lists shorter than ``num_nodes``, the field a disk limit names, 405/HEAD on the
framework's paths, the CCI name of a unit, and the ``vcc token`` / ``vcc serve`` commands.
"""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.integration.test_limits import LIMITS as LIMITS_OF_LIMITS_TESTS
from tests.integration.test_limits import Client, b64, groups, new_group, unit_info
from vcpsdk.controller.auth import TOKEN_CACHE_SECONDS
from vcpsdk.controller.backends.base import InvalidRequest
from vcpsdk.controller.backends.sandbox.nodes import _bind_error
from vcpsdk.controller.backends.toolkit.addresses import AddressPolicy, plan_addresses
from vcpsdk.controller.settings import Limits
from vcpsdk.core.polling import poll
from vcpsdk.spec import make_spec
from vcpsdk.testing.controller import RunningController, running_controller

#: the limits of test_limits.py, with small cubbyhole quotas
LIMITS = replace(
    LIMITS_OF_LIMITS_TESTS, max_secret_bytes=1000, max_secrets_per_token=3, max_secret_bytes_per_token=2200
)


@pytest.fixture(scope="module")
def vcc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningController]:
    with running_controller(tmp_path_factory.mktemp("trial"), limits=LIMITS) as controller:
        yield controller


def client_of(vcc: RunningController, user: str) -> Client:
    return Client(vcc, vcc.create_token(user))


def add_unit(client: Client, vcid: str, name: str, num_nodes: int) -> None:
    status, body, _ = client.send(
        "POST", f"/vcs/{vcid}", {"unit_name": name, "info": unit_info(name, num_nodes=num_nodes)}
    )
    assert status == 202, body


# -- 6: change_owner ----------------------------------------------------------------------


def test_change_owner_respects_the_new_owners_quota_and_hides_who_exists(vcc: RunningController) -> None:
    alice, bob = client_of(vcc, "alice6"), client_of(vcc, "bob6")
    client_of(vcc, "carol6")
    add_unit(alice, new_group(alice), "a", 3)
    vcid = new_group(bob)
    add_unit(bob, vcid, "b", 3)
    over = bob.refused("PATCH", f"/vcs/{vcid}", {"operation": "change_owner", "owner": "alice6"})
    assert "max_nodes_per_user=5" in over and "owner[alice6]" in over
    unknown = bob.refused("PATCH", f"/vcs/{vcid}", {"operation": "change_owner", "owner": "nobody6"})
    # the same text for "no such user" and "cannot take it": no user enumeration
    assert unknown.split(": ", 2)[2].replace("nobody6", "X") == over.split(": ", 2)[2].replace("alice6", "X")
    assert [g["vcid"] for g in groups(bob)] == [vcid]  # nothing changed
    assert len(groups(alice)) == 1
    status, _, _ = bob.send("PATCH", f"/vcs/{vcid}", {"operation": "change_owner", "owner": "carol6"})
    assert status == 202
    assert groups(bob) == []


# -- 7: Vault cubbyhole quotas --------------------------------------------------------------


def test_cubbyhole_quotas_answer_in_vaults_error_format(vcc: RunningController) -> None:
    client = client_of(vcc, "vault7")
    status, body, _ = client.send("POST", "/v1/cubbyhole/big", {"value": "x" * 2000})
    assert status == 413 and "max_secret_bytes=1000" in body["errors"][0]
    for i in range(3):
        assert client.send("POST", f"/v1/cubbyhole/s{i}", {"value": "x" * 400})[0] == 204
    status, body, _ = client.send("POST", "/v1/cubbyhole/s3", {"value": "1"})
    assert status == 400 and "max_secrets_per_token=3" in body["errors"][0]
    assert client.send("POST", "/v1/cubbyhole/s0", {"value": "y" * 100})[0] == 204  # replacing is fine
    status, body, _ = client.send("POST", "/v1/cubbyhole/s1", {"value": "z" * 950})
    assert status == 400 and "max_secret_bytes_per_token=2200" in body["errors"][0]
    assert client.send("GET", "/v1/cubbyhole/s1")[1]["data"] == {"value": "x" * 400}  # unchanged
    assert client.send("GET", "/v1/cubbyhole/s3")[0] == 404
    other = client_of(vcc, "vault7b")  # each token has its own quota
    assert other.send("POST", "/v1/cubbyhole/s3", {"value": "1"})[0] == 204
    status, body, _ = client.send("POST", "/v1/cubbyhole/huge", raw=b'{"v": "' + b"x" * 20_000 + b'"}')
    assert status == 413 and "max_body_bytes=16384" in body["errors"][0] and "message" not in body
    status, body, headers = client.send("PATCH", "/v1/cubbyhole/s0")
    assert status == 405 and "errors" in body and "PUT" in headers["Allow"]


# -- 9: defaults and hints --------------------------------------------------------------


def test_default_node_limits_leave_most_of_a_range_to_others() -> None:
    limits = Limits()
    range_size = 254 - 9  # hosts .10 .. .254 of a /24, as the sandbox catalog assigns them
    assert limits.max_nodes_per_request * 4 <= range_size
    assert limits.max_nodes_per_user * 2 <= range_size
    assert limits.max_nodes_per_unit <= limits.max_nodes_per_user


def test_address_and_port_errors_say_what_to_do() -> None:
    message = str(_bind_error(OSError(errno.EADDRINUSE, "in use"), "127.30.2.10", 2222))
    assert "already in use by another program" in message
    assert "--vpn-catalog" in message and "--ssh-port" in message
    with pytest.raises(InvalidRequest, match="no free address left in 10.1.0.0/30 for 5") as refused:
        plan_addresses("aws", {"private_network_ipmask": "10.1.0.0/30"}, [], 5, set(), AddressPolicy())
    assert "delete nodes" in str(refused.value)


# -- 10, 11: lists shorter than num_nodes, the disk limit's field --------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"num_nodes": 3, "mac_address_list": ["aa:bb:cc:dd:ee:01"]},
            "mac_address_list has 1 entry for num_nodes=3",
        ),
        (
            {"num_nodes": 3, "ip_address_list": ["127.30.2.50", "127.30.2.51"]},
            "ip_address_list has 2 entries",
        ),
    ],
)
def test_an_address_list_shorter_than_num_nodes_is_400(
    vcc: RunningController, request: pytest.FixtureRequest, body: dict[str, object], expected: str
) -> None:
    client = client_of(vcc, f"lists10-{request.node.callspec.id[:12]}")
    vcid = new_group(client)
    add_unit(client, vcid, "m", 0)
    assert expected in client.refused("PUT", f"/vcs/{vcid}/m", body)
    [unit] = groups(client)[0]["unit"]
    assert unit["node"] == []


def test_the_disk_limit_names_num_disks(vcc: RunningController) -> None:
    client = client_of(vcc, "disks11")
    vcid = new_group(client, "disks", "storage")
    info = b64("- unit: " + json.dumps({"name": "d", "cloud_provider": "aws", "num_disks": 4}))
    message = client.refused("POST", f"/vcs/{vcid}", {"unit_name": "d", "info": info})
    assert "num_disks=4 is over the limit max_nodes_per_request=3" in message
    assert groups(client)[0]["unit"] == []


# -- 12: Allow and HEAD ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/openapi.json", "/docs", "/health", "/vcs"])
def test_405_names_the_paths_own_methods_and_head_answers_like_get(vcc: RunningController, path: str) -> None:
    client = client_of(vcc, "allow12")
    status, _, headers = client.send("DELETE" if path == "/vcs" else "POST", path)
    assert status == 405
    allowed = headers["Allow"].split(", ")
    assert "GET" in allowed and "HEAD" in allowed
    assert "DELETE" not in allowed and "LIST" not in allowed
    client.conn.request("HEAD", "/vcp/v1/occtr" + path, headers={"x-vcc-access-token": client.token})
    head = client.conn.getresponse()
    assert head.status == 200 and head.read() == b""


def test_patch_on_the_backup_path_is_405(vcc: RunningController) -> None:
    client = client_of(vcc, "backup12")
    status, _, headers = client.send("PATCH", "/vcs/x/y/z/backup")
    assert status == 405 and headers["Allow"] == "GET, HEAD"


# -- 16: unit name in the CCI ---------------------------------------------------------------


def test_a_cci_name_other_than_unit_name_is_400_naming_both(vcc: RunningController) -> None:
    client = client_of(vcc, "names16")
    vcid = new_group(client)
    message = client.refused("POST", f"/vcs/{vcid}", {"unit_name": "aaa", "info": unit_info("bbb")})
    assert "unit_name[aaa]" in message and "name[bbb]" in message
    assert groups(client)[0]["unit"] == []


def test_params_e_assigned_after_set_ssh_pubkey_keeps_the_key(tmp_path: Path) -> None:
    key = tmp_path / "k.pub"
    key.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBASE test\n")
    spec = make_spec("aws", "small", tmp_path)
    spec.set_ssh_pubkey(str(key))
    spec.params_e = ["A=1"]
    assert spec.params_e[0] == "A=1" and spec.params_e[1].startswith("AUTHORIZED_KEYS=")
    spec.params_e = ["AUTHORIZED_KEYS=b3du", "B=2"]  # a list with its own key replaces it
    assert spec.params_e == ["AUTHORIZED_KEYS=b3du", "B=2"]


# -- 16, 17: vcc token and vcc serve -------------------------------------------------------------


def vcc_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vcpsdk.controller.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_token_create_refuses_an_empty_user_and_a_missing_state_dir(tmp_path: Path) -> None:
    result = vcc_cli("token", "create", "--user", "", "--state-dir", str(tmp_path))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == "vcc: --user must name a user (it is empty)"
    missing = tmp_path / "typo"
    result = vcc_cli("token", "create", "--user", "alice", "--state-dir", str(missing))
    assert result.returncode != 0 and "does not exist" in result.stderr and "Traceback" not in result.stderr
    assert not missing.exists()


def test_token_list_and_revoke_take_effect_within_the_token_cache_time(vcc: RunningController) -> None:
    state = str(vcc.state_dir)
    client = client_of(vcc, "revoke16")
    assert client.send("POST", "/v1/cubbyhole/k", {"value": "1"})[0] == 204
    listed = vcc_cli("token", "list", "--state-dir", state)
    assert listed.returncode == 0, listed.stderr
    [line] = [row for row in listed.stdout.splitlines() if " revoke16 " in row]
    assert client.token[:8] not in listed.stdout  # tokens are stored hashed: only their ids show
    token_id = line.split()[0]
    result = vcc_cli("token", "revoke", "--id", token_id, "--state-dir", state)
    assert result.returncode == 0 and "revoked 1 token" in result.stderr
    # the running controller remembers a token's owner for TOKEN_CACHE_SECONDS
    status, body, _ = poll(
        lambda: Client(vcc, client.token).send("GET", "/vcs"),
        lambda answer: answer[0] != 200,
        timeout=TOKEN_CACHE_SECONDS + 5,
        interval=0.5,
    )
    assert status == 403, body
    assert "revoke16" not in vcc_cli("token", "list", "--state-dir", state).stdout
    assert vcc_cli("token", "revoke", "--user", "nobody", "--state-dir", state).returncode == 1


def test_serve_prints_the_effective_limits(tmp_path: Path) -> None:
    result = vcc_cli(
        "serve", "--state-dir", str(tmp_path), "--limit", "max_nodes_per_user=7", "--print-limits"
    )
    assert result.returncode == 0, result.stderr
    import yaml

    printed = yaml.safe_load(result.stdout)
    assert printed["max_nodes_per_user"] == 7
    assert Limits().updated(printed).max_nodes_per_user == 7  # usable as a --limits file
    assert "max_nodes_per_user=7" in Limits(max_nodes_per_user=7).summary()


def test_serve_says_whether_nodes_are_confined(tmp_path: Path) -> None:
    from vcpsdk.controller.cli import confinement_line
    from vcpsdk.controller.settings import ControllerSettings

    line = confinement_line(ControllerSettings(state_dir=tmp_path, sandbox_bwrap="/nonexistent/bwrap"))
    assert line.startswith("sandbox nodes are NOT confined") and "--allow-unconfined-nodes" in line
