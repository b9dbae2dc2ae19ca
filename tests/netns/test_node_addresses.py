"""Inside ``vcc sandbox run``: a node's address exists only while the node is up."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from .conftest import SCRIPTS, sandbox_run

pytestmark = pytest.mark.usefixtures("namespaces")

ALL = ["172.30.2.100", "172.30.2.101", "172.30.2.102"]


def _up(step: dict[str, dict[str, bool]], addresses: list[str]) -> None:
    """Exactly ``addresses`` are on lo and answer ping and ssh; the others answer neither."""
    assert step["lo"] == ["127.0.0.1", *addresses]
    assert step["ping"] == {a: a in addresses for a in ALL}
    assert step["ssh"] == {a: a in addresses for a in ALL}


def test_addresses_follow_the_node_states(node_key: Path) -> None:
    result = sandbox_run(sys.executable, str(SCRIPTS / "node_states.py"), str(node_key))
    assert result.returncode == 0, result.stderr[-4000:]
    steps = json.loads(result.stdout.splitlines()[-1])
    _up(steps["before"], [])
    _up(steps["created"], ALL)  # the fixed IPs of the notebooks, unchanged
    assert steps["node_to_node"] is True
    without_101 = ["172.30.2.100", "172.30.2.102"]
    for down in ("power_off", "suspend", "suspend_again", "stop"):
        _up(steps[down], without_101)
    for up in ("power_on", "resume", "start"):
        _up(steps[up], ALL)
    _up(steps["deleted"], ["172.30.2.100", "172.30.2.101"])  # scale-in: .102 is free again
    _up(steps["cleaned_up"], [])
