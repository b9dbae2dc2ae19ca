"""Live progress of the waits (vcpsdk.progress, vcpsdk.waiting): modes, counts, summary, switches."""

from __future__ import annotations

import io
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest

from vcpsdk.core.polling import FakeClock
from vcpsdk.errors import VcpTimeoutError, VcpWaitInterrupted
from vcpsdk.progress import (
    PROGRESS_ENV,
    ProgressReport,
    detect_mode,
    format_counts,
    progress_enabled,
    state_counts,
    summary_line,
)
from vcpsdk.waiting import Waiter, unit_is_stable


def unit(*states: str, key: str = "node") -> dict[str, Any]:
    """A unit body with one node per state (state INDEFINITE when they differ)."""
    nodes = [{"state": s} for s in states]
    overall = states[0] if len(set(states)) == 1 else "INDEFINITE"
    return {"name": "web", "state": overall, key: nodes}


class Tty(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


# -- switches ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "configured", "expected"),
    [
        ({}, None, True),
        ({}, False, False),
        ({}, True, True),
        ({PROGRESS_ENV: "0"}, True, False),
        ({PROGRESS_ENV: "off"}, None, False),
        ({PROGRESS_ENV: "False"}, None, False),
        ({PROGRESS_ENV: "1"}, False, True),
        ({PROGRESS_ENV: " "}, False, False),  # blank: as if unset
    ],
)
def test_progress_switch_environment_wins_over_config(
    env: dict[str, str], configured: bool | None, expected: bool
) -> None:
    assert progress_enabled(configured, env) is expected


def test_modes_outside_jupyter() -> None:
    assert detect_mode(Tty()) == "terminal"
    assert detect_mode(io.StringIO()) == "plain"


# -- counts and summary --------------------------------------------------------------------


def test_counts_per_state_stable_first_with_totals() -> None:
    counts = state_counts(unit("RUNNING", "BOOTING", "RUNNING"))
    assert counts == Counter({"RUNNING": 2, "BOOTING": 1})
    assert format_counts(counts) == "RUNNING 2/3, BOOTING 1"


def test_counts_of_disks_of_a_unitgroup_and_of_a_unit_without_nodes() -> None:
    assert format_counts(state_counts(unit("BOOTING", "BOOTING", key="disk"))) == "BOOTING 2"
    group = {"vcid": "v", "unit": [unit("DELETING"), unit("DELETING", "POWER_OFF")]}
    assert format_counts(state_counts(group)) == "POWER_OFF 1/3, DELETING 2"
    empty_group = {"vcid": "v", "unit": [{"name": "u", "state": "DELETING", "node": []}]}
    assert format_counts(state_counts(empty_group)) == "DELETING 1"
    assert format_counts(state_counts({"name": "web", "state": "RUNNING", "node": []})) == "RUNNING 1/1"
    assert format_counts(state_counts(None)) == "deleted"


def test_summary_lines_per_outcome() -> None:
    done = unit("RUNNING", "RUNNING")
    assert summary_line("ug1/web", done, 12.7, "done") == "ug1/web: RUNNING 2/2 (done in 12 s)"
    booting = unit("BOOTING")
    assert summary_line("ug1/web", booting, 3, "interrupted") == (
        "ug1/web: BOOTING 1 (interrupted after 3 s; the controller goes on)"
    )
    assert "gave up after 1000 s" in summary_line("ug1/web", booting, 1000, "timeout")
    assert "stopped by an error" in summary_line("ug1/web", booting, 1, "failed")


# -- the report in each mode ---------------------------------------------------------------


def test_plain_mode_writes_a_line_per_change_a_heartbeat_and_the_summary() -> None:
    out = io.StringIO()
    report = ProgressReport("ug1/web", mode="plain", stream=out)
    report.update(unit("BOOTING", "BOOTING"), 0)
    report.update(unit("BOOTING", "BOOTING"), 5)  # unchanged: no line
    report.update(unit("RUNNING", "BOOTING"), 7)
    report.update(unit("RUNNING", "BOOTING"), 40)  # unchanged for 33 s: the heartbeat
    report.finish(unit("RUNNING", "RUNNING"), 41.5)
    assert out.getvalue().splitlines() == [
        "ug1/web: BOOTING 2 ... 0 s",
        "ug1/web: RUNNING 1/2, BOOTING 1 ... 7 s",
        "ug1/web: RUNNING 1/2, BOOTING 1 ... 40 s",
        "ug1/web: RUNNING 2/2 (done in 41 s)",
    ]


