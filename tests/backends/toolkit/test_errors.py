"""The one cloud-error tree and a cloud's code table."""

from __future__ import annotations

import pytest

from vcpsdk.controller.backends.toolkit import errors

TABLE = errors.CodeTable(
    "demo",
    exact={"TooMany": errors.CloudThrottlingError, "NoSuchVm": errors.CloudNotFoundError},
    patterns=[
        (r"Quota.*", errors.CloudQuotaError),
        (r".*Exceeded", errors.CloudCapacityError),
        (r"Bad.*", errors.CloudInvalidParameter),
    ],
    retryable=frozenset({"Internal"}),
)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("TooMany", errors.CloudThrottlingError),
        ("NoSuchVm", errors.CloudNotFoundError),
        ("QuotaExceeded", errors.CloudQuotaError),  # the first matching pattern wins
        ("CoresExceeded", errors.CloudCapacityError),
        ("BadImage", errors.CloudInvalidParameter),
        ("Internal", errors.CloudError),
        ("Whatever", errors.CloudError),
    ],
)
def test_codes_map_onto_the_tree(code: str, kind: type[errors.CloudError]) -> None:
    error = TABLE.error(code, "the cloud says no")
    assert type(error) is kind and isinstance(error, errors.BackendError)
    assert (error.code, error.message, error.provider) == (code, "the cloud says no", "demo")
    assert str(error) == f"{code}: the cloud says no"


def test_only_throttling_and_listed_codes_are_retryable() -> None:
    assert TABLE.error("TooMany", "slow down").retryable
    assert TABLE.error("Internal", "oops").retryable
    for code in ("NoSuchVm", "QuotaExceeded", "CoresExceeded", "BadImage", "Whatever"):
        assert not TABLE.error(code, "no").retryable, code
    assert errors.CloudCapacityError("later", retryable=True).retryable  # a backend may decide


def test_the_tree() -> None:
    for kind in (
        errors.CloudCapacityError,
        errors.CloudQuotaError,
        errors.CloudAuthError,
        errors.CloudInvalidParameter,
        errors.CloudThrottlingError,
    ):
        assert issubclass(kind, errors.CloudError)
    assert issubclass(errors.CloudNotFoundError, errors.CloudInvalidParameter)
    assert issubclass(errors.CloudTimeoutError, errors.CloudError)
    assert str(errors.CloudError("no code")) == "no code"


def test_messages_are_clean() -> None:
    error = errors.CloudAuthError(
        "key AKIAEXAMPLE with\n secret  wJalrSECRET rejected", secrets=["wJalrSECRET", "ab", ""]
    )
    assert error.message == "key AKIAEXAMPLE with secret *** rejected"
    assert "wJalrSECRET" not in str(error)
    long = errors.clean_message("x" * (errors.MAX_MESSAGE + 50))
    assert len(long) == errors.MAX_MESSAGE and long.endswith("...")
    assert errors.clean_message("a ab abc", ["ab"]) == "a ab abc"  # too short to mask safely


def test_a_multi_line_secret_is_masked_folded_and_line_by_line() -> None:
    pem = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END KEY-----\n"
    assert errors.clean_message(f"echo: {pem}", [pem]) == "echo: ***"  # whitespace folded like the message
    assert errors.clean_message("saw MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", [pem]) == "saw ***"
    assert errors.clean_message("short line BKcw", [pem]) == "short line BKcw"  # no line under 16 chars


def test_masked_text_of_a_mapped_and_an_unknown_error() -> None:
    def mapper(error: BaseException, secrets: tuple[str, ...]) -> errors.BackendError | None:
        if isinstance(error, KeyError):
            return None
        return errors.CloudError(str(error), code="Boom", secrets=secrets)

    assert errors.masked_text(mapper, ValueError("key s3cret-value"), ("s3cret-value",)) == "Boom: key ***"
    assert errors.masked_text(mapper, KeyError("s3cret-value"), ("s3cret-value",)) == "KeyError: '***'"


def test_ignore_missing_swallows_only_not_found() -> None:
    def gone() -> None:
        raise LookupError("404")

    def broken() -> None:
        raise RuntimeError("500")

    errors.ignore_missing(gone, lambda e: isinstance(e, LookupError))
    with pytest.raises(RuntimeError):
        errors.ignore_missing(broken, lambda e: isinstance(e, LookupError))
