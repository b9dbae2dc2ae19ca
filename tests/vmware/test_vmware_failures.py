"""Failures halfway through a node, through the controller (review findings 1 and 12): a
fault after the clone (at ReconfigVM_Task or CustomizeVM_Task) leaves no VM, and a vCenter
fault that repeats the password reaches neither the unit's error message nor the logs."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from vcpsdk.errors import VcpUnitFailedError
from vcpsdk.testing.conformance.vmware import VcsimHarness
from vcpsdk.testing.controller import RunningController
from vcpsdk.vcpsdk import VcpSDK


@pytest.mark.parametrize("method", ["ReconfigVM_Task", "CustomizeVM_Task"])
def test_a_unit_failing_after_a_clone_leaves_no_vm_and_masks_the_password(
    vcp: VcpSDK,
    harness: VcsimHarness,
    running: RunningController,
    spec_of: Any,
    caplog: pytest.LogCaptureFixture,
    method: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    password = harness.sim.password
    ug = vcp.create_ugroup("halfway")
    failing = harness.breaking(running, (method,), 1, 1, f"create_nodes as user with {password}")
    with failing, pytest.raises(VcpUnitFailedError) as failure:
        ug.create_unit("doomed", spec_of(num_nodes=3))
    message = failure.value.server_message or ""
    assert "InsufficientInstanceCapacity" in message and "as user with ***" in message
    assert password not in message
    unit = ug.get_unit("doomed")
    assert unit is not None and unit.state == "ERROR"
    assert harness.leftovers(running) == []  # the clones that never got their annotation too
    ug.cleanup()
    assert harness.leftovers(running) == []
    assert password not in caplog.text
