"""``vcpsdk.plugins.chameleon_ext`` against a local fake of Chameleon's OpenStack APIs.

The fake (tests/chameleon/fake_chameleon.py) runs in-process on 127.0.0.1; an autouse
fixture makes any other host name fail to resolve, so chi.uc.chameleoncloud.org is never
contacted.  The client's clock is the fake's clock, and the client's sleeps move that clock
forward instead of sleeping, so time-dependent rules are tested without waiting.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import logging
import re
import socket
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from tests.helpers import refuse_non_loopback_names
from vcpsdk.errors import (
    VcpAuthError,
    VcpConfigError,
    VcpConflictError,
    VcpConnectionError,
    VcpInvalidArgumentError,
    VcpNotFoundError,
    VcpSDKError,
    VcpTimeoutError,
)
from vcpsdk.extensions.chameleon import dates as chameleon_dates
from vcpsdk.plugins import chameleon_ext
from vcpsdk.plugins.chameleon_ext import (
    DEFAULT_AUTH_URL,
    EXTENSION_CLASSES,
    ChameleonAuthError,
    ChameleonConfigError,
    ChameleonConflictError,
    ChameleonConnectionError,
    ChameleonError,
    ChameleonInvalidArgumentError,
    ChameleonLeaseError,
    ChameleonNotFoundError,
    ChameleonTimeoutError,
    VcpChameleonOpenrc,
    VcpExtResourceChameleon,
    VcpExtResourceChameleonHostLeaseInfo,
    VcpExtResourceChameleonNetwork,
)
from vcpsdk.testing.fakes.chameleon import (
    APP_CRED_ID,
    APP_CRED_SECRET,
    EXTENSION_WINDOW_HOURS,
    HOSTS,
    MAX_LEASE_DAYS,
    OTHER_REGION,
    PROJECT_ID,
    REGION,
    FakeChameleon,
    RunningFake,
    running_fake_chameleon,
)

VCC_TOKEN = "vcc-access-token-DO-NOT-LOG-7f3a9c"
FMT = "%Y-%m-%d %H:%M"


# ------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def server() -> Iterator[RunningFake]:
    with running_fake_chameleon() as running:
        yield running


@pytest.fixture
def fake(server: RunningFake) -> FakeChameleon:
    server.fake.reset()
    return server.fake


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Refuse to resolve any host but the loopback one; record what was refused."""
    return refuse_non_loopback_names(monkeypatch)


@pytest.fixture(autouse=True)
def sleeps(server: RunningFake, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client runs on the fake's clock; its sleeps advance that clock (no real waiting)."""
    clock = server.fake.clock()
    monkeypatch.setattr(chameleon_dates, "utcnow", server.fake.now)
    monkeypatch.setattr(VcpChameleonOpenrc, "clock", clock)
    return clock.sleeps


def write_config(directory: Path, section: dict[str, Any] | None, **top: Any) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = dict(top)
    if section is not None:
        data["chameleon"] = section
    (directory / "vcp_config.yml").write_text(yaml.safe_dump(data))
    return directory


@pytest.fixture
def section(server: RunningFake) -> dict[str, Any]:
    return {
        "auth_url": server.auth_url,
        "application_credential_id": APP_CRED_ID,
        "application_credential_secret": APP_CRED_SECRET,
        "private_network": "default",
    }


@pytest.fixture
def cfg(tmp_path: Path, section: dict[str, Any]) -> Path:
    return write_config(tmp_path / "cfg", section)


@pytest.fixture
def ext(cfg: Path, fake: FakeChameleon) -> VcpExtResourceChameleon:
    return VcpExtResourceChameleon("chameleon", str(cfg), VCC_TOKEN)


@pytest.fixture
def net(cfg: Path, fake: FakeChameleon) -> VcpExtResourceChameleonNetwork:
    return VcpExtResourceChameleonNetwork("chameleon_network", str(cfg), VCC_TOKEN)


@pytest.fixture
def info(cfg: Path, fake: FakeChameleon) -> VcpExtResourceChameleonHostLeaseInfo:
    return VcpExtResourceChameleonHostLeaseInfo("chameleon_host_lease_info", str(cfg), VCC_TOKEN)


def at(delta: dt.timedelta, fake: FakeChameleon) -> str:
    return (fake.now() + delta).strftime(FMT)


def reserve(ext: VcpExtResourceChameleon, **kwargs: Any) -> VcpExtResourceChameleonHostLeaseInfo:
    kwargs.setdefault("node_type", "compute_skylake")
    ext.setup(**kwargs)
    return ext.reserve_host()


def minutes_between(a: str, b: str) -> float:
    return (dt.datetime.strptime(b, FMT) - dt.datetime.strptime(a, FMT)).total_seconds() / 60


# ------------------------------------------------------------ registry, construction


def test_registry_names_classes_and_signatures() -> None:
    assert EXTENSION_CLASSES == {
        "chameleon": VcpExtResourceChameleon,
        "chameleon_network": VcpExtResourceChameleonNetwork,
        "chameleon_host_lease_info": VcpExtResourceChameleonHostLeaseInfo,
    }
    for cls in EXTENSION_CLASSES.values():
        assert issubclass(cls, VcpChameleonOpenrc)
        assert cls.version == "20200731"
        params = list(inspect.signature(cls).parameters.values())[:4]
        assert [p.name for p in params] == ["provider_name", "config_dir", "token", "verbose"]
        assert params[3].default == 0
    setup = inspect.signature(VcpExtResourceChameleon.setup).parameters
    assert list(setup)[1:] == [
        "node_type",
        "start_date",
        "end_date",
        "min_instances",
        "max_instances",
        "vcpus",
        "memory_mb",
        "disk_gb",
        "lease_name_prefix",
        "vpn_catalog",
    ]
    assert list(inspect.signature(VcpExtResourceChameleonHostLeaseInfo.extend).parameters)[1:] == [
        "weeks",
        "days",
        "hours",
    ]
    assert list(inspect.signature(VcpExtResourceChameleonHostLeaseInfo.setup).parameters)[1:] == [
        "host_lease_id",
        "vpn_catalog",
    ]
    assert list(inspect.signature(VcpExtResourceChameleonNetwork.create_network).parameters)[1:3] == [
        "start_date",
        "end_date",
    ]


def test_every_public_member_has_a_docstring() -> None:
    for cls in (VcpChameleonOpenrc, *EXTENSION_CLASSES.values()):
        assert cls.__doc__ and "Example" in cls.__doc__
        for name, member in vars(cls).items():
            if name.startswith("_"):
                continue
            target = member.fget if isinstance(member, property) else member
            if callable(target):
                assert target.__doc__, f"{cls.__name__}.{name}"
                if not isinstance(member, property):
                    assert "Example" in target.__doc__, f"{cls.__name__}.{name}"


def test_construction_reads_config_and_sends_nothing(
    tmp_path: Path, fake: FakeChameleon, loopback_only: list[str]
) -> None:
    cfg = write_config(
        tmp_path / "c",
        {
            "application_credential_id": "i",
            "application_credential_secret": "s-secret",
            "region_name": OTHER_REGION,
            "project_id": "p1",
        },
    )
    for name, cls in EXTENSION_CLASSES.items():
        obj = cls(name, str(cfg), VCC_TOKEN, verbose=2)
        assert obj.provider_name == name
        assert obj.auth_url == DEFAULT_AUTH_URL == "https://chi.uc.chameleoncloud.org:5000/v3"
        assert obj.region_name == OTHER_REGION and obj.project_id == "p1"
        assert obj.config_dir == cfg and obj.verbose == 2
        obj.verbose = 0
        assert obj.verbose == 0
        assert "s-secret" not in repr(obj) and VCC_TOKEN not in repr(obj)
        if cls is not VcpExtResourceChameleonHostLeaseInfo:  # that one shows its lease
            assert "credentials=set" in repr(obj)
    assert fake.requests == [] and loopback_only == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:5000/v3", "http://127.0.0.1:5000/v3"),
        ("http://127.0.0.1:5000/v3/", "http://127.0.0.1:5000/v3"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000/v3"),
    ],
)
def test_auth_url_is_normalized(tmp_path: Path, given: str, expected: str) -> None:
    cfg = write_config(tmp_path / "c", {"auth_url": given})
    assert VcpExtResourceChameleon("chameleon", str(cfg), "").auth_url == expected


