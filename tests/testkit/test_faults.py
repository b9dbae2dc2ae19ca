"""The fault injection fixtures (``vcp_faults``, ``live_controller.restart()``) as a user's
tests see them: each fault run through pytester in a test that copes with it (passes) and
in one that does not (fails with the fault's error)."""

from __future__ import annotations

import pandas  # noqa: F401  # imported here once: pytester's in-process runs forget their imports, numpy loads once
import pytest

HEADER = """
import time

import pytest

from vcpsdk.core import protocol
from vcpsdk.errors import VcpConnectionError, VcpSDKError, VcpUnitFailedError


@pytest.fixture
def spec(vcp_sdk, vcp_pubkey):
    spec = vcp_sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(vcp_pubkey))
    return spec
"""


def check(
    pytester: pytest.Pytester, tests: str, passed: int, failed: int = 0, failure: tuple[str, ...] = ()
) -> None:
    """Run the user's ``tests``: ``passed`` pass, ``failed`` fail, the output shows ``failure``."""
    pytester.makepyfile(test_user=HEADER + tests)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=passed, failed=failed)
    result.stdout.fnmatch_lines(list(failure))


def test_the_next_unit_ends_in_error_with_the_message(pytester: pytest.Pytester) -> None:
    check(
        pytester,
        """
def test_copes(vcp_sdk, spec, vcp_faults):
    vcp_faults.fail_next_unit("quota exceeded")
    group = vcp_sdk.create_ugroup("g")
    with pytest.raises(VcpUnitFailedError, match="quota exceeded"):
        group.create_unit("first", spec)
    assert group.get_unit("first").state == "ERROR"
    assert group.create_unit("second", spec).state == "RUNNING"  # only the next one fails

def test_does_not_cope(vcp_sdk, spec, vcp_faults):
    vcp_faults.fail_next_unit("quota exceeded", provider="aws")
    vcp_sdk.create_ugroup("g").create_unit("web", spec)
""",
        passed=1,
        failed=1,
        failure=(
            "*test_does_not_cope*",
            "*VcpUnitFailedError*quota exceeded*",
        ),
    )


def test_a_fault_of_another_provider_leaves_the_unit_alone(pytester: pytest.Pytester) -> None:
    check(
        pytester,
        """
def test_other_provider(vcp_sdk, spec, vcp_faults):
    vcp_faults.fail_next_unit("azure is full", provider="azure")
    assert vcp_sdk.create_ugroup("g").create_unit("web", spec).state == "RUNNING"

def test_disarmed_after_the_test(vcp_sdk, spec):
    assert vcp_sdk.create_ugroup("g").create_unit("web", spec).state == "RUNNING"
""",
        passed=2,
    )


def test_a_boot_delay_keeps_the_unit_booting(pytester: pytest.Pytester) -> None:
    check(
        pytester,
        """
def test_waits(vcp_sdk, spec, vcp_faults):
    vcp_faults.boot_delay(1.5)
    group = vcp_sdk.create_ugroup("g")
    group.create_unit("web", spec, wait_for=False)
    assert group.get_unit("web").state == "BOOTING"
    group.wait_unit_applied("web")
    assert group.get_unit("web").state == "RUNNING"

def test_does_not_wait(vcp_sdk, spec, vcp_faults):
    vcp_faults.boot_delay(1.5)
    group = vcp_sdk.create_ugroup("g")
    group.create_unit("web", spec, wait_for=False)
    assert group.get_unit("web").state == "RUNNING"
""",
        passed=1,
        failed=1,
        failure=(
            "*test_does_not_wait*",
            "*AssertionError*BOOTING*",
        ),
    )


def test_http_errors_on_the_next_requests_of_a_route(pytester: pytest.Pytester) -> None:
    check(
        pytester,
        """
def test_the_sdk_retries_reads(vcp_sdk, vcp_faults):
    fault = vcp_faults.http_error(503, times=2, route=protocol.VCS_LIST)
    assert vcp_sdk.df_ugroups().data.empty  # a GET answered 503 is repeated
    assert [method for method, _ in fault.hits] == ["GET", "GET"]

def test_a_write_fails(vcp_sdk, vcp_faults):
    vcp_faults.http_error(500, route=protocol.VC_CREATE, message="disk full")
    with pytest.raises(VcpSDKError, match="create vc failed") as failed:
        vcp_sdk.create_ugroup("g")
    assert failed.value.server_message == "disk full"
    assert vcp_sdk.create_ugroup("g").name == "g"  # times=1: the next one goes through

def test_glob_route_and_method(vcp_sdk, vcp_faults):
    vcp_faults.http_error(409, route="/vcs", method="POST", message="busy")
    vcp_sdk.create_ugroup("g")
""",
        passed=2,
        failed=1,
        failure=(
            "*test_glob_route_and_method*",
            "*VcpConflictError*busy*",
        ),
    )


def test_timeouts_of_the_next_requests(pytester: pytest.Pytester) -> None:
    check(
        pytester,
        """
def test_read_retried_write_fails(vcp_sdk, vcp_faults):
    vcp_faults.timeout(times=1, route=protocol.VCS_LIST, client_timeout=0.5)
    assert vcp_sdk.df_ugroups().data.empty  # urllib3 repeats the GET
    vcp_faults.timeout(times=1, method="POST", client_timeout=0.5)
    with pytest.raises(VcpConnectionError):
        vcp_sdk.create_ugroup("g")

def test_does_not_expect_a_timeout(vcp_sdk, vcp_faults):
    vcp_faults.timeout(times=1, method="POST", client_timeout=0.5)
    vcp_sdk.create_ugroup("g")
""",
        passed=1,
        failed=1,
        failure=(
            "*test_does_not_expect_a_timeout*",
            "*VcpConnectionError*",
        ),
    )


def test_a_controller_restart_keeps_the_state(pytester: pytest.Pytester) -> None:
    check(
        pytester,
        """
def test_survives(live_controller, vcp_sdk, make_running_unit, ssh_keypair):
    group, unit, nodes = make_running_unit(ugroup="kept", num_nodes=2)
    port, before = live_controller.port, live_controller.controller
    live_controller.restart()
    assert live_controller.port == port and live_controller.controller is not before
    assert [u.state for u in vcp_sdk.get_ugroup("kept").find_units()] == ["RUNNING"]
    assert len(vcp_sdk.get_ugroup("kept").find_nodes(node_state="RUNNING")) == 2

def test_faults_stay_armed_over_a_restart(live_controller, vcp_sdk, spec, vcp_faults):
    vcp_faults.fail_next_unit("still broken")
    live_controller.restart()
    with pytest.raises(VcpUnitFailedError, match="still broken"):
        vcp_sdk.create_ugroup("g").create_unit("web", spec)

def test_forgets_the_restart(live_controller, vcp_sdk):
    group = vcp_sdk.create_ugroup("g")
    live_controller.restart()
    assert vcp_sdk.get_ugroup("g") is None
""",
        passed=2,
        failed=1,
        failure=(
            "*test_forgets_the_restart*",
            "*assert *VcpUnitGroup* is None*",
        ),
    )
