"""``vcc sandbox run``: the namespace's network, the command's exit status, tear-down."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import SCRIPTS, VCC, environment, sandbox_run

pytestmark = pytest.mark.usefixtures("namespaces")


@pytest.fixture
def host_listener() -> Iterator[int]:
    """A TCP listener on the host's 127.0.0.1 (never reachable from inside the namespace)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def _leftovers(marker: str) -> list[str]:
    """Command lines of processes that still mention ``marker`` (the run's data dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in line:
            found.append(line)
    return found


def test_only_lo_exists_and_nothing_leaves_the_namespace(host_listener: int) -> None:
    result = sandbox_run(sys.executable, str(SCRIPTS / "isolation.py"), str(host_listener))
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.splitlines()[-1])
    assert seen["interfaces"] == ["lo"]
    # no route but the namespace's own loopback ones (local/broadcast entries of lo)
    for line in seen["routes"]["-4"].splitlines() + seen["routes"]["-6"].splitlines():
        assert " dev lo " in f"{line} " and not line.startswith("default"), line
    # the host's 127.0.0.1 listener is not this namespace's 127.0.0.1
    assert seen["connect"]["127.0.0.1"] == "ECONNREFUSED"
    assert seen["connect"]["::1"] == "ECONNREFUSED"
    outside = {a: r for a, r in seen["connect"].items() if a not in ("127.0.0.1", "::1")}
    assert len(outside) == 6
    assert set(outside.values()) == {"ENETUNREACH"}, outside


def test_the_commands_exit_status_is_returned_and_everything_is_torn_down() -> None:
    result = sandbox_run("sh", "-c", 'echo "$VCPSDK_DATA_DIR"; exit 7')
    assert result.returncode == 7, result.stderr
    data_dir = result.stdout.strip()
    assert data_dir and not Path(data_dir).exists()  # the run's own directory is removed
    assert _leftovers(data_dir) == []


def test_the_command_finds_the_controller_with_only_the_token(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "vcp_flavor.yml").write_text("aws:\n  small: {instance_type: t3.small}\n")
    (tmp_path / "mine" / "vcp_config.yml").write_text("vcc: {host: vcc.example.invalid}\nother: kept\n")
    script = (
        "import os, yaml, pathlib, requests\n"
        "d = pathlib.Path(os.environ['VCPSDK_CONFIG_DIR'])\n"
        "print(sorted(p.name for p in d.iterdir()))\n"
        "print(yaml.safe_load((d / 'vcp_config.yml').read_text()))\n"
        "print(requests.get(os.environ['VCPSDK_SANDBOX_URL'] + '/health').status_code)\n"
        "print(len(pathlib.Path(os.environ['VCPSDK_SANDBOX_TOKEN_FILE']).read_text().strip()) > 10)\n"
    )
    result = sandbox_run(
        sys.executable, "-c", script, options=("--boot-delay", "0", "--config-dir", str(tmp_path / "mine"))
    )
    assert result.returncode == 0, result.stderr
    names, config, health, token = result.stdout.splitlines()
    assert names == "['vcp_config.yml', 'vcp_flavor.yml']"
    assert "'host': '127.0.0.1'" in config and "'scheme': 'http'" in config and "'other': 'kept'" in config
    assert (health, token) == ("200", "True")
    assert "token for the notebook's prompt" in result.stderr


@pytest.mark.parametrize(
    ("how", "signum"),
    [("ctrl_c", signal.SIGINT), ("sigterm", signal.SIGTERM)],
)
def test_a_signal_ends_the_command_and_tears_everything_down(how: str, signum: int) -> None:
    process = subprocess.Popen(
        [*VCC, "sandbox", "run", "--boot-delay", "0", "--", sys.executable, "-c",
         "import os, time; print(os.environ['VCPSDK_DATA_DIR'], flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
        start_new_session=True,  # its own process group: the "terminal" we press Ctrl-C in
    )  # fmt: skip
    try:
        assert process.stdout is not None
        data_dir = process.stdout.readline().strip()
        assert data_dir, process.stderr.read() if process.stderr else ""
        if how == "ctrl_c":  # the terminal sends SIGINT to the whole foreground group
            os.killpg(process.pid, signum)
        else:  # a service manager stops vcc sandbox run itself
            process.send_signal(signum)
        status = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert status == 128 + signum  # the command's own status: the signal ended it
    assert not Path(data_dir).exists()
    assert _leftovers(data_dir) == []


NOBODY = [
    "setpriv",
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all",
    "--bounding-set=-all",
]


def _interpreter_for_nobody() -> list[str]:
    """A Python that uid 65534 can run vcpsdk with, inside a user namespace too: this one,
    or the system's of the same version with this environment on PYTHONPATH (a virtualenv
    under /root is out of a normal user's reach)."""
    site = next(p for p in sys.path if p.endswith("site-packages"))
    repo = str(Path(__file__).parents[2])
    for python in (sys.executable, f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"):
        argv = ["env", f"PYTHONPATH={repo}{os.pathsep}{site}", python]
        probe = [*NOBODY, "unshare", "--user", "--map-root-user", *argv, "-c", "import vcpsdk.controller.cli"]
        if Path(python).exists() and subprocess.run(probe, capture_output=True, cwd="/").returncode == 0:
            return argv
    pytest.fail("no Python that uid 65534 may run has vcpsdk: install it where a normal user can read it")


def test_a_normal_user_gets_the_same_network_with_its_own_uid() -> None:
    inside = (
        "id -u; ip -o -4 addr show | awk '{print $2}'; python3 -c \"import urllib.request, os; "
        "print(urllib.request.urlopen(os.environ['VCPSDK_SANDBOX_URL'] + '/health').status)\""
    )
    python = _interpreter_for_nobody() if os.geteuid() == 0 else [sys.executable]
    command = [*python, "-m", "vcpsdk.controller.cli", "sandbox", "run", "--boot-delay", "0"]
    command += ["--", "sh", "-c", inside]
    if os.geteuid() == 0:  # as a normal user: nobody
        command = [*NOBODY, *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=environment(), cwd="/")
    assert result.returncode == 0, result.stderr
    uid, interfaces, health = result.stdout.split("\n", 2)
    assert uid == ("65534" if os.geteuid() == 0 else str(os.geteuid()))  # its own uid inside
    assert interfaces == "lo"
    assert health.strip() == "200"


def test_a_host_without_user_namespaces_gets_a_clear_error(tmp_path: Path) -> None:
    refusing = tmp_path / "unshare"
    refusing.write_text("#!/bin/sh\necho 'unshare: unshare failed: Operation not permitted' >&2\nexit 1\n")
    refusing.chmod(refusing.stat().st_mode | stat.S_IEXEC)
    result = sandbox_run("true", options=("--unshare", str(refusing)))
    assert result.returncode == 2
    assert (
        "cannot create a user and network namespace (unshare: unshare failed: Operation not permitted)"
        in (result.stderr)
    )
    assert "unprivileged user namespaces are disabled" in result.stderr
    missing = sandbox_run("true", options=("--unshare", str(tmp_path / "nowhere")))
    assert missing.returncode == 2 and "is not installed; apt-get install util-linux" in missing.stderr


def test_a_command_is_required() -> None:
    result = subprocess.run([*VCC, "sandbox", "run"], capture_output=True, text=True, env=environment())
    assert result.returncode == 2
    assert "give the command after --" in result.stderr


def test_sysfs_inside_shows_the_namespaces_interfaces_only() -> None:
    result = sandbox_run("sh", "-c", "ls /sys/class/net; ip -o link show | cut -d: -f2")
    assert result.returncode == 0, result.stderr
    names = result.stdout.split()
    assert names == ["lo", "lo"], names  # sysfs agrees with ip: no eth0 of the host


def test_the_interpreters_bin_dir_is_first_on_the_commands_path() -> None:
    bin_dir = str(Path(sys.executable).parent)
    env = environment()
    env["PATH"] = "/usr/bin:/bin"  # e.g. a venv's python started by its full path
    result = subprocess.run(
        [*VCC, "sandbox", "run", "--boot-delay", "0", "--", "sh", "-c", 'echo "$PATH"'],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split(os.pathsep) == [bin_dir, "/usr/bin", "/bin"]
