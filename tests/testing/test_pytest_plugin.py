"""The fixtures of ``vcpsdk.testing.pytest_plugin`` (loaded by the root conftest)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vcpsdk.testing import RunningController
from vcpsdk.testing.pytest_plugin import SshKeyPair
from vcpsdk.vcpsdk import VcpSDK

_seen: list[RunningController] = []


def test_live_controller_is_one_per_session(live_controller: RunningController) -> None:
    _seen.append(live_controller)
    assert live_controller.base_url == f"http://127.0.0.1:{live_controller.port}/vcp/v1/occtr"


def test_live_controller_is_the_same_in_the_next_test(live_controller: RunningController) -> None:
    assert all(seen is live_controller for seen in _seen)


def test_vcp_sdk_is_the_fresh_user_on_the_live_controller(
    vcp_sdk: VcpSDK, vcp_user: str, vcp_config_dir: Path, live_controller: RunningController
) -> None:
    assert vcp_sdk.authority()["user_name"] == vcp_user
    assert vcp_sdk.vcc_info()["host"] == f"127.0.0.1:{live_controller.port}"
    assert (vcp_config_dir / "vcp_config.yml").is_file()


def test_make_sdk_makes_other_users_and_superusers(
    make_vcp_sdk: Callable[..., VcpSDK], vcp_user: str
) -> None:
    other, su = make_vcp_sdk(), make_vcp_sdk(superuser=True)
    assert len({other.user, su.user, vcp_user}) == 3  # type: ignore[attr-defined]
    assert other.authority()["user_role"] == "regular"
    assert su.authority()["user_role"] == "superuser"


def test_ssh_keypair_is_a_real_openssh_key_pair(ssh_keypair: SshKeyPair) -> None:
    derived = subprocess.run(
        ["ssh-keygen", "-y", "-f", str(ssh_keypair.private)], capture_output=True, text=True, check=True
    ).stdout.split()[:2]
    assert ssh_keypair.public.read_text().split()[:2] == derived
    assert ssh_keypair.private.stat().st_mode & 0o077 == 0


def test_make_running_unit_gives_running_nodes_with_the_key(
    make_running_unit: Callable[..., Any],
    vcp_sdk: VcpSDK,
    vcp_pubkey: Path,
    live_controller: RunningController,
) -> None:
    group, unit, nodes = make_running_unit(ugroup="ready", unit="web", num_nodes=2)
    assert (group.name, unit.name, len(nodes)) == ("ready", "web", 2)
    assert all(n.state == "RUNNING" for n in nodes)
    again = make_running_unit(ugroup="ready", unit="db")
    assert again.group.name == "ready" and len(vcp_sdk.get_ugroup("ready").find_nodes()) == 3
    key = vcp_pubkey.read_text().split()[1]
    for node in nodes:
        authorized = live_controller.state_dir / "nodes" / node.id / "home" / ".ssh" / "authorized_keys"
        assert key in authorized.read_text()


def test_the_example_of_docs_testing_md(vcp_sdk: VcpSDK, ssh_keypair: SshKeyPair) -> None:
    spec = vcp_sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(ssh_keypair.public))
    unit = vcp_sdk.create_ugroup("mine").create_unit("web", spec)
    [node] = unit.find_nodes()
    stdout, _ = node.ssh_exec("echo hello", private_key_path=str(ssh_keypair.private))
    assert "hello" in stdout
    vcp_sdk.get_ugroup("mine").cleanup()  # the node goes, and with it the shared SSH connection