def test_terminal_mode_updates_one_line_then_writes_the_summary() -> None:
    out = Tty()
    report = ProgressReport("ug1/web", stream=out)
    assert report.mode == "terminal"
    report.update(unit("BOOTING", "RUNNING"), 0)
    report.update(unit("RUNNING", "RUNNING"), 2)
    report.finish(unit("RUNNING", "RUNNING"), 3)
    text = out.getvalue()
    assert "\r" in text and "\n" not in text.rstrip("\n")  # one line, rewritten in place
    assert "ug1/web: RUNNING 1/2, BOOTING 1 |#####     |" in text
    assert text.endswith("\rug1/web: RUNNING 2/2 (done in 3 s)\n")


def test_nothing_is_shown_when_off_or_never_started() -> None:
    out = Tty()
    ProgressReport("ug1/web", stream=out).finish(unit("RUNNING"), 0)  # done at the first read
    off = ProgressReport("ug1/web", mode="off", stream=out)
    off.update(unit("BOOTING"), 0)
    off.finish(unit("RUNNING"), 5)
    assert out.getvalue() == ""


# -- the waiter drives the report ----------------------------------------------------------


def waiter(progress: bool = True) -> tuple[Waiter, FakeClock]:
    clock = FakeClock()
    client: Any = SimpleNamespace(long_poll=False)
    return Waiter(client, timeout_sec=60, poll_interval=5, clock=clock, progress=progress), clock


def scripted(*bodies: Any) -> Any:
    values = iter(bodies)

    def fetch(revision: int | None, hold: float) -> Any:
        value = next(values)
        if isinstance(value, BaseException):
            raise value
        return value

    return fetch


def wait(w: Waiter, fetch: Any, **kwargs: Any) -> Any:
    return w.wait(
        fetch, unit_is_stable, lambda b: str(b and b["state"]), "Full of waiting time (web)", **kwargs
    )


def test_waiter_reports_each_value_and_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    w, _ = waiter()
    fetch = scripted(unit("BOOTING", "BOOTING"), unit("RUNNING", "BOOTING"), unit("RUNNING", "RUNNING"))
    assert wait(w, fetch, label="ug1/web")["state"] == "RUNNING"
    assert capsys.readouterr().err.splitlines() == [
        "ug1/web: BOOTING 2 ... 0 s",
        "ug1/web: RUNNING 1/2, BOOTING 1 ... 5 s",
        "ug1/web: RUNNING 2/2 (done in 10 s)",
    ]


def test_waiter_shows_nothing_when_off_or_done_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    w, _ = waiter(progress=False)
    wait(w, scripted(unit("BOOTING"), unit("RUNNING")), label="ug1/web")
    w, _ = waiter()
    wait(w, scripted(unit("RUNNING")), label="ug1/web")
    assert capsys.readouterr() == ("", "")


def test_interrupted_wait_says_how_to_resume(capsys: pytest.CaptureFixture[str]) -> None:
    w, _ = waiter()
    fetch = scripted(unit("BOOTING"), KeyboardInterrupt())
    with pytest.raises(VcpWaitInterrupted) as info:
        wait(w, fetch, label="ug1/web", resume="ug.wait_unit_applied('web')")
    error = info.value
    assert isinstance(error, KeyboardInterrupt) and not isinstance(error, Exception)
    assert error.message == (
        "Stopped waiting for ug1/web after 5 s (BOOTING 1); the operation goes on on the controller."
    )
    assert error.hint == "To pick it up again: ug.wait_unit_applied('web')"
    assert str(error) == f"{error.message} {error.hint}"
    assert error.__suppress_context__  # no chained traceback of the internals
    assert capsys.readouterr().err.splitlines()[-1] == (
        "ug1/web: BOOTING 1 (interrupted after 5 s; the controller goes on)"
    )


def test_timeout_keeps_its_message_and_hints_the_resume(capsys: pytest.CaptureFixture[str]) -> None:
    w, _ = waiter()
    with pytest.raises(VcpTimeoutError) as info:
        w.wait(
            lambda revision, hold: unit("BOOTING"),
            unit_is_stable,
            str,
            "Full of waiting time (web)",
            timeout_sec=12,
            label="ug1/web",
            resume="ug.wait_unit_applied('web')",
        )
    assert info.value.args == ("VCP", "Full of waiting time (web)")
    assert "ug.wait_unit_applied('web')" in info.value.hint
    assert capsys.readouterr().err.splitlines()[-1] == (
        "ug1/web: BOOTING 1 (gave up after 12 s; the controller goes on)"
    )


def test_an_error_while_waiting_closes_the_display(capsys: pytest.CaptureFixture[str]) -> None:
    w, _ = waiter()
    with pytest.raises(ConnectionError):
        wait(w, scripted(unit("BOOTING"), ConnectionError("gone")), label="ug1/web")
    assert "stopped by an error after 5 s" in capsys.readouterr().err


