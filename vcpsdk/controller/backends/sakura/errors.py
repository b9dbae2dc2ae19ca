"""Sakura Cloud API errors mapped onto the toolkit's cloud-error tree.

A :class:`~vcpsdk.controller.backends.sakura.client.SakuraApiError` (``{is_fatal, status,
error_code, error_msg}``) becomes ``"<error_code>: <error_msg>"`` in the class of its code
(see :data:`SAKURA_CODES`), with the access token and secret masked.  429, ``busy`` and (not
for a ``POST``) 503 answers were already retried by the client; what reaches this module is
what is left after it gave up (still marked retryable).  A write that got no clear answer
(no answer at all, a bare 5xx) is not retryable: it may have been carried out.
"""

from __future__ import annotations

from vcpsdk.controller.backends.sakura.client import SakuraApiError
from vcpsdk.controller.backends.toolkit import errors as tree
from vcpsdk.controller.backends.toolkit.errors import BackendError, CloudError

#: Sakura's error codes by the class of the tree they map onto
CODES_BY_CLASS: dict[type[CloudError], tuple[str, ...]] = {
    tree.CloudAuthError: ("unauthorized", "forbidden", "access_forbidden", "no_credentials"),
    tree.CloudQuotaError: (
        "limit_count_in_account_exceed",
        "limit_count_in_zone_exceed",
        "limit_count_in_member_exceed",
        "limit_size_in_account_exceed",
    ),
    tree.CloudCapacityError: ("not_enough_resource", "InsufficientInstanceCapacity"),
    tree.CloudInvalidParameter: (
        "still_running",  # deleting, or adding a NIC or disk to, a running server
        "still_connected",  # deleting a disk connected to a server
        "ip_address_in_use",
        "bad_request",
        "invalid_parameter",
        "conflict",
    ),
    tree.CloudNotFoundError: ("not_found",),
    tree.CloudThrottlingError: ("too_many_requests", "busy", "service_unavailable"),
}

SAKURA_CODES = tree.CodeTable(
    "sakura",
    exact={code: kind for kind, codes in CODES_BY_CLASS.items() for code in codes},
    patterns=(
        (r"limit_.*_exceed.*", tree.CloudQuotaError),
        (r"unauthori[sz]ed.*|.*forbidden", tree.CloudAuthError),
        (r"invalid_.*|.*_not_allowed|.*_in_use", tree.CloudInvalidParameter),
        (r".*not_found", tree.CloudNotFoundError),
    ),
    # a lost answer (connection_error) or a bare 503 is retryable only for requests that may
    # run twice: :attr:`SakuraApiError.retryable` decides (a POST may have made its resource)
    retryable=frozenset({"internal_server_error", "http_502", "http_504"}),
)


def map_error(error: BaseException, secrets: tuple[str, ...] = ()) -> BackendError | None:
    """A typed error for a :class:`SakuraApiError`, or None for other errors (our own bugs).

    Args:
        error: what the client raised.
        secrets: the credentials of the call, masked if a message repeats them.

    Returns:
        The typed error (a 401 is always a :class:`~.toolkit.errors.CloudAuthError`, a 503
        a retryable one), the error itself when it is already typed, or None.
    """
    if isinstance(error, BackendError):
        return error
    if not isinstance(error, SakuraApiError):
        return None
    code = error.error_code
    if error.status == 401 and SAKURA_CODES.error_class(code) is not tree.CloudAuthError:
        return tree.CloudAuthError(error.error_msg, code=code, provider="sakura", secrets=secrets)
    mapped = SAKURA_CODES.error(code, error.error_msg, secrets=secrets)
    if error.retryable:
        mapped.retryable = True
    elif error.method and error.method != "GET" and (error.status == 0 or error.status >= 500):
        mapped.retryable = False  # a write without a clear answer may have been carried out
    return mapped
