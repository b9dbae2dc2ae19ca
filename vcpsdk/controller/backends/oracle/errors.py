"""Oracle Cloud (``oci``) errors mapped onto the toolkit's cloud-error tree.

A ``ServiceError`` becomes ``"<Code>: <OCI message> (opc-request-id <id>)"`` in the class of
its OCI error code (see :data:`OCI_CODES`); a composite operation's error is mapped by its
cause; a key the SDK cannot use (``InvalidPrivateKey``, ``InvalidConfig``) a
:class:`~vcpsdk.controller.backends.toolkit.errors.CloudAuthError`; a waiter that gave up a
:class:`~vcpsdk.controller.backends.toolkit.errors.CloudTimeoutError`; a request that never
got an answer a retryable :class:`~vcpsdk.controller.backends.toolkit.errors.CloudError`.
Retrying itself is the SDK's retry strategy (429, 5xx and connection errors, exponential
backoff with jitter): these errors are what is left after it gave up.
"""

from __future__ import annotations

import functools

from vcpsdk.controller.backends.toolkit import errors as tree
from vcpsdk.controller.backends.toolkit.errors import BackendError, CloudError

#: OCI's error codes by the class of the toolkit's tree they map to
KINDS: dict[type[CloudError], tuple[str, ...]] = {
    tree.CloudQuotaError: ("LimitExceeded", "QuotaExceeded"),
    tree.CloudCapacityError: ("OutOfHostCapacity",),
    tree.CloudAuthError: ("NotAuthenticated", "SignatureNotValid", "InvalidPrivateKey", "InvalidConfig"),
    tree.CloudNotFoundError: ("NotAuthorizedOrNotFound", "NotFound"),
    tree.CloudInvalidParameter: (
        "InvalidParameter",
        "MissingParameter",
        "CannotParseRequest",
        "IncorrectState",
        "Conflict",
    ),
    tree.CloudThrottlingError: ("TooManyRequests",),
}

OCI_CODES = tree.CodeTable(
    "oracle",
    exact={code: kind for kind, codes in KINDS.items() for code in codes},
    patterns=[
        (r".*Capacity.*", tree.CloudCapacityError),
        (r".*LimitExceeded|.*QuotaExceeded", tree.CloudQuotaError),
        (r"NotAuthorized.*|NotAuthenticated.*", tree.CloudAuthError),
        (r"Invalid.*|Missing.*", tree.CloudInvalidParameter),
    ],
    retryable=frozenset({"InternalServerError", "ServiceUnavailable", "RequestException"}),
)

#: OCI's answer to a launch when the shape has no room left in the availability domain
OUT_OF_CAPACITY = "out of host capacity"


def error_class(code: str) -> type[CloudError]:
    """The class of the cloud-error tree for an OCI error code."""
    return OCI_CODES.error_class(code)


def _cause(error: BaseException) -> BaseException:
    """The error inside a composite operation's ``CompositeOperationError``."""
    while type(error).__name__ == "CompositeOperationError" and getattr(error, "cause", None) is not None:
        error = error.cause  # type: ignore[attr-defined]
    return error


def is_not_found(error: BaseException) -> bool:
    """An error saying the resource does not exist (any more): HTTP 404."""
    return getattr(_cause(error), "status", None) == 404


def map_error(error: BaseException, secrets: tuple[str, ...] = ()) -> BackendError | None:
    """A typed error for an ``oci`` error, or None for other errors (our own bugs).

    Args:
        error: what the OCI SDK raised.
        secrets: credentials of the call (the private key, its pass phrase), masked if a
            message repeats them.
    """
    if isinstance(error, BackendError):
        return error
    try:
        from oci import exceptions as oex
    except ImportError:  # pragma: no cover - the backend cannot exist without oci
        return None
    error = _cause(error)
    if isinstance(error, BackendError):
        return error
    if isinstance(error, oex.ServiceError):
        code = str(error.code or f"Http{error.status}")
        message = str(error.message or "").strip()
        if error.request_id:
            message = f"{message} (opc-request-id {error.request_id})"
        if error.status == 500 and OUT_OF_CAPACITY in message.lower():
            return tree.CloudCapacityError(message, code=code, provider="oracle", secrets=secrets)
        if error.status == 429:
            code = "TooManyRequests"
        mapped = OCI_CODES.error(code, message, secrets=secrets)
        if error.status >= 500:
            mapped.retryable = True
        return mapped
    if isinstance(error, oex.MaximumWaitTimeExceeded):
        return tree.CloudTimeoutError(str(error), code="Timeout", provider="oracle", secrets=secrets)
    if isinstance(error, oex.InvalidPrivateKey | oex.InvalidConfig | oex.InvalidKeyFilePath):
        return OCI_CODES.error(
            "InvalidPrivateKey" if isinstance(error, oex.InvalidPrivateKey) else "InvalidConfig",
            f"the OCI API key cannot be used: {error}",
            secrets=secrets,
        )
    if type(error).__name__ == "CircuitBreakerError":  # the SDK stopped calling after many failures
        return CloudError(
            str(error), code="CircuitBreakerOpen", provider="oracle", retryable=True, secrets=secrets
        )
    if isinstance(error, oex.RequestException | oex.ConnectTimeout | oex.ClientError):
        return CloudError(
            str(error), code=type(error).__name__, provider="oracle", retryable=True, secrets=secrets
        )
    return None


#: ``translated(cleanup=None, secrets=())``: run a block; on an OCI SDK error run ``cleanup`` and
#: raise the typed error (:func:`~vcpsdk.controller.backends.toolkit.errors.translating` with
#: :func:`map_error`)
translated = functools.partial(tree.translating, map_error)
