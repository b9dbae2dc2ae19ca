"""Parts of the AWS backend that need no EC2: addresses, error mapping, the bootstrap
script (run for real with stub commands), and the boto3 import.  The rate limit (the
toolkit's token bucket) is tested in tests/backends/toolkit/test_ratelimit.py."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from vcpsdk.controller.backends.aws import NEEDS_BOTO3, AwsBackend, bootstrap_script, error_class, map_error
from vcpsdk.controller.backends.base import InvalidRequest, NodeRequest, UnitContext
from vcpsdk.controller.backends.toolkit.errors import (
    BackendError,
    CloudAuthError,
    CloudCapacityError,
    CloudError,
    CloudInvalidParameter,
    CloudNotFoundError,
    CloudQuotaError,
    CloudThrottlingError,
)

CATALOG = {"private_network_ipmask": "172.30.2.0/24"}


@pytest.fixture
def offline() -> AwsBackend:
    """A backend that is never asked to call EC2 (nothing here connects anywhere)."""
    return AwsBackend(
        {
            "access_key": "testing",
            "secret_key": "testing",
            "vpn_catalog": {"default": {"aws_region": "ap-northeast-1", **CATALOG}},
        },
        "c" * 32,
    )


# -- addresses ----------------------------------------------------------------------------------


def test_automatic_addresses_are_left_to_ec2(offline: AwsBackend) -> None:
    assert offline.plan_addresses("aws", CATALOG, [], 3, set()) == [None, None, None]


def test_fixed_addresses_are_checked(offline: AwsBackend) -> None:
    plan = offline.plan_addresses
    assert plan("aws", CATALOG, ["172.30.2.100", "172.30.2.101"], 2, {"172.30.2.5"}) == [
        "172.30.2.100",
        "172.30.2.101",
    ]
    cases = {
        "172.30.3.7": "ip_address[172.30.3.7] is outside private_network_ipmask 172.30.2.0/24 "
        "of provider aws",
        "300.1.1.1": "ip_address[300.1.1.1] is not an IPv4 address; use an address in "
        "private_network_ipmask 172.30.2.0/24",
        "fe80::1": "ip_address[fe80::1] is not an IPv4 address",
        "172.30.2.3": "ip_address[172.30.2.3] is reserved by AWS in 172.30.2.0/24",
        "172.30.2.255": "ip_address[172.30.2.255] is reserved by AWS in 172.30.2.0/24",
        "172.30.2.5": "ip_address[172.30.2.5] is not available; choose another address in "
        "private_network_ipmask 172.30.2.0/24",
    }
    for address, message in cases.items():
        with pytest.raises(InvalidRequest) as failure:
            plan("aws_spot", CATALOG, [address], 1, {"172.30.2.5"})
        assert str(failure.value).startswith(message.replace("provider aws", "provider aws_spot"))
    with pytest.raises(InvalidRequest, match=r"ip_address\[172.30.2.9\] is not available"):
        plan("aws", CATALOG, ["172.30.2.9", "172.30.2.9"], 2, set())


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("InsufficientInstanceCapacity", CloudCapacityError),
        ("InsufficientCapacity", CloudCapacityError),
        ("InstanceLimitExceeded", CloudQuotaError),
        ("VcpuLimitExceeded", CloudQuotaError),
        ("VolumeLimitExceeded", CloudQuotaError),
        ("MaxSpotInstanceCountExceeded", CloudQuotaError),
        ("AuthFailure", CloudAuthError),
        ("UnauthorizedOperation", CloudAuthError),
        ("InvalidClientTokenId", CloudAuthError),
        ("SignatureDoesNotMatch", CloudAuthError),
        ("InvalidParameterValue", CloudInvalidParameter),
        ("InvalidParameterCombination", CloudInvalidParameter),
        ("InvalidAMIID.NotFound", CloudInvalidParameter),
        ("InvalidAMIID.Malformed", CloudInvalidParameter),
        ("InvalidSubnetID.NotFound", CloudInvalidParameter),
        ("MissingParameter", CloudInvalidParameter),
        ("UnsupportedOperation", CloudInvalidParameter),
        ("RequestLimitExceeded", CloudThrottlingError),
        ("Throttling", CloudThrottlingError),
        ("InvalidInstanceID.NotFound", CloudNotFoundError),
        ("InvalidVolume.NotFound", CloudNotFoundError),
        ("InternalError", CloudError),
    ],
)
def test_error_codes_map_to_typed_errors(code: str, kind: type[BackendError]) -> None:
    assert error_class(code) is kind
    error = ClientError({"Error": {"Code": code, "Message": "the cloud says no"}}, "RunInstances")
    mapped = map_error(error)
    assert type(mapped) is kind and isinstance(mapped, BackendError)
    assert str(mapped) == f"{code}: the cloud says no"
    assert isinstance(mapped, CloudError) and mapped.provider == "aws" and mapped.code == code
    # only throttling and EC2's own failures are worth sending again
    assert mapped.retryable == (code in ("Throttling", "RequestLimitExceeded", "InternalError"))


def test_a_missing_instance_is_also_an_invalid_parameter() -> None:
    assert issubclass(CloudNotFoundError, CloudInvalidParameter)


def test_other_errors() -> None:
    unreachable = map_error(EndpointConnectionError(endpoint_url="http://127.0.0.1:9/"))
    assert type(unreachable) is CloudError and isinstance(unreachable, BackendError)
    assert unreachable.retryable
    assert str(unreachable).startswith("EndpointConnectionError: Could not connect")
    assert map_error(KeyError("bug")) is None  # our own bugs are not dressed up


def test_the_secret_key_never_appears_in_an_error() -> None:
    error = ClientError(
        {"Error": {"Code": "SignatureDoesNotMatch", "Message": "signed with s3cr3t-key-value"}},
        "RunInstances",
    )
    mapped = map_error(error, ("s3cr3t-key-value",))
    assert str(mapped) == "SignatureDoesNotMatch: signed with ***"


def test_without_boto3_the_backend_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 → ImportError
    with pytest.raises(BackendError) as failure:
        AwsBackend({}, "c" * 32)
    assert str(failure.value) == NEEDS_BOTO3 == ("the AWS backend needs boto3: pip install 'vcpsdk[aws]'")


def test_vpn_catalog_serves_aws_and_aws_spot(offline: AwsBackend) -> None:
    catalog = offline.vpn_catalog()
    assert sorted(catalog) == ["aws", "aws_spot"]
    assert catalog["aws"] == catalog["aws_spot"] == {"default": {"aws_region": "ap-northeast-1", **CATALOG}}
    assert offline.node_ssh_port() is None


# -- the bootstrap script ----------------------------------------------------------------------


def _unit(**spec: object) -> UnitContext:
    base = {
        "image": "harbor.vcloud.nii.ac.jp/vcp/base:3.0.0",
        "params_v": [],
        "params_e": [],
        "docker_opt": {},
        "cloud_params": {},
    }
    return UnitContext(
        vcid="v" * 32,
        vc_name="my group",
        unit_name="web",
        provider="aws",
        owner="alice",
        spec={**base, **spec},
        catalog={},
    )


def _stubs(tmp_path: Path) -> dict[str, str]:
    """PATH with docker/curl/hostname stubs: docker records its arguments (NUL-separated),
    curl answers like the instance metadata service. Nothing connects anywhere."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scripts = {
        "docker": '#!/bin/sh\ncase "$1" in\n  info) exit 0 ;;\n  inspect) exit 1 ;;\n'
        '  run) shift; for a in "$@"; do printf \'%s\\0\' "$a"; done > "$DOCKER_ARGS" ;;\n'
        "esac\n",
        "curl": '#!/bin/sh\nfor a in "$@"; do last="$a"; done\ncase "$last" in\n'
        "  */api/token) echo tok ;;\n  */meta-data/local-ipv4) echo 10.77.0.44 ;;\n"
        "  */meta-data/tags/instance/vcp:node_id) echo node-0123 ;;\n  *) exit 22 ;;\n"
        "esac\n",
        "hostname": "#!/bin/sh\necho 10.99.99.99\n",
    }
    for name, text in scripts.items():
        path = bin_dir / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "DOCKER_ARGS": str(tmp_path / "args")}


