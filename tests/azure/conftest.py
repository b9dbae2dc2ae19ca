"""Fixtures of the Azure tests: the fake ARM over HTTPS on 127.0.0.1, the real Azure SDK
clients pointed at it, and the network rule (nothing but loopback, no public name looked up)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from vcpsdk.testing.fakes.azure import SUBSCRIPTION_ID, FakeArm, RunningArm, running_fake_arm
from vcpsdk.testing.network import network_rule

#: the Azure SDK's environment variables, removed for every test
AZURE_VARIABLES = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST")


@pytest.fixture(autouse=True)
def azure_network_rule(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail the test if anything connects outside 127.0.0.0/8 or resolves a public name
    (login.microsoftonline.com, management.azure.com, ...)."""
    with network_rule(monkeypatch, unset=AZURE_VARIABLES) as refused:
        yield refused


@pytest.fixture
def arm() -> Iterator[RunningArm]:
    """A fresh fake ARM, served over HTTPS."""
    with running_fake_arm(FakeArm(unavailable_sizes=("Standard_NV6",))) as running:
        yield running


@pytest.fixture
def credential(arm: RunningArm) -> Iterator[Any]:
    from azure.identity import ClientSecretCredential

    with ClientSecretCredential(**arm.credential_kwargs()) as credential:
        yield credential  # closed afterwards: no keep-alive connection holds the server up


@pytest.fixture
def compute(arm: RunningArm, credential: Any) -> Iterator[Any]:
    from azure.mgmt.compute import ComputeManagementClient

    with ComputeManagementClient(credential, SUBSCRIPTION_ID, **arm.client_kwargs()) as client:
        yield client


@pytest.fixture
def network(arm: RunningArm, credential: Any) -> Iterator[Any]:
    from azure.mgmt.network import NetworkManagementClient

    with NetworkManagementClient(credential, SUBSCRIPTION_ID, **arm.client_kwargs()) as client:
        yield client
