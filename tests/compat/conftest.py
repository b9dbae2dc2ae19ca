"""Fixtures of the compatibility suite: more users and a controller whose nodes boot slowly."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vcpsdk.testing import RunningController, running_controller
from vcpsdk.vcpsdk import VcpSDK

#: seconds a node of ``slow_vcc`` takes to boot (and to power on, resume, start)
SLOW_BOOT = 2
_users = itertools.count(1)


@pytest.fixture
def make_sdk(vcc: RunningController, tmp_path: Path) -> Callable[..., VcpSDK]:
    """``make_sdk(superuser=False)``: a VcpSDK of a fresh user (its name in ``.user``)
    against the session controller."""

    def make(superuser: bool = False) -> VcpSDK:
        name = f"compat{next(_users)}{'su' if superuser else ''}"
        token = vcc.create_token(name, superuser=superuser)
        sdk = VcpSDK(token, config_dir=str(vcc.write_config(tmp_path / f"cfg-{name}")))
        sdk.user = name  # type: ignore[attr-defined]
        return sdk

    return make


@pytest.fixture(scope="session")
def slow_vcc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningController]:
    """A controller of this worker whose sandbox nodes take ``SLOW_BOOT`` s to boot."""
    with running_controller(tmp_path_factory.mktemp("slow-vcc"), boot_delay=SLOW_BOOT) as running:
        yield running


@pytest.fixture
def make_slow_sdk(slow_vcc: RunningController, tmp_path: Path) -> Callable[..., VcpSDK]:
    """``make_slow_sdk(**vcc settings)``: a VcpSDK of a fresh user against ``slow_vcc``."""

    def make(**vcc_settings: Any) -> VcpSDK:
        name = f"slow{next(_users)}"
        config_dir = slow_vcc.write_config(tmp_path / f"slowcfg-{name}", **vcc_settings)
        return VcpSDK(slow_vcc.create_token(name), config_dir=str(config_dir))

    return make
