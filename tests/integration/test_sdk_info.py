"""VcpSDK's controller information and spec/flavor look-ups against the real controller."""

from __future__ import annotations

import socket

import pandas as pd
import pytest
import yaml

from vcpsdk.errors import VcpConnectionError, VcpInvalidArgumentError, VcpSDKError
from vcpsdk.testing import RunningController
from vcpsdk.vcpsdk import VcpSDK


def _dotted(version: object) -> tuple[int, ...]:
    return tuple(int(part) for part in str(version).split("+")[0].split("."))


def test_authority_names_the_token_user(vcp_sdk: VcpSDK, vcp_user: str) -> None:
    assert vcp_sdk.authority() == {"role": "fullaccess", "user_name": vcp_user, "user_role": "regular"}


def test_authority_of_a_superuser(make_vcp_sdk) -> None:
    su = make_vcp_sdk(superuser=True)
    assert su.authority()["user_role"] == "superuser"
    assert su.authority()["user_name"] == su.user


def test_vcc_info_is_built_from_the_config(vcp_sdk: VcpSDK, live_controller: RunningController) -> None:
    assert vcp_sdk.vcc_info() == {
        "host": f"127.0.0.1:{live_controller.port}",
        "vault_url": f"http://127.0.0.1:{live_controller.port}",  # the controller serves the cubbyhole
        "docker_registry": {
            "official": "127.0.0.1:5000",
            "user": "127.0.0.1:5001",
            "base": "127.0.0.1:5000",
            "application": "127.0.0.1:5001",
        },
    }


def test_version_prints_yaml_with_the_controller_version(vcp_sdk: VcpSDK, capsys) -> None:
    assert vcp_sdk.version() is None
    report = yaml.safe_load(capsys.readouterr().out)
    controller = report["vc_controller"]
    assert _dotted(controller["vc_controller"]) >= (25, 4)
    assert controller["host"] == "127.0.0.1"
    assert controller["wait_timeout_sec"] == "1000(default 15min)"
    assert controller["vc_controller_git_tag"]
    assert "aws" in report["vcpsdk"]["plugin"]
    assert "aws" in controller["plugin"]


@pytest.mark.parametrize(
    ("provider", "mask"),
    [
        ("aws", "127.30.2.0/24"),
        ("azure", "127.20.2.0/24"),
        ("oracle", "127.24.2.0/24"),
        ("sakura", "127.23.1.0/24"),
    ],
)
def test_vpn_catalog_masks_are_loopback_ranges(vcp_sdk: VcpSDK, provider: str, mask: str) -> None:
    assert vcp_sdk.get_vpn_catalog(provider)["private_network_ipmask"] == mask


def test_vpn_catalog_of_onpremises_has_no_mask(vcp_sdk: VcpSDK) -> None:
    assert "private_network_ipmask" not in vcp_sdk.get_vpn_catalog("onpremises")


def test_whole_vpn_catalog_is_keyed_by_provider_without_cci_version(vcp_sdk: VcpSDK) -> None:
    catalog = vcp_sdk.get_vpn_catalog()
    assert "cci_version" not in catalog
    assert catalog["aws"]["default"]["private_network_ipmask"] == "127.30.2.0/24"


def test_vpn_catalog_unknown_entry_raises(vcp_sdk: VcpSDK) -> None:
    with pytest.raises(VcpSDKError) as info:
        vcp_sdk.get_vpn_catalog("aws", "nosuch")
    assert info.value.args == ("VCP", "not exist in vpn_catalog, provider[aws] vpn_catalog_name[nosuch]")


def test_publickey_is_an_ed25519_key(vcp_sdk: VcpSDK) -> None:
    key = vcp_sdk.get_publickey()
    assert key.startswith("ssh-ed25519 ")
    assert vcp_sdk.get_publickey() == key


def test_get_spec_is_initialised_from_the_flavor(vcp_sdk: VcpSDK) -> None:
    spec = vcp_sdk.get_spec("aws", "medium")
    assert spec.provider_name == "aws"
    assert spec.unit_type == "compute"
    assert spec.instance_type == "m4.xlarge"
    assert spec.volume_size == 40
    assert spec.num_nodes == 1


def test_get_spec_unknown_flavor_raises(vcp_sdk: VcpSDK) -> None:
    with pytest.raises(VcpInvalidArgumentError) as info:
        vcp_sdk.get_spec("aws", "tiny")
    assert info.value.args[0] == "VCP"
    assert info.value.args[1].startswith("no flavor provider_name[aws] flavor[tiny]")


def test_get_spec_unknown_provider_raises(vcp_sdk: VcpSDK) -> None:
    with pytest.raises(VcpInvalidArgumentError) as info:
        vcp_sdk.get_spec("amazon", "small")
    assert info.value.args[1].startswith("no flavor provider_name[amazon] flavor[small]")


def test_df_flavors_lists_the_flavors(vcp_sdk: VcpSDK) -> None:
    frame = vcp_sdk.df_flavors("aws")
    assert isinstance(frame, pd.DataFrame)
    assert frame.columns[0] == "flavor"
    assert {"small", "medium", "large"} <= set(frame["flavor"])
    small = frame[frame["flavor"] == "small"].iloc[0]
    assert small["instance_type"] == "m4.large"


def test_df_flavors_unknown_provider_raises(vcp_sdk: VcpSDK) -> None:
    with pytest.raises(VcpInvalidArgumentError) as info:
        vcp_sdk.df_flavors("amazon")
    assert info.value.args[0] == "VCP"
    assert info.value.args[1].startswith("no flavor provider_name[amazon]")


def test_unreachable_controller_raises_connection_error(tmp_path, live_controller: RunningController) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    config = tmp_path / "closed"
    config.mkdir()
    (config / "vcp_config.yml").write_text(
        yaml.safe_dump({"vcc": {"host": "127.0.0.1", "vcc_port": closed_port, "scheme": "http"}})
    )
    with pytest.raises(VcpConnectionError) as info:
        VcpSDK(live_controller.create_token("lost"), config_dir=str(config))
    assert info.value.args == ("VCP", "server error")
