"""VcpSDK: construction, controller information, specs, flavors and error mapping."""

from __future__ import annotations

import base64
import logging

import pytest
import requests
import yaml

import vcpsdk
from vcpsdk.core import protocol as routes
from vcpsdk.core.protocol import CUBBYHOLE_EXTENSION
from vcpsdk.errors import (
    VcpAuthError,
    VcpConflictError,
    VcpConnectionError,
    VcpInvalidArgumentError,
    VcpNotFoundError,
    VcpSDKError,
)
from vcpsdk.testing.mock_controller import (
    AUTHORITY,
    BASE,
    HOST,
    PORT,
    TOKEN,
    MockController,
    assert_headers,
    node_json,
    unit_json,
    vc_json,
    write_config,
)
from vcpsdk.vcpsdk import VcpSDK

STARTUP = [("GET", ""), ("GET", "/vcs"), ("GET", "/accounts/authority")]
DENIED = "2026/01/01 00:00:00 UTC: VCPAuthException: abcd1234:token lookup is failed: permission denied"


# -- construction -------------------------------------------------------------------------


def test_construction_sends_base_then_vcs_then_authority(
    mock_controller: MockController, mock_config_dir
) -> None:
    sdk = VcpSDK(TOKEN, config_dir=str(mock_config_dir))

    sent = mock_controller.sent()
    assert [s.call for s in sent] == STARTUP
    assert [s.url for s in sent] == [BASE, f"{BASE}/vcs", f"{BASE}/accounts/authority"]
    assert all(s.query == {} and s.body is None for s in sent)
    assert_headers(sent)
    assert sdk.authority() == AUTHORITY


def test_construction_strips_the_token(mock_controller: MockController, mock_config_dir) -> None:
    VcpSDK(f"  {TOKEN}\n", config_dir=str(mock_config_dir))

    assert_headers(mock_controller.sent(), token=TOKEN)


def test_without_scheme_https_is_used(requests_mock, tmp_path) -> None:
    https = MockController(requests_mock, base=f"https://{HOST}:{PORT}/vcp/v1/occtr")
    https.startup()
    directory = write_config(tmp_path / "cfg", vcc={"host": HOST, "vcc_port": PORT})

    VcpSDK(TOKEN, config_dir=str(directory))

    sent = https.sent()
    assert [s.call for s in sent] == STARTUP
    assert all(s.url.startswith(f"https://{HOST}:{PORT}/vcp/v1/occtr") for s in sent)


@pytest.mark.parametrize(
    ("setting", "verify"),
    [({}, True), ({"insecure_request_warning": True}, True), ({"insecure_request_warning": False}, False)],
)
def test_insecure_request_warning_is_passed_as_verify_like_the_original(
    requests_mock, tmp_path, monkeypatch, setting, verify
) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    https = MockController(requests_mock, base=f"https://{HOST}:{PORT}/vcp/v1/occtr")
    https.startup()
    directory = write_config(tmp_path / "cfg", vcc={"host": HOST, "vcc_port": PORT, **setting})

    VcpSDK(TOKEN, config_dir=str(directory))

    assert [s.verify for s in https.sent()] == [verify] * 3


def test_rejected_token_raises_auth_error_and_logs(
    mock_controller: MockController, mock_config_dir, caplog
) -> None:
    mock_controller.reply("GET", "", (403, {"message": DENIED}))
    caplog.set_level(logging.ERROR, logger="vcp.sdk")

    with pytest.raises(VcpAuthError) as info:
        VcpSDK(TOKEN, config_dir=str(mock_config_dir))

    assert info.value.args == ("VCP", "config vc failed")
    assert info.value.http_status == 403
    assert info.value.server_message == DENIED
    errors = [r.getMessage() for r in caplog.records if r.name == "vcp.sdk" and r.levelno == logging.ERROR]
    assert "config vc failed: http_status(403)" in errors
    assert DENIED in errors
    assert mock_controller.calls() == [("GET", "")]


