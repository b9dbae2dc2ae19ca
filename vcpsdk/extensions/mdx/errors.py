"""The mdx extension's errors: one family under :class:`vcpsdk.errors.VcpSDKError`."""

from __future__ import annotations

import logging

from vcpsdk import errors as sdk
from vcpsdk._http import ErrorTable

logger = logging.getLogger("vcp.sdk.mdx")


class MdxRestError(sdk.VcpSDKError):
    """An mdx REST API call failed (base class of every error of this module).

    Attributes:
        message: what the SDK was doing and for which object.
        http_status: the HTTP status the mdx server answered, if any.
        server_message: the server's own message (``detail``/``message`` or the body).
    """

    @property
    def status_code(self) -> int:
        """The HTTP status, or 0 when the error did not come from the server."""
        return self.http_status or 0


#: The name used by the original client library.
MdxRestException = MdxRestError


class MdxInvalidArgumentError(MdxRestError, sdk.VcpInvalidArgumentError):
    """Wrong arguments (client-side check, or HTTP 400/422 from mdx); nothing was changed."""


class MdxAuthError(MdxRestError, sdk.VcpAuthError):
    """No token, or mdx rejected the token or the credentials (HTTP 401/403)."""


class MdxNotFoundError(MdxRestError, sdk.VcpNotFoundError):
    """The project, VM, segment or ACL does not exist (or HTTP 404)."""


class MdxConflictError(MdxRestError, sdk.VcpConflictError):
    """The VM is in the wrong state for the operation (or HTTP 409)."""


class MdxTimeoutError(MdxRestError, sdk.VcpTimeoutError):
    """A wait loop gave up; the operation may still complete on mdx."""


class MdxConnectionError(MdxRestError, sdk.VcpConnectionError):
    """The mdx endpoint could not be reached, or the request timed out."""


#: HTTP status → error class (the subclasses above); ``fail(cls, message)`` logs on
#: ``vcp.sdk.mdx``, then raises
ERRORS = ErrorTable.for_family(MdxRestError, logger)
fail = ERRORS.fail
