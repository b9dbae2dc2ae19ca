"""Messages of reference §5.1 raised in the situations that produce them, and the log
lines of §5.2.

Every SDK error keeps the original's ``args == ("VCP", message)``.  The message
must be the reference text; our SDK may only append a hint (`` (did you mean
'x'?)`` and/or ``; <explanation>``), see ``support.matches_reference``.

Not reproducible through the public API, hence not in the table: ``authority
error``, ``publickey failed``, ``oc controller version failed`` (need a token
revoked after construction), ``create vc failed[: cannot find new vc]``, ``cci
template list error``, ``cci candidate failed``, ``add_server unit failed``,
``<op> unit failed`` for suspend/resume/stop/start (no such unit methods in §4.3),
``ip_address_list must array`` (the SDK checks ``ip_addresses is not list`` first),
``not completed!!!`` and ``initialize occtr failed`` (situation undocumented).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import sdk_messages
from vcpsdk.errors import (
    VcpAuthError,
    VcpConflictError,
    VcpInvalidArgumentError,
    VcpNotFoundError,
    VcpSDKError,
    VcpTimeoutError,
    VcpUnitFailedError,
)
from vcpsdk.node import VcNode
from vcpsdk.testing import RunningController
from vcpsdk.testing.units import connect_sdk, create_running_unit
from vcpsdk.vcpsdk import VcpSDK, VcpUnitClass, VcpUnitGroupClass

from .support import create_failed_unit, matches_reference, unique


@dataclass
class World:
    """One user with: compute group ``msgs`` (unit ``u``, two RUNNING nodes), a storage
    group (unit ``d``, one disk) and a unit whose node is in ERROR."""

    vcc: RunningController
    sdk: VcpSDK
    config_dir: Path
    pubkey: Path
    ug: VcpUnitGroupClass
    unit: VcpUnitClass
    node: VcNode
    disks: VcpUnitGroupClass
    disk_unit: VcpUnitClass
    disk: VcNode
    error_node: VcNode


@pytest.fixture(scope="module")
def world(live_controller: RunningController, tmp_path_factory: pytest.TempPathFactory) -> World:
    from vcpsdk.testing import write_test_public_key

    tmp = tmp_path_factory.mktemp("messages")
    config_dir = tmp / "cfg"
    sdk = connect_sdk(live_controller, config_dir, "messages")
    pubkey = write_test_public_key(tmp / "id.pub")
    ug, unit, nodes = create_running_unit(sdk, pubkey, ugroup="msgs", num_nodes=2)
    disks = sdk.create_ugroup("msgs-disk", "storage")
    disk_unit = disks.create_unit("d", sdk.get_spec("aws_disk", "small"))
    create_failed_unit(sdk, ug, pubkey, "broken", 201, nodes[0].ssh_port)
    [error_node] = ug.get_unit("broken").find_nodes()
    return World(
        live_controller,
        sdk,
        config_dir,
        pubkey,
        ug,
        unit,
        nodes[0],
        disks,
        disk_unit,
        disk_unit.find_nodes()[0],
        error_node,
    )


@dataclass
class Ctx:
    """What a trigger gets: the module's world and a factory of slow-controller SDKs."""

    w: World
    slow: Callable[..., VcpSDK]

    def spec(self, sdk: VcpSDK | None = None, provider: str = "aws", **attributes: Any) -> Any:
        spec = (sdk or self.w.sdk).get_spec(provider, "small")
        spec.set_ssh_pubkey(str(self.w.pubkey))
        for name, value in attributes.items():
            setattr(spec, name, value)
        return spec


@pytest.fixture
def ctx(world: World, make_slow_sdk) -> Ctx:
    return Ctx(world, make_slow_sdk)


def _cleaned_up_group(c: Ctx) -> VcpUnitGroupClass:
    group = c.w.sdk.create_ugroup(unique("gone"))
    group.cleanup()
    return group