def test_bad_auth_url_and_bad_section(tmp_path: Path) -> None:
    with pytest.raises(ChameleonConfigError, match="auth_url must be an http"):
        VcpExtResourceChameleon("chameleon", str(write_config(tmp_path / "a", {"auth_url": "chi"})), "")
    bad = tmp_path / "b"
    bad.mkdir()
    (bad / "vcp_config.yml").write_text("chameleon: [1, 2]\n")
    with pytest.raises(VcpConfigError):
        VcpExtResourceChameleon("chameleon", str(bad), "")


def test_missing_section_or_credentials_fail_on_first_use(
    tmp_path: Path, fake: FakeChameleon, server: RunningFake
) -> None:
    nothing = VcpExtResourceChameleon("chameleon", str(tmp_path / "nowhere"), VCC_TOKEN)
    nothing.setup("compute_skylake")  # setup sends nothing, so it works
    with pytest.raises(ChameleonConfigError, match="section chameleon is missing") as e:
        nothing.reserve_host()
    assert isinstance(e.value, VcpConfigError) and isinstance(e.value, VcpSDKError)
    partial = write_config(
        tmp_path / "p", {"auth_url": server.auth_url, "application_credential_id": APP_CRED_ID}
    )
    with pytest.raises(ChameleonConfigError, match="application_credential_secret is not set"):
        VcpExtResourceChameleonNetwork("chameleon_network", str(partial), "").authenticate()
    assert fake.requests == []


@pytest.mark.parametrize("key", ["application_credential_id", "application_credential_secret"])
def test_vault_references_are_refused_clearly(
    tmp_path: Path, section: dict[str, Any], fake: FakeChameleon, key: str
) -> None:
    section[key] = f"vault://cubbyhole/chameleon/{key}"
    cfg = write_config(tmp_path / "v", section)
    info = VcpExtResourceChameleonHostLeaseInfo("chameleon_host_lease_info", str(cfg), VCC_TOKEN)
    with pytest.raises(ChameleonConfigError) as e:
        info.setup("some-lease")
    message = str(e.value)
    assert key in message and "vault://" in message
    assert "resolved by the VC Controller" in message and "literal credential" in message
    assert fake.requests == []


# -------------------------------------------------------------------- Keystone


def test_without_keystoneauth1_the_error_names_the_package(
    ext: VcpExtResourceChameleon, fake: FakeChameleon, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "keystoneauth1", None)  # as if not installed
    with pytest.raises(ChameleonConfigError, match=r"keystoneauth1 package: pip install 'keystoneauth1>=5'"):
        ext.authenticate()
    assert fake.requests == []


def test_keystoneauth1_is_a_base_dependency() -> None:
    """The original extension worked on the base install: so does the login (no extra)."""
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]
    assert any(re.match(r"keystoneauth1\b", dep) for dep in project["dependencies"])
    # the old extra still installs (an empty alias), so existing install commands work
    assert project["optional-dependencies"]["chameleon"] == []


