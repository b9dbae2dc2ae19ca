"""The one cloud-error tree and a cloud's code table."""

from __future__ import annotations

import pytest

from vcpsdk.controller.backends.toolkit.errors import (
    MAX_MESSAGE,
    BackendError,
    CloudAuthError,
    CloudCapacityError,
    CloudError,
    CloudInvalidParameter,
    CloudNotFoundError,
    CloudQuotaError,
    CloudThrottlingError,
    CloudTimeoutError,
    CodeTable,
    clean_message,
)

TABLE = CodeTable(
    "demo",
    exact={"TooMany": CloudThrottlingError, "NoSuchVm": CloudNotFoundError},
    patterns=[
        (r"Quota.*", CloudQuotaError),
        (r".*Exceeded", CloudCapacityError),
        (r"Bad.*", CloudInvalidParameter),
    ],
    retryable=frozenset({"Internal"}),
)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("TooMany", CloudThrottlingError),
        ("NoSuchVm", CloudNotFoundError),
        ("QuotaExceeded", CloudQuotaError),  # the first matching pattern wins
        ("CoresExceeded", CloudCapacityError),
        ("BadImage", CloudInvalidParameter),
        ("Internal", CloudError),
        ("Whatever", CloudError),
    ],
)
def test_codes_map_onto_the_tree(code: str, kind: type[CloudError]) -> None:
    error = TABLE.error(code, "the cloud says no")
    assert type(error) is kind and isinstance(error, BackendError)
    assert (error.code, error.message, error.provider) == (code, "the cloud says no", "demo")
    assert str(error) == f"{code}: the cloud says no"


def test_only_throttling_and_listed_codes_are_retryable() -> None:
    assert TABLE.error("TooMany", "slow down").retryable
    assert TABLE.error("Internal", "oops").retryable
    for code in ("NoSuchVm", "QuotaExceeded", "CoresExceeded", "BadImage", "Whatever"):
        assert not TABLE.error(code, "no").retryable, code
    assert CloudCapacityError("later", retryable=True).retryable  # a backend may decide


def test_the_tree() -> None:
    for kind in (
        CloudCapacityError,
        CloudQuotaError,
        CloudAuthError,
        CloudInvalidParameter,
        CloudThrottlingError,
    ):
        assert issubclass(kind, CloudError)
    assert issubclass(CloudNotFoundError, CloudInvalidParameter)
    assert issubclass(CloudTimeoutError, CloudError)
    assert str(CloudError("no code")) == "no code"


def test_messages_are_clean() -> None:
    error = CloudAuthError(
        "key AKIAEXAMPLE with\n secret  wJalrSECRET rejected", secrets=["wJalrSECRET", "ab", ""]
    )
    assert error.message == "key AKIAEXAMPLE with secret *** rejected"
    assert "wJalrSECRET" not in str(error)
    long = clean_message("x" * (MAX_MESSAGE + 50))
    assert len(long) == MAX_MESSAGE and long.endswith("...")
    assert clean_message("a ab abc", ["ab"]) == "a ab abc"  # too short to mask safely
