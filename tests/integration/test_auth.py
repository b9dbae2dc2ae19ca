"""Tokens, users and privileged mode, through the SDK and over raw HTTP."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
import requests

from vcpsdk.core.polling import poll
from vcpsdk.errors import VcpAuthError, VcpNotFoundError
from vcpsdk.testing import RunningController
from vcpsdk.vcpsdk import VcpSDK


def test_bad_token_fails_at_construction(vcp_config_dir: Path, caplog) -> None:
    caplog.set_level(logging.ERROR, logger="vcp.sdk")
    with pytest.raises(VcpAuthError) as info:
        VcpSDK("not-a-token-0000", config_dir=str(vcp_config_dir))
    assert info.value.args == ("VCP", "config vc failed")
    assert info.value.http_status == 403
    errors = [r.getMessage() for r in caplog.records if r.name == "vcp.sdk" and r.levelno == logging.ERROR]
    text = "\n".join(errors)
    assert "config vc failed: http_status(403)" in errors
    assert "VCPAuthException" in text
    assert "token lookup is failed: permission denied" in text
    assert "not-a-token-0000" not in text


def test_token_is_stripped(vcp_token: str, vcp_config_dir: Path, vcp_user: str) -> None:
    sdk = VcpSDK(f"  {vcp_token}\n", config_dir=str(vcp_config_dir))
    assert sdk.authority()["user_name"] == vcp_user


def test_regular_user_sees_only_its_own_groups(vcp_sdk: VcpSDK, make_vcp_sdk) -> None:
    mine = vcp_sdk.create_ugroup("mine")
    other = make_vcp_sdk()
    theirs = other.create_ugroup("theirs")
    assert list(vcp_sdk.df_ugroups().data["vcname"]) == ["mine"]
    assert list(other.df_ugroups().data["vcname"]) == ["theirs"]
    assert vcp_sdk.get_ugroup("theirs") is None
    assert vcp_sdk.find_ugroups(vcid=theirs.vcid) == []
    assert other.find_ugroups(vcid=mine.vcid) == []


def test_group_names_are_per_user(vcp_sdk: VcpSDK, make_vcp_sdk) -> None:
    mine = vcp_sdk.create_ugroup("same-name")
    theirs = make_vcp_sdk().create_ugroup("same-name")
    assert mine.vcid != theirs.vcid
    assert vcp_sdk.get_ugroup("same-name").vcid == mine.vcid


def test_regular_user_privileged_is_refused(vcp_sdk: VcpSDK) -> None:
    vcp_sdk.create_ugroup("mine")
    for call in (
        lambda: vcp_sdk.df_ugroups(privileged=True),
        lambda: vcp_sdk.get_ugroup("mine", privileged=True),
        lambda: vcp_sdk.find_ugroups(privileged=True),
        lambda: vcp_sdk.create_ugroup("sneaky", privileged=True),
    ):
        with pytest.raises(VcpAuthError) as info:
            call()
        assert info.value.args[0] == "VCP"
        assert info.value.http_status == 403
    assert [g.name for g in vcp_sdk.find_ugroups()] == ["mine"]


def test_superuser_privileged_sees_every_group(vcp_sdk: VcpSDK, vcp_user: str, make_vcp_sdk) -> None:
    vcp_sdk.create_ugroup("regular-group")
    su = make_vcp_sdk(superuser=True)
    su.create_ugroup("su-group")
    frame = su.df_ugroups(privileged=True).data
    owners = dict(zip(frame["vcname"], frame["owner"], strict=True))
    assert owners["regular-group"] == vcp_user
    assert owners["su-group"] == su.user
    found = su.get_ugroup("regular-group", privileged=True)
    assert found is not None
    assert found.owner == vcp_user


def test_superuser_without_privileged_sees_only_its_own(vcp_sdk: VcpSDK, make_vcp_sdk) -> None:
    vcp_sdk.create_ugroup("regular-group")
    su = make_vcp_sdk(superuser=True)
    su.create_ugroup("su-group")
    assert list(su.df_ugroups().data["vcname"]) == ["su-group"]
    assert su.get_ugroup("regular-group") is None


def test_superuser_privileged_reads_units_of_another_user(
    vcp_sdk: VcpSDK, compute_spec, make_vcp_sdk
) -> None:
    ug = vcp_sdk.create_ugroup("watched")
    ug.create_unit("server", compute_spec())
    su = make_vcp_sdk(superuser=True)
    group = su.get_ugroup("watched", privileged=True)
    assert group.find_units(privileged=True)[0].name == "server"
    assert group.find_ip_addresses(privileged=True) == ug.find_ip_addresses()


# -- raw HTTP --------------------------------------------------------------------------------


def _headers(token: str, privileged: bool = False) -> dict[str, str]:
    headers = {"x-vcc-access-token": token, "Content-Type": "application/json"}
    if privileged:
        headers["x-vcc-privileged"] = "True"
    return headers


def _empty_vc_cci(name: str) -> str:
    text = f'- vc:\n    cci_version: "1.0"\n    type: compute\n    description: "{name}"\n    name: {name}\n'
    return base64.b64encode(text.encode()).decode()


def test_raw_http_reads_200_writes_202_and_gone_is_404(
    live_controller: RunningController, vcp_token: str
) -> None:
    base = live_controller.base_url
    headers = _headers(vcp_token)
    assert requests.get(base + "/vcs", headers=headers, timeout=10).status_code == 200
    created = requests.post(base + "/vcs", headers=headers, json={"cci": _empty_vc_cci("raw")}, timeout=10)
    assert created.status_code == 202
    vcid = created.json()["vcid"]
    read = requests.get(f"{base}/vcs/{vcid}", headers=headers, timeout=10)
    assert read.status_code == 200
    assert read.json()["name"] == "raw"
    assert read.json()["unit"] == []
    deleted = requests.delete(f"{base}/vcs/{vcid}", headers=headers, json={"force": "true"}, timeout=10)
    assert deleted.status_code == 202
    gone = requests.get(f"{base}/vcs/{vcid}", headers=headers, timeout=10)
    assert gone.status_code == 404
    body = gone.json()
    assert list(body) == ["message"]
    assert "VCPNotFoundException" in body["message"]


@pytest.mark.parametrize(
    "path", ["/accounts/authority", "/version", "/publickey", "/vpn_catalog", "/vcs", ""]
)
def test_raw_http_reads_answer_200(live_controller: RunningController, vcp_token: str, path: str) -> None:
    response = requests.get(live_controller.base_url + path, headers=_headers(vcp_token), timeout=10)
    assert response.status_code == 200
    assert isinstance(response.json(), dict)


def test_raw_http_bad_token_is_403_with_json_message(live_controller: RunningController) -> None:
    response = requests.get(live_controller.base_url + "/vcs", headers=_headers("wrong-token"), timeout=10)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()["message"]
    assert "VCPAuthException" in message
    assert "token lookup is failed: permission denied" in message


def test_raw_http_missing_token_is_403(live_controller: RunningController) -> None:
    response = requests.get(live_controller.base_url + "/vcs", timeout=10)
    assert response.status_code == 403
    assert "VCPAuthException" in response.json()["message"]


def test_raw_http_privileged_header_needs_a_superuser(
    live_controller: RunningController, vcp_token: str
) -> None:
    refused = requests.get(
        live_controller.base_url + "/vcs", headers=_headers(vcp_token, privileged=True), timeout=10
    )
    assert refused.status_code == 403
    assert "VCPAuthException" in refused.json()["message"]


def test_raw_http_privileged_header_honoured_for_superuser(
    live_controller: RunningController, vcp_sdk: VcpSDK, vcp_user: str
) -> None:
    target = vcp_sdk.create_ugroup("visible-to-su")
    su_token = live_controller.create_token(f"{vcp_user}-su", superuser=True)
    plain = requests.get(live_controller.base_url + "/vcs", headers=_headers(su_token), timeout=10).json()
    assert target.vcid not in {v["vcid"] for v in plain["vcs"]}
    privileged = requests.get(
        live_controller.base_url + "/vcs", headers=_headers(su_token, privileged=True), timeout=10
    ).json()
    owners = {v["vcid"]: v["owner"] for v in privileged["vcs"]}
    assert owners[target.vcid] == vcp_user
    one = requests.get(
        f"{live_controller.base_url}/vcs/{target.vcid}", headers=_headers(su_token), timeout=10
    )
    assert one.status_code == 404


def test_raw_http_bad_request_is_400_with_json_message(
    live_controller: RunningController, vcp_token: str
) -> None:
    response = requests.post(
        live_controller.base_url + "/vcs", headers=_headers(vcp_token), json={"cci": "%%%"}, timeout=10
    )
    assert response.status_code == 400
    assert "message" in response.json()


def test_openapi_lists_the_occtr_paths(live_controller: RunningController) -> None:
    response = requests.get(f"http://127.0.0.1:{live_controller.port}/vcp/v1/occtr/openapi.json", timeout=10)
    assert response.status_code == 200
    prefix = "/vcp/v1/occtr"
    paths = {p.removeprefix(prefix) for p in response.json()["paths"]}
    for path in (
        "/vcs",
        "/vcs/{vcid}",
        "/vcs/{vcid}/{unit_name}",
        "/vcs/{vcid}/{unit_name}/{node_id}",
        "/version",
        "/vpn_catalog",
        "/publickey",
        "/accounts/authority",
    ):
        assert path in paths, path


def test_superuser_privileged_operates_on_another_users_group(
    vcp_sdk: VcpSDK, vcp_user: str, make_vcp_sdk, vcp_pubkey: Path
) -> None:
    vcp_sdk.create_ugroup("managed")
    su = make_vcp_sdk(superuser=True)
    group = su.get_ugroup("managed", privileged=True)
    spec = su.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(vcp_pubkey))
    group.create_unit("by-admin", spec, privileged=True)
    mine = vcp_sdk.get_ugroup("managed")
    assert [u.name for u in mine.find_units()] == ["by-admin"]
    assert mine.owner == vcp_user
    group.cleanup(privileged=True)
    assert vcp_sdk.get_ugroup("managed") is None


def test_superuser_without_privileged_cannot_touch_another_users_group(vcp_sdk: VcpSDK, make_vcp_sdk) -> None:
    vcp_sdk.create_ugroup("private")
    su = make_vcp_sdk(superuser=True)
    group = su.get_ugroup("private", privileged=True)
    with pytest.raises(VcpNotFoundError):
        group.cleanup()
    assert vcp_sdk.get_ugroup("private") is not None


@pytest.mark.parametrize(("method", "path", "status"), [("GET", "/nosuch", 404), ("POST", "/version", 405)])
def test_raw_http_routing_errors_are_json_messages(
    live_controller: RunningController, vcp_token: str, method: str, path: str, status: int
) -> None:
    response = requests.request(
        method, live_controller.base_url + path, headers=_headers(vcp_token), timeout=10
    )
    assert response.status_code == status
    assert list(response.json()) == ["message"]


def test_a_removed_token_stops_working_within_the_cache_bound(tmp_path: Path) -> None:
    """Tokens are remembered by the app for a few seconds; removing one from the database
    refuses it once that time is up, and ``forget`` refuses it at once."""
    from sqlalchemy import delete

    from vcpsdk.controller.auth import TOKEN_CACHE_SECONDS, hash_token
    from vcpsdk.controller.store import Token
    from vcpsdk.testing.controller import running_controller

    assert TOKEN_CACHE_SECONDS <= 5.0  # the documented bound
    with running_controller(tmp_path / "vcc") as vcc:
        tokens = vcc.server.config.app.state.tokens
        tokens.seconds = 0.3
        first, second = vcc.create_token("alice"), vcc.create_token("bob")

        def status(token: str) -> int:
            url = f"{vcc.base_url}/accounts/authority"
            return requests.get(url, headers={"x-vcc-access-token": token}, timeout=10).status_code

        assert status(first) == 200 and status(second) == 200
        with vcc.controller.store.transaction() as session:
            removed = [hash_token(first), hash_token(second)]
            session.execute(delete(Token).where(Token.token_hash.in_(removed)))
        tokens.forget(hash_token(second))
        assert status(second) == 403  # forgotten: at once
        # remembered until its 0.3 s are up, then refused
        assert poll(lambda: status(first), lambda code: code != 200, timeout=5, interval=0.05) == 403


def test_a_token_created_after_a_refusal_works_at_once(tmp_path: Path) -> None:
    """A refused token is not remembered: the same token, once created, is accepted."""
    from vcpsdk.controller.auth import hash_token
    from vcpsdk.controller.store import Token
    from vcpsdk.testing.controller import running_controller

    with running_controller(tmp_path / "vcc") as vcc:
        token = "00000000-0000-4000-8000-000000000001"
        url = f"{vcc.base_url}/accounts/authority"
        headers = {"x-vcc-access-token": token}
        assert requests.get(url, headers=headers, timeout=10).status_code == 403
        with vcc.controller.store.transaction() as session:
            session.add(Token(token_hash=hash_token(token), user_name="carol", superuser=False))
        answer = requests.get(url, headers=headers, timeout=10)
        assert answer.status_code == 200 and answer.json()["user_name"] == "carol"
