"""Fixtures of the AWS backend tests: EC2 on moto (server mode, 127.0.0.1) and the
network rule (no connection to anything but loopback, in particular not to the 10.x
addresses moto hands out)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

# boto3 and moto come with the test extras: without them these tests fail with the
# ImportError that names the missing package (never a silent skip)
from vcpsdk.controller.backends.aws import AwsBackend
from vcpsdk.controller.backends.base import UnitContext
from vcpsdk.testing.fakes.aws import (
    Calls,
    Faults,
    backend_config,
    ec2_client,
    make_network,
    moto_endpoint,
    reset_moto,
)
from vcpsdk.testing.network import loopback_only

_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def network_rule() -> Iterator[None]:
    """Fail the test if anything connects to a non-loopback address."""
    with loopback_only() as violations:
        yield
    if violations:
        pytest.fail(f"connections to non-loopback addresses: {', '.join(violations)}")


@pytest.fixture(autouse=True)
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real AWS configuration can leak in; boto3 never asks the instance metadata."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


@pytest.fixture(scope="session")
def endpoint() -> str:
    """The moto server of this test process."""
    return moto_endpoint()


@pytest.fixture(scope="session")
def _ec2_client(endpoint: str) -> Any:
    return ec2_client(endpoint)


@pytest.fixture
def ec2(endpoint: str, _ec2_client: Any) -> Any:
    """The test's own EC2 client (a fresh, empty account per test)."""
    reset_moto(endpoint)
    return _ec2_client


@pytest.fixture
def entry(ec2: Any) -> dict[str, Any]:
    """The VPN catalog entry ``default``: subnet 10.77.0.0/16, security group, AMI."""
    return make_network(ec2)


@pytest.fixture
def controller_id() -> str:
    return uuid.uuid4().hex


@pytest.fixture
def backend(endpoint: str, entry: dict[str, Any], controller_id: str) -> Iterator[AwsBackend]:
    """An AwsBackend on moto, as the controller builds it from the operator's section."""
    aws = AwsBackend(backend_config(endpoint, entry), controller_id)
    yield aws
    aws.close()


@pytest.fixture
def calls(backend: AwsBackend) -> Iterator[Calls]:
    """The EC2 calls the backend makes."""
    recorder = Calls(backend)
    yield recorder
    recorder.close()


@pytest.fixture
def faults(backend: AwsBackend) -> Iterator[Faults]:
    """Failure injection into the backend's EC2 calls."""
    injector = Faults(backend)
    yield injector
    injector.clear()


@pytest.fixture
def make_unit(entry: dict[str, Any]):
    """``make_unit(provider='aws', **cloud_params)``: a UnitContext of a fresh UnitGroup."""

    def make(
        provider: str = "aws", *, spec: dict[str, Any] | None = None, **cloud_params: Any
    ) -> UnitContext:
        n = next(_numbers)
        params = {
            "instance_type": "m4.large",
            "volume_size": 16,
            "volume_type": "gp2",
            "cloud_image": "default",
            "tags": {},
            **cloud_params,
        }
        unit_spec = {
            "provider": provider,
            "private_network": "default",
            "image": "harbor.vcloud.nii.ac.jp/vcp/base:3.0.0-alpine3.22-x86_64",
            "params_v": [],
            "params_e": ["AUTHORIZED_KEYS=c3NoLWVkMjU1MTkgQUFBQQ=="],
            "docker_opt": {},
            "cloud_params": params,
            **(spec or {}),
        }
        catalog = {} if provider == "aws_disk" else dict(entry)
        return UnitContext(
            vcid=uuid.uuid4().hex,
            vc_name=f"group{n}",
            unit_name=f"unit{n}",
            provider=provider,
            owner="alice",
            spec=unit_spec,
            catalog=catalog,
        )

    return make
