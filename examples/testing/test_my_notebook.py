"""A user's tests of their own VCP code and notebook, with the fixtures vcpsdk installs for
pytest (see docs/testing.md).  Run them with

    pytest examples/testing                      # the tests below
    pytest --vcp-notebooks examples/testing      # ... and every notebook there as a test
"""

from pathlib import Path

import pytest

from vcpsdk.core import protocol
from vcpsdk.errors import VcpConnectionError, VcpUnitFailedError


def start_web_servers(vcp, pubkey, count=2):
    """The code under test: a UnitGroup 'web' with ``count`` nodes; a failed unit is retried once."""
    group = vcp.get_ugroup("web") or vcp.create_ugroup("web")
    spec = vcp.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(pubkey))
    spec.num_nodes = count
    try:
        return group.create_unit("servers", spec)
    except VcpUnitFailedError:
        group.delete_units("servers", force=True)
        return group.create_unit("servers", spec)


def test_the_servers_start(vcp_sdk, vcp_pubkey):
    unit = start_web_servers(vcp_sdk, vcp_pubkey)
    assert unit.state == "RUNNING"
    assert len(unit.find_ip_addresses(node_state="RUNNING")) == 2


def test_a_failed_unit_is_retried(vcp_sdk, vcp_pubkey, vcp_faults):
    vcp_faults.fail_next_unit("InsufficientInstanceCapacity")  # only the first try fails
    assert start_web_servers(vcp_sdk, vcp_pubkey).state == "RUNNING"


def test_two_failures_reach_the_caller(vcp_sdk, vcp_pubkey, vcp_faults):
    vcp_faults.fail_next_unit("InsufficientInstanceCapacity", times=2)
    with pytest.raises(VcpUnitFailedError, match="InsufficientInstanceCapacity"):
        start_web_servers(vcp_sdk, vcp_pubkey)


def test_a_flaky_controller(vcp_sdk, vcp_pubkey, vcp_faults):
    vcp_faults.http_error(503, times=2, route=protocol.VCS_LIST)  # the SDK repeats a GET
    assert vcp_sdk.df_ugroups().data.empty
    vcp_faults.timeout(times=1, method="POST", client_timeout=0.5)  # a write is not repeated
    with pytest.raises(VcpConnectionError):
        start_web_servers(vcp_sdk, vcp_pubkey)


def test_the_servers_survive_a_controller_restart(vcp_sdk, vcp_pubkey, live_controller):
    start_web_servers(vcp_sdk, vcp_pubkey)
    live_controller.restart()
    assert vcp_sdk.get_ugroup("web").get_unit("servers").state == "RUNNING"


def test_the_notebook(run_vcp_notebook):
    notebook = run_vcp_notebook(Path(__file__).with_name("my_notebook.ipynb"))
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert any("text/html" in o.get("data", {}) for o in outputs)  # the node table
    assert "hello from" in "".join(o.get("text", "") for o in outputs)
