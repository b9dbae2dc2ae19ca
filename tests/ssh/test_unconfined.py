"""A host that cannot confine nodes: one user's nodes at a time, unless the operator
passes ``--allow-unconfined-nodes`` (``ControllerSettings.allow_unconfined_nodes``).

"Cannot confine" is simulated by pointing ``sandbox_bwrap`` at a missing program or at
``false`` (bwrap runs but fails, as where user namespaces are refused).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vcpsdk.errors import VcpInvalidArgumentError
from vcpsdk.testing import RunningController, running_controller
from vcpsdk.testing.keys import public_key_of
from vcpsdk.testing.units import connect_sdk, create_running_unit
from vcpsdk.vcpsdk import VcpSDK

from .conftest import home_of, sftp_batch, ssh_text

UNCONFINABLE = ["/nonexistent/bwrap", "false"]


@pytest.fixture
def make_controller(tmp_path: Path) -> Iterator[Callable[..., RunningController]]:
    """``make(bwrap, allow=False)``: a controller of the test with that bubblewrap."""
    opened: list[Any] = []

    def make(bwrap: str, allow: bool = False) -> RunningController:
        context = running_controller(
            tmp_path / f"state{len(opened)}", sandbox_bwrap=bwrap, allow_unconfined_nodes=allow
        )
        opened.append(context)
        return context.__enter__()

    yield make
    for context in reversed(opened):
        context.__exit__(None, None, None)


def _sdks(controller: RunningController, tmp_path: Path) -> tuple[VcpSDK, VcpSDK]:
    return (
        connect_sdk(controller, tmp_path / "cfg-alice", "alice"),
        connect_sdk(controller, tmp_path / "cfg-bob", "bob"),
    )


@pytest.mark.parametrize("bwrap", UNCONFINABLE)
def test_second_user_is_refused_naming_the_flag(
    make_controller: Callable[..., RunningController], key: Path, tmp_path: Path, bwrap: str
) -> None:
    controller = make_controller(bwrap)
    status = json.loads((Path(controller.state_dir) / "confinement.json").read_text())
    assert status["confined"] is False and status["reason"]
    alice, bob = _sdks(controller, tmp_path)
    first = create_running_unit(alice, public_key_of(key), "grp", "a1")
    create_running_unit(alice, public_key_of(key), "grp", "a2")  # the same user: fine
    group = bob.create_ugroup("grp")
    spec = bob.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(public_key_of(key)))
    with pytest.raises(VcpInvalidArgumentError) as refused:  # at request time, nothing made
        group.create_unit("b1", spec)
    message = refused.value.server_message or ""
    assert "--allow-unconfined-nodes" in message and "cannot be confined" in message
    assert "alice" not in message  # who holds the host is not told
    assert group.find_units() == []  # no unit, no node row, no address held (trial 14 #15)
    assert not list((Path(controller.state_dir) / "nodes").glob("*/node.json"))[2:]  # alice's two only
    first.group.cleanup()
    group.cleanup()
    create_running_unit(bob, public_key_of(key), "grp2", "b2")  # the host is free again


@pytest.mark.parametrize("bwrap", UNCONFINABLE)
def test_operator_may_allow_unconfined_nodes(
    make_controller: Callable[..., RunningController], key: Path, tmp_path: Path, bwrap: str
) -> None:
    controller = make_controller(bwrap, allow=True)
    status = json.loads((Path(controller.state_dir) / "confinement.json").read_text())
    assert status == {"confined": False, "reason": status["reason"], "allow_unconfined_nodes": True}
    alice, bob = _sdks(controller, tmp_path)
    _, _, [a] = create_running_unit(alice, public_key_of(key), "grp", "a")
    _, _, [b] = create_running_unit(bob, public_key_of(key), "grp", "b")
    assert ssh_text(b, key, "echo $VCP_NODE_ID") == f"{b.id}\n"
    assert ssh_text(a, key, "echo $VCP_NODE_ID") == f"{a.id}\n"


def test_unconfined_sftp_stays_inside_the_home(
    make_controller: Callable[..., RunningController], key: Path, tmp_path: Path
) -> None:
    """Without confinement SFTP is served in-process, chrooted to the node's home."""
    controller = make_controller(UNCONFINABLE[0])
    alice, _ = _sdks(controller, tmp_path)
    _, _, [node] = create_running_unit(alice, public_key_of(key), "grp", "a")
    (tmp_path / "a.txt").write_text("abs\n")
    result = sftp_batch(node, key, f"put {tmp_path / 'a.txt'} /abs.txt\npwd\nls -1 /\n")
    assert result.returncode == 0, result.stderr
    assert (home_of(controller.state_dir, node) / "abs.txt").read_text() == "abs\n"
    assert "Remote working directory: /\n" in result.stdout.decode()
    # the host's /etc/hostname is not reachable: "/" is the node's home
    result = sftp_batch(node, key, f"get /etc/hostname {tmp_path / 'h'}\n")
    assert result.returncode != 0
    assert not (tmp_path / "h").exists()


def test_vcc_serve_has_the_flag() -> None:
    from vcpsdk.controller.cli import _settings, build_parser

    args = build_parser().parse_args(["serve", "--state-dir", "/nonexistent", "--allow-unconfined-nodes"])
    assert _settings(args).allow_unconfined_nodes is True
    args = build_parser().parse_args(["serve", "--state-dir", "/nonexistent"])
    assert _settings(args).allow_unconfined_nodes is False
