"""VcNode operations against a real controller, checked against the node state diagram
(reference §1.3) and against the sandbox's SSH endpoints.

Every operation sends one request and returns True without waiting;
``unit.wait_nodes_applied()`` waits, then ``node.config()`` re-reads the node.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import sdk_messages, tcp_connect
from vcpsdk.errors import VcpConflictError, VcpInvalidArgumentError
from vcpsdk.node import VcNode
from vcpsdk.testing.units import create_running_unit

from .support import create_failed_unit, keyscan

#: operation → (transitional state, final state) of reference §1.3
TRANSITIONS = {
    "suspend": ("SUSPENDING", "SUSPENDED"),
    "resume": ("RESUMING", "RUNNING"),
    "stop": ("STOPPING", "STOPPED"),
    "start": ("BOOTING", "RUNNING"),
    "power_off": ("SHUTTING_DOWN", "POWER_OFF"),
    "power_on": ("BOOTING", "RUNNING"),
}
#: first argument of the refusal (the vcplib message of each operation, reference §5.1)
FAILED = {
    "suspend": "suspend node failed",
    "resume": "resume node failed",
    "stop": "stop node failed",
    "start": "start node failed",
    "power_off": "power_off failed",
    "power_on": "power_on failed",
    "backup": "backup failed",
}


def apply(unit, node: VcNode, op: str) -> str:
    """Run ``node.<op>()``, wait for the unit, re-read the node; its new state."""
    assert getattr(node, op)() is True
    unit.wait_nodes_applied()
    assert node.config() is True
    return node.state


def refused(address: str, port: int) -> bool:
    try:
        tcp_connect(address, port)
    except ConnectionRefusedError:
        return True
    return False


def test_suspend_and_resume(vcp_sdk, vcp_pubkey: Path) -> None:
    _, unit, [node] = create_running_unit(vcp_sdk, vcp_pubkey)
    address, port = node.cloud_instance_address, node.ssh_port
    assert not refused(address, port)

    assert apply(unit, node, "suspend") == "SUSPENDED"
    assert refused(address, port)  # the Base container is stopped: no SSH
    assert unit.state == "SUSPENDED"

    assert apply(unit, node, "resume") == "RUNNING"
    assert node.cloud_instance_address == address
    assert not refused(address, port)


def test_suspend_stop_start_gives_a_new_host_at_the_same_address(vcp_sdk, vcp_pubkey: Path) -> None:
    _, unit, [node] = create_running_unit(vcp_sdk, vcp_pubkey)
    address, port = node.cloud_instance_address, node.ssh_port
    host_key = keyscan(address, port)

    assert apply(unit, node, "suspend") == "SUSPENDED"
    assert apply(unit, node, "stop") == "STOPPED"
    assert refused(address, port)

    assert apply(unit, node, "start") == "RUNNING"
    assert node.cloud_instance_address == address
    assert not refused(address, port)
    assert keyscan(address, port) != host_key  # the host was released and created anew


def test_power_off_and_power_on(vcp_sdk, vcp_pubkey: Path) -> None:
    _, unit, [node] = create_running_unit(vcp_sdk, vcp_pubkey)
    address, port = node.cloud_instance_address, node.ssh_port
    host_key = keyscan(address, port)

    assert apply(unit, node, "power_off") == "POWER_OFF"
    assert refused(address, port)
    assert apply(unit, node, "power_on") == "RUNNING"
    assert not refused(address, port)
    assert keyscan(address, port) == host_key  # same host, powered on again


def test_power_off_a_suspended_node(vcp_sdk, vcp_pubkey: Path) -> None:
    """§1.3: SUSPENDED → SHUTTING_DOWN → POWER_OFF is allowed."""
    _, unit, [node] = create_running_unit(vcp_sdk, vcp_pubkey)
    assert apply(unit, node, "suspend") == "SUSPENDED"
    assert apply(unit, node, "power_off") == "POWER_OFF"
    assert apply(unit, node, "power_on") == "RUNNING"


def test_operations_return_before_the_node_changes(make_slow_sdk, vcp_pubkey: Path) -> None:
    """Against nodes that take seconds to (re)boot: each call returns at once and the
    node is then in the transitional state of §1.3 (or already in the final one for
    the operations the sandbox carries out instantly)."""
    sdk = make_slow_sdk()
    _, unit, [node] = create_running_unit(sdk, vcp_pubkey)
    for op in ("suspend", "resume", "suspend", "stop", "start", "power_off", "power_on"):
        transitional, final = TRANSITIONS[op]
        assert getattr(node, op)() is True
        assert node.config() is True
        if op in ("resume", "start", "power_on"):  # these take SLOW_BOOT seconds
            assert node.state == transitional, op
        else:
            assert node.state in (transitional, final), op
        unit.wait_nodes_applied()
        node.config()
        assert node.state == final, op


def test_watch_and_unwatch_toggle_watch_mode(vcp_sdk, vcp_pubkey: Path) -> None:
    _, unit, [node] = create_running_unit(vcp_sdk, vcp_pubkey)
    assert node.watch_mode is True
    assert node.unwatch() is True
    unit.wait_nodes_applied()
    node.config()
    assert (node.watch_mode, node.state) == (False, "RUNNING")
    assert node.watch() is True
    unit.wait_nodes_applied()
    node.config()
    assert (node.watch_mode, node.state) == (True, "RUNNING")


def test_backup_is_accepted(vcp_sdk, vcp_pubkey: Path) -> None:
    _, _, [node] = create_running_unit(vcp_sdk, vcp_pubkey)
    assert node.backup() is True  # 202 Accepted
    assert node.last_error_http_status is None
    node.config()
    assert node.state == "RUNNING"


def test_delete_removes_the_node_and_config_then_returns_false(vcp_sdk, vcp_pubkey: Path) -> None:
    _, unit, [first, second] = create_running_unit(vcp_sdk, vcp_pubkey, num_nodes=2)
    assert second.delete() is True
    unit.wait_nodes_applied()
    assert second.config() is False
    assert [n.id for n in unit.find_nodes()] == [first.id]
    assert first.config() is True and first.state == "RUNNING"


def test_error_returns_the_message(vcp_sdk, vcp_pubkey: Path) -> None:
    group, _, [healthy] = create_running_unit(vcp_sdk, vcp_pubkey)
    assert healthy.error() == ""
    failure = create_failed_unit(vcp_sdk, group, vcp_pubkey, "broken", 200, healthy.ssh_port)
    assert failure.args == ("VCP", "failed (broken)")
    [node] = group.get_unit("broken").find_nodes()
    assert node.state == "ERROR"
    assert "already in use" in node.error()
    assert node.error() == node.error_message


# -- refusals ------------------------------------------------------------------------------

#: state → (how to get there from RUNNING, operations §1.3 does not allow from it)
WRONG = {
    "RUNNING": ([], ["resume", "stop", "start", "power_on"]),
    "SUSPENDED": (["suspend"], ["suspend", "start", "power_on", "backup"]),
    "POWER_OFF": (["power_off"], ["suspend", "resume", "stop", "start", "power_off", "backup"]),
    "STOPPED": (["suspend", "stop"], ["suspend", "resume", "stop", "power_off", "power_on", "backup"]),
}


@pytest.mark.parametrize("state", WRONG)
def test_operations_from_a_wrong_state_are_refused(vcp_sdk, vcp_pubkey: Path, state: str) -> None:
    _, unit, [node] = create_running_unit(vcp_sdk, vcp_pubkey)
    path, ops = WRONG[state]
    for op in path:
        apply(unit, node, op)
    assert node.state == state
    for op in ops:
        with pytest.raises(VcpConflictError) as caught:
            getattr(node, op)()
        error = caught.value
        assert error.args == ("VCP", FAILED[op]), op
        assert error.http_status == 409 and node.last_error_http_status == 409
        assert "VCPStateConflictException" in error.server_message
        assert f"node is {state}" in error.server_message, (op, error.server_message)
        node.config()
        assert node.state == state, op  # nothing happened


def test_operations_while_the_unit_is_processing_are_refused(make_slow_sdk, vcp_pubkey: Path) -> None:
    sdk = make_slow_sdk()
    group = sdk.create_ugroup("busy")
    spec = sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(vcp_pubkey))
    unit = group.create_unit("booting", spec, wait_for=False)
    [node] = unit.find_nodes()
    assert node.state == "BOOTING"
    attempts: dict[str, Callable[[], object]] = {
        "suspend": node.suspend,
        "power_off": node.power_off,
        "delete": node.delete,
        "add_nodes": lambda: unit.add_nodes(wait_for=False),
    }
    for what, attempt in attempts.items():
        with pytest.raises(VcpConflictError) as caught:
            attempt()
        assert caught.value.http_status == 409, what
        assert "VCPStateConflictException" in caught.value.server_message, what
        assert "unit is now processing, so cannot apply" in caught.value.server_message, what
    assert caught.value.args == ("VCP", "add node failed")
    finished = group.wait_unit_applied("booting")
    assert [n.state for n in finished.find_nodes()] == ["RUNNING"]  # one node, not two


# -- unit-level watch_nodes / unwatch_nodes -------------------------------------------------


def test_watch_nodes_and_unwatch_nodes_selectors(vcp_sdk, vcp_pubkey: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="vcp.sdk")
    _, unit, nodes = create_running_unit(vcp_sdk, vcp_pubkey, num_nodes=3)

    def modes() -> dict[int, bool]:
        return {n.no: n.watch_mode for n in unit.find_nodes()}

    assert modes() == {1: True, 2: True, 3: True}
    for bad in ({"num_watch_nodes": 1, "node_no": 1}, {"node_no": 1, "ip_address": "127.0.0.9"}):
        with pytest.raises(VcpInvalidArgumentError) as caught:
            unit.unwatch_nodes(**bad)
        assert caught.value.args == ("VCP", "invalid argment, one condition parameter allowed")
        with pytest.raises(VcpInvalidArgumentError):
            unit.watch_nodes(**bad)
    assert modes() == {1: True, 2: True, 3: True}

    caplog.clear()
    after = unit.unwatch_nodes(num_watch_nodes=2)
    assert [n.no for n in after] == [1, 2, 3]
    assert modes() == {1: False, 2: False, 3: True}  # the first two in node_no order
    assert sdk_messages(caplog)[-1] == "unwatch node(s) completed."

    unit.unwatch_nodes()  # no condition = one node, the one still watched
    assert modes() == {1: False, 2: False, 3: False}
    unit.unwatch_nodes()  # no node whose watch mode would change: nothing to do, no error
    assert modes() == {1: False, 2: False, 3: False}
    with pytest.raises(VcpInvalidArgumentError) as caught:
        unit.watch_nodes(num_watch_nodes=2, wait_for=False)
    assert caught.value.args == ("VCP", "invalid argment, delete multi-node must be wait_for=True")

    caplog.clear()
    unit.watch_nodes(num_watch_nodes=2)
    assert sorted(modes().values()) == [False, True, True]
    messages = sdk_messages(caplog)
    assert messages.count("a node watching start.") == 2
    assert messages[-1] == "watching node(s) has started."
    assert modes() == {1: True, 2: True, 3: False}  # the first two in node_no order
    unit.watch_nodes(num_watch_nodes=2)  # only node 3 is not watched: up to 2, no error
    assert modes() == {1: True, 2: True, 3: True}
    unit.unwatch_nodes(ip_address=nodes[2].cloud_instance_address)
    assert modes() == {1: True, 2: True, 3: False}
