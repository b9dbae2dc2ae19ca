"""Shared fixtures: one in-process controller per test session, a user per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from vcpsdk.testing import RunningController, running_controller, write_test_public_key

_users = itertools.count(1)


@pytest.fixture(scope="session")
def vcc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningController]:
    """A real controller (sandbox backend, zero boot delay) on 127.0.0.1."""
    with running_controller(tmp_path_factory.mktemp("vcc")) as running:
        yield running


@pytest.fixture
def user_name() -> str:
    """A user name no other test uses, so UnitGroups never collide."""
    return f"user{next(_users)}"


@pytest.fixture
def token(vcc: RunningController, user_name: str) -> str:
    """A regular token of a fresh user."""
    return vcc.create_token(user_name)


@pytest.fixture
def config_dir(vcc: RunningController, tmp_path: Path) -> Path:
    """A config dir whose vcp_config.yml points at the session controller."""
    return vcc.write_config(tmp_path / "vcp_config")


@pytest.fixture
def pubkey(tmp_path: Path) -> Path:
    """A syntactically valid SSH public key file."""
    return write_test_public_key(tmp_path / "id_test.pub")


@pytest.fixture
def sdk(token: str, config_dir: Path):
    """A VcpSDK of a fresh regular user against the session controller."""
    from vcpsdk.vcpsdk import VcpSDK

    return VcpSDK(token, config_dir=str(config_dir))
