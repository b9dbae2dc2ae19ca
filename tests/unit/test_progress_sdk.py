"""The SDK's waits show progress (switchable), and the library prints no log records by itself."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from vcpsdk.errors import VcpConfigError, VcpInvalidArgumentError
from vcpsdk.progress import PROGRESS_ENV
from vcpsdk.testing import RunningController, running_controller
from vcpsdk.testing.serve import subprocess_env
from vcpsdk.vcpsdk import VcpSDK

#: seconds a node takes to boot: long enough for the first read to see BOOTING
BOOT_DELAY = 1


@pytest.fixture(scope="module")
def slow_controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningController]:
    with running_controller(tmp_path_factory.mktemp("slow"), boot_delay=BOOT_DELAY) as running:
        yield running


def sdk(controller: RunningController, config_dir: Path, extra_yaml: str = "") -> VcpSDK:
    controller.write_config(config_dir)
    if extra_yaml:
        with (config_dir / "vcp_config.yml").open("a") as f:
            f.write(extra_yaml)
    return VcpSDK(controller.create_token("progress-user"), config_dir=str(config_dir))


def create_web(vcp: VcpSDK, pubkey: Path, group: str) -> None:
    spec = vcp.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(pubkey))
    spec.num_nodes = 2
    vcp.create_ugroup(group).create_unit("web", spec)


def test_create_unit_shows_progress_and_a_summary(
    slow_controller: RunningController, tmp_path: Path, vcp_pubkey: Path, capfd, monkeypatch
) -> None:
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    create_web(sdk(slow_controller, tmp_path), vcp_pubkey, "shown")
    lines = capfd.readouterr().err.splitlines()  # not a terminal: plain lines
    assert lines[0].startswith("shown/web: BOOTING 2 ... ")
    assert lines[-1].startswith("shown/web: RUNNING 2/2 (done in ")


def test_progress_off_by_environment(
    slow_controller: RunningController, tmp_path: Path, vcp_pubkey: Path, capfd, monkeypatch
) -> None:
    monkeypatch.setenv(PROGRESS_ENV, "0")
    create_web(sdk(slow_controller, tmp_path), vcp_pubkey, "quiet-env")
    assert capfd.readouterr() == ("", "")


def test_progress_off_by_config_key(
    slow_controller: RunningController, tmp_path: Path, vcp_pubkey: Path, capfd, monkeypatch
) -> None:
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    create_web(sdk(slow_controller, tmp_path, "progress: false\n"), vcp_pubkey, "quiet-config")
    assert capfd.readouterr() == ("", "")


def test_progress_key_must_be_a_boolean(slow_controller: RunningController, tmp_path: Path) -> None:
    with pytest.raises(VcpConfigError, match="progress must be true or false, got 'maybe'"):
        sdk(slow_controller, tmp_path, "progress: maybe\n")


def test_duplicates_carry_a_hint_naming_the_getter(vcp_sdk: VcpSDK, vcp_pubkey: Path) -> None:
    spec = vcp_sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(vcp_pubkey))
    ug = vcp_sdk.create_ugroup("twice")
    with pytest.raises(VcpInvalidArgumentError) as info:
        vcp_sdk.create_ugroup("twice")
    assert info.value.args == ("VCP", "aleady exist UnitGroup. change name or cleanup first!")
    assert "vcp.get_ugroup('twice')" in info.value.hint
    ug.create_unit("u", spec)
    with pytest.raises(VcpInvalidArgumentError) as info:
        ug.create_unit("u", spec)
    assert info.value.args == ("VCP", "already exist unit[u]")
    assert "ug.get_unit('u')" in info.value.hint


# -- logging: records for who asked, nothing printed for who did not ----------------------

SCRIPT = """
import logging, sys
{setup}
from vcpsdk.vcpsdk import VcpSDK
vcp = VcpSDK(sys.argv[1], config_dir=sys.argv[2])
vcp.create_ugroup("dup")
try:
    vcp.create_ugroup("dup")
except Exception as e:
    print("raised:", e)
"""


def run_script(
    controller: RunningController, config_dir: Path, setup: str
) -> subprocess.CompletedProcess[str]:
    controller.write_config(config_dir)
    token = controller.create_token("logging-user")
    code = textwrap.dedent(SCRIPT.format(setup=setup))
    env = subprocess_env()  # no proxies: 127.0.0.1 goes direct
    return subprocess.run(
        [sys.executable, "-c", code, token, str(config_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_an_error_is_shown_once_by_the_exception_when_logging_is_not_configured(
    slow_controller: RunningController, tmp_path: Path
) -> None:
    done = run_script(slow_controller, tmp_path, "")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "raised: aleady exist UnitGroup. change name or cleanup first!\n"
    assert done.stderr == ""  # no "log at ERROR then raise" through logging's last resort


def test_the_log_records_are_there_when_logging_is_configured(
    slow_controller: RunningController, tmp_path: Path
) -> None:
    done = run_script(slow_controller, tmp_path, "logging.basicConfig(level=logging.INFO)")
    assert "ERROR:vcp.sdk:aleady exist UnitGroup. change name or cleanup first!" in done.stderr


def test_the_library_adds_only_a_null_handler() -> None:
    handlers = logging.getLogger("vcp.sdk").handlers
    assert [type(h) for h in handlers] == [logging.NullHandler]
