"""The one root conftest: the plugins every test folder shares.

* :mod:`vcpsdk.testing.pytest_plugin`: ``live_controller`` (one in-process controller per
  test session), ``vcp_user``/``vcp_token``/``vcp_config_dir``/``vcp_sdk`` (a fresh user per
  test), ``make_sdk``, ``vcp_pubkey``, ``ssh_keypair``, ``make_running_unit``;
* :mod:`vcpsdk.testing.conformance`: the backend conformance suite, collected where a
  ``conftest.py`` provides ``conformance_harness`` (tests/backends).

The short names below are what the project's tests ask for; each is the plugin fixture
of the same meaning (a live controller is ``live_controller``; the mocked controller of
tests/unit has its own, different name).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from vcpsdk.vcpsdk import VcpSDK

pytest_plugins = ["vcpsdk.testing.pytest_plugin", "vcpsdk.testing.conformance"]


@pytest.fixture
def user_name(vcp_user: str) -> str:
    """``vcp_user``: a user name no other test uses."""
    return vcp_user


@pytest.fixture
def token(vcp_token: str) -> str:
    """``vcp_token``: a regular token of ``user_name`` on ``live_controller``."""
    return vcp_token


@pytest.fixture
def config_dir(vcp_config_dir: Path) -> Path:
    """``vcp_config_dir``: a config dir pointing at ``live_controller``."""
    return vcp_config_dir


@pytest.fixture
def pubkey(vcp_pubkey: Path) -> Path:
    """``vcp_pubkey``: a syntactically valid SSH public key file."""
    return vcp_pubkey


@pytest.fixture
def sdk(vcp_sdk: VcpSDK) -> VcpSDK:
    """``vcp_sdk``: a VcpSDK of ``user_name`` against ``live_controller``."""
    return vcp_sdk