def _run(script: str, tmp_path: Path) -> list[str]:
    env = _stubs(tmp_path)
    path = tmp_path / "user-data.sh"
    path.write_text(script)
    subprocess.run(["/bin/sh", str(path)], env={**os.environ, **env}, check=True, timeout=20)
    return Path(env["DOCKER_ARGS"]).read_bytes().decode().split("\0")[:-1]


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_bootstrap_script_runs_the_base_container(tmp_path: Path) -> None:
    tricky = 'NOTE=it\'s "quoted" $HOME `uname` ; rm -rf /'
    unit = _unit(
        params_v=["/srv/my data:/data"],
        params_e=["AUTHORIZED_KEYS=c3NoLWVkMjU1MTkgQUFBQQ==", tricky],
        docker_opt={
            "dns": ["1.1.1.1", "8.8.8.8"],
            "dns_search": "example.org",
            "options": ["ndots:2"],
            "add_host": ["db:10.77.0.50"],
            "hostname": "server01",
            "gpus": "all",
        },
    )
    script = bootstrap_script(
        unit, NodeRequest("n1", 1, None), controller_id="ctl-1", controller_address="172.30.2.10"
    )
    assert _run(script, tmp_path) == [
        "-d",
        "--name",
        "vcp-base",
        "--restart",
        "always",
        "--privileged",
        "--net=host",
        "-v",
        "/dev:/dev",
        "-v",
        "/srv/my data:/data",
        "-e",
        "AUTHORIZED_KEYS=c3NoLWVkMjU1MTkgQUFBQQ==",
        "-e",
        tricky,
        "-e",
        "MY_PRIVATE_IP=10.77.0.44",
        "-e",
        "VCCCTR_IPADDR=172.30.2.10",
        "-e",
        "SERF_NODE_ID=node-0123",
        "-e",
        "VCCC_ID=ctl-1",
        "-e",
        "VCP_NODE_ID=node-0123",
        "-e",
        "VCP_UNIT_NAME=web",
        "-e",
        "VCP_UGROUP_NAME=my group",
        "--dns",
        "1.1.1.1",
        "--dns",
        "8.8.8.8",
        "--dns-search",
        "example.org",
        "--dns-opt",
        "ndots:2",
        "--add-host",
        "db:10.77.0.50",
        "--hostname",
        "server01",
        "--gpus",
        "all",
        "harbor.vcloud.nii.ac.jp/vcp/base:3.0.0",
    ]


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX shell")
def test_bootstrap_script_with_a_fixed_address_and_defaults(tmp_path: Path) -> None:
    unit = _unit(image="", docker_opt=None, params_e=None, params_v=None)
    script = bootstrap_script(unit, NodeRequest("n1", 1, "172.30.2.100"))
    args = _run(script, tmp_path)
    assert args[args.index("MY_PRIVATE_IP=172.30.2.100") - 1] == "-e"
    assert "VCCCTR_IPADDR=" in args
    assert args[-1].startswith("harbor.vcloud.nii.ac.jp/vcp/base:")  # the SDK's default image
    assert not any(a.startswith("--dns") for a in args)
