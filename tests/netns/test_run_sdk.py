"""Inside ``vcc sandbox run``: ``VcpSDK()`` needs no token, and ``vault_url`` is the controller's.

The run's ``vcp_config.yml`` names its controller (so embedded mode is off); the SDK reads
the token from ``$VCPSDK_SANDBOX_TOKEN_FILE`` only for a config that points at
``$VCPSDK_SANDBOX_URL``.  Outside, a missing token is refused with a hint saying how to
get one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vcpsdk.config import SANDBOX_TOKEN_FILE_ENV, SANDBOX_URL_ENV, load_config, sandbox_run_token
from vcpsdk.controller.netns import write_config

from .conftest import sandbox_run

SCRIPT = """
from vcpsdk.vcpsdk import VcpSDK
vcp = VcpSDK()
print("user", vcp.authority()["user_name"])
print("vault", VcpSDK.vcc_info()["vault_url"])
import os
print("url", os.environ["VCPSDK_SANDBOX_URL"])
"""


@pytest.mark.usefixtures("namespaces")
def test_vcpsdk_without_a_token_and_the_vault_url_inside_the_run() -> None:
    result = sandbox_run("python3", "-c", SCRIPT)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert lines["user"]
    port = lines["url"].split("://", 1)[1].split("/", 1)[0].split(":")[1]
    assert lines["vault"] == f"http://127.0.0.1:{port}"


def test_the_run_config_names_the_controllers_vault_port(tmp_path: Path) -> None:
    write_config(tmp_path / "vcp_config", None, 41234)
    vcc = load_config(tmp_path / "vcp_config").vcc
    assert vcc is not None and vcc.vault_port == 41234
    assert vcc.vault_url() == "http://127.0.0.1:41234"


def test_the_token_file_is_read_only_for_the_runs_own_controller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(tmp_path / "vcp_config", None, 41234)
    vcc = load_config(tmp_path / "vcp_config").vcc
    assert vcc is not None
    token_file = tmp_path / "token"
    token_file.write_text("t0ken\n")
    monkeypatch.delenv(SANDBOX_TOKEN_FILE_ENV, raising=False)
    monkeypatch.delenv(SANDBOX_URL_ENV, raising=False)
    assert sandbox_run_token(vcc) == ""
    monkeypatch.setenv(SANDBOX_TOKEN_FILE_ENV, str(token_file))
    monkeypatch.setenv(SANDBOX_URL_ENV, "http://127.0.0.1:9/vcp/v1/occtr")
    assert sandbox_run_token(vcc) == ""  # another controller
    monkeypatch.setenv(SANDBOX_URL_ENV, vcc.base_url)
    assert sandbox_run_token(vcc) == "t0ken"


def test_a_missing_token_says_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vcpsdk.errors import VcpInvalidArgumentError
    from vcpsdk.vcpsdk import VcpSDK

    monkeypatch.delenv(SANDBOX_TOKEN_FILE_ENV, raising=False)
    monkeypatch.delenv("VCPSDK_ACCESS_TOKEN", raising=False)
    write_config(tmp_path / "vcp_config", None, 9)
    with pytest.raises(VcpInvalidArgumentError, match="vcc_access_token is required") as caught:
        VcpSDK(config_dir=str(tmp_path / "vcp_config"))
    assert "vcc sandbox token" in caught.value.hint and "VCPSDK_SANDBOX_TOKEN_FILE" in caught.value.hint
