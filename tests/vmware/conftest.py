"""Fixtures of the vSphere tests: govmomi's vCenter simulator (vcsim, built by
``scripts/build-vcsim.sh``) on 127.0.0.1, driven by the real pyvmomi, and the network rule.

This directory also runs the backend conformance suite against the simulator (the
``conformance_harness`` fixture; the suite's fixtures are imported for the tests here that
go through a controller).  Without the simulator binary the tests fail and say how
to build it; they are not skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vcpsdk.testing import network
from vcpsdk.testing.conformance.suite import harness, running, spec_of, state, vcp  # noqa: F401
from vcpsdk.testing.conformance.vmware import VcsimHarness
from vcpsdk.testing.fakes.vmware import RunningVcsim, running_vcsim


@pytest.fixture(autouse=True)
def network_rule(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail the test if anything connects outside 127.0.0.0/8 or resolves a public name."""
    with network.network_rule(monkeypatch, ("VSPHERE_USER", "VSPHERE_PASSWORD", "VSPHERE_SERVER")) as refused:
        yield refused


@pytest.fixture
def vcsim(tmp_path: Path) -> Iterator[RunningVcsim]:
    """A fresh vCenter simulator with the template VM."""
    with running_vcsim(tmp_path / "vcsim") as sim:
        yield sim


@pytest.fixture
def conformance_harness() -> Iterator[VcsimHarness]:
    """The vSphere backend on vcsim, for the conformance suite."""
    made = VcsimHarness()
    try:
        yield made
    finally:
        made.close()
