"""``VcpSDK()`` with no configuration starts or reuses a local sandbox controller."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers import run_python
from vcpsdk.testing import free_port

PROBE = """
import json, sys
from vcpsdk import embedded
from vcpsdk.vcpsdk import VcpSDK
vcp = VcpSDK()
action = sys.argv[1] if len(sys.argv) > 1 else ''
name = sys.argv[2] if len(sys.argv) > 2 else ''
if action == 'create':
    vcp.create_ugroup(name)
info = embedded.ensure_sandbox()
print(json.dumps({"pid": info.pid, "port": info.port, "user": vcp.authority()["user_name"],
                  "ugroups": sorted(u.name for u in vcp.find_ugroups())}))
"""


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A private data dir and HOME (so no ~/vcp_config exists); stops the sandbox after."""
    values = {
        "VCPSDK_DATA_DIR": str(tmp_path / "data"),
        "HOME": str(tmp_path),
        "VCPSDK_SANDBOX_BOOT_DELAY": "0",
        "VCPSDK_SANDBOX_SSH_PORT": str(free_port()),
    }
    yield values
    run_python("from vcpsdk import embedded; embedded.stop_sandbox()", values)


def probe(env: dict[str, str], *args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env={**run_env(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("VCPSDK_")}


def test_zero_configuration_starts_a_sandbox_with_a_private_token(env: dict[str, str]) -> None:
    info = probe(env)
    data = Path(env["VCPSDK_DATA_DIR"]) / "sandbox"
    token_file = data / "token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert len(token_file.read_text().strip()) >= 32
    server = json.loads((data / "server.json").read_text())
    assert server["port"] == info["port"] and server["pid"] == info["pid"]
    assert (data / "state" / "vcc.db").is_file()
    assert info["user"]  # the token belongs to the OS user


def test_two_scripts_at_once_share_one_sandbox(env: dict[str, str]) -> None:
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda name: probe(env, "create", name), ["alpha", "beta"])
    assert first["pid"] == second["pid"]
    assert first["port"] == second["port"]
    assert probe(env)["ugroups"] == ["alpha", "beta"]


def test_state_survives_a_restart_of_the_kernel_and_of_the_sandbox(env: dict[str, str]) -> None:
    created = probe(env, "create", "persistent")
    again = probe(env)  # a new interpreter: a restarted kernel
    assert again["pid"] == created["pid"]
    assert again["ugroups"] == ["persistent"]
    stopped = run_python("from vcpsdk import embedded; print(embedded.stop_sandbox())", env)
    assert stopped.stdout.strip() == "True"
    restarted = probe(env)  # starts a new server on the same state
    assert restarted["pid"] != created["pid"]
    assert restarted["ugroups"] == ["persistent"]


def test_a_wrong_token_is_refused_by_the_sandbox_too(env: dict[str, str]) -> None:
    probe(env)  # start it
    result = run_python(
        "from vcpsdk.vcpsdk import VcpSDK\n"
        "from vcpsdk.errors import VcpAuthError\n"
        "try:\n    VcpSDK('not-a-token')\nexcept VcpAuthError as e:\n    print(e.args, e)\n",
        env,
    )
    assert "('VCP', 'config vc failed')" in result.stdout, result.stderr
    # the status is reported once, by the exception (no log record printed without logging set up)
    assert "http_status(403)" in result.stdout
    assert result.stderr == ""


def vcc_sandbox_status(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vcpsdk.controller.cli", "sandbox", "status"],
        env={**run_env(), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_vcc_sandbox_status_says_whether_it_runs(env: dict[str, str]) -> None:
    before = vcc_sandbox_status(env)
    assert before.returncode == 3 and "sandbox not running" in before.stdout
    info = probe(env)
    running = vcc_sandbox_status(env)
    assert running.returncode == 0, running.stderr
    assert (
        f"sandbox running at http://127.0.0.1:{info['port']}/vcp/v1/occtr (pid {info['pid']}"
        in running.stdout
    )
    # this host has bubblewrap (scripts/setup.sh): the sandbox says its nodes are confined
    assert "sandbox nodes are confined (bubblewrap)" in running.stdout


def test_vcc_sandbox_status_reports_pid_url_ssh_port_and_counts(
    env: dict[str, str], vcp_pubkey: Path
) -> None:
    stopped = vcc_sandbox_status(env)
    assert stopped.returncode == 3
    assert stopped.stdout.splitlines()[0] == (
        f"sandbox not running (stopped; state {Path(env['VCPSDK_DATA_DIR']) / 'sandbox'})"
    )
    assert "vcc sandbox start" in stopped.stdout

    info = probe(env)
    empty = vcc_sandbox_status(env).stdout.splitlines()
    assert empty[0].startswith(
        f"sandbox running at http://127.0.0.1:{info['port']}/vcp/v1/occtr (pid {info['pid']}"
    )
    assert empty[1].startswith("sandbox nodes are")  # confined or not, and why
    port = env["VCPSDK_SANDBOX_SSH_PORT"]
    assert empty[2] == f"sandbox SSH port {port}, else 2222 (decided when the first node starts)"
    assert empty[3] == "sandbox holds 0 UnitGroups, 0 nodes, 0 disks (every user's)"

    created = run_python(
        "from vcpsdk.vcpsdk import VcpSDK\n"
        "vcp = VcpSDK()\n"
        "spec = vcp.get_spec('aws', 'small')\n"
        f"spec.set_ssh_pubkey({str(vcp_pubkey)!r})\n"
        "spec.num_nodes = 2\n"
        "vcp.create_ugroup('counted').create_unit('web', spec)\n"
        "disk = vcp.get_spec('aws_disk', 'small')\n"
        "vcp.create_ugroup('stored', 'storage').create_unit('data', disk)\n",
        env,
    )
    assert created.returncode == 0, created.stderr[-3000:]
    counted = vcc_sandbox_status(env)
    assert counted.returncode == 0
    lines = counted.stdout.splitlines()
    assert lines[2] == f"sandbox SSH port {port} (ssh -p {port} root@<node address>)"
    assert lines[3] == "sandbox holds 2 UnitGroups, 2 nodes (2 RUNNING), 1 disk (every user's)"


def test_status_says_when_nodes_are_not_confined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vcpsdk import embedded

    monkeypatch.setenv("VCPSDK_DATA_DIR", str(tmp_path))
    assert embedded.node_confinement() == "node confinement unknown"  # never started
    state = embedded.data_dir() / "state"
    state.mkdir(parents=True)
    (state / "confinement.json").write_text(json.dumps({"confined": False, "reason": "bwrap: no userns"}))
    assert embedded.node_confinement() == "nodes are NOT confined: bwrap: no userns"
    (state / "confinement.json").write_text(json.dumps({"confined": True, "reason": ""}))
    assert embedded.node_confinement() == "nodes are confined (bubblewrap)"


def test_status_lines_when_the_contents_cannot_be_read(tmp_path: Path) -> None:
    from vcpsdk.embedded import SandboxStatus

    status = SandboxStatus(
        running=True, data_dir=tmp_path, pid=42, url="http://127.0.0.1:1/vcp/v1/occtr", problem="no token"
    )
    assert status.lines()[2] == "sandbox SSH port unknown, else 2222 (decided when the first node starts)"
    assert status.lines()[3] == "sandbox holds unknown UnitGroups and nodes (no token)"


RESTART = """
import json
from vcpsdk import embedded
from vcpsdk.errors import VcpConnectionError
from vcpsdk.vcpsdk import VcpSDK
vcp = VcpSDK()
embedded.stop_sandbox()
try:
    vcp.df_ugroups()
except VcpConnectionError as error:
    print(json.dumps({"args": list(error.args), "hint": error.hint}))
"""


def test_a_vcpsdk_of_a_stopped_sandbox_says_to_connect_again(env: dict[str, str]) -> None:
    """Trial 15, finding 6: no hint about a vcp_config.yml the sandbox user does not have."""
    result = subprocess.run(
        [sys.executable, "-c", RESTART], env={**run_env(), **env}, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    error = json.loads(result.stdout.strip().splitlines()[-1])
    assert error["args"] == ["VCP", "server error"]  # as before
    assert "vcp = VcpSDK()" in error["hint"] and "vcc sandbox status" in error["hint"]
    assert "vcp_config.yml" not in error["hint"]


TIMEOUT_PROBE = """
import sys
from vcpsdk.vcpsdk import VcpSDK
vcp = VcpSDK(config_dir=sys.argv[1])
print("timeout", vcp.version_dict()["vc_controller"]["wait_timeout_sec"])
"""


def test_the_sandbox_honours_the_configured_wait_timeout(env: dict[str, str], tmp_path: Path) -> None:
    """Trial 15, finding 7."""
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "vcp_config.yml").write_text("vcc:\n  wait_timeout_sec: 3\n")
    result = subprocess.run(
        [sys.executable, "-c", TIMEOUT_PROBE, str(tmp_path / "cfg")],
        env={**run_env(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "timeout 3"


def test_vcc_sandbox_start_takes_help_and_a_boot_delay_and_status_shows_it(env: dict[str, str]) -> None:
    """Trial 15, finding 10."""

    def vcc(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "vcpsdk.controller.cli", "sandbox", *args],
            env={**run_env(), **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    helped = vcc("start", "--help")
    assert helped.returncode == 0 and "--boot-delay" in helped.stdout
    assert vcc("status", "--what").returncode == 2
    started = vcc("start", "--boot-delay", "3")
    assert started.returncode == 0, started.stderr
    status = vcc("status")
    assert status.returncode == 0 and status.stdout.startswith("sandbox running at ")  # | grep works
    assert "sandbox nodes boot in 3.0 s" in status.stdout
