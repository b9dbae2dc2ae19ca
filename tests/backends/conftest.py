"""The backend conformance suite (:mod:`vcpsdk.testing.conformance`) over this repo's backends.

The root conftest loads the plugin; this directory provides ``conformance_harness``, so the
suite's tests are collected here once per harness: the sandbox, AWS on moto and Azure on the fake ARM (boto3,
moto and the Azure SDK come with the test extras; without them collection fails and says so).
"""

from __future__ import annotations

from typing import Any

import pytest

from vcpsdk.testing.conformance.aws import AwsMotoHarness
from vcpsdk.testing.conformance.azure import AzureFakeHarness
from vcpsdk.testing.conformance.harness import ConformanceHarness
from vcpsdk.testing.conformance.sandbox import SandboxHarness

HARNESSES: dict[str, Any] = {
    "sandbox": SandboxHarness,
    "aws-moto": AwsMotoHarness,
    "azure-fake": AzureFakeHarness,
}


@pytest.fixture(params=sorted(HARNESSES))
def conformance_harness(request: pytest.FixtureRequest) -> ConformanceHarness:
    """Each backend's offline stand-in, in turn."""
    harness: ConformanceHarness = HARNESSES[request.param]()
    return harness