def test_connection_refused_raises_connection_error(mock_controller: MockController, mock_config_dir) -> None:
    mock_controller.fail("GET", "", requests.exceptions.ConnectionError("[Errno 111] Connection refused"))

    with pytest.raises(VcpConnectionError) as info:
        VcpSDK(TOKEN, config_dir=str(mock_config_dir))

    assert info.value.args == ("VCP", "server error")
    assert isinstance(info.value, ConnectionError)
    assert mock_controller.calls() == [("GET", "")]


def test_missing_token_is_refused_before_any_request(
    mock_controller: MockController, mock_config_dir
) -> None:
    with pytest.raises(VcpInvalidArgumentError, match="vcc_access_token is required") as info:
        VcpSDK("", config_dir=str(mock_config_dir))
    assert "VcpSDK(token)" in info.value.hint and "VCPSDK_ACCESS_TOKEN" in info.value.hint  # trial 15: 13

    assert mock_controller.sent() == []


def test_authority_failure_is_reported(mock_controller: MockController, mock_config_dir) -> None:
    mock_controller.reply("GET", "/accounts/authority", (500, {"message": "boom"}))

    with pytest.raises(VcpSDKError) as info:
        VcpSDK(TOKEN, config_dir=str(mock_config_dir))

    assert info.value.args == ("VCP", "authority error")
    assert mock_controller.calls() == STARTUP


def test_verbose_logging_never_shows_the_token(
    mock_controller: MockController, mock_config_dir, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger="vcp.sdk")

    sdk = VcpSDK(TOKEN, config_dir=str(mock_config_dir), verbose=3)

    messages = [r.getMessage() for r in caplog.records]
    assert f"[GET] {BASE}/vcs privileged(False)" in messages
    assert "HTTP STATUS 200" in messages
    assert all(TOKEN not in m for m in messages)
    assert sdk.verbose == 3


def test_verbose_level_three_redacts_cci_payloads(
    mock_controller: MockController, mock_config_dir, caplog
) -> None:
    secret_cci = base64.b64encode(b"secret_key: SUPERSECRET-42").decode()
    unit = unit_json("server", [node_json(1)])
    unit["info"] = secret_cci
    mock_controller.reply("GET", "/vcs", {"vcs": [vc_json("ug1", [unit])]})
    caplog.set_level(logging.DEBUG, logger="vcp.sdk")

    sdk = VcpSDK(TOKEN, config_dir=str(mock_config_dir), verbose=3)
    assert sdk.get_ugroup("ug1") is not None

    text = "\n".join(r.getMessage() for r in caplog.records)
    assert '"name": "ug1"' in text  # the body is logged ...
    assert secret_cci not in text  # ... without the CCI
    assert "<redacted" in text


def test_verbose_setter_turns_request_logging_on(mock_sdk, mock_controller: MockController, caplog) -> None:
    mock_controller.reply("GET", "/publickey", {"publickey": "ssh-rsa AAAA"})
    caplog.set_level(logging.DEBUG, logger="vcp.sdk")

    mock_sdk.get_publickey()
    assert caplog.records == []
    mock_sdk.verbose = 1
    mock_sdk.get_publickey()

    assert [r.getMessage() for r in caplog.records] == [f"[GET] {BASE}/publickey privileged(False)"]


# -- errors of ordinary calls ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, VcpInvalidArgumentError),
        (401, VcpAuthError),
        (403, VcpAuthError),
        (404, VcpNotFoundError),
        (409, VcpConflictError),
        (500, VcpSDKError),
    ],
)
def test_http_status_maps_to_a_typed_error(mock_sdk, mock_controller: MockController, status, cls) -> None:
    mock_controller.reply("GET", "/publickey", (status, {"message": "2026/01/01 UTC: X: detail"}))

    with pytest.raises(VcpSDKError) as info:
        mock_sdk.get_publickey()

    assert type(info.value) is cls
    assert info.value.args == ("VCP", "publickey failed")
    assert info.value.http_status == status
    assert info.value.server_message == "2026/01/01 UTC: X: detail"