def _stale_handle(c: Ctx) -> VcpUnitGroupClass:
    """A second object of a group that was cleaned up through the first."""
    name = unique("stale")
    first = c.w.sdk.create_ugroup(name)
    second = c.w.sdk.get_ugroup(name)
    first.cleanup()
    return second


def _deleted_node(c: Ctx) -> VcNode:
    _, unit, [node] = create_running_unit(c.w.sdk, c.w.pubkey)
    node.delete()
    unit.wait_nodes_applied()
    return node


def _deleted_unit(c: Ctx) -> VcpUnitClass:
    group, unit, _ = create_running_unit(c.w.sdk, c.w.pubkey)
    group.delete_units(unit.name, force=True)
    return unit


def _processing_unit(c: Ctx) -> VcpUnitClass:
    """A unit of the slow controller whose node is still booting."""
    sdk = c.slow()
    return sdk.create_ugroup("busy").create_unit("booting", c.spec(sdk), wait_for=False)


def _timeout(c: Ctx) -> None:
    sdk = c.slow(wait_timeout_sec=1)
    sdk.create_ugroup("impatient").create_unit("sleepy", c.spec(sdk))


def _failed(c: Ctx) -> None:
    raise create_failed_unit(c.w.sdk, c.w.ug, c.w.pubkey, "failing", 202, c.w.node.ssh_port)


def _bad_token(c: Ctx) -> None:
    VcpSDK("00000000-0000-4000-8000-000000000000", config_dir=str(c.w.config_dir))


def _on(which: str, op: str) -> Callable[[Ctx], Any]:
    """A trigger calling ``<world.which>.<op>()``."""
    return lambda c: getattr(getattr(c.w, which), op)()


def _bug(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"BUG: {reason}")


