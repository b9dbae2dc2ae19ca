"""Azure (ARM, Entra ID, azure-core) errors mapped onto the toolkit's cloud-error tree.

An ``HttpResponseError`` becomes ``"<Code>: <cloud message>"`` in the class of its ARM error
code (see :data:`ARM_CODES`); a token request Entra ID refuses (``invalid_client``,
``AADSTS...``) a :class:`~vcpsdk.controller.backends.toolkit.errors.CloudAuthError`; a
connection that never got an answer a retryable
:class:`~vcpsdk.controller.backends.toolkit.errors.CloudError`.  Retrying itself is
azure-core's (its retry policy honours ``Retry-After``): these errors are what is left after
it gave up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from vcpsdk.controller.backends.toolkit import errors as tree
from vcpsdk.controller.backends.toolkit.errors import BackendError, CloudError

ARM_CODES = tree.CodeTable(
    "azure",
    exact={
        "QuotaExceeded": tree.CloudQuotaError,
        "OperationNotAllowedQuota": tree.CloudQuotaError,
        "SkuNotAvailable": tree.CloudCapacityError,
        "AllocationFailed": tree.CloudCapacityError,
        "ZonalAllocationFailed": tree.CloudCapacityError,
        "OverconstrainedAllocationRequest": tree.CloudCapacityError,
        "AuthorizationFailed": tree.CloudAuthError,
        "AuthenticationFailed": tree.CloudAuthError,
        "InvalidAuthenticationToken": tree.CloudAuthError,
        "invalid_client": tree.CloudAuthError,
        "unauthorized_client": tree.CloudAuthError,
        "InvalidParameter": tree.CloudInvalidParameter,
        "BadRequest": tree.CloudInvalidParameter,
        "OperationNotAllowed": tree.CloudInvalidParameter,
        # 409: the resource exists already, or is busy with another operation
        "Conflict": tree.CloudInvalidParameter,
        "ResourceExists": tree.CloudInvalidParameter,
        "ResourceExistsError": tree.CloudInvalidParameter,
        "AnotherOperationInProgress": tree.CloudInvalidParameter,
        "OperationPreempted": tree.CloudInvalidParameter,
        "ResourceNotFound": tree.CloudNotFoundError,
        "NotFound": tree.CloudNotFoundError,
        "TooManyRequests": tree.CloudThrottlingError,
        "429": tree.CloudThrottlingError,
    },
    patterns=[
        (r".*QuotaExceeded", tree.CloudQuotaError),
        (r".*AllocationFailed", tree.CloudCapacityError),
        (r"Authorization.*|Authentication.*|AADSTS.*", tree.CloudAuthError),
        (r".*NotFound", tree.CloudInvalidParameter),
        (r"Invalid.*|.*InUse|.*NotInSubnet|SubnetIsFull", tree.CloudInvalidParameter),
    ],
    retryable=frozenset(
        {
            "InternalServerError",
            "ServiceUnavailable",
            "InternalExecutionError",
            "AnotherOperationInProgress",
            "OperationPreempted",
        }
    ),
)


def error_class(code: str) -> type[CloudError]:
    """The class of the cloud-error tree for an ARM error code."""
    return ARM_CODES.error_class(code)


def error_code(error: BaseException) -> str:
    """The ARM error code of an azure-core ``HttpResponseError`` ("" for anything else)."""
    odata = getattr(error, "error", None)
    code = getattr(odata, "code", None)
    if code:
        return str(code)
    status = getattr(error, "status_code", None)
    return {429: "TooManyRequests", 409: "Conflict"}.get(status, "") if isinstance(status, int) else ""


def is_not_found(error: BaseException) -> bool:
    """An error saying the resource does not exist (any more)."""
    return getattr(error, "status_code", None) == 404 or error_code(error) in ("ResourceNotFound", "NotFound")


def _message(error: BaseException) -> str:
    odata = getattr(error, "error", None)
    message = getattr(odata, "message", None) or getattr(error, "message", None) or str(error)
    return str(message).strip()


def map_error(error: BaseException, secrets: tuple[str, ...] = ()) -> BackendError | None:
    """A typed error for an Azure SDK error, or None for other errors (our own bugs).

    Args:
        error: what the Azure SDK raised.
        secrets: credentials of the call (the client secret), masked if a message repeats them.
    """
    if isinstance(error, BackendError):
        return error
    try:
        from azure.core import exceptions as aex
    except ImportError:  # pragma: no cover - the backend cannot exist without azure-core
        return None
    if isinstance(error, aex.ClientAuthenticationError) and not error_code(error):
        text = _message(error)
        code = "invalid_client" if "invalid_client" in text else "AuthenticationFailed"
        return ARM_CODES.error(code, text, secrets=secrets)
    if isinstance(error, aex.ResourceExistsError) and not error_code(error):
        return ARM_CODES.error("Conflict", _message(error), secrets=secrets)
    if isinstance(error, aex.HttpResponseError):
        code = error_code(error) or f"Http{getattr(error, 'status_code', '') or 'Error'}"
        message = _message(error)
        if code == "OperationNotAllowed" and "quota" in message.lower():
            return tree.CloudQuotaError(message, code=code, provider="azure", secrets=secrets)
        return ARM_CODES.error(code, message, secrets=secrets)
    if isinstance(error, aex.AzureError):  # no answer: connection refused, timeout, TLS...
        return CloudError(
            _message(error), code=type(error).__name__, provider="azure", retryable=True, secrets=secrets
        )
    return None


def translated(
    cleanup: Callable[[], None] | None = None, secrets: tuple[str, ...] = ()
) -> contextlib.AbstractContextManager[None]:
    """Run a block; on a Azure SDK error run ``cleanup`` and raise the typed error
    (:func:`~vcpsdk.controller.backends.toolkit.errors.translating` with :func:`map_error`)."""
    return tree.translating(map_error, cleanup, secrets)
