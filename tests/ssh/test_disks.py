"""Disks of a storage UnitGroup seen from inside the nodes they are attached to."""

from __future__ import annotations

from pathlib import Path

from vcpsdk.testing.keys import public_key_of
from vcpsdk.vcpsdk import VcpSDK

from .conftest import home_of, inner_disk, ssh_text


def _compute_with(sdk: VcpSDK, key: Path, group: str, disks: list) -> object:
    ug = sdk.create_ugroup(group)
    spec = sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(public_key_of(key)))
    spec.disks = disks
    unit = ug.create_unit("server", spec)
    assert unit.state == "RUNNING"
    return ug


def test_disk_data_outlives_the_compute_node(vcp_sdk: VcpSDK, key: Path, live_controller) -> None:
    storage = vcp_sdk.create_ugroup("storage", "storage")
    spec = vcp_sdk.get_spec("aws_disk", "small")
    spec.num_disks = 1
    storage.create_unit("data", spec)
    [disk] = storage.find_nodes()
    disk_dir = Path(live_controller.state_dir) / "disks" / disk.cloud_disk_id
    assert disk_dir.is_dir()

    first = _compute_with(vcp_sdk, key, "compute1", storage.find_nodes())
    [node] = first.find_nodes()
    env = dict(line.split("=", 1) for line in ssh_text(node, key, "env").splitlines() if "=" in line)
    mount = env["VCP_DISK_XVDF"]
    assert mount == inner_disk(live_controller.state_dir, node, "xvdf")
    assert ssh_text(node, key, 'test -d "$VCP_DISK_XVDF" && echo dir') == "dir\n"
    ssh_text(node, key, 'echo persisted > "$VCP_DISK_XVDF/data.txt"; ls mnt/xvdf')
    assert (disk_dir / "data.txt").read_text() == "persisted\n"

    first.cleanup()
    assert not home_of(live_controller.state_dir, node).exists()
    [disk] = storage.find_nodes()
    assert disk.used_state == "un-use"
    assert (disk_dir / "data.txt").read_text() == "persisted\n"

    second = _compute_with(vcp_sdk, key, "compute2", storage.find_nodes())
    [again] = second.find_nodes()
    assert again.id != node.id
    assert ssh_text(again, key, 'cat "$VCP_DISK_XVDF/data.txt"') == "persisted\n"
    assert ssh_text(again, key, "cat mnt/xvdf/data.txt") == "persisted\n"

    second.cleanup()
    storage.cleanup()
    assert vcp_sdk.get_ugroup("storage") is None
    assert not disk_dir.exists()


def test_two_disks_are_xvdf_and_xvdg(vcp_sdk: VcpSDK, key: Path) -> None:
    storage = vcp_sdk.create_ugroup("storage", "storage")
    spec = vcp_sdk.get_spec("aws_disk", "small")
    spec.num_disks = 2
    storage.create_unit("data", spec)
    compute = _compute_with(vcp_sdk, key, "compute", storage.find_nodes())
    [node] = compute.find_nodes()
    assert [v["device_name"] for v in node.volumes] == ["/dev/xvdf", "/dev/xvdg"]
    ssh_text(node, key, 'echo f > "$VCP_DISK_XVDF/which"; echo g > "$VCP_DISK_XVDG/which"')
    assert ssh_text(node, key, "cat mnt/xvdf/which mnt/xvdg/which") == "f\ng\n"
