"""The controller's Vault cubbyhole and the resolution of ``vault://`` credentials."""

from __future__ import annotations

import pytest
import requests

from vcpsdk.controller.auth import hash_token, token_prefix
from vcpsdk.controller.service import ServiceError, User
from vcpsdk.testing import RunningController
from vcpsdk.testing.serve import vcc_serve
from vcpsdk.vcpsdk import VcpSDK


def test_notebook_pattern_store_read_list_delete(vcp_sdk: VcpSDK, vcp_token: str, live_controller) -> None:
    base = f"{vcp_sdk.vcc_info()['vault_url']}/v1/cubbyhole"
    headers = {"X-Vault-Token": vcp_token}
    stored = requests.post(
        f"{base}/Guacamole-A/guacamole",
        headers=headers,
        json={"admin_password": "pw1", "db_password": "pw2"},
        timeout=10,
    )
    assert stored.status_code == 204
    read = requests.get(f"{base}/Guacamole-A/guacamole", headers=headers, timeout=10)
    assert read.status_code == 200 and read.json()["data"] == {"admin_password": "pw1", "db_password": "pw2"}
    listed = requests.request("LIST", f"{base}/Guacamole-A", headers=headers, timeout=10)
    assert listed.json()["data"]["keys"] == ["guacamole"]
    assert requests.request("LIST", f"{base}/", headers=headers, timeout=10).json()["data"]["keys"] == [
        "Guacamole-A/"
    ]
    assert requests.delete(f"{base}/Guacamole-A/guacamole", headers=headers, timeout=10).status_code == 204
    assert requests.get(f"{base}/Guacamole-A/guacamole", headers=headers, timeout=10).status_code == 404
    assert requests.request("LIST", f"{base}/Guacamole-A", headers=headers, timeout=10).status_code == 404


def test_cubbyholes_are_private_to_each_token(
    vcp_sdk: VcpSDK, vcp_token: str, live_controller: RunningController
) -> None:
    base = f"{vcp_sdk.vcc_info()['vault_url']}/v1/cubbyhole"
    requests.post(
        f"{base}/aws/secret_key", headers={"X-Vault-Token": vcp_token}, json={"value": "mine"}, timeout=10
    )
    other = live_controller.create_token("someone-else")
    assert (
        requests.get(f"{base}/aws/secret_key", headers={"X-Vault-Token": other}, timeout=10).status_code
        == 404
    )
    denied = requests.get(f"{base}/aws/secret_key", headers={"X-Vault-Token": "bogus"}, timeout=10)
    assert denied.status_code == 403 and denied.json() == {"errors": ["permission denied"]}


def test_secrets_are_sealed_in_the_database(
    vcp_sdk: VcpSDK, vcp_token: str, live_controller: RunningController
) -> None:
    base = f"{vcp_sdk.vcc_info()['vault_url']}/v1/cubbyhole"
    requests.post(
        f"{base}/munge",
        headers={"X-Vault-Token": vcp_token},
        json={"munge.key": "VERY-SECRET-MUNGE"},
        timeout=10,
    )
    stored = (live_controller.state_dir / "vcc.db").read_bytes()
    wal = live_controller.state_dir / "vcc.db-wal"
    stored += wal.read_bytes() if wal.exists() else b""
    assert b"VERY-SECRET-MUNGE" not in stored


def test_vault_references_resolve_to_the_tokens_secrets(
    vcp_token: str, live_controller: RunningController, vcp_user: str
) -> None:
    vault = live_controller.controller.service.vault
    user = User(vcp_user, False, token_hash=hash_token(vcp_token), token_shown=token_prefix(vcp_token))
    vault.write(user.token_hash, "aws/access_key", {"value": "AKIA-RESOLVED"})
    params = {
        "access_key": "vault://cubbyhole/aws/access_key",
        "secret_key": "literal",
        "instance_type": "m4.large",
    }
    assert vault.resolve(user, "aws", params) == {**params, "access_key": "AKIA-RESOLVED"}
    with pytest.raises(ServiceError) as missing:
        vault.resolve(user, "aws", {"secret_key": "vault://cubbyhole/aws/secret_key"})
    assert missing.value.status == 403
    assert missing.value.exception == "VCPVaultReadException"
    assert missing.value.detail == (f"{vcp_token[:8]}:cubbyhole/aws/secret_key vault read is failed:")


def test_vault_url_is_right_with_the_documented_standalone_config(tmp_path) -> None:
    """``vcc serve`` and the README's config (host, vcc_port, scheme; no vault_port): the
    notebooks' ``vcc_info()['vault_url']`` reaches the controller's cubbyhole."""
    with vcc_serve(tmp_path / "state") as served:
        config = served.write_config(tmp_path / "cfg")
        assert "vault_port" not in (config / "vcp_config.yml").read_text()
        token = served.create_token("teacher")
        vcp = VcpSDK(token, config_dir=str(config))
        vault_url = vcp.vcc_info()["vault_url"]
        assert vault_url == f"http://127.0.0.1:{served.port}"
        headers = {"X-Vault-Token": token}
        stored = requests.post(
            f"{vault_url}/v1/cubbyhole/munge", headers=headers, json={"munge.key": "k"}, timeout=10
        )
        assert stored.status_code == 204
        read = requests.get(f"{vault_url}/v1/cubbyhole/munge", headers=headers, timeout=10)
        assert read.json()["data"] == {"munge.key": "k"}
