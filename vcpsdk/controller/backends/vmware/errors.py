"""vSphere (pyvmomi) faults mapped onto the toolkit's cloud-error tree.

A vSphere fault (``vim.fault.InvalidLogin``, ``vim.fault.InsufficientResourcesFault``...) becomes
``"<FaultName>: <its message>"`` in the class of its name (see :data:`VSPHERE_FAULTS`); the
subclasses of a fault (``InsufficientMemoryResourcesFault``...) are found by the patterns.  A
connection that never got an answer is a retryable
:class:`~vcpsdk.controller.backends.toolkit.errors.CloudError`; a certificate the backend
cannot verify is an error that says how to trust it.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable, Iterator

from vcpsdk.controller.backends.toolkit import errors as tree
from vcpsdk.controller.backends.toolkit.errors import BackendError, CloudError

PROVIDER = "vmware"

#: vSphere fault names → the tree; a fault's subclasses (``InsufficientMemoryResourcesFault``)
#: and the other ``Invalid*``/``*NotFound`` faults are matched by the patterns
VSPHERE_FAULTS = tree.CodeTable(
    PROVIDER,
    exact={
        "InvalidLogin": tree.CloudAuthError,
        "NotAuthenticated": tree.CloudAuthError,
        "NoPermission": tree.CloudAuthError,
        "NoDiskSpace": tree.CloudCapacityError,
        "DuplicateName": tree.CloudInvalidParameter,
    },
    patterns=[
        (r"Insufficient.*", tree.CloudCapacityError),  # InsufficientResourcesFault and its kinds
        (r".*NotFound", tree.CloudNotFoundError),  # NotFound, ManagedObjectNotFound, FileNotFound
        (r"Invalid.*|.*Mismatch|Customization.*|.*AlreadyExists", tree.CloudInvalidParameter),
    ],
    retryable=frozenset({"TaskInProgress", "HostCommunication", "HostNotConnected", "RequestCanceled"}),
)


def fault_name(error: BaseException) -> str:
    """The vSphere name of a pyvmomi fault (``"InvalidLogin"``), "" for anything else."""
    name = getattr(type(error), "_wsdlName", "")
    return str(name) if name and hasattr(error, "faultMessage") else ""


def is_not_found(error: BaseException) -> bool:
    """A fault saying the managed object does not exist (any more)."""
    return fault_name(error) in ("ManagedObjectNotFound", "NotFound")


def _message(error: BaseException) -> str:
    text = getattr(error, "msg", None) or str(error)
    return str(text).strip() or type(error).__name__


def map_error(error: BaseException, secrets: tuple[str, ...] = ()) -> BackendError | None:
    """A typed error for a pyvmomi fault or a failed connection, or None for other errors.

    Args:
        error: what pyvmomi raised (or a task's ``info.error``).
        secrets: credentials of the call (the password), masked if a message repeats them.

    Example::

        >>> from pyVmomi import vim
        >>> map_error(vim.fault.InvalidLogin(msg="Login failure")).code  # doctest: +SKIP
        'InvalidLogin'
    """
    if isinstance(error, BackendError):
        return error
    name = fault_name(error)
    if name:
        return VSPHERE_FAULTS.error(name, _message(error), secrets=secrets)
    if isinstance(error, ssl.SSLCertVerificationError):
        return CloudError(
            f"{error.verify_message or error}: the vCenter certificate is not trusted; set ca_file "
            "in the vmware backend section (or vmware_allow_unverified_ssl in the catalog entry)",
            code="SSLCertVerificationError",
            provider=PROVIDER,
            secrets=secrets,
        )
    if isinstance(error, OSError):  # no answer: refused, reset, timeout, TLS
        return CloudError(
            _message(error), code=type(error).__name__, provider=PROVIDER, retryable=True, secrets=secrets
        )
    return None


def masked(error: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """What a log line may say about ``error``: its mapped message with ``secrets`` masked
    (a vCenter fault can repeat the password), else only its type's name.

    Example::

        >>> masked(OSError("refused for s3cret-pw"), ("s3cret-pw",))
        'OSError: refused for ***'
    """
    mapped = map_error(error, secrets)
    return str(mapped) if mapped is not None else type(error).__name__


@contextlib.contextmanager
def translated(cleanup: Callable[[], None] | None = None, secrets: tuple[str, ...] = ()) -> Iterator[None]:
    """Run a block; on a vSphere fault run ``cleanup`` and raise the typed error (the
    toolkit's ``translating`` with :func:`map_error`), not chained to a fault that repeats the
    password (see :func:`~vcpsdk.controller.backends.toolkit.errors.unchained_if_secret`)."""
    with tree.unchained_if_secret(secrets), tree.translating(map_error, cleanup, secrets):
        yield
