"""A kill -9 during disk creation leaves no disk without an owner (issue 14, item 4).

A real ``vcc serve`` makes sandbox disks slowly (``VCC_SANDBOX_DISK_DELAY``) and is
killed when some, or all, of a unit's disk directories exist; after a restart the
re-run reuses them, every directory belongs to a disk of the store, and deleting the
UnitGroup removes them all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vcpsdk.controller.backends.sandbox.backend import DISK_DELAY_ENV, PARTIAL_PREFIX
from vcpsdk.core.polling import poll
from vcpsdk.testing.serve import vcc_serve
from vcpsdk.vcpsdk import VcpSDK

DISKS = 4


def disk_dirs(state: Path) -> list[str]:
    """Names of the directories under ``<state>/disks``."""
    root = state / "disks"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def made(state: Path) -> int:
    """Disk directories made whole (not the one being made)."""
    return sum(not name.startswith(PARTIAL_PREFIX) for name in disk_dirs(state))


@pytest.mark.parametrize("kill_after", [1, DISKS // 2 + 1, DISKS])
def test_kill_during_disk_creation_leaves_no_orphan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kill_after: int
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv(DISK_DELAY_ENV, "0.4")
    with vcc_serve(state) as served:
        token = served.create_token("crash")
        vcp = VcpSDK(token, config_dir=str(served.write_config(tmp_path / "cfg1")))
        ug = vcp.create_ugroup("disks", ugroup_type="storage")
        spec = vcp.get_spec("aws_disk", "small")
        spec.num_disks = DISKS
        ug.create_unit("data", spec, wait_for=False)
        poll(lambda: made(state), lambda n: n >= kill_after, timeout=60, interval=0.01)
        served.process.kill()  # kill -9 in the middle of the disks
        served.process.wait()
    first_attempt = [name for name in disk_dirs(state) if not name.startswith(PARTIAL_PREFIX)]
    assert len(first_attempt) >= kill_after
    monkeypatch.delenv(DISK_DELAY_ENV)
    with vcc_serve(state) as served:
        vcp = VcpSDK(token, config_dir=str(served.write_config(tmp_path / "cfg2")))
        again = vcp.get_ugroup("disks")
        assert again is not None
        unit = again.wait_unit_applied("data")
        disks = unit.find_nodes()
        assert unit.state == "RUNNING" and [d.state for d in disks] == ["RUNNING"] * DISKS
        owned = sorted(d.cloud_disk_id for d in disks)
        # every directory has its disk, and what the first attempt made was reused
        assert disk_dirs(state) == owned
        assert set(first_attempt) <= set(owned)
        again.cleanup()
        assert vcp.get_ugroup("disks") is None
        poll(lambda: disk_dirs(state), lambda names: names == [], timeout=30, interval=0.05)


def test_restart_removes_disk_directories_no_disk_owns(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with vcc_serve(state) as served:
        token = served.create_token("sweep")
        vcp = VcpSDK(token, config_dir=str(served.write_config(tmp_path / "cfg1")))
        ug = vcp.create_ugroup("kept", ugroup_type="storage")
        spec = vcp.get_spec("aws_disk", "small")
        spec.num_disks = 2
        kept = sorted(d.cloud_disk_id for d in ug.create_unit("data", spec).find_nodes())
    # left by a crash: a disk whose row was never written, and one half made
    (state / "disks" / "sbx-vol-0123456789abcdef").mkdir()
    (state / "disks" / f"{PARTIAL_PREFIX}sbx-vol-fedcba9876543210").mkdir()
    with vcc_serve(state) as served:
        vcp = VcpSDK(token, config_dir=str(served.write_config(tmp_path / "cfg2")))
        again = vcp.get_ugroup("kept")  # answered once the controller has started
        assert again is not None
        assert disk_dirs(state) == kept  # swept before the controller served
        unit = again.get_unit("data")
        assert unit is not None
        assert sorted(d.cloud_disk_id for d in unit.find_nodes()) == kept