# -- Jupyter without ipywidgets (trial 15, finding 1) ----------------------------------------


def test_notebook_without_ipywidgets_shows_one_clean_text_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import IPython.display

    shown: list[tuple[str, Any]] = []

    class Handle:
        def display(self, obj: Any, raw: bool = False) -> None:
            shown.append(("display", obj))

        def update(self, obj: Any, raw: bool = False) -> None:
            shown.append(("update", obj))

    monkeypatch.setitem(__import__("sys").modules, "ipywidgets", None)  # import fails
    monkeypatch.setattr(IPython.display, "DisplayHandle", Handle)
    report = ProgressReport("ug1/web", mode="notebook")
    report.update(unit("BOOTING", "BOOTING"), 0.0)
    report.update(unit("BOOTING", "BOOTING"), 0.0)
    report.update(unit("RUNNING", "BOOTING"), 3.0)
    report.finish(unit("RUNNING", "RUNNING"), 5.0)
    out, err = capsys.readouterr()
    assert (out, err) == ("", "")
    assert shown == [
        ("display", {"text/plain": "ug1/web: BOOTING 2 ... 0 s"}),
        ("update", {"text/plain": "ug1/web: RUNNING 1/2, BOOTING 1 ... 3 s"}),
        ("update", {"text/plain": "ug1/web: RUNNING 2/2 (done in 5 s)"}),
    ]


# -- Ctrl-C in a script ends it as Python does (trial 15, finding 2) -------------------------

INTERRUPTED_SCRIPT = """
import atexit, os, signal, sys, time
from types import SimpleNamespace
from vcpsdk.core.polling import FakeClock
from vcpsdk.waiting import Waiter, unit_is_stable

atexit.register(lambda: print("exit handlers ran", flush=True))
calls = []

def fetch(revision, hold):
    calls.append(1)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C
        time.sleep(5)
    return {"name": "web", "state": "BOOTING", "node": [{"state": "BOOTING"}]}

w = Waiter(SimpleNamespace(long_poll=False), timeout_sec=60, poll_interval=5, clock=FakeClock())
w.wait(fetch, unit_is_stable, str, "timeout", label="ug1/web", resume="ug.wait_unit_applied('web')")
"""


@pytest.mark.skipif(__import__("os").name != "posix", reason="signals")
def test_interrupted_wait_in_a_script_exits_by_sigint() -> None:
    import signal
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "VCPSDK_PROGRESS": "0"},
    )
    assert done.returncode == -signal.SIGINT, done.stderr  # the shell sees 130 and stops its loop
    assert "VcpWaitInterrupted: Stopped waiting for ug1/web" in done.stderr
    assert "ug.wait_unit_applied('web')" in done.stderr
    assert done.stdout == "exit handlers ran\n"


def test_a_timeout_does_not_chain_the_internal_poll_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    """Trial 15, finding 15: no "During handling of the above exception" (PollTimeout)."""
    w, _ = waiter()
    with pytest.raises(VcpTimeoutError) as info:
        w.wait(lambda revision, hold: unit("BOOTING"), unit_is_stable, str, "Full of waiting time (web)", 12)
    assert info.value.__context__ is None or info.value.__suppress_context__
    assert info.value.__cause__ is None


def test_a_unit_ending_in_error_is_not_summarised_as_done() -> None:
    """Trial 15, finding 11."""
    assert summary_line("e/u", unit("ERROR"), 0.2, "done") == "e/u: ERROR 1/1 (ended in ERROR after 0 s)"
    assert summary_line("e/u", unit("RUNNING"), 3, "done") == "e/u: RUNNING 1/1 (done in 3 s)"


def test_the_notebook_bar_does_not_turn_red_before_the_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trial 15, finding 11: tqdm's notebook bar shows 'danger' when closed with n < total."""
    pytest.importorskip("ipywidgets")
    import IPython.display

    updates: list[Any] = []

    class Handle:
        def display(self, obj: Any, raw: bool = False) -> None:
            pass

        def update(self, obj: Any, raw: bool = False) -> None:
            updates.append(obj)

    monkeypatch.setattr(IPython.display, "DisplayHandle", Handle)
    report = ProgressReport("ug1/web", mode="notebook")
    report.update(unit("BOOTING", "BOOTING"), 0.0)
    bar = report._bar
    styles: list[str] = []
    original = bar.disp

    def disp(*args: Any, **kwargs: Any) -> None:
        styles.append(kwargs.get("bar_style") or "")
        original(*args, **kwargs)

    bar.disp = disp
    report.finish(unit("RUNNING", "RUNNING"), 4.0)
    assert "danger" not in styles
    assert updates == [{"text/plain": "ug1/web: RUNNING 2/2 (done in 4 s)"}]
