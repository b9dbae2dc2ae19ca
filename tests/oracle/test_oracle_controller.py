"""The Oracle backend behind a real controller and the SDK: a key the stand-in refuses lands on
the unit as an authentication error, and a user's own key from the Vault cubbyhole is used."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from vcpsdk.errors import VcpUnitFailedError
from vcpsdk.testing.conformance.oracle import backend_config
from vcpsdk.testing.controller import running_controller
from vcpsdk.testing.fakes.oracle import SUBNET_CIDR, USER_ID, FakeOci, generate_key, running_fake_oci
from vcpsdk.testing.keys import write_test_public_key
from vcpsdk.vcpsdk import VcpSDK


def failed_create(running: Any, tmp_path: Path, key: Path, user: str, group: str) -> tuple[VcpSDK, Any, str]:
    """``user`` creates unit ``web`` (oracle small) in UnitGroup ``group``, which must fail:
    (the SDK, the UnitGroup, the unit's error message)."""
    vcp = VcpSDK(running.create_token(user), config_dir=str(running.write_config(tmp_path / "cfg")))
    spec = vcp.get_spec("oracle", "small")
    spec.set_ssh_pubkey(str(key))
    ug = vcp.create_ugroup(group)
    with pytest.raises(VcpUnitFailedError) as failure:
        ug.create_unit("web", spec)
    return vcp, ug, failure.value.server_message or ""


def test_a_wrong_key_is_an_auth_error_on_the_unit(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong, _ = generate_key()
    key = write_test_public_key(tmp_path / "id.pub")
    with running_fake_oci() as served:
        config = backend_config(served, served.fake.subnet_id, SUBNET_CIDR, private_key=wrong)
        with running_controller(tmp_path / "state", backends={"oracle": config}) as running:
            vcp, ug, message = failed_create(running, tmp_path, key, "bob", "locked")
            assert "NotAuthenticated: The required information to complete authentication" in message
            unit = ug.get_unit("web")
            assert unit.state == "ERROR"
            ug.cleanup()  # nothing can be listed with that key either: the UnitGroup stays
            assert vcp.get_ugroup("locked").get_unit("web").state == "ERROR"
        assert served.fake.requests and all(r["key_id"] == "" for r in served.fake.requests)
        assert all(not ids for ids in served.fake.leftovers().values())
    for line in wrong.splitlines()[1:4]:
        assert line not in caplog.text and line not in message


def test_the_users_key_from_the_vault_cubbyhole(tmp_path: Path) -> None:
    fake = FakeOci()
    key = write_test_public_key(tmp_path / "id.pub")
    with running_fake_oci(fake) as served:
        operator = backend_config(served, fake.subnet_id, SUBNET_CIDR)
        for name in ("user_ocid", "fingerprint", "private_key"):
            operator.pop(name)  # no operator key: only the user's can work
        with running_controller(tmp_path / "state", backends={"oracle": operator}) as running:
            token = running.create_token("carol")
            config_dir = running.write_config(tmp_path / "cfg")
            settings = yaml.safe_load((config_dir / "vcp_config.yml").read_text())
            settings["oracle"] = {
                "user_ocid": USER_ID,
                "fingerprint": fake.fingerprint,
                "private_key": "vault://cubbyhole/oci/private_key",
            }
            (config_dir / "vcp_config.yml").write_text(yaml.safe_dump(settings))
            vcp = VcpSDK(token, config_dir=str(config_dir))
            stored = requests.post(
                f"{vcp.vcc_info()['vault_url']}/v1/cubbyhole/oci/private_key",
                headers={"X-Vault-Token": token},
                json={"value": fake.private_key_pem},
                timeout=10,
            )
            assert stored.status_code == 204
            spec = vcp.get_spec("oracle", "small")
            spec.set_ssh_pubkey(str(key))
            ug = vcp.create_ugroup("mine")
            unit = ug.create_unit("web", spec)
            assert unit.state == "RUNNING"
            [node] = unit.find_nodes()
            assert node.cloud_instance_address.startswith("127.66.0.")
            ug.cleanup()
        assert all(r["key_id"].endswith(fake.fingerprint) for r in fake.requests)
        assert all(not ids for ids in fake.leftovers().values())


def test_a_cloud_message_echoing_the_key_is_masked_on_the_unit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = write_test_public_key(tmp_path / "id.pub")
    with running_fake_oci() as served:
        line = served.fake.private_key_pem.splitlines()[2]  # one line: OCI's redaction misses it
        served.fake.fail("LaunchInstance", 400, "InvalidParameter", f"request signed with {line} refused")
        config = backend_config(served, served.fake.subnet_id, SUBNET_CIDR)
        with running_controller(tmp_path / "state", backends={"oracle": config}) as running:
            _, ug, message = failed_create(running, tmp_path, key, "dave", "echo")  # its error_message
            assert "InvalidParameter: request signed with *** refused" in message
            assert ug.get_unit("web").state == "ERROR"
            ug.cleanup()
        assert all(not ids for ids in served.fake.leftovers().values())
    assert line not in caplog.text and line not in message
