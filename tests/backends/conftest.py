"""The backend conformance suite (:mod:`vcpsdk.testing.conformance`) over this repo's backends.

The root conftest loads the plugin; this directory provides ``conformance_harness``, so the
suite's tests are collected here once per harness: the sandbox, and AWS on moto when
``boto3`` and ``moto`` are installed.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from vcpsdk.testing.conformance.harness import ConformanceHarness
from vcpsdk.testing.conformance.sandbox import SandboxHarness

HARNESSES: dict[str, Any] = {"sandbox": SandboxHarness}
if importlib.util.find_spec("boto3") and importlib.util.find_spec("moto"):
    from vcpsdk.testing.conformance.aws import AwsMotoHarness

    HARNESSES["aws-moto"] = AwsMotoHarness


@pytest.fixture(params=sorted(HARNESSES))
def conformance_harness(request: pytest.FixtureRequest) -> ConformanceHarness:
    """Each backend's offline stand-in, in turn."""
    harness: ConformanceHarness = HARNESSES[request.param]()
    return harness
