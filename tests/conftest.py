"""The one root conftest: the plugins every test folder shares.

* :mod:`vcpsdk.testing.pytest_plugin`: ``live_controller`` (one in-process controller per
  test session), ``vcp_user``/``vcp_token``/``vcp_config_dir``/``vcp_sdk`` (a fresh user per
  test), ``make_vcp_sdk``, ``vcp_pubkey``, ``ssh_keypair``, ``make_running_unit``;
* :mod:`vcpsdk.testing.conformance`: the backend conformance suite, collected where a
  ``conftest.py`` provides ``conformance_harness`` (tests/backends).

A live controller is always ``live_controller`` (or ``slow_controller``,
``private_controller`` where a folder needs its own); the mocked controller of tests/unit
has a name of its own.  Folder conftests hold only what is specific to their folder.
"""

from pathlib import Path

import pytest

pytest_plugins = ["vcpsdk.testing.pytest_plugin", "vcpsdk.testing.conformance"]


@pytest.fixture
def pubkey(vcp_pubkey: Path) -> Path:
    """``vcp_pubkey`` under the name tests/unit asks for (a key file, no controller involved)."""
    return vcp_pubkey
