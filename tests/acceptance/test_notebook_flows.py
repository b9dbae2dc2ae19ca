"""The two notebook flows of ``shared/acceptance`` run unmodified as scripts.

Against ``vcc serve`` (token from ``vcc token create``) over http (``scheme: http``) and
over HTTPS with a self-signed certificate (``insecure_request_warning: False``), and
against the embedded default sandbox.  A ``common/logsetting.py``
on ``PYTHONPATH`` configures logging as the notebooks' helper does.
"""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, run_python
from vcpsdk.testing import free_port
from vcpsdk.testing.serve import vcc_serve

SUPPORT = Path(__file__).parent / "support"
VENDORED = Path(__file__).parent / "scripts"
SHARED = REPO.parent / "shared" / "acceptance"
SCRIPTS = ["tutorial_handson101_2024.py", "ocs_coursewarehub_lifecycle.py"]


def script(name: str) -> Path:
    """The shared script when ``shared/`` is beside the repo, else the vendored copy."""
    shared = SHARED / name
    return shared if shared.exists() else VENDORED / name


def check_output(name: str, result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out, log = result.stdout, result.stderr
    if name.startswith("tutorial"):
        assert "unit aws-server2 is RUNNING" in log
        assert "unit azure-server is RUNNING" in log
        assert "add_node completed." in log
        assert "cleanup completed. vc handson101 is cleanup(no unit)" in log
        assert "aws-server2 127.30.2." in out and "azure-server 127.20.2." in out
        assert out.rstrip().endswith("Index: []")  # no UnitGroup left
    else:
        assert "127.30.2.100" in out  # the manager got its fixed address
        for address in ("127.30.2.101", "127.30.2.102", "127.30.2.103", "127.30.2.104"):
            assert address in out
        assert "unit worker is POWER_OFF" in log and "unit manager is POWER_OFF" in log
        assert "cleanup completed. vc CoursewareHub is cleanup(no unit)" in log
        assert "cleanup completed. vc CoursewareHub_disk is cleanup(no unit)" in log
        assert "ERROR" not in log


def test_vendored_copies_match_shared() -> None:
    if not SHARED.exists():  # a clone without the project's shared/ folder beside it
        pytest.skip(f"{SHARED} is not beside this clone; the vendored copies were run instead")
    for name in SCRIPTS:
        assert filecmp.cmp(SHARED / name, VENDORED / name, shallow=False), name


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https-self-signed"])
@pytest.mark.parametrize("name", SCRIPTS)
def test_flow_against_vcc_serve(name: str, tls: bool, tmp_path: Path) -> None:
    # over https the config is the one NII's users write for a self-signed controller:
    # scheme https (the default) and insecure_request_warning: False
    with vcc_serve(tmp_path / "state", tls=tls) as served:
        token = served.create_token("student")
        config = served.write_config(tmp_path / "vcp_config")
        env = {
            "VCPSDK_CONFIG_DIR": str(config),
            "VCP_TOKEN": token,
            "HOME": str(tmp_path),
            "PYTHONPATH": f"{SUPPORT}:{REPO}",
        }
        result = run_python(script(name), env, timeout=300, cwd=tmp_path)
    check_output(name, result)


@pytest.mark.parametrize("name", SCRIPTS)
def test_flow_against_embedded_sandbox(name: str, tmp_path: Path) -> None:
    env = {
        "VCPSDK_DATA_DIR": str(tmp_path / "data"),
        "HOME": str(tmp_path),
        "VCPSDK_SANDBOX_BOOT_DELAY": "0",
        "VCPSDK_SANDBOX_SSH_PORT": str(free_port()),
        "PYTHONPATH": f"{SUPPORT}:{REPO}",
    }
    vcc = [sys.executable, "-m", "vcpsdk.controller.cli", "sandbox"]
    try:
        token = subprocess.run(
            [*vcc, "token"],
            env={**_base_env(), **env},
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout.strip()
        assert token
        result = run_python(script(name), {**env, "VCP_TOKEN": token}, timeout=300, cwd=tmp_path)
    finally:
        subprocess.run([*vcc, "stop"], env={**_base_env(), **env}, capture_output=True, timeout=60)
    check_output(name, result)


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("VCPSDK_")}
