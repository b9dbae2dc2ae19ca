"""The SDK's exception tree.

Every error keeps ``args == ("VCP", message)`` like the original SDK's
``Exception("VCP", msg)``, so existing ``except`` clauses and message searches keep
working; subclasses say what happened and carry the HTTP status and the
controller's own message when there is one.
"""

from __future__ import annotations

import logging
from typing import NoReturn, TypeVar

logger = logging.getLogger("vcp.sdk")
E = TypeVar("E", bound="VcpSDKError")


class VcpSDKError(Exception):
    """Base class of every error the SDK raises.

    Attributes:
        message: the SDK-level message (also ``args[1]``).
        http_status: HTTP status returned by the controller, if any.
        server_message: the controller's ``{"message": ...}`` text, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__("VCP", message)
        self.message = message
        self.http_status = http_status
        self.server_message = server_message

    def __str__(self) -> str:
        text = self.message
        if self.http_status is not None:
            text += f": http_status({self.http_status})"
        if self.server_message:
            text += f": {self.server_message}"
        return text


class VcpInvalidArgumentError(VcpSDKError, ValueError):
    """A call's arguments are wrong; nothing was changed (HTTP 400 or client-side)."""


class VcpAuthError(VcpSDKError):
    """The token was rejected or lacks the right (``VCPAuthException``, HTTP 401/403)."""


class VcpNotFoundError(VcpSDKError):
    """The UnitGroup, unit or node does not exist (HTTP 404)."""


class VcpConflictError(VcpSDKError):
    """The target is busy or in the wrong state (``VCPStateConflictException``, HTTP 409)."""


class VcpTimeoutError(VcpSDKError, TimeoutError):
    """Waiting exceeded ``wait_timeout_sec``; the operation goes on on the controller."""


class VcpUnitFailedError(VcpSDKError):
    """A unit ended in state ERROR; its error message is in ``server_message``."""


class VcpConnectionError(VcpSDKError, ConnectionError):
    """The controller could not be reached."""


class VcpRemoteCommandError(VcpSDKError):
    """A command run on a node (``ssh_exec``, ``scp``, docker helpers) failed.

    Attributes:
        exit_status: the command's exit status (255: the SSH connection failed).
        stdout, stderr: what the command printed.
    """

    def __init__(
        self, message: str, *, exit_status: int, stdout: str | bytes = "", stderr: str | bytes = ""
    ) -> None:
        tail = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
        super().__init__(message, server_message=tail.strip()[-2000:] or None)
        self.exit_status = exit_status
        self.stdout = stdout
        self.stderr = stderr


class VcpVaultError(VcpAuthError):
    """The controller could not read a ``vault://`` credential (``VCPVaultReadException``)."""


class VcpConfigError(VcpSDKError):
    """``vcp_config.yml`` or ``vcp_flavor.yml`` is missing a value or holds a wrong one."""


#: exception classes named in the original controller's messages → SDK classes
SERVER_EXCEPTIONS: dict[str, type[VcpSDKError]] = {
    "VCPVaultReadException": VcpVaultError,
    "VCPAuthException": VcpAuthError,
    "VCPStateConflictException": VcpConflictError,
    "VCPNotFoundException": VcpNotFoundError,
    "VCPInvalidParameterException": VcpInvalidArgumentError,
}


def error_for_response(status: int, server_message: str | None) -> type[VcpSDKError]:
    """The exception class for a controller's answer: by the exception its message names
    (``...: VCPVaultReadException: ...``), else by HTTP status."""
    for name, cls in SERVER_EXCEPTIONS.items():
        if server_message and f"{name}:" in server_message:
            return cls
    return error_for_status(status)


def error_for_status(status: int) -> type[VcpSDKError]:
    """The exception class for an HTTP status returned by a controller."""
    if status == 400 or status == 422:
        return VcpInvalidArgumentError
    if status in (401, 403):
        return VcpAuthError
    if status == 404:
        return VcpNotFoundError
    if status == 409:
        return VcpConflictError
    return VcpSDKError


def family_member_for_status(status: int, family: tuple[type[E], ...], default: type[E]) -> type[E]:
    """The member of an error ``family`` (e.g. an extension's classes, each also a subclass of
    one SDK class) that matches HTTP ``status`` like :func:`error_for_status`, else ``default``."""
    base = error_for_status(status)
    for cls in family:
        if base is not VcpSDKError and issubclass(cls, base):
            return cls
    return default


def raise_error(
    cls: type[VcpSDKError], message: str, *, log: logging.Logger | None = None, **kwargs: object
) -> NoReturn:
    """Log ``message`` at ERROR (on ``vcp.sdk`` unless ``log`` is given) and raise ``cls``.

    This is how the original SDK reports every failure: a log line, then the raise.
    """
    error = cls(message, **kwargs)  # type: ignore[arg-type]
    (log or logger).error("%s", error)
    raise error
