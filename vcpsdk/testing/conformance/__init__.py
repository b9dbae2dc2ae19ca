"""The backend conformance suite, as a pytest plugin.

Every backend (the sandbox, AWS, and any backend written outside this repository)
passes the same lifecycle tests through an offline stand-in, its *harness*: create N
nodes with distinct addresses, fixed IPs, scale out and in, power off and on, disks,
failures at each step leave nothing behind, a restarted controller reconciles.

To run the suite against your backend, write a harness (see
:class:`~vcpsdk.testing.conformance.harness.ConformanceHarness`) and a ``conftest.py``
that loads this plugin and provides the ``conformance_harness`` fixture::

    # conftest.py (at the top of your tests)
    import pytest
    from vcpsdk.testing.conformance.sandbox import SandboxHarness

    pytest_plugins = ["vcpsdk.testing.conformance"]

    @pytest.fixture
    def conformance_harness():
        return SandboxHarness()  # or your own backend's harness

Every directory whose ``conftest.py`` defines ``conformance_harness`` gets the suite's
tests (they show up as ``<dir>/vcpsdk_conformance.py::test_...``); parametrize the
fixture to run the suite once per harness.  The suite's own fixtures live in
:mod:`vcpsdk.testing.conformance.suite` and are visible to its tests only.

(This package has no asserts of its own: PYTEST_DONT_REWRITE, so a conftest may import a
harness from it before ``pytest_plugins`` loads it without a warning.  The suite module,
imported later, is still rewritten.)
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from vcpsdk.testing.conformance.harness import ConformanceHarness

__all__ = ["SUITE_NAME", "ConformanceHarness", "ConformanceSuite", "pytest_collect_file"]

#: the file name the suite's tests are reported under, in the directory of the conftest
SUITE_NAME = "vcpsdk_conformance.py"


class ConformanceSuite(pytest.Module):
    """The suite's test module, collected in a directory that provides a harness."""

    def _getobj(self) -> ModuleType:
        return importlib.import_module("vcpsdk.testing.conformance.suite")


def _conftest_module(config: pytest.Config, path: Path) -> Any:
    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, ModuleType) and getattr(plugin, "__file__", None):
            if Path(plugin.__file__ or "") == path:
                return plugin
    return None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect the suite next to every ``conftest.py`` that defines ``conformance_harness``.

    Args:
        file_path: a file pytest is collecting.
        parent: the collector of its directory.

    Returns:
        The suite's module collector, or None for any other file.
    """
    if file_path.name != "conftest.py":
        return None
    conftest = _conftest_module(parent.config, file_path)
    if conftest is None or not hasattr(conftest, "conformance_harness"):
        return None
    return ConformanceSuite.from_parent(parent, path=file_path.parent / SUITE_NAME)
