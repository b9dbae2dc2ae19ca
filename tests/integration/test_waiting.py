"""Waiting: the configured timeout, recovery after it, and the progress log lines."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.helpers import sdk_messages
from vcpsdk.errors import VcpConflictError, VcpTimeoutError
from vcpsdk.testing import RunningController, running_controller
from vcpsdk.testing.units import connect_sdk
from vcpsdk.vcpsdk import VcpSDK

BOOT_DELAY = 3


@pytest.fixture(scope="module")
def slow_controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningController]:
    """A controller whose sandbox nodes take a few seconds to boot."""
    with running_controller(tmp_path_factory.mktemp("slow"), boot_delay=BOOT_DELAY) as running:
        yield running


def _slow_sdk(slow_controller: RunningController, tmp_path: Path, user: str, **vcc: object) -> VcpSDK:
    config_dir = tmp_path / f"slow-{user}-{vcc.get('wait_timeout_sec')}"
    return connect_sdk(slow_controller, config_dir, user, **vcc)


def test_wait_timeout_sec_is_honoured_and_the_unit_recoverable(
    slow_controller: RunningController, tmp_path: Path, vcp_pubkey: Path, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="vcp.sdk")
    sdk = _slow_sdk(slow_controller, tmp_path, "impatient", wait_timeout_sec=1)
    ug = sdk.create_ugroup("slow")
    spec = sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(vcp_pubkey))
    with pytest.raises(VcpTimeoutError) as info:
        ug.create_unit("sleepy", spec)
    assert info.value.args == ("VCP", "Full of waiting time (sleepy)")
    assert "Full of waiting time (sleepy)" in sdk_messages(caplog, logging.ERROR)
    assert "BOOTING ... 0 sec" in sdk_messages(caplog, logging.INFO)

    # the SDK gave up before the node had booted; the operation goes on on the controller
    unit = ug.get_unit("sleepy")
    assert unit is not None
    assert unit.state == "BOOTING"
    patient = _slow_sdk(slow_controller, tmp_path, "impatient", wait_timeout_sec=60)
    recovered = patient.get_ugroup("slow").wait_unit_applied("sleepy")
    assert recovered.state == "RUNNING"
    assert [n.state for n in unit.find_nodes()] == ["RUNNING"]


def test_version_shows_the_configured_wait_timeout(
    slow_controller: RunningController, tmp_path: Path, capsys
) -> None:
    sdk = _slow_sdk(slow_controller, tmp_path, "versioned", wait_timeout_sec=1)
    sdk.version()
    assert yaml.safe_load(capsys.readouterr().out)["vc_controller"]["wait_timeout_sec"] == 1


def test_progress_lines_while_booting(
    slow_controller: RunningController, tmp_path: Path, vcp_pubkey: Path, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="vcp.sdk")
    sdk = _slow_sdk(slow_controller, tmp_path, "patient", wait_timeout_sec=60)
    ug = sdk.create_ugroup("slow")
    spec = sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(vcp_pubkey))
    unit = ug.create_unit("sleepy", spec)
    assert unit.state == "RUNNING"
    info = sdk_messages(caplog, logging.INFO)
    assert "BOOTING ... 0 sec" in info
    assert "unit sleepy is RUNNING" in info
    assert info.index("BOOTING ... 0 sec") < info.index("unit sleepy is RUNNING")


def test_unit_is_running_logged_without_delay(vcp_sdk: VcpSDK, compute_spec, caplog) -> None:
    caplog.set_level(logging.INFO, logger="vcp.sdk")
    vcp_sdk.create_ugroup("quick").create_unit("fast", compute_spec())
    assert "unit fast is RUNNING" in sdk_messages(caplog, logging.INFO)


def test_async_create_shows_booting_then_running(
    slow_controller: RunningController, tmp_path: Path, vcp_pubkey: Path
) -> None:
    sdk = _slow_sdk(slow_controller, tmp_path, "async-user", wait_timeout_sec=60)
    ug = sdk.create_ugroup("slow")
    spec = sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(vcp_pubkey))
    ug.create_unit("sleepy", spec, wait_for=False)
    assert list(ug.df_units()["unit_state"]) == ["BOOTING"]
    assert list(ug.df_nodes().data["node_state"]) == ["BOOTING"]
    assert ug.state == "APPLYING"
    unit = ug.wait_unit_applied("sleepy")
    assert unit.state == "RUNNING"
    assert list(ug.df_nodes().data["node_state"]) == ["RUNNING"]
    assert ug.state == "RUNNING"


def test_add_nodes_progress_lines(
    slow_controller: RunningController, tmp_path: Path, vcp_pubkey: Path, caplog
) -> None:
    sdk = _slow_sdk(slow_controller, tmp_path, "grower", wait_timeout_sec=60)
    ug = sdk.create_ugroup("slow")
    spec = sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(vcp_pubkey))
    spec.num_nodes = 0
    unit = ug.create_unit("grow", spec)
    caplog.set_level(logging.INFO, logger="vcp.sdk")
    [added] = unit.add_nodes()
    assert added.state == "RUNNING"
    info = sdk_messages(caplog, logging.INFO)
    assert any(line.endswith(" ... 0 sec") for line in info)
    assert info[-2:] == ["unit grow is RUNNING", "add_node completed."]


def test_delete_and_cleanup_log_lines(vcp_sdk: VcpSDK, compute_spec, caplog) -> None:
    ug = vcp_sdk.create_ugroup("logged")
    unit = ug.create_unit("u", compute_spec(num_nodes=2))
    caplog.set_level(logging.INFO, logger="vcp.sdk")
    unit.delete_nodes()
    assert sdk_messages(caplog, logging.INFO)[-2:] == ["a node deleted.", "deleted node(s) completed."]
    caplog.clear()
    ug.cleanup()
    assert sdk_messages(caplog, logging.INFO)[-1] == "cleanup completed. vc logged is cleanup(no unit)"


def test_add_nodes_while_the_unit_is_booting_is_refused(
    slow_controller: RunningController, tmp_path: Path, vcp_pubkey: Path
) -> None:
    sdk = _slow_sdk(slow_controller, tmp_path, "hasty", wait_timeout_sec=60)
    ug = sdk.create_ugroup("slow")
    spec = sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(vcp_pubkey))
    unit = ug.create_unit("booting", spec, wait_for=False)
    with pytest.raises(VcpConflictError) as info:
        unit.add_nodes()
    assert info.value.args == ("VCP", "add node failed")
    assert info.value.http_status == 409
    assert "unit is now processing" in str(info.value)
    assert [(n.no, n.state) for n in unit.find_nodes()] == [(1, "BOOTING")]