def test_the_package_path_and_the_original_path_are_one_api(
    ext: VcpExtResourceChameleon, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vcpsdk.extensions.chameleon as package
    from vcpsdk.extensions.chameleon import settings

    for name in chameleon_ext.__all__:
        assert getattr(chameleon_ext, name) is getattr(package, name), name
    monkeypatch.setattr(chameleon_ext, "WAIT_INTERVAL_SEC", 3)  # read at call time, everywhere
    assert settings.WAIT_INTERVAL_SEC == package.WAIT_INTERVAL_SEC == chameleon_ext.WAIT_INTERVAL_SEC == 3
    assert isinstance(ext, package.VcpChameleonOpenrc)


def test_authenticate_uses_the_application_credential(
    ext: VcpExtResourceChameleon, fake: FakeChameleon, server: RunningFake
) -> None:
    ext.authenticate()
    assert fake.bodies("POST", "/v3/auth/tokens") == [
        {
            "auth": {
                "identity": {
                    "methods": ["application_credential"],
                    "application_credential": {"id": APP_CRED_ID, "secret": APP_CRED_SECRET},
                }
            }
        }
    ]
    assert ext.project_id == PROJECT_ID
    assert ext.endpoint("reservation") == f"{server.base_url}/reservation/v1"
    assert ext.endpoint("network") == f"{server.base_url}/network"
    with pytest.raises(ChameleonNotFoundError, match="no public 'compute' endpoint"):
        ext.endpoint("compute")
    assert fake.count("POST", "/v3/auth/tokens") == 1  # the token is reused


def test_wrong_credential_is_an_auth_error(
    tmp_path: Path, section: dict[str, Any], fake: FakeChameleon
) -> None:
    section["application_credential_secret"] = "wrong-secret-value"
    ext = VcpExtResourceChameleon("chameleon", str(write_config(tmp_path / "w", section)), VCC_TOKEN)
    ext.setup("compute_skylake")
    with pytest.raises(ChameleonAuthError) as e:
        ext.reserve_host()
    err = e.value
    assert isinstance(err, VcpAuthError) and err.http_status == 401
    assert err.server_message == "The request you have made requires authentication."
    assert "wrong-secret-value" not in str(err)
    assert fake.count("POST", "/leases") == 0


def test_region_name_selects_the_endpoints(
    tmp_path: Path, section: dict[str, Any], fake: FakeChameleon, server: RunningFake
) -> None:
    section["region_name"] = OTHER_REGION
    cfg = write_config(tmp_path / "r", section)
    ext = VcpExtResourceChameleon("chameleon", str(cfg), VCC_TOKEN)
    lease = reserve(ext)
    # CHI@TACC's catalog URL lacks /v1: the client adds it; Neutron's trailing slash is dropped
    assert fake.count("POST", "/tacc/reservation/v1/leases") == 1
    assert ext.endpoint("network") == f"{server.base_url}/tacc/network"
    lease.update()
    assert fake.count("GET", f"/tacc/reservation/v1/leases/{lease.host_lease_id}") == 1

    section["region_name"] = "CHI@Nowhere"
    lost = VcpExtResourceChameleon("chameleon", str(write_config(tmp_path / "x", section)), "")
    with pytest.raises(ChameleonConfigError) as e:
        lost.endpoint("reservation")
    assert "'CHI@Nowhere'" in str(e.value) and f"{OTHER_REGION}, {REGION}" in str(e.value)


def test_project_id_mismatch_is_a_config_error(
    tmp_path: Path, section: dict[str, Any], fake: FakeChameleon
) -> None:
    section["project_id"] = "another-project"
    ext = VcpExtResourceChameleon("chameleon", str(write_config(tmp_path / "p", section)), "")
    with pytest.raises(ChameleonConfigError, match=f"belongs to project {PROJECT_ID}"):
        ext.authenticate()
    section["project_id"] = PROJECT_ID
    same = VcpExtResourceChameleon("chameleon", str(write_config(tmp_path / "q", section)), "")
    same.authenticate()
    assert same.project_id == PROJECT_ID


def test_refused_token_triggers_one_new_login(
    ext: VcpExtResourceChameleon, fake: FakeChameleon, caplog: pytest.LogCaptureFixture
) -> None:
    lease = reserve(ext)
    assert fake.count("POST", "/v3/auth/tokens") == 1
    fake.revoke_tokens()
    with caplog.at_level(logging.INFO, logger="vcp.sdk.chameleon"):
        lease.update()
    assert fake.count("POST", "/v3/auth/tokens") == 2
    assert "logging in again" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # a service that keeps refusing fresh tokens: one retry only, then the error
    fake.fail_next(401, {"error_code": 401, "error_message": "nope", "error_name": 401})
    fake.fail_next(401, {"error_code": 401, "error_message": "still nope", "error_name": 401})
    with pytest.raises(ChameleonAuthError) as e:
        lease.update()
    assert e.value.server_message == "still nope"
    assert fake.count("POST", "/v3/auth/tokens") == 3


def test_expiring_token_is_renewed_before_use(ext: VcpExtResourceChameleon, fake: FakeChameleon) -> None:
    lease = reserve(ext, end_date=at(dt.timedelta(days=2), fake))
    fake.advance(hours=1)  # the token lives an hour
    lease.update()
    assert fake.count("POST", "/v3/auth/tokens") == 2
    assert all(r["token_sent"] for r in fake.requests if "/leases" in r["path"])


def test_unreachable_chameleon_is_a_connection_error(tmp_path: Path, loopback_only: list[str]) -> None:
    ext = VcpExtResourceChameleon(
        "chameleon",
        str(
            write_config(
                tmp_path / "d",
                {"application_credential_id": "i", "application_credential_secret": "s-secret"},
            )
        ),
        "",
    )
    with pytest.raises(ChameleonConnectionError) as e:
        ext.authenticate()  # the default auth_url: blocked by the loopback fixture
    assert isinstance(e.value, VcpConnectionError) and isinstance(e.value, ConnectionError)
    assert loopback_only == ["chi.uc.chameleoncloud.org"]

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    refused = VcpExtResourceChameleon(
        "chameleon",
        str(
            write_config(
                tmp_path / "e",
                {
                    "auth_url": f"http://127.0.0.1:{port}/v3",
                    "application_credential_id": "i",
                    "application_credential_secret": "s-secret",
                },
            )
        ),
        "",
    )
    with pytest.raises(ChameleonConnectionError, match="cannot reach"):
        refused.authenticate()


# ---------------------------------------------------------------- host reservation


def test_setup_defaults_prepare_without_sending(ext: VcpExtResourceChameleon, fake: FakeChameleon) -> None:
    before = fake.now().replace(second=0, microsecond=0)
    assert ext.setup("compute_skylake") is None
    assert fake.requests == []
    start = dt.datetime.strptime(ext.start_date, FMT).replace(tzinfo=dt.UTC)
    assert abs((start - before).total_seconds()) <= 60  # start None => now
    assert minutes_between(ext.start_date, ext.end_date) == 24 * 60  # end None => +1 day
    assert (ext.node_type, ext.min_instances, ext.max_instances) == ("compute_skylake", 1, 1)
    assert ext.lease_name.startswith("vcp-host-")
    request = ext.lease_request
    assert request == {
        "name": ext.lease_name,
        "start_date": "now",
        "end_date": ext.end_date,
        "reservations": [
            {
                "resource_type": "physical:host",
                "min": 1,
                "max": 1,
                "resource_properties": '["==", "$node_type", "compute_skylake"]',
                "hypervisor_properties": "",
            }
        ],
        "events": [],
    }
    request["name"] = "changed"
    assert ext.lease_request["name"] == ext.lease_name  # a copy


def test_setup_with_dates_counts_and_ignored_sizes(ext: VcpExtResourceChameleon, fake: FakeChameleon) -> None:
    start, end = at(dt.timedelta(hours=3), fake), at(dt.timedelta(days=2), fake)
    ext.setup(
        "compute_haswell",
        start_date=start,
        end_date=end,
        min_instances=1,
        max_instances=2,
        vcpus=48,
        memory_mb=196608,
        disk_gb=240,
        lease_name_prefix="exp",
        vpn_catalog={"private_network_ipmask": "10.0.0.0/24"},
    )
    assert (ext.start_date, ext.end_date) == (start, end)
    assert ext.lease_name.startswith("exp-host-")
    assert (ext.vcpus, ext.memory_mb, ext.disk_gb) == (48, 196608, 240)
    request = ext.lease_request
    assert request["start_date"] == start and request["end_date"] == end
    assert request["reservations"][0]["min"] == 1 and request["reservations"][0]["max"] == 2
    text = json.dumps(request)
    assert "196608" not in text and "240" not in text and "vcpus" not in text  # ignored

    ext.setup("compute_haswell", start_date=start)
    assert minutes_between(start, ext.end_date) == 24 * 60  # end None => start + 1 day


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"node_type": ""}, "node_type must be a non-empty string"),
        ({"node_type": None}, "node_type must be a non-empty string"),
        ({"start_date": "2020/07/31 12:00"}, "not a UTC date"),
        ({"end_date": 20200731}, "must be a UTC date string"),
        ({"start_date": "2001-01-01 00:00"}, "is in the past"),
        ({"end_date": "2001-01-01 00:00"}, "must be later than start_date"),
        ({"min_instances": 0}, "min_instances must be a positive integer"),
        ({"max_instances": 1.5}, "max_instances must be a positive integer"),
        ({"min_instances": True}, "min_instances must be a positive integer"),
        ({"min_instances": 3, "max_instances": 2}, r"min_instances \(3\) is larger"),
        ({"lease_name_prefix": ""}, "lease_name_prefix must be a non-empty string"),
        ({"vpn_catalog": ["default"]}, "vpn_catalog must be a dict"),
    ],
)
def test_setup_refuses_bad_arguments(
    ext: VcpExtResourceChameleon, fake: FakeChameleon, kwargs: dict[str, Any], match: str
) -> None:
    kwargs.setdefault("node_type", "compute_skylake")
    with pytest.raises(ChameleonInvalidArgumentError, match=match) as e:
        ext.setup(**kwargs)
    assert isinstance(e.value, VcpInvalidArgumentError) and isinstance(e.value, ValueError)
    assert ext.lease_request is None and fake.requests == []


