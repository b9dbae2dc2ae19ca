"""Fixtures of the Oracle Cloud tests: the fake OCI Core API on 127.0.0.1, the real ``oci``
clients pointed at it, the network rule (nothing but loopback, no public name looked up), and
the conformance suite run against the Oracle backend on the fake."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import pytest

from vcpsdk.testing.conformance.harness import ConformanceHarness
from vcpsdk.testing.conformance.oracle import OracleFakeHarness
from vcpsdk.testing.fakes.oracle import FakeOci, RunningOci, running_fake_oci
from vcpsdk.testing.network import network_rule

#: the OCI SDK's and the backend's environment variables, removed for every test
OCI_VARIABLES = ("OCI_USER_OCID", "OCI_FINGERPRINT", "OCI_PRIVATE_KEY", "OCI_PRIVATE_KEY_FILE", "OCI_REGION")


#: why an Oracle test fails when the ``oracle`` extra is missing (never a silent skip)
NEEDS_OCI = "the OCI SDK (oci) is not installed: run scripts/setup.sh (it installs the test extra)"


@pytest.fixture(autouse=True)
def oci_installed() -> None:
    """Fail, not skip, every Oracle test when ``oci`` is missing."""
    if importlib.util.find_spec("oci") is None:
        pytest.fail(NEEDS_OCI)


@pytest.fixture(autouse=True)
def oracle_network_rule(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail the test if anything connects outside 127.0.0.0/8 or resolves a public name
    (iaas.ap-tokyo-1.oraclecloud.com, the instance metadata service, ...)."""
    with network_rule(monkeypatch, unset=OCI_VARIABLES) as refused:
        yield refused


@pytest.fixture
def conformance_harness() -> ConformanceHarness:
    """The Oracle backend on a fresh fake OCI (the whole conformance suite runs here)."""
    harness: ConformanceHarness = OracleFakeHarness()
    return harness


@pytest.fixture
def served() -> Iterator[RunningOci]:
    """A fresh fake OCI, served on 127.0.0.1, listing 2 items per page (pagination is exercised)."""
    with running_fake_oci(FakeOci(page_size=2)) as running:
        yield running


@pytest.fixture
def clients(served: RunningOci) -> dict[str, Any]:
    """The real OCI SDK clients (compute, network, blockstorage) on the fake, no retries."""
    import oci

    kwargs = {"service_endpoint": served.service_endpoint, "retry_strategy": oci.retry.NoneRetryStrategy()}
    config = served.config()
    return {
        "compute": oci.core.ComputeClient(config, **kwargs),
        "network": oci.core.VirtualNetworkClient(config, **kwargs),
        "blockstorage": oci.core.BlockstorageClient(config, **kwargs),
    }