# (situation, exception class, expected args[1] (a regex for variable parts), logged, trigger)
MESSAGES: list[Any] = [
    ("bad token at VcpSDK()", VcpAuthError, "config vc failed", True, _bad_token),
    (
        "get_spec unknown provider",
        VcpInvalidArgumentError,
        "no flavor provider_name[nope] flavor[small]",
        True,
        lambda c: c.w.sdk.get_spec("nope", "small"),
    ),
    (
        "get_spec unknown flavor",
        VcpInvalidArgumentError,
        "no flavor provider_name[aws] flavor[huge]",
        True,
        lambda c: c.w.sdk.get_spec("aws", "huge"),
    ),
    (
        "get_extension unknown",
        VcpSDKError,
        "no extension provider_name[nosuch]",
        True,
        lambda c: c.w.sdk.get_extension("nosuch"),
    ),
    (
        "get_vpn_catalog unknown entry",
        VcpSDKError,
        "not exist in vpn_catalog, provider[aws] vpn_catalog_name[nope]",
        True,
        lambda c: c.w.sdk.get_vpn_catalog("aws", "nope"),
    ),
    (
        "get_vpn_catalog unknown provider",
        VcpSDKError,
        "not exist in vpn_catalog, provider[x] vpn_catalog_name[default]",
        True,
        lambda c: c.w.sdk.get_vpn_catalog("x"),
    ),
    (
        "create_ugroup existing name",
        VcpInvalidArgumentError,
        "aleady exist UnitGroup. change name or cleanup first!",
        True,
        lambda c: c.w.sdk.create_ugroup("msgs"),
    ),
    (
        "create_unit existing unit",
        VcpInvalidArgumentError,
        "already exist unit[u]",
        True,
        lambda c: c.w.ug.create_unit("u", c.spec()),
    ),
    (
        "create_unit storage spec in compute group",
        VcpInvalidArgumentError,
        "not much ugroup_type vc[compute] and spec[storage]",
        True,
        lambda c: c.w.ug.create_unit("x", c.w.sdk.get_spec("aws_disk", "small")),
    ),
    (
        "create_unit fixed IP outside the mask (controller 400)",
        VcpInvalidArgumentError,
        "can't create unit",
        True,
        lambda c: c.w.ug.create_unit("outside", c.spec(ip_addresses=["127.99.0.5"])),
    ),
    ("create_unit whose unit ends in ERROR", VcpUnitFailedError, "failed (failing)", False, _failed),
    (
        "create_unit longer than wait_timeout_sec",
        VcpTimeoutError,
        "Full of waiting time (sleepy)",
        True,
        _timeout,
    ),
    (
        "delete_units unknown unit",
        VcpInvalidArgumentError,
        "no unit unit_name[nope]",
        True,
        lambda c: c.w.ug.delete_units("nope"),
    ),
    (
        "delete_units with nodes, no force (409)",
        VcpConflictError,
        "delete unit failed",
        True,
        lambda c: c.w.ug.delete_units("u"),
    ),
    (
        "change_owner to an unknown user (400)",
        VcpInvalidArgumentError,
        "failed ugroup change owner http status(400)",
        True,
        lambda c: c.w.ug.change_owner("nobody-of-this-controller"),
    ),
    (
        "cleanup of a group already cleaned up (404)",
        VcpNotFoundError,
        "failed ugroup cleanup http status(404)",
        True,
        lambda c: _stale_handle(c).cleanup(),
    ),
    (
        "regular user cleanup(privileged=True) (403)",
        VcpAuthError,
        "failed ugroup cleanup http status(403)",
        True,
        lambda c: c.w.disks.cleanup(privileged=True),
    ),
    (
        "find_units on a group after its cleanup",
        VcpSDKError,
        "no yet setup unit_group",
        True,
        lambda c: _cleaned_up_group(c).find_units(),
    ),
    (
        "create_unit on a group after its cleanup",
        VcpSDKError,
        "no yet setup unit_group",
        True,
        lambda c: _cleaned_up_group(c).create_unit("x", c.spec()),
    ),
    (
        "stale group object after cleanup elsewhere",
        VcpSDKError,
        "no yet setup unit_group",
        True,
        lambda c: _stale_handle(c).df_units(),
    ),
    (
        "add_nodes ip_addresses not a list",
        VcpInvalidArgumentError,
        "ip_addresses is not list",
        True,
        lambda c: c.w.unit.add_nodes(ip_addresses="127.30.2.50"),
    ),
    (
        "add_nodes mac_addresses not a list",
        VcpInvalidArgumentError,
        "mac_addresses is not list",
        True,
        lambda c: c.w.unit.add_nodes(mac_addresses="4a:d1:4d:ab:cf:10"),
    ),
    (
        "add_nodes IP to a storage unit",
        VcpInvalidArgumentError,
        "can't set ip_address(es) to storage",
        True,
        lambda c: c.w.disk_unit.add_nodes(ip_address="127.30.2.51"),
    ),
    (
        "add_nodes IP and MAC lists of different length",
        VcpInvalidArgumentError,
        "mac_address_list and ip_address_list has element but their length are different",
        True,
        lambda c: c.w.unit.add_nodes(
            ip_addresses=["127.30.2.52", "127.30.2.53"], mac_addresses=["4a:d1:4d:ab:cf:10"]
        ),
    ),
    (
        "add_nodes while the unit is processing (409)",
        VcpConflictError,
        "add node failed",
        True,
        lambda c: _processing_unit(c).add_nodes(wait_for=False),
    ),
    (
        "delete_nodes with two conditions",
        VcpInvalidArgumentError,
        "invalid argment, one condition parameter allowed",
        True,
        lambda c: c.w.unit.delete_nodes(num_delete_nodes=1, node_no=1),
    ),
    (
        "delete_nodes of two nodes without waiting",
        VcpInvalidArgumentError,
        "invalid argment, delete multi-node must be wait_for=True",
        True,
        lambda c: c.w.unit.delete_nodes(num_delete_nodes=2, wait_for=False),
    ),
    (
        "set_ssh_pubkey of a missing file",
        VcpInvalidArgumentError,
        re.compile(r"public_key_path\[/nonexistent/id\.pub\] can't open \(.+\)"),
        True,
        lambda c: c.spec().set_ssh_pubkey("/nonexistent/id.pub"),
    ),
    *[
        (f"disk.{op}()", VcpSDKError, f"{op} only compute node", True, _on("disk", op))
        for op in (
            "suspend",
            "resume",
            "stop",
            "start",
            "power_off",
            "power_on",
            "watch",
            "unwatch",
            "backup",
        )
    ],
    pytest.param(
        "storage unit.watch()",
        VcpSDKError,
        "watch only compute unit",
        True,
        lambda c: c.w.disk_unit.watch(),
        id="storage-unit-watch",
    ),
    pytest.param(
        "storage unit.unwatch()",
        VcpSDKError,
        "unwatch only compute unit",
        True,
        lambda c: c.w.disk_unit.unwatch(),
        id="storage-unit-unwatch",
    ),
    (
        "unit.watch() while the unit is processing (409)",
        VcpConflictError,
        "watch unit failed",
        True,
        lambda c: _processing_unit(c).watch(),
    ),
    (
        "unit.unwatch() while the unit is processing (409)",
        VcpConflictError,
        "unwatch unit failed",
        True,
        lambda c: _processing_unit(c).unwatch(),
    ),
    *[
        (f"RUNNING node.{op}() (409)", VcpConflictError, message, True, _on("node", op))
        for op, message in (
            ("resume", "resume node failed"),
            ("stop", "stop node failed"),
            ("start", "start node failed"),
            ("power_on", "power_on failed"),
        )
    ],
    *[
        (f"ERROR node.{op}() (409)", VcpConflictError, message, True, _on("error_node", op))
        for op, message in (
            ("suspend", "suspend node failed"),
            ("power_off", "power_off failed"),
            ("watch", "watch failed"),
            ("unwatch", "unwatch failed"),
            ("backup", "backup failed"),
        )
    ],
    (
        "node.delete() of a deleted node (404)",
        VcpNotFoundError,
        "delete node failed",
        True,
        lambda c: _deleted_node(c).delete(),
    ),
    (
        "regular user node.config(privileged=True) (403)",
        VcpAuthError,
        "config node failed",
        True,
        lambda c: c.w.node.config(privileged=True),
    ),
    (
        "unit object of a deleted unit",
        VcpNotFoundError,
        "config unit failed",
        True,
        lambda c: _deleted_unit(c).find_nodes(),
    ),
    (
        "update_ugroup_name('') (400)",
        VcpInvalidArgumentError,
        "update vc failed",
        True,
        lambda c: c.w.ug.update_ugroup_name(""),
    ),
]