def test_reserve_host_before_setup(ext: VcpExtResourceChameleon, fake: FakeChameleon) -> None:
    with pytest.raises(ChameleonError, match=r"call setup\(node_type"):
        ext.reserve_host()
    assert fake.requests == []


def test_reserve_host_returns_the_lease_info(ext: VcpExtResourceChameleon, fake: FakeChameleon) -> None:
    ext.setup("compute_skylake", min_instances=2, max_instances=3)
    lease = ext.reserve_host()
    assert isinstance(lease, VcpExtResourceChameleonHostLeaseInfo)
    sent = fake.bodies("POST", "/reservation/v1/leases")
    assert sent == [ext.lease_request]
    stored = fake.leases[lease.host_lease_id]
    host_res = stored.reservations[0]
    assert lease.reservation_id == host_res["id"] and host_res["resource_type"] == "physical:host"
    assert lease.status == "STARTING"
    assert lease.lease_name == ext.lease_name
    assert (lease.start_date, lease.end_date) == (ext.start_date, ext.end_date)
    assert stored.hosts == {"compute_skylake": 3}
    assert lease.provider_name == "chameleon_host_lease_info"
    assert lease.lease["id"] == lease.host_lease_id


def test_wait_until_active(ext: VcpExtResourceChameleon, fake: FakeChameleon, sleeps: list[float]) -> None:
    fake.starting_polls = 3
    lease = reserve(ext)
    assert lease.wait(interval=7) is None
    assert lease.status == "ACTIVE"
    assert sleeps == [7, 7, 7]  # STARTING for 3 reads (the first read and two polls)
    assert fake.leases[lease.host_lease_id].reservations[0]["status"] == "active"


