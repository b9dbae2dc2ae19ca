"""The toolkit's shared backend-section helpers: catalog, credentials, power actions, errors."""

from __future__ import annotations

from typing import Any

import pytest

from vcpsdk.controller.backends.base import UnitContext
from vcpsdk.controller.backends.toolkit import settings
from vcpsdk.controller.backends.toolkit.addresses import cloud_assigned
from vcpsdk.controller.backends.toolkit.errors import BackendError, CloudQuotaError, translating


def unit(catalog: dict[str, Any], network: str | None = None) -> UnitContext:
    spec = {"private_network": network} if network else {}
    return UnitContext("v", "g", "u", "azure_disk", "o", spec, catalog)


def test_literal_credentials() -> None:
    assert settings.literal("abc")
    assert (
        not settings.literal("")
        and not settings.literal(None)
        and not settings.literal("vault://kv/secret")
        and not settings.literal(3)
    )


def test_catalog_parsing_serving_and_lookup() -> None:
    catalog = settings.parse_catalog({"vpn_catalog": {"default": {"a": 1}, "other": None}}, "azure")
    assert catalog == {"default": {"a": 1}, "other": {}}
    with pytest.raises(BackendError, match="azure backend: vpn_catalog must map"):
        settings.parse_catalog({"vpn_catalog": ["x"]}, "azure")
    assert settings.served_catalog(catalog, "azure") == {"azure": catalog}  # azure_disk is storage
    assert set(settings.served_catalog(catalog, "aws")) == {"aws", "aws_spot"}
    assert settings.catalog_entry(unit({"own": True}), catalog) == {"own": True}
    assert settings.catalog_entry(unit({}, "other"), catalog) == {}
    assert settings.catalog_entry(unit({}), catalog) == {"a": 1}


def test_power_actions() -> None:
    assert [settings.powers_on(a) for a in ("power_off", "stop", "suspend")] == [False] * 3
    assert [settings.powers_on(a) for a in ("power_on", "start", "resume")] == [True] * 3
    with pytest.raises(BackendError, match="unknown power action 'hibernate'"):
        settings.powers_on("hibernate")


def test_close_quietly_closes_all_despite_failures() -> None:
    closed = []

    class Client:
        def __init__(self, fails: bool) -> None:
            self.fails = fails

        def close(self) -> None:
            closed.append(self)
            if self.fails:
                raise OSError("already closed")

    clients = [Client(True), Client(False)]
    settings.close_quietly(clients, "a test client")
    assert closed == clients


def test_translating_cleans_up_and_maps() -> None:
    cleaned = []

    def mapper(error: BaseException, secrets: tuple[str, ...]) -> BackendError | None:
        if isinstance(error, KeyError):
            return None
        return CloudQuotaError(f"{error} s3cret", code="QuotaExceeded", provider="demo", secrets=secrets)

    with pytest.raises(CloudQuotaError, match=r"^QuotaExceeded: boom \*\*\*$"):
        with translating(mapper, cleanup=lambda: cleaned.append(1), secrets=("s3cret",)):
            raise RuntimeError("boom")
    with pytest.raises(KeyError):  # not the cloud's: unchanged, after the cleanup
        with translating(mapper, cleanup=lambda: cleaned.append(2)):
            raise KeyError("ours")
    assert cleaned == [1, 2]


def test_cloud_assigned_policy() -> None:
    policy = cloud_assigned("Azure")
    assert policy.reserved_low == 4 and not policy.assign
    assert "reserved by Azure" in policy.reserved_reason and "{network}" in policy.reserved_reason