def _row_id(row: Any) -> str:
    values = row.values if hasattr(row, "values") else row
    return re.sub(r"\W+", "-", str(values[0])).strip("-")


@pytest.mark.parametrize(
    ("situation", "cls", "expected", "logged", "trigger"),
    [row if hasattr(row, "values") else pytest.param(*row, id=_row_id(row)) for row in MESSAGES],
)
def test_message(
    ctx: Ctx, caplog, situation: str, cls: type, expected: Any, logged: bool, trigger: Callable[[Ctx], Any]
) -> None:
    caplog.set_level(logging.INFO, logger="vcp.sdk")
    with pytest.raises(cls) as caught:
        trigger(ctx)
    args = caught.value.args
    assert args[0] == "VCP" and len(args) == 2, args
    assert matches_reference(args[1], expected), args[1]
    if logged:  # the SDK logs at ERROR, then raises (the request-level line first for HTTP)
        errors = sdk_messages(caplog, logging.ERROR)
        assert any(m.startswith(args[1]) for m in errors), errors


def test_unknown_spec_attribute(world: World) -> None:
    spec = world.sdk.get_spec("aws", "small")
    with pytest.raises(AttributeError) as caught:
        spec.no_such_attribute = 1
    assert matches_reference(caught.value.args[0], "spec resource has no attributes!!  [no_such_attribute]")


