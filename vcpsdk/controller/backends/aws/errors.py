"""EC2 and botocore errors mapped onto the toolkit's cloud-error tree.

``ClientError`` becomes ``"<Code>: <cloud message>"`` in the class of its code (see
:data:`EC2_CODES`); missing credentials become a
:class:`~vcpsdk.controller.backends.toolkit.errors.CloudAuthError`; any other botocore
error (endpoint unreachable, bad response...) a retryable
:class:`~vcpsdk.controller.backends.toolkit.errors.CloudError` named after it.
Retrying itself is botocore's (``adaptive`` retry mode): these errors are what is left
after botocore gave up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from vcpsdk.controller.backends.toolkit import errors as tree
from vcpsdk.controller.backends.toolkit.errors import BackendError, CloudError

THROTTLING_CODES = {
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
    "EC2ThrottledException",
    "ThrottledException",
    "LimitExceededException",
    "BandwidthLimitExceeded",
}
AUTH_CODES = {
    "AuthFailure",
    "UnauthorizedOperation",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "OptInRequired",
    "Blocked",
    "ExpiredToken",
    "AccessDenied",
    "AccessDeniedException",
    "MissingAuthenticationToken",
    "UnrecognizedClientException",
    "PendingVerification",
}
CAPACITY_CODES = {
    "InsufficientInstanceCapacity",
    "InsufficientCapacity",
    "InsufficientHostCapacity",
    "InsufficientReservedInstanceCapacity",
    "InsufficientAddressCapacity",
    "InsufficientVolumeCapacity",
    "InsufficientFreeAddressesInSubnet",
    "SpotMaxPriceTooLow",
    "Server.InsufficientInstanceCapacity",
    "Server.SpotInstanceTermination",
}
QUOTA_CODES = {"MaxSpotInstanceCountExceeded", "VolumeLimitExceeded", "MaxIOPSLimitExceeded"}
INVALID_CODES = {
    "IdempotentParameterMismatch",
    "IncorrectState",
    "IncorrectInstanceState",
    "VolumeInUse",
    "VolumeTypeNotAvailableInZone",
    "DryRunOperation",
    "OperationNotPermitted",
    "ValidationError",
}
#: the resource operated on is gone (a referenced one, e.g. an AMI, is a bad parameter)
NOT_FOUND_CODES = {
    "InvalidInstanceID.NotFound",
    "InvalidVolume.NotFound",
    "InvalidSpotInstanceRequestID.NotFound",
}
#: EC2's own failures: sending the request again later may work
RETRYABLE_CODES = frozenset({"InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable"})

EC2_CODES = tree.CodeTable(
    "aws",
    exact={
        **dict.fromkeys(THROTTLING_CODES, tree.CloudThrottlingError),
        **dict.fromkeys(AUTH_CODES, tree.CloudAuthError),
        **dict.fromkeys(CAPACITY_CODES, tree.CloudCapacityError),
        **dict.fromkeys(QUOTA_CODES, tree.CloudQuotaError),
        **dict.fromkeys(INVALID_CODES, tree.CloudInvalidParameter),
        **dict.fromkeys(NOT_FOUND_CODES, tree.CloudNotFoundError),
    },
    patterns=[
        (r"AccessDenied.*", tree.CloudAuthError),
        (r"InsufficientInstanceCapacity.*", tree.CloudCapacityError),
        (r".*LimitExceeded", tree.CloudQuotaError),
        (r"(Invalid|Unsupported|Missing).*|.*NotFound", tree.CloudInvalidParameter),
    ],
    retryable=RETRYABLE_CODES,
)


def error_class(code: str) -> type[CloudError]:
    """The class of the cloud-error tree for an EC2 error code."""
    return EC2_CODES.error_class(code)


def error_code(error: BaseException) -> str:
    """The EC2 error code of a botocore ``ClientError`` ("" for anything else)."""
    response = getattr(error, "response", None)
    info = response.get("Error", {}) if isinstance(response, dict) else {}
    return str(info.get("Code") or "") if isinstance(info, dict) else ""


def is_not_found(error: BaseException) -> bool:
    """A ClientError saying the resource does not exist (any more)."""
    return error_code(error).endswith(".NotFound")


def map_error(error: BaseException, secrets: tuple[str, ...] = ()) -> BackendError | None:
    """A typed error for a boto3/botocore error, or None for other errors (our own bugs).

    Args:
        error: what boto3 raised.
        secrets: credentials of the call, masked if the cloud's message repeats them.
    """
    if isinstance(error, BackendError):
        return error
    try:
        from botocore import exceptions as bex
    except ImportError:  # pragma: no cover - the backend cannot exist without botocore
        return None
    if isinstance(error, bex.ClientError):
        response = error.response if isinstance(error.response, dict) else {}
        info = response.get("Error", {})
        code = str(info.get("Code") or "Unknown")
        return EC2_CODES.error(code, str(info.get("Message") or error), secrets=secrets)
    if isinstance(error, bex.NoCredentialsError | bex.PartialCredentialsError):
        return tree.CloudAuthError(
            f"{error}; set access_key/secret_key in vcp_config.yml or in the controller's aws "
            "backend section",
            code="NoCredentials",
            provider="aws",
        )
    if isinstance(error, bex.BotoCoreError):
        return CloudError(str(error), code=type(error).__name__, provider="aws", retryable=True)
    return None


def state_error(instance_id: str, target: str, instance: dict[str, object]) -> CloudError:
    """The error of an instance that ended (e.g. no spot capacity) instead of ``target``."""
    reason = instance.get("StateReason") or {}
    assert isinstance(reason, dict)
    code = str(reason.get("Code") or "InstanceTerminated")
    message = str(reason.get("Message") or instance.get("StateTransitionReason") or "")
    state_info = instance.get("State") or {}
    state = state_info.get("Name", "terminated") if isinstance(state_info, dict) else "terminated"
    text = f"instance {instance_id} is {state} instead of {target}"
    return EC2_CODES.error(code, f"{text}: {message}" if message else text)


def translated(
    cleanup: Callable[[], None] | None = None, secrets: tuple[str, ...] = ()
) -> contextlib.AbstractContextManager[None]:
    """Run a block; on a boto3/botocore error run ``cleanup`` and raise the typed error
    (:func:`~vcpsdk.controller.backends.toolkit.errors.translating` with :func:`map_error`)."""
    return tree.translating(map_error, cleanup, secrets)