def test_non_json_error_body_becomes_the_server_message(mock_sdk, mock_controller: MockController) -> None:
    mock_controller.reply("GET", "/publickey", (502, "<html>Bad Gateway</html>"))

    with pytest.raises(VcpSDKError) as info:
        mock_sdk.get_publickey()

    assert info.value.http_status == 502
    assert info.value.server_message == "<html>Bad Gateway</html>"


# -- controller information --------------------------------------------------------------------


def test_authority_returns_the_body(mock_sdk, mock_controller: MockController) -> None:
    assert mock_sdk.authority() == {"role": "fullaccess", "user_name": "alice", "user_role": "regular"}
    assert mock_controller.sent() == []


def test_get_publickey(mock_sdk, mock_controller: MockController) -> None:
    mock_controller.reply("GET", "/publickey", {"publickey": "ssh-rsa AAAAB3Nza vcc@controller"})

    assert mock_sdk.get_publickey() == "ssh-rsa AAAAB3Nza vcc@controller"

    sent = mock_controller.sent()
    assert [s.call for s in sent] == [("GET", "/publickey")]
    assert_headers(sent)


def test_vcc_info_from_config(mock_sdk, mock_controller: MockController) -> None:
    assert mock_sdk.vcc_info() == {
        "host": f"{HOST}:{PORT}",
        # this controller serves the cubbyhole itself (it says so): its own scheme and port
        "vault_url": f"http://{HOST}:{PORT}",
        "docker_registry": {
            "official": f"{HOST}:5000",
            "user": f"{HOST}:5001",
            "base": f"{HOST}:5000",
            "application": f"{HOST}:5001",
        },
    }
    assert mock_controller.sent() == []


def test_vcc_info_vault_url_is_https_without_a_scheme(requests_mock, tmp_path) -> None:
    https = MockController(requests_mock, base=f"https://{HOST}:{PORT}/vcp/v1/occtr")
    https.startup(long_poll=False)  # the original controller: Vault on its own port 8443
    directory = write_config(tmp_path / "cfg", vcc={"host": HOST, "vcc_port": PORT})
    assert VcpSDK(TOKEN, config_dir=str(directory)).vcc_info()["vault_url"] == f"https://{HOST}:8443"


def test_vcc_info_vault_url_is_the_controllers_own_when_it_serves_the_cubbyhole(
    mock_controller: MockController, tmp_path
) -> None:
    mock_controller.on(routes.AUTHORITY, {**AUTHORITY, "extensions": {CUBBYHOLE_EXTENSION: {}}})
    directory = write_config(tmp_path / "cfg", vcc={"host": HOST, "vcc_port": PORT, "scheme": "http"})
    sdk = VcpSDK(TOKEN, config_dir=str(directory))

    assert sdk.vcc_info()["vault_url"] == f"http://{HOST}:{PORT}"
    assert sdk.authority() == AUTHORITY  # the extension is not shown as an original field
    explicit = write_config(
        tmp_path / "cfg2", vcc={"host": HOST, "vcc_port": PORT, "scheme": "http", "vault_port": 9}
    )
    assert VcpSDK(TOKEN, config_dir=str(explicit)).vcc_info()["vault_url"] == f"http://{HOST}:9"


def test_vcc_info_uses_private_ip_and_vault_port(make_mock_sdk, tmp_path) -> None:
    directory = write_config(
        tmp_path / "cfg",
        vcc={
            "host": HOST,
            "vcc_port": PORT,
            "scheme": "http",
            "vault_port": 18443,
            "private_ip": "127.0.0.2",
        },
    )
    info = make_mock_sdk(directory=directory).vcc_info()

    assert info["host"] == f"{HOST}:{PORT}"
    assert info["vault_url"] == f"http://{HOST}:18443"
    assert info["docker_registry"]["official"] == "127.0.0.2:5000"
    assert info["docker_registry"]["user"] == "127.0.0.2:5001"


