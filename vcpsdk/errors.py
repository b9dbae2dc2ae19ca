"""The SDK's exception tree.

Every error keeps ``args == ("VCP", message)`` like the original SDK's
``Exception("VCP", msg)``, so existing ``except`` clauses and message searches keep
working; subclasses say what happened and carry the HTTP status and the
controller's own message when there is one.

Each error also carries a ``hint`` (what to do about it).  In Jupyter/IPython the user
errors (bad argument, auth, not found, conflict, timeout, config, connection, failed unit)
are shown as their message and hint only, with the full traceback one ``%tb`` away (see
:mod:`vcpsdk._ipython`); plain Python shows the usual traceback.  :func:`raise_error` logs
on ``vcp.sdk`` before raising, as the original SDK did; that logger has a
:class:`logging.NullHandler`, so nothing is printed unless the user configured logging.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
from types import TracebackType
from typing import ClassVar, NoReturn, TypeVar

logger = logging.getLogger("vcp.sdk")
E = TypeVar("E", bound="VcpSDKError")


class VcpSDKError(Exception):
    """Base class of every error the SDK raises.

    Attributes:
        message: the SDK-level message (also ``args[1]``).
        http_status: HTTP status returned by the controller, if any.
        server_message: the controller's ``{"message": ...}`` text, if any.
        hint: what to do about it (the ``hint`` argument, else the class's
            :attr:`default_hint`; may be empty).
    """

    #: the hint of errors of this class raised without one
    default_hint: ClassVar[str] = ""

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        server_message: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__("VCP", message)
        self.message = message
        self.http_status = http_status
        self.server_message = server_message
        self.hint = hint or self.default_hint

    def __str__(self) -> str:
        text = self.message
        if self.http_status is not None:
            text += f": http_status({self.http_status})"
        if self.server_message:
            text += f": {self.server_message}"
        return text


class VcpInvalidArgumentError(VcpSDKError, ValueError):
    """A call's arguments are wrong; nothing was changed (HTTP 400 or client-side)."""

    default_hint = "Nothing was changed. help() on the method lists its arguments and their allowed values."


class VcpAuthError(VcpSDKError):
    """The token was rejected or lacks the right (``VCPAuthException``, HTTP 401/403)."""

    default_hint = (
        "The controller refused the access token, or it lacks the right (privileged=True needs a "
        "superuser's token). For the local sandbox, `vcc sandbox token` prints yours (VcpSDK() without "
        "a token uses it); for `vcc serve`, `vcc token create --user NAME --state-dir DIR` makes one; "
        "for a VC Controller, ask its operator (see docs/sandbox.md)."
    )


class VcpNotFoundError(VcpSDKError):
    """The UnitGroup, unit or node does not exist (HTTP 404)."""

    default_hint = (
        "It may have been deleted: vcp.df_ugroups(), ug.df_units() and ug.df_nodes() show what exists."
    )


class VcpUnitGroupGoneError(VcpNotFoundError):
    """A UnitGroup object used after its UnitGroup was cleaned up (by it or by another object)
    or before it was set up: ``no yet setup unit_group``, as in the original."""

    default_hint = (
        "This UnitGroup was cleaned up (e.g. by ug.cleanup() on this or another object). "
        "vcp.df_ugroups() lists the UnitGroups; vcp.get_ugroup(name) gets one, "
        "vcp.create_ugroup(name) makes a new one."
    )


class VcpConflictError(VcpSDKError):
    """The target is busy or in the wrong state (``VCPStateConflictException``, HTTP 409)."""

    default_hint = (
        "The unit is busy or in the wrong state: wait until it is stable "
        "(ug.wait_unit_applied(unit_name)), then try again."
    )


class VcpTimeoutError(VcpSDKError, TimeoutError):
    """Waiting exceeded ``wait_timeout_sec``; the operation goes on on the controller."""

    default_hint = (
        "The operation goes on on the controller: ug.wait_unit_applied(unit_name) waits again; "
        "vcc.wait_timeout_sec in vcp_config.yml sets how long a call waits."
    )


class VcpUnitFailedError(VcpSDKError):
    """A unit ended in state ERROR; its error message is in ``server_message``."""

    default_hint = (
        "The controller's message is after the colon. ug.df_nodes() shows the nodes; "
        "ug.delete_units(unit_name, force=True) removes the unit."
    )


class VcpConnectionError(VcpSDKError, ConnectionError):
    """The controller could not be reached."""

    default_hint = (
        "Check vcc.host and vcc.vcc_port in vcp_config.yml; for the local sandbox, "
        "`vcc sandbox status` says whether it runs."
    )


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

    default_hint = "Check the vault:// path in the spec and that the secret is stored where it points."


class VcpConfigError(VcpSDKError):
    """``vcp_config.yml`` or ``vcp_flavor.yml`` is missing a value or holds a wrong one."""

    default_hint = (
        "Fix the file named in the message (in the config dir: config_dir, $VCPSDK_CONFIG_DIR "
        "or ~/vcp_config)."
    )


class VcpWaitInterrupted(KeyboardInterrupt):
    """A wait (``create_unit``, ``wait_unit_applied``, ``cleanup`` ...) was interrupted (Ctrl-C,
    Jupyter's stop button); the operation goes on on the controller.

    A :class:`KeyboardInterrupt`, so ``except Exception`` does not catch it and Ctrl-C still
    stops a script, with Python's exit by SIGINT (see :func:`exit_like_keyboard_interrupt`).
    ``str()`` is the message: what goes on, and how to pick it up again.

    Attributes:
        message: the message (also ``args[0]``).
        hint: the calls that resume, with the actual names
            (e.g. ``ug = vcp.get_ugroup('ug1'); ug.wait_unit_applied('web')``).
    """

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


def exit_like_keyboard_interrupt() -> bool:
    """Make an unhandled :class:`VcpWaitInterrupted` end a script as Python ends it on Ctrl-C.

    CPython ends a script by SIGINT (status 130 in the shell, which then stops its loops) only
    for an unhandled exception that is exactly :class:`KeyboardInterrupt`; a subclass would end
    it with status 1.  This wraps :data:`sys.excepthook` once: the traceback is printed as
    before, then the exit handlers run, the streams are flushed and the process ends by SIGINT.
    Nothing is installed in IPython (its handler shows the error) nor in an interactive
    interpreter (``python -i``: the prompt goes on).

    Returns:
        True when the hook is installed (now or before).
    """
    if sys.flags.interactive or hasattr(sys, "ps1") or ("IPython" in sys.modules and _ipython_running()):
        return False
    if getattr(sys.excepthook, "_vcpsdk_sigint", False):
        return True
    previous = sys.excepthook

    def hook(etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        previous(etype, value, tb)
        if isinstance(value, VcpWaitInterrupted):
            _die_by_sigint()

    hook._vcpsdk_sigint = True  # type: ignore[attr-defined]
    sys.excepthook = hook
    return True


def _ipython_running() -> bool:
    return sys.modules["IPython"].get_ipython() is not None


def _die_by_sigint() -> None:
    """What CPython does after an unhandled KeyboardInterrupt: exit handlers, then SIGINT."""
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
    if hasattr(signal, "SIGINT") and os.name == "posix":
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(0xC000013A if os.name == "nt" else 130)  # Windows' STATUS_CONTROL_C_EXIT


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
