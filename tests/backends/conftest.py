"""Fixtures of the backend conformance suite: one run per backend harness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backends.harness import HARNESSES
from vcpsdk.testing import RunningController, write_test_public_key
from vcpsdk.vcpsdk import VcpSDK


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest):
    """Each backend's offline stand-in, in turn."""
    return HARNESSES[request.param]()


@pytest.fixture
def state(tmp_path: Path) -> Path:
    """The controller's state directory (kept across restarts within a test)."""
    return tmp_path / "state"


@pytest.fixture
def running(harness, state: Path) -> Iterator[RunningController]:
    """A controller using the backend under test."""
    with harness.controller(state) as controller:
        yield controller


@pytest.fixture
def vcp(running: RunningController, tmp_path: Path) -> VcpSDK:
    """An SDK of a fresh user of that controller."""
    config = running.write_config(tmp_path / "cfg")
    return VcpSDK(running.create_token("conformer"), config_dir=str(config))


@pytest.fixture
def spec_of(vcp: VcpSDK, harness, tmp_path: Path):
    """``spec_of(**attrs)``: a compute spec of the harness's provider with a key set."""
    key = write_test_public_key(tmp_path / "id.pub")

    def make(**attributes):
        spec = vcp.get_spec(harness.provider, "small")
        spec.set_ssh_pubkey(str(key))
        for name, value in attributes.items():
            setattr(spec, name, value)
        return spec

    return make