def test_reference_matching_rule() -> None:
    assert matches_reference(
        "no flavor provider_name[aws] flavor[huge]; flavors of aws: small",
        "no flavor provider_name[aws] flavor[huge]",
    )
    assert matches_reference("x[a] (did you mean 'b'?); known: b", "x[a]")
    assert not matches_reference(
        "no flavor provider_name[aws] flavor[huge]s", "no flavor provider_name[aws] flavor[huge]"
    )
    assert not matches_reference("prefix: config vc failed", "config vc failed")


# -- §5.2 log lines ----------------------------------------------------------------------------


def test_progress_and_completion_lines(world: World, caplog) -> None:
    caplog.set_level(logging.INFO, logger="vcp.sdk")
    sdk, name = world.sdk, unique("logs")

    def step(expected: list[str], action: Callable[[], Any]) -> Any:
        caplog.clear()
        result = action()
        info = sdk_messages(caplog)
        positions = [info.index(line) for line in expected if line in info]
        assert len(positions) == len(expected) and positions == sorted(positions), (expected, info)
        return result

    group = sdk.create_ugroup(name)
    spec = sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(world.pubkey))
    unit = step(["unit web is RUNNING"], lambda: group.create_unit("web", spec))
    step(["unit web is RUNNING", "add_node completed."], lambda: unit.add_nodes(num_add_nodes=2))
    step(["a node power off start.", "power off node(s) has started."], unit.power_off_nodes)
    step(["a node power on start.", "power on node(s) has started."], unit.power_on_nodes)
    step(["unwatch node(s) completed."], unit.unwatch_nodes)
    step(["a node watching start.", "watching node(s) has started."], unit.watch_nodes)
    step(["watching successe."], unit.watch)
    step(
        ["a node deleted.", "a node deleted.", "deleted node(s) completed."],
        lambda: unit.delete_nodes(num_delete_nodes=2),
    )
    step(["delete_unit completed."], lambda: group.delete_units("web", force=True))
    group.create_unit("again", spec)
    step([f"cleanup completed. vc {name} is cleanup(no unit)"], group.cleanup)


def test_timeout_logs_progress_lines_then_the_message(ctx: Ctx, caplog) -> None:
    caplog.set_level(logging.INFO, logger="vcp.sdk")
    with pytest.raises(VcpTimeoutError):
        _timeout(ctx)
    assert any(re.fullmatch(r"BOOTING \.\.\. \d+ sec", m) for m in sdk_messages(caplog))
    assert sdk_messages(caplog, logging.ERROR)[-1] == "Full of waiting time (sleepy)"


def test_unit_in_error_logs_the_unit_and_group_dump(world: World, caplog) -> None:
    caplog.set_level(logging.INFO, logger="vcp.sdk")
    failure = create_failed_unit(world.sdk, world.ug, world.pubkey, "dumped", 203, world.node.ssh_port)
    assert isinstance(failure, VcpUnitFailedError)
    assert "unit dumped is ERROR" in sdk_messages(caplog)
    [dump] = [m for m in sdk_messages(caplog, logging.ERROR) if m.startswith("[Vc]")]
    assert "+ type[compute] name[msgs] owner(messages)" in dump
    assert "[VcUnit]\n+ type[compute] name[dumped]  state[ERROR]\n*** HAS ERROR:\n---\n" in dump
    assert "already in use" in dump


def test_verbose_request_lines(world: World, caplog) -> None:
    caplog.set_level(logging.DEBUG, logger="vcp.sdk")
    base = f"http://127.0.0.1:{world.vcc.port}/vcp/v1/occtr"
    for level, expected in (
        (1, f"[GET] {base}/vcs privileged(False)"),
        (2, "HTTP STATUS 200"),
        (3, '"vcs": ['),
    ):
        world.sdk.verbose = level
        caplog.clear()
        world.sdk.df_ugroups()
        debug = sdk_messages(caplog, logging.DEBUG)
        assert any(expected in m for m in debug), (level, debug)
    world.sdk.verbose = 0
    caplog.clear()
    world.sdk.df_ugroups()
    assert sdk_messages(caplog, logging.DEBUG) == []
