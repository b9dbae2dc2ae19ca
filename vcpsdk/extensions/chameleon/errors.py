"""The Chameleon extensions' errors: one family under :class:`vcpsdk.errors.VcpSDKError`."""

from __future__ import annotations

import logging

from vcpsdk import errors as sdk
from vcpsdk._http import ErrorTable

logger = logging.getLogger("vcp.sdk.chameleon")


class ChameleonError(sdk.VcpSDKError):
    """A Chameleon extension call failed (base class of every error of this module).

    Attributes:
        message: what the extension was doing, for which lease or network.
        http_status: the HTTP status Chameleon answered, if any.
        server_message: the server's own message (Keystone ``error.message``, Blazar
            ``error_message``, Neutron ``NeutronError.message``, or the body).
    """


class ChameleonInvalidArgumentError(ChameleonError, sdk.VcpInvalidArgumentError):
    """Wrong arguments (client-side check, or HTTP 400/422); nothing was changed."""


class ChameleonConfigError(ChameleonError, sdk.VcpConfigError):
    """The ``chameleon`` section of ``vcp_config.yml`` is missing a value or holds a wrong one
    (no credentials, a ``vault://`` reference, an unknown region, another project)."""


class ChameleonAuthError(ChameleonError, sdk.VcpAuthError):
    """Keystone refused the application credential, or a service refused the token (401/403)."""


class ChameleonNotFoundError(ChameleonError, sdk.VcpNotFoundError):
    """The lease, network or service does not exist (or HTTP 404)."""


class ChameleonConflictError(ChameleonError, sdk.VcpConflictError):
    """The operation is not allowed now: not enough hosts, a lease outside its extension
    window, a network that already exists (or HTTP 409)."""


class ChameleonLeaseError(ChameleonError):
    """The lease went to ERROR (or ended) while it was waited for."""


class ChameleonTimeoutError(ChameleonError, sdk.VcpTimeoutError):
    """``wait()`` gave up; the lease may still become ACTIVE later."""


class ChameleonConnectionError(ChameleonError, sdk.VcpConnectionError):
    """Chameleon could not be reached, or a request timed out."""


#: HTTP status → error class (the subclasses above); ``fail(cls, message)`` logs on
#: ``vcp.sdk.chameleon``, then raises
ERRORS = ErrorTable.for_family(ChameleonError, logger)
fail = ERRORS.fail