def test_wait_for_a_pending_lease_waits_for_its_start(
    ext: VcpExtResourceChameleon, fake: FakeChameleon, sleeps: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chameleon_ext, "WAIT_TIMEOUT_SEC", 60)
    lease = reserve(ext, start_date=at(dt.timedelta(minutes=30), fake))
    assert lease.update() == "STARTING"
    assert lease.update() == "PENDING"
    lease.wait()  # the default timeout counts from the lease's start, 30 min away
    assert lease.status == "ACTIVE"
    assert sleeps and set(sleeps) == {chameleon_ext.WAIT_INTERVAL_SEC}
    assert len(sleeps) >= 30 * 60 / chameleon_ext.WAIT_INTERVAL_SEC - 6


def test_wait_raises_on_error(ext: VcpExtResourceChameleon, fake: FakeChameleon) -> None:
    lease = reserve(ext)
    fake.set_lease_status(lease.host_lease_id, "ERROR")
    with pytest.raises(ChameleonLeaseError, match="is ERROR; it will not become ACTIVE"):
        lease.wait(interval=0)
    assert lease.status == "ERROR"


def test_wait_times_out(ext: VcpExtResourceChameleon, fake: FakeChameleon, sleeps: list[float]) -> None:
    lease = reserve(ext, start_date=at(dt.timedelta(days=1), fake))
    with pytest.raises(ChameleonTimeoutError) as e:
        lease.wait(timeout=60, interval=20)
    assert isinstance(e.value, VcpTimeoutError) and isinstance(e.value, TimeoutError)
    assert "still PENDING" in str(e.value) and "after 4 poll(s)" in str(e.value)
    # three pauses of 20 s; the last one ends at the deadline (the requests took real time)
    assert sleeps[:2] == [20, 20] and sleeps[2] == pytest.approx(20, abs=1)
    assert sum(sleeps) <= 60
    with pytest.raises(ChameleonInvalidArgumentError):
        lease.wait(interval=-1)