def test_vcc_info_host_has_default_port_443(requests_mock, tmp_path) -> None:
    https = MockController(requests_mock, base=f"https://{HOST}/vcp/v1/occtr")
    https.startup()
    directory = write_config(tmp_path / "cfg", vcc={"host": HOST})

    sdk = VcpSDK(TOKEN, config_dir=str(directory))

    assert sdk.vcc_info()["host"] == f"{HOST}:443"


def _version_body() -> dict:
    return {
        "version": "20.10.0+20201001",
        "git_tag": "nightly-20200511-15-g8dd969e",
        "name": "vcc3060",
        "plugin": {"sakura": "1.1+20200401", "aws": "1.2+20191001"},
    }


def test_version_prints_yaml_with_the_controller_version(
    mock_sdk, mock_controller: MockController, capsys
) -> None:
    mock_controller.reply("GET", "/version", _version_body())

    assert mock_sdk.version() is None

    report = yaml.safe_load(capsys.readouterr().out)
    ctl = report["vc_controller"]
    assert ctl["vc_controller"] == "20.10.0+20201001"
    assert ctl["vc_controller_git_tag"] == "nightly-20200511-15-g8dd969e"
    assert ctl["host"] == HOST
    assert ctl["name"] == "vcc3060"
    assert ctl["wait_timeout_sec"] == "1000(default 15min)"
    assert ctl["plugin"] == {"sakura": "1.1+20200401", "aws": "1.2+20191001"}
    assert report["vcpsdk"]["version"] == vcpsdk.VCP_SDK_VERSION
    assert report["vcplib"]["version"] == vcpsdk.VCP_SDK_VERSION
    assert report["vcpsdk"]["plugin"]["aws"] == "1.2+20191001"
    sent = mock_controller.sent()
    assert [s.call for s in sent] == [("GET", "/version")]
    assert_headers(sent)


def test_version_shows_configured_wait_timeout_and_name(
    make_mock_sdk, mock_controller: MockController, tmp_path, capsys
) -> None:
    directory = write_config(
        tmp_path / "cfg",
        vcc={
            "host": HOST,
            "vcc_port": PORT,
            "scheme": "http",
            "wait_timeout_sec": 300,
            "name": "my-vcc",
        },
    )
    sdk = make_mock_sdk(directory=directory)
    mock_controller.reply("GET", "/version", _version_body())

    sdk.version()

    ctl = yaml.safe_load(capsys.readouterr().out)["vc_controller"]
    assert ctl["wait_timeout_sec"] == 300
    assert ctl["name"] == "my-vcc"


VPN_AWS = {
    "aws_region": "ap-northeast-1",
    "aws_vpc_subnet_id": "subnet-1",
    "private_network_ipmask": "127.30.2.0/24",
}
VPN_BODY = {
    "vpn_catalog": {
        "aws": {"default": VPN_AWS, "second": {"aws_region": "us-east-1"}},
        "onpremises": {"default": {}},
        "cci_version": "1.0",
    }
}


def test_get_vpn_catalog_of_a_provider_returns_the_default_entry(
    mock_sdk, mock_controller: MockController
) -> None:
    mock_controller.reply("GET", "/vpn_catalog", VPN_BODY)

    assert mock_sdk.get_vpn_catalog("aws") == VPN_AWS
    assert mock_sdk.get_vpn_catalog("aws", vpn_catalog_name="second") == {"aws_region": "us-east-1"}
    assert mock_sdk.get_vpn_catalog("onpremises") == {}

    sent = mock_controller.sent()
    assert [s.call for s in sent] == [("GET", "/vpn_catalog")] * 3
    assert_headers(sent)


