"""File transfer: sftp (batch mode), scp in both protocols, VcNode.scp."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from vcpsdk.errors import VcpRemoteCommandError
from vcpsdk.node import VcNode

from .conftest import client, home_of, sftp_batch, ssh_text


def _random_file(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.write_bytes(data)
    return data


def test_sftp_batch_put_ls_get(node: VcNode, key: Path, tmp_path: Path, live_controller) -> None:
    data = _random_file(tmp_path / "local.bin", 1_500_000)
    batch = (
        f"put {tmp_path / 'local.bin'} remote.bin\n"
        "mkdir dir\n"
        f"put {tmp_path / 'local.bin'} dir/copy.bin\n"
        "ls -1\n"
        "ls -1 dir\n"
        f"get remote.bin {tmp_path / 'back.bin'}\n"
    )
    result = sftp_batch(node, key, batch)
    assert result.returncode == 0, result.stderr
    listing = result.stdout.decode()
    assert "remote.bin" in listing and "dir/copy.bin" in listing
    assert (tmp_path / "back.bin").read_bytes() == data
    home = home_of(live_controller.state_dir, node)
    assert (home / "remote.bin").read_bytes() == data
    assert (home / "dir" / "copy.bin").read_bytes() == data


# SFTP inside the home without confinement: test_unconfined.py; confined: test_confinement.py


def test_sftp_with_another_key_is_refused(node: VcNode, other_key: Path) -> None:
    result = sftp_batch(node, other_key, "ls\n")
    assert result.returncode == 255
    assert b"Permission denied" in result.stderr


@pytest.mark.parametrize("protocol", [["-O"], []], ids=["scp-protocol", "sftp-protocol"])
def test_scp_upload_and_download(
    node: VcNode, key: Path, tmp_path: Path, live_controller, protocol: list[str]
) -> None:
    data = _random_file(tmp_path / "up.bin", 2_000_000)
    target = f"root@{node.cloud_instance_address}"
    up = client("scp", node, key, *protocol, str(tmp_path / "up.bin"), f"{target}:copied.bin")
    assert up.returncode == 0, up.stderr
    assert (home_of(live_controller.state_dir, node) / "copied.bin").read_bytes() == data
    assert ssh_text(node, key, "wc -c < copied.bin").strip() == "2000000"
    down = client("scp", node, key, *protocol, f"{target}:copied.bin", str(tmp_path / "down.bin"))
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "down.bin").read_bytes() == data


@pytest.mark.parametrize("protocol", [["-O"], []], ids=["scp-protocol", "sftp-protocol"])
def test_scp_recursive(node: VcNode, key: Path, tmp_path: Path, live_controller, protocol: list[str]) -> None:
    tree = tmp_path / "tree"
    (tree / "inner").mkdir(parents=True)
    (tree / "a.txt").write_text("a\n")
    (tree / "inner" / "b.txt").write_text("b\n")
    target = f"root@{node.cloud_instance_address}"
    up = client("scp", node, key, *protocol, "-r", str(tree), f"{target}:")
    assert up.returncode == 0, up.stderr
    home = home_of(live_controller.state_dir, node)
    assert (home / "tree" / "inner" / "b.txt").read_text() == "b\n"
    down = client("scp", node, key, *protocol, "-r", f"{target}:tree", str(tmp_path / "back"))
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "back" / "a.txt").read_text() == "a\n"
    assert (tmp_path / "back" / "inner" / "b.txt").read_text() == "b\n"


def test_scp_of_a_missing_file_fails(node: VcNode, key: Path, tmp_path: Path) -> None:
    result = client(
        "scp", node, key, "-O", f"root@{node.cloud_instance_address}:nothing.here", str(tmp_path / "x")
    )
    assert result.returncode != 0
    assert not (tmp_path / "x").exists()


def test_vcnode_scp(node: VcNode, key: Path, tmp_path: Path, live_controller) -> None:
    data = _random_file(tmp_path / "file.bin", 700_000)
    node.scp(str(tmp_path / "file.bin"), "uploaded.bin", private_key_path=str(key))
    assert (home_of(live_controller.state_dir, node) / "uploaded.bin").read_bytes() == data
    out, _ = node.ssh_exec("sha256sum uploaded.bin", private_key_path=str(key))
    assert out.split()[0] == hashlib.sha256(data).hexdigest()
    with pytest.raises(VcpRemoteCommandError) as caught:
        node.scp(str(tmp_path / "missing.bin"), "x.bin", private_key_path=str(key))
    assert caught.value.exit_status != 0
