"""Short errors in IPython (vcpsdk._ipython); plain Python keeps its tracebacks."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

from vcpsdk import _ipython, errors

#: the SDK errors shown short (the interruption, not a VcpSDKError, is tested on its own)
USER_ERRORS = [c for c in _ipython.SHORT_ERRORS if issubclass(c, errors.VcpSDKError)] + [errors.VcpVaultError]


def test_bad_argument_auth_not_found_conflict_and_timeout_are_user_errors() -> None:
    named = {
        "VcpInvalidArgumentError",
        "VcpAuthError",
        "VcpNotFoundError",
        "VcpConflictError",
        "VcpTimeoutError",
    }
    assert named <= {c.__name__ for c in USER_ERRORS}


@pytest.mark.parametrize("cls", USER_ERRORS)
def test_user_errors_render_as_message_hint_and_the_way_to_the_traceback(
    cls: type[errors.VcpSDKError],
) -> None:
    error = cls("config vc failed", http_status=403, server_message="token lookup is failed")
    assert error.args == ("VCP", "config vc failed")  # unchanged
    assert error.hint == cls.default_hint and error.hint
    assert _ipython.short_lines(error, colour=False) == [
        f"{cls.__name__}: config vc failed: http_status(403): token lookup is failed",
        f"Hint: {error.hint}",
        "(The full traceback: run %tb)",
    ]


def test_a_hint_given_when_raised_wins_and_colours_are_ansi() -> None:
    error = errors.VcpInvalidArgumentError("aleady exist UnitGroup.", hint="vcp.get_ugroup('a') returns it.")
    lines = _ipython.short_lines(error)
    assert lines is not None
    assert lines[0] == "\x1b[0;31mVcpInvalidArgumentError\x1b[0m: aleady exist UnitGroup."
    assert lines[1] == "\x1b[0;32mHint\x1b[0m: vcp.get_ugroup('a') returns it."


def test_the_auth_hint_says_how_to_get_a_sandbox_token() -> None:
    assert "vcc sandbox token" in errors.VcpAuthError.default_hint
    assert "vcc token create" in errors.VcpAuthError.default_hint


def test_an_interrupted_wait_renders_its_resume_hint() -> None:
    error = errors.VcpWaitInterrupted(
        "Stopped waiting for ug1/web after 3 s (BOOTING 1).", "ug.wait_unit_applied('web')"
    )
    assert _ipython.short_lines(error, colour=False) == [
        "VcpWaitInterrupted: Stopped waiting for ug1/web after 3 s (BOOTING 1).",
        "Hint: ug.wait_unit_applied('web')",
        "(The full traceback: run %tb)",
    ]


@pytest.mark.parametrize(
    "error",
    [
        errors.VcpSDKError("server error", http_status=500),
        errors.VcpRemoteCommandError("ssh failed", exit_status=1),
        ValueError("not ours"),
    ],
)
def test_unexpected_errors_keep_the_full_traceback(error: BaseException) -> None:
    assert _ipython.short_lines(error) is None


class FakeShell:
    """What the handler and install() use of IPython's shell."""

    def __init__(self, custom: tuple[type[BaseException], ...] = ()) -> None:
        self.custom_exceptions = custom
        self.registered: Any = None
        self.shown: list[Any] = []

    def set_custom_exc(self, exc_tuple: tuple[type[BaseException], ...], handler: Any) -> None:
        self.custom_exceptions = exc_tuple
        self.registered = handler

    def _showtraceback(self, etype: Any, value: Any, stb: list[str]) -> None:
        self.shown.append(("short", stb))

    def showtraceback(self, exc_tuple: Any, tb_offset: Any = None) -> None:
        self.shown.append(("full", exc_tuple[1]))


def test_install_registers_once_and_keeps_another_handler() -> None:
    shell = FakeShell()
    assert _ipython.install(shell) is True
    assert shell.custom_exceptions == (errors.VcpSDKError, errors.VcpWaitInterrupted)
    handler = shell.registered
    assert _ipython.install(shell) is True and shell.registered is handler
    theirs = FakeShell(custom=(ValueError,))
    assert _ipython.install(theirs) is False and theirs.custom_exceptions == (ValueError,)


def test_install_does_nothing_outside_ipython() -> None:
    code = "import sys, vcpsdk, vcpsdk._ipython as i; print(i.install(), 'IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_handler_shows_short_lines_and_keeps_the_exception_for_percent_tb(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("last_type", "last_value", "last_traceback"):
        monkeypatch.delattr(sys, name, raising=False)
    shell = FakeShell()
    error = errors.VcpNotFoundError("config unit failed")
    _ipython._handler(shell, errors.VcpNotFoundError, error, None)
    assert shell.shown[0][0] == "short" and "config unit failed" in shell.shown[0][1][0]
    assert sys.last_value is error  # %tb and %debug read it
    other = errors.VcpSDKError("server error")
    _ipython._handler(shell, errors.VcpSDKError, other, None)
    assert shell.shown[1] == ("full", other)


def test_terminal_ipython_short_error_then_full_traceback_with_percent_tb() -> None:
    script = textwrap.dedent(
        """
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        shell.run_cell("import vcpsdk.vcpsdk")
        print("---short")
        shell.run_cell("from vcpsdk.errors import VcpNotFoundError")
        shell.run_cell("raise VcpNotFoundError('config unit failed')")
        print("---tb")
        shell.run_cell("%tb")
        print("---other")
        shell.run_cell("raise ValueError('plain')")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    out = done.stdout
    short = out.split("---short")[1].split("---tb")[0]
    assert "VcpNotFoundError" in short and "config unit failed" in short
    assert "(The full traceback: run %tb)" in short and "Traceback" not in short
    full = out.split("---tb")[1].split("---other")[0]
    assert "Traceback" in full and "VcpNotFoundError" in full
    assert "Traceback" in out.split("---other")[1]  # not ours: IPython's usual rendering


def test_plain_python_keeps_the_usual_traceback() -> None:
    code = "import vcpsdk.vcpsdk\nfrom vcpsdk.errors import VcpNotFoundError\nraise VcpNotFoundError('x')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.startswith("Traceback (most recent call last):")
    assert done.stderr.rstrip().endswith("vcpsdk.errors.VcpNotFoundError: x")
