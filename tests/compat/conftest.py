"""Fixtures of the compatibility suite: a controller whose nodes boot slowly.

More users come from the root ``make_vcp_sdk`` (vcpsdk.testing.pytest_plugin).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vcpsdk.testing import RunningController, running_controller
from vcpsdk.testing.units import connect_sdk
from vcpsdk.vcpsdk import VcpSDK

#: seconds a node of ``slow_controller`` takes to boot (and to power on, resume, start)
SLOW_BOOT = 2
_users = itertools.count(1)


@pytest.fixture(scope="session")
def slow_controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningController]:
    """A controller of this worker whose sandbox nodes take ``SLOW_BOOT`` s to boot."""
    with running_controller(tmp_path_factory.mktemp("slow-controller"), boot_delay=SLOW_BOOT) as running:
        yield running


@pytest.fixture
def make_slow_sdk(slow_controller: RunningController, tmp_path: Path) -> Callable[..., VcpSDK]:
    """``make_slow_sdk(**vcc settings)``: a VcpSDK of a fresh user against ``slow_controller``."""

    def make(**vcc_settings: Any) -> VcpSDK:
        name = f"slow{next(_users)}"
        return connect_sdk(slow_controller, tmp_path / f"slowcfg-{name}", name, **vcc_settings)

    return make
