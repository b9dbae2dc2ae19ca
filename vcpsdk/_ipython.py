"""Short error messages in IPython and Jupyter.

When vcpsdk is imported inside IPython (a Jupyter kernel or the terminal IPython),
:func:`install` registers a handler with IPython's own ``set_custom_exc`` mechanism.  A user
error (:data:`SHORT_ERRORS`: bad argument, auth, not found, conflict, timeout, config,
connection, a unit in ERROR) and an interrupted wait (:class:`~vcpsdk.errors.VcpWaitInterrupted`)
are then shown as a few lines: the error's class and message, its hint, and that ``%tb`` shows
the full traceback.  Every other error keeps IPython's full traceback.  Plain Python is not
affected, and neither are the exceptions themselves (classes, ``args`` and messages).

Example (in a notebook)::

    vcp = VcpSDK("not-a-token")
    # VcpAuthError: config vc failed: http_status(401): ...
    # Hint: The controller refused the access token ...
    # (The full traceback: run %tb)
"""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import Any

from vcpsdk import errors
from vcpsdk.progress import OFF_VALUES

#: errors shown short (with subclasses, e.g. the extensions' errors); others keep full tracebacks
SHORT_ERRORS: tuple[type[BaseException], ...] = (
    errors.VcpInvalidArgumentError,
    errors.VcpAuthError,
    errors.VcpNotFoundError,
    errors.VcpConflictError,
    errors.VcpTimeoutError,
    errors.VcpConfigError,
    errors.VcpConnectionError,
    errors.VcpUnitFailedError,
    errors.VcpWaitInterrupted,
)
#: the environment variable that switches the short rendering off (``0``), e.g. in the test
#: kit's kernels, whose failure reports need the full traceback
SHORT_ERRORS_ENV = "VCPSDK_SHORT_ERRORS"
#: the last line of a short rendering
FULL_TRACEBACK = "(The full traceback: run %tb)"
_RED, _GREEN, _RESET = "\x1b[0;31m", "\x1b[0;32m", "\x1b[0m"


def short_lines(error: BaseException, colour: bool = True) -> list[str] | None:
    """The short rendering of ``error``, or None when it keeps the full traceback.

    Args:
        error: the exception raised in a cell.
        colour: add ANSI colours (Jupyter and IPython show them).

    Returns:
        ``["VcpAuthError: <message>", "Hint: <hint>", FULL_TRACEBACK]`` (no hint line when
        the error has none), or None for errors not in :data:`SHORT_ERRORS`.

    Example:
        >>> from vcpsdk.errors import VcpNotFoundError
        >>> short_lines(VcpNotFoundError("config unit failed", hint="It was deleted."), colour=False)
        ['VcpNotFoundError: config unit failed', 'Hint: It was deleted.', '(The full traceback: run %tb)']
    """
    if not isinstance(error, SHORT_ERRORS):
        return None
    name = type(error).__name__
    text = error.message if isinstance(error, errors.VcpWaitInterrupted) else str(error)
    hint = getattr(error, "hint", "") or ""
    red, green, reset = (_RED, _GREEN, _RESET) if colour else ("", "", "")
    lines = [f"{red}{name}{reset}: {text}"]
    if hint:
        lines.append(f"{green}Hint{reset}: {hint}")
    lines.append(FULL_TRACEBACK)
    return lines


def _handler(
    shell: Any,
    etype: type[BaseException],
    value: BaseException,
    tb: TracebackType | None,
    tb_offset: int | None = None,
) -> list[str] | None:
    """IPython's custom exception handler: short lines for user errors, else the usual traceback.

    The exception is kept in ``sys.last_*`` so that ``%tb`` and ``%debug`` find it.
    """
    lines = short_lines(value)
    if lines is None:
        shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
        return None
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = value
    shell._showtraceback(etype, value, lines)
    return lines


def install(shell: Any = None) -> bool:
    """Register the short rendering with the running IPython (nothing outside IPython).

    Args:
        shell: the IPython shell (default: the running one, if any).

    Returns:
        True when registered (now or before); False outside IPython, when
        ``$VCPSDK_SHORT_ERRORS`` is ``0`` or when another handler is already registered with
        ``set_custom_exc`` (it is kept).
    """
    if os.environ.get(SHORT_ERRORS_ENV, "").strip().lower() in OFF_VALUES:
        return False
    if shell is None:
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    if getattr(shell, "_vcpsdk_short_errors", False):
        return True
    if getattr(shell, "custom_exceptions", ()):
        return False  # somebody else's handler: keep it
    shell.set_custom_exc((errors.VcpSDKError, errors.VcpWaitInterrupted), _handler)
    shell._vcpsdk_short_errors = True
    return True