def test_get_vpn_catalog_without_provider_returns_the_whole_catalog(
    mock_sdk, mock_controller: MockController
) -> None:
    mock_controller.reply("GET", "/vpn_catalog", VPN_BODY)

    catalog = mock_sdk.get_vpn_catalog()

    assert catalog == {
        "aws": {"default": VPN_AWS, "second": {"aws_region": "us-east-1"}},
        "onpremises": {"default": {}},
    }


@pytest.mark.parametrize(("provider", "name"), [("azure", "default"), ("aws", "nosuch")])
def test_get_vpn_catalog_missing_entry(mock_sdk, mock_controller: MockController, provider, name) -> None:
    mock_controller.reply("GET", "/vpn_catalog", VPN_BODY)

    with pytest.raises(VcpSDKError) as info:
        mock_sdk.get_vpn_catalog(provider, vpn_catalog_name=name)

    assert "not exist in vpn_catalog" in info.value.args[1]
    assert f"provider[{provider}] vpn_catalog_name[{name}]" in info.value.args[1]


# -- specs and flavors ------------------------------------------------------------------------


def test_get_spec_needs_no_request(mock_sdk, mock_controller: MockController) -> None:
    spec = mock_sdk.get_spec("aws", "small")

    assert spec.provider_name == "aws"
    assert spec.flavor == "small"
    assert spec.instance_type == "m4.large"
    assert spec.volume_size == 8
    assert mock_controller.sent() == []


@pytest.mark.parametrize(("provider", "flavor"), [("nosuch", "small"), ("aws", "huge")])
def test_get_spec_unknown_provider_or_flavor(
    mock_sdk, mock_controller: MockController, provider, flavor
) -> None:
    with pytest.raises(VcpInvalidArgumentError) as info:
        mock_sdk.get_spec(provider, flavor)

    assert f"no flavor provider_name[{provider}] flavor[{flavor}]" in info.value.args[1]
    assert mock_controller.sent() == []


def test_df_flavors_aws(mock_sdk, mock_controller: MockController) -> None:
    frame = mock_sdk.df_flavors("aws")

    assert list(frame.columns) == ["flavor", "instance_type", "volume_type", "volume_size"]
    rows = frame.set_index("flavor").to_dict("index")
    assert rows["small"] == {"instance_type": "m4.large", "volume_type": "gp2", "volume_size": 8}
    assert rows["large"]["instance_type"] == "m4.2xlarge"
    assert mock_controller.sent() == []


def test_df_flavors_reads_the_users_flavor_file(mock_sdk, mock_config_dir) -> None:
    (mock_config_dir / "vcp_flavor.yml").write_text(
        "aws:\n  tiny: {instance_type: t3.nano, volume_type: gp2, volume_size: 4}\n"
    )

    rows = mock_sdk.df_flavors("aws").set_index("flavor").to_dict("index")

    assert rows["tiny"] == {"instance_type": "t3.nano", "volume_type": "gp2", "volume_size": 4}
    assert mock_sdk.get_spec("aws", "tiny").instance_type == "t3.nano"


def test_df_flavors_unknown_provider(mock_sdk, mock_controller: MockController) -> None:
    with pytest.raises(VcpInvalidArgumentError, match=r"no flavor provider_name\[nosuch\]"):
        mock_sdk.df_flavors("nosuch")
    assert mock_controller.sent() == []


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (
            403,
            "2018/09/01 00:00:00 UTC: VCPVaultReadException: abcd-x:cubbyhole/aws/key vault read is failed:",
            "VcpVaultError",
        ),
        (
            500,
            "2023/01/01 00:00:00 UTC: VCPStateConflictException: v:worker:| Conflict: unit is now "
            "processing, so cannot apply",
            "VcpConflictError",
        ),
        (400, "plain text without an exception name", "VcpInvalidArgumentError"),
    ],
)
def test_errors_are_typed_by_the_exception_the_controller_names(
    status: int, message: str, expected: str
) -> None:
    from vcpsdk import errors

    cls = errors.error_for_response(status, message)
    assert cls.__name__ == expected
    assert issubclass(cls, errors.VcpSDKError)