def test_wait_never_sleeps_past_its_deadline(
    ext: VcpExtResourceChameleon, fake: FakeChameleon, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    lease = reserve(ext, start_date=at(dt.timedelta(days=1), fake))
    caplog.set_level(logging.INFO, logger="vcp.sdk.chameleon")
    with pytest.raises(ChameleonTimeoutError, match="still PENDING after 4 poll"):
        lease.wait(timeout=50, interval=20)
    # 20 s, 20 s, then only what is left of the 50 s (not another 20 s)
    assert sleeps[:2] == [20, 20] and sleeps[2] == pytest.approx(10, abs=1)
    assert sum(sleeps) <= 50
    # one progress line per poll that was not final (logged by poll()'s progress)
    progress = [r.getMessage() for r in caplog.records if "... lease" in r.getMessage()]
    assert [line.split(" ... ", 1)[1] for line in progress] == [
        f"lease {lease.host_lease_id} (poll {n})" for n in (1, 2, 3)
    ]
    assert progress[-1].startswith("PENDING ... ")


def test_not_enough_hosts_is_a_conflict(ext: VcpExtResourceChameleon, fake: FakeChameleon) -> None:
    reserve(ext, node_type="gpu_rtx_6000")
    with pytest.raises(ChameleonConflictError) as e:
        reserve(ext, node_type="gpu_rtx_6000")
    assert isinstance(e.value, VcpConflictError) and e.value.http_status == 409
    assert "Not enough hosts available" in (e.value.server_message or "")
    # a later period is free
    later = reserve(ext, node_type="gpu_rtx_6000", start_date=at(dt.timedelta(days=2), fake))
    assert later.host_lease_id
    assert HOSTS["gpu_rtx_6000"] == 1


def test_blazar_refusal_is_reported(ext: VcpExtResourceChameleon, fake: FakeChameleon) -> None:
    ext.setup("compute_skylake", end_date=at(dt.timedelta(days=MAX_LEASE_DAYS + 1), fake))
    with pytest.raises(ChameleonInvalidArgumentError) as e:
        ext.reserve_host()
    assert e.value.http_status == 400
    assert e.value.server_message == f"Lease duration must not exceed {MAX_LEASE_DAYS} days"
    assert str(e.value) == (
        f"chameleon: reserve_host(compute_skylake) failed: http_status(400): "
        f"Lease duration must not exceed {MAX_LEASE_DAYS} days"
    )


# ---------------------------------------------------------------- lease info


def test_lease_info_setup_fetches_an_existing_lease(
    ext: VcpExtResourceChameleon, info: VcpExtResourceChameleonHostLeaseInfo, fake: FakeChameleon
) -> None:
    made = reserve(ext)
    catalog = {"private_network_ipmask": "10.0.0.0/24"}
    assert info.setup(made.host_lease_id, catalog) is None
    assert (info.host_lease_id, info.reservation_id) == (made.host_lease_id, made.reservation_id)
    assert info.status == "STARTING" and info.vpn_catalog is catalog
    assert info.end_date == made.end_date and info.lease_name == made.lease_name
    assert info.update() == "ACTIVE"
    assert info.status == "ACTIVE"


def test_lease_info_errors(info: VcpExtResourceChameleonHostLeaseInfo, fake: FakeChameleon) -> None:
    for call in (info.update, info.wait, info.delete, info.extend):
        with pytest.raises(ChameleonError, match=r"no lease: call setup\(host_lease_id\)"):
            call()
    with pytest.raises(ChameleonInvalidArgumentError):
        info.setup("")
    assert fake.requests == []
    with pytest.raises(ChameleonNotFoundError) as e:
        info.setup("no-such-lease")
    assert isinstance(e.value, VcpNotFoundError) and e.value.http_status == 404
    assert "not found" in (e.value.server_message or "")


def test_delete_deletes_the_lease(
    ext: VcpExtResourceChameleon, fake: FakeChameleon, info: VcpExtResourceChameleonHostLeaseInfo
) -> None:
    lease = reserve(ext)
    lease.wait(interval=0)
    assert lease.delete() is None
    assert lease.status == "DELETED"
    assert lease.host_lease_id not in fake.leases
    assert fake.count("DELETE", f"/leases/{lease.host_lease_id}") == 1
    with pytest.raises(ChameleonNotFoundError):
        lease.update()
    with pytest.raises(ChameleonNotFoundError):
        lease.delete()
    # the hosts are free again
    assert (
        fake.free_hosts("compute_skylake", fake.now(), fake.now() + dt.timedelta(hours=1))
        == HOSTS["compute_skylake"]
    )


# ---------------------------------------------------------------- extend


def lease_end(fake: FakeChameleon, lease: VcpExtResourceChameleonHostLeaseInfo) -> str:
    return fake.leases[lease.host_lease_id].end.strftime(FMT)


@pytest.mark.parametrize(
    ("kwargs", "minutes"),
    [
        ({}, 24 * 60),  # no argument => +1 day
        ({"hours": 5}, 5 * 60),
        ({"days": 2}, 2 * 24 * 60),
        ({"weeks": 1}, 7 * 24 * 60),
        ({"days": 2, "hours": 5}, 2 * 24 * 60),  # several units: the longest wins
        ({"weeks": 1, "days": 3, "hours": 1}, 7 * 24 * 60),
    ],
)
def test_extend_adds_the_longest_unit(
    ext: VcpExtResourceChameleon, fake: FakeChameleon, kwargs: dict[str, int], minutes: int
) -> None:
    lease = reserve(ext, end_date=at(dt.timedelta(hours=10), fake))
    lease.wait(interval=0)
    old_end = lease.end_date
    assert lease.extend(**kwargs) is None
    assert minutes_between(old_end, lease.end_date) == minutes
    assert lease_end(fake, lease) == lease.end_date
    assert fake.bodies("PUT", f"/leases/{lease.host_lease_id}") == [{"end_date": lease.end_date}]
    assert lease.status == "ACTIVE"


def test_extend_only_within_48_hours_of_the_end(ext: VcpExtResourceChameleon, fake: FakeChameleon) -> None:
    lease = reserve(ext, end_date=at(dt.timedelta(days=3), fake))
    lease.wait(interval=0)
    with pytest.raises(ChameleonConflictError) as e:
        lease.extend()
    message = str(e.value)
    assert "only within 48 h before it ends" in message
    assert lease.end_date in message and "h from now" in message
    assert fake.count("PUT", "/leases/") == 0  # refused before asking Blazar
    fake.advance(hours=24 + 1)  # now 47 h before the end
    lease.extend(hours=3)
    assert lease_end(fake, lease) == lease.end_date
    assert EXTENSION_WINDOW_HOURS == chameleon_ext.EXTENSION_WINDOW_HOURS == 48


def test_extend_after_the_end_is_refused(ext: VcpExtResourceChameleon, fake: FakeChameleon) -> None:
    lease = reserve(ext, end_date=at(dt.timedelta(hours=2), fake))
    fake.advance(hours=3)
    with pytest.raises(ChameleonConflictError, match="an ended lease cannot be extended"):
        lease.extend()
    assert lease.status == "TERMINATED"
    assert fake.count("PUT", "/leases/") == 0


def test_extend_refused_by_chameleon_raises(ext: VcpExtResourceChameleon, fake: FakeChameleon) -> None:
    lease = reserve(ext, end_date=at(dt.timedelta(days=1), fake))
    lease.wait(interval=0)
    old_end = lease.end_date
    with pytest.raises(ChameleonConflictError) as e:
        lease.extend(weeks=2)  # more than Chameleon allows at a time
    assert e.value.http_status == 409
    assert f"at most {MAX_LEASE_DAYS} days at a time" in (e.value.server_message or "")
    assert lease_end(fake, lease) == old_end
    # hosts reserved right after the lease by someone else block an extension
    lease2 = reserve(ext, node_type="gpu_rtx_6000", end_date=at(dt.timedelta(hours=5), fake))
    lease2.wait(interval=0)
    reserve(
        ext, node_type="gpu_rtx_6000", start_date=lease2.end_date, end_date=at(dt.timedelta(days=1), fake)
    )
    with pytest.raises(ChameleonConflictError, match="Not enough hosts available for the extension"):
        lease2.extend(hours=1)
    fake.fail_next(500, "Internal Server Error")
    with pytest.raises(ChameleonError) as e2:
        lease.extend(hours=1)
    assert e2.value.http_status == 500 and e2.value.server_message == "Internal Server Error"


@pytest.mark.parametrize(
    "kwargs", [{"days": 0}, {"hours": -1}, {"weeks": 1.5}, {"days": "1"}, {"hours": True}]
)
def test_extend_refuses_bad_units(
    ext: VcpExtResourceChameleon, fake: FakeChameleon, kwargs: dict[str, Any]
) -> None:
    lease = reserve(ext)
    before = len(fake.requests)
    with pytest.raises(ChameleonInvalidArgumentError, match="must be a positive integer"):
        lease.extend(**kwargs)
    assert len(fake.requests) == before


# ---------------------------------------------------------------- networks


def test_network_setup_reads_the_catalog(net: VcpExtResourceChameleonNetwork, fake: FakeChameleon) -> None:
    catalog = {
        "chameleon_network_name": "vcp-net",
        "private_network_ipmask": "192.168.10.0/24",
        "cloud_instance_dns_servers": ["8.8.8.8"],
    }
    assert net.setup(catalog) is None
    assert (net.network_name, net.subnet_name, net.subnet_cidr) == (
        "vcp-net",
        "vcp-net-subnet",
        "192.168.10.0/24",
    )
    assert net.physical_network == "physnet1" and net.dns_servers == ["8.8.8.8"]
    # the provider-level shape {entry: {...}} and the mdx2-style key are accepted
    net.setup(
        {
            "default": {
                "network_name": "other",
                "chameleon_subnet_name": "s",
                "chameleon_physical_network": "physnet2",
                "cloud_instance_dns_servers": "1.1.1.1, 9.9.9.9",
            },
            "spare": {"network_name": "spare"},
        }
    )
    assert (net.network_name, net.subnet_name, net.subnet_cidr) == ("other", "s", None)
    assert net.physical_network == "physnet2" and net.dns_servers == ["1.1.1.1", "9.9.9.9"]
    assert fake.requests == []


@pytest.mark.parametrize(
    ("catalog", "match"),
    [
        ({"private_network_ipmask": "10.0.0.0/24"}, "names no network: add chameleon_network_name"),
        ({"network_name": "n", "private_network_ipmask": "10.0.0.300/24"}, "is not a CIDR"),
        ("sharedwan1", "vpn_catalog must be a dict"),
        ({"a": {"network_name": "x"}, "b": {"network_name": "y"}}, "has no entry 'default'"),
    ],
)
def test_network_setup_refusals(net: VcpExtResourceChameleonNetwork, catalog: Any, match: str) -> None:
    with pytest.raises(ChameleonInvalidArgumentError, match=match):
        net.setup(catalog)


def test_network_calls_need_setup(net: VcpExtResourceChameleonNetwork, fake: FakeChameleon) -> None:
    for call in (net.network_exists, net.get_network, net.create_network, net.create_subnet):
        with pytest.raises(ChameleonError, match=r"call setup\(vpn_catalog\) first"):
            call()
    assert fake.requests == []


def test_network_exists(net: VcpExtResourceChameleonNetwork, fake: FakeChameleon) -> None:
    net.setup({"chameleon_network_name": "sharedwan1"})
    assert net.network_exists() is True
    assert net.get_network()["shared"] is True
    assert fake.requests[-1]["query"] == {"name": "sharedwan1"}
    net.setup({"chameleon_network_name": "vcp-net"})
    assert net.network_exists() is False and net.get_network() is None


def test_create_network_reserves_waits_and_adds_the_subnet(
    net: VcpExtResourceChameleonNetwork, fake: FakeChameleon
) -> None:
    net.setup(
        {
            "chameleon_network_name": "vcp-net",
            "private_network_ipmask": "192.168.10.0/24",
            "cloud_instance_dns_servers": ["8.8.8.8"],
        }
    )
    lease = net.create_network()
    assert isinstance(lease, VcpExtResourceChameleonHostLeaseInfo)
    assert lease.status == "ACTIVE"
    body = fake.bodies("POST", "/leases")[0]
    assert body["start_date"] == "now" and body["name"].startswith("vcp-network-")
    assert minutes_between(lease.start_date, body["end_date"]) == 24 * 60
    assert body["reservations"] == [
        {
            "resource_type": "network",
            "network_name": "vcp-net",
            "network_description": "VCP network",
            "resource_properties": '["==", "$physical_network", "physnet1"]',
        }
    ]
    assert lease.reservation_id == fake.leases[lease.host_lease_id].reservations[0]["id"]
    network = net.get_network()
    assert network is not None and network["shared"] is False
    subnet = fake.bodies("POST", "/v2.0/subnets")[0]["subnet"]
    assert subnet == {
        "network_id": network["id"],
        "name": "vcp-net-subnet",
        "cidr": "192.168.10.0/24",
        "ip_version": 4,
        "enable_dhcp": True,
        "dns_nameservers": ["8.8.8.8"],
    }
    assert len(network["subnets"]) == 1
    assert net.create_subnet()["id"] == network["subnets"][0]  # idempotent
    assert fake.count("POST", "/v2.0/subnets") == 1

    with pytest.raises(ChameleonConflictError, match="'vcp-net' already exists"):
        net.create_network()
    assert fake.count("POST", "/leases") == 1

    lease.delete()  # deleting the network lease deletes the network and its subnet
    assert net.network_exists() is False and fake.subnets == {}


def test_create_network_later_without_waiting(
    net: VcpExtResourceChameleonNetwork, fake: FakeChameleon
) -> None:
    net.setup({"chameleon_network_name": "later-net", "private_network_ipmask": "10.20.0.0/16"})
    start = at(dt.timedelta(minutes=20), fake)
    end = at(dt.timedelta(days=1), fake)
    lease = net.create_network(start, end, wait=False, lease_name_prefix="lab")
    assert lease.status == "STARTING" and lease.lease_name.startswith("lab-network-")
    assert (lease.start_date, lease.end_date) == (start, end)
    assert net.network_exists() is False
    with pytest.raises(ChameleonNotFoundError, match="does not exist \\(yet\\)"):
        net.create_subnet()
    lease.wait()
    subnet = net.create_subnet()
    assert subnet["cidr"] == "10.20.0.0/16" and subnet["name"] == "later-net-subnet"
    fake.advance(days=1)  # the lease ends: Blazar removes the network
    assert net.network_exists() is False


def test_create_network_refusals(net: VcpExtResourceChameleonNetwork, fake: FakeChameleon) -> None:
    net.setup({"chameleon_network_name": "sharedwan1"})
    with pytest.raises(ChameleonConflictError, match="already exists"):
        net.create_network()
    net.setup({"chameleon_network_name": "n1"})
    with pytest.raises(ChameleonInvalidArgumentError, match="must be later than start_date"):
        net.create_network(end_date="2001-01-01 00:00")
    assert fake.count("POST", "/leases") == 0
    lease = net.create_network()  # no private_network_ipmask: no subnet
    assert lease.status == "ACTIVE" and fake.count("POST", "/v2.0/subnets") == 0
    with pytest.raises(ChameleonInvalidArgumentError, match="no private_network_ipmask"):
        net.create_subnet()
    for name in ("n2", "n3"):  # physnet1 has 3 VLAN segments in the fake
        net.setup({"chameleon_network_name": name})
        net.create_network(wait=False)
    net.setup({"chameleon_network_name": "n4"})
    with pytest.raises(ChameleonConflictError) as e:
        net.create_network()
    assert "Not enough network segments" in (e.value.server_message or "")


# ---------------------------------------------------------------- errors and secrets


def test_server_messages_are_extracted(
    ext: VcpExtResourceChameleon, fake: FakeChameleon, net: VcpExtResourceChameleonNetwork
) -> None:
    lease = reserve(ext)
    fake.fail_next(503, {"message": "blazar is down"})
    with pytest.raises(ChameleonError) as e:
        lease.update()
    assert type(e.value) is ChameleonError and e.value.http_status == 503
    assert e.value.server_message == "blazar is down"
    assert e.value.args == ("VCP", e.value.message)
    net.setup({"chameleon_network_name": "x"})
    fake.fail_next(404, {"NeutronError": {"type": "NotFound", "message": "gone", "detail": ""}})
    with pytest.raises(ChameleonNotFoundError, match="gone"):
        net.network_exists()
    fake.fail_next(200, "not json")
    with pytest.raises(ChameleonError, match="the answer is not JSON"):
        net.network_exists()


def test_errors_are_logged_then_raised(
    ext: VcpExtResourceChameleon, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="vcp.sdk"), pytest.raises(ChameleonError) as e:
        ext.reserve_host()
    assert str(e.value) in caplog.text
    assert caplog.records[-1].name == "vcp.sdk.chameleon"


def test_secrets_are_never_logged_nor_in_errors(
    ext: VcpExtResourceChameleon,
    net: VcpExtResourceChameleonNetwork,
    fake: FakeChameleon,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ext.verbose = 3
    net.verbose = 3
    lease = reserve(ext, end_date=at(dt.timedelta(hours=5), fake))
    lease.wait(interval=0)
    lease.extend(hours=1)
    net.setup({"chameleon_network_name": "vcp-net", "private_network_ipmask": "10.1.0.0/24"})
    net.create_network().delete()
    token = ext._auth["token"]
    fake.fail_next(500, {"error_message": f"boom {token} {APP_CRED_SECRET} {VCC_TOKEN}"})
    with pytest.raises(ChameleonError) as e:
        lease.update()
    assert "***" in str(e.value)
    fake.revoke_tokens()
    lease.delete()
    assert "[POST]" in caplog.text and "HTTP STATUS 201" in caplog.text  # verbose works
    assert '"reservations"' in caplog.text
    tokens_seen = [token, ext._auth["token"], net._auth["token"]]
    for secret in (APP_CRED_SECRET, VCC_TOKEN, *tokens_seen):
        assert secret not in caplog.text
        assert secret not in str(e.value) and secret not in repr(e.value.args)
        for obj in (ext, net, lease):
            assert secret not in repr(obj)


def test_verbose_3_redacts_openstack_secret_fields(
    ext: VcpExtResourceChameleon, caplog: pytest.LogCaptureFixture
) -> None:
    """Besides the known secret values, a body's secret fields are redacted by name: the
    shared ones (token, password, application_credential_secret...) and OpenStack's headers."""
    caplog.set_level(logging.DEBUG)
    ext.verbose = 3
    ext._http.log_payload(
        {
            "token": {"id": "keystone-0123", "expires_at": "2030-01-01"},
            "X-Subject-Token": "subject-0123",
            "X-Auth-Token": "auth-0123",
            "application_credential_secret": "other-credential-0123",
            "password": "hunter22",
            "lease": "visible",
        }
    )
    assert '"lease": "visible"' in caplog.text
    for secret in ("keystone-0123", "subject-0123", "auth-0123", "other-credential-0123", "hunter22"):
        assert secret not in caplog.text


# ---------------------------------------------------------------- the §4.7 workflow


def test_manual_workflow_with_the_sdk(
    live_controller: Any, tmp_path: Path, server: RunningFake, fake: FakeChameleon, section: dict[str, Any]
) -> None:
    """Network check → reserve hosts → wait → spec.reservation → unit → cleanup → delete."""
    from vcpsdk.controller.store import Unit
    from vcpsdk.vcpsdk import VcpSDK

    token = live_controller.create_token("chameleon-user")
    base = live_controller.write_config(tmp_path / "sdk")
    config = yaml.safe_load((base / "vcp_config.yml").read_text())
    write_config(base, section, **config)
    vcp = VcpSDK(token, config_dir=str(base))

    # our sandbox controller's catalog has no network name: name the shared network
    vpn_catalog = dict(vcp.get_vpn_catalog("chameleon"), chameleon_network_name="sharedwan1")
    net = EXTENSION_CLASSES["chameleon_network"]("chameleon_network", str(base), token)
    net.setup(vpn_catalog)
    assert net.network_exists()

    ext = EXTENSION_CLASSES["chameleon"]("chameleon", str(base), token)
    ext.setup(node_type="compute_skylake", min_instances=1, max_instances=1, vpn_catalog=vpn_catalog)
    lease = ext.reserve_host()
    lease.wait(interval=0)
    assert lease.status == "ACTIVE"

    again = EXTENSION_CLASSES["chameleon_host_lease_info"]("chameleon_host_lease_info", str(base), token)
    again.setup(lease.host_lease_id, vpn_catalog)
    assert again.reservation_id == lease.reservation_id

    spec = vcp.get_spec("chameleon", "default")
    spec.reservation = lease.reservation_id
    spec.cloud_image = "CC-Ubuntu18.04"
    assert f"reservation: {lease.reservation_id}" in spec.cci("bm")
    ugroup = vcp.create_ugroup("chameleon-flow")
    unit = ugroup.create_unit("bm", spec)
    assert unit.state == "RUNNING"
    with live_controller.controller.store.read() as session:
        stored = session.scalars(select(Unit).where(Unit.name == "bm")).all()
    assert [u.spec["cloud_params"]["reservation"] for u in stored] == [lease.reservation_id]
    ugroup.cleanup()

    lease.delete()
    assert lease.host_lease_id not in fake.leases
    assert token not in json.dumps(fake.requests)  # the VCC token never goes to Chameleon
