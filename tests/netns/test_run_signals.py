"""``vcc sandbox run`` and signals: SIGTERM or Ctrl-C at any moment, and ``kill -9``.

At any moment a signal either stops the run with 128 + N after tearing everything down, or
reaches the command; the run never carries on and never returns 0.  ``kill -9`` of
``vcc sandbox run`` takes the whole sandbox with it, and its temporary data directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from vcpsdk.core.polling import poll

from .conftest import VCC, environment

#: the command: says it started, records SIGTERM/SIGINT, then ends with 128 + N
COMMAND = """
import pathlib, signal, sys, time
marks = pathlib.Path(sys.argv[1])
def on(signum, frame):
    with marks.open("a") as out:
        out.write(f"signal {signum}\\n")
    sys.exit(128 + signum)
signal.signal(signal.SIGTERM, on)
signal.signal(signal.SIGINT, on)
with marks.open("a") as out:
    out.write("started\\n")
time.sleep(120)
"""

pytestmark = pytest.mark.usefixtures("namespaces")


def _start(tmp_path: Path, **popen: object) -> tuple[subprocess.Popen[bytes], Path]:
    marks = tmp_path / "marks"
    env = environment()
    env["TMPDIR"] = str(tmp_path)  # the run's data directory is made here
    process = subprocess.Popen(
        [*VCC, "sandbox", "run", "--boot-delay", "0", "--", "python3", "-c", COMMAND, str(marks)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **popen,  # type: ignore[arg-type]
    )
    return process, marks


def _leftovers(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.glob("vcc-sandbox-run-*"))


def _same_session(pid: int) -> list[int]:
    """Processes of ``pid``'s session still alive (the run's unshare, controller, command)."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == pid:
            continue
        try:
            if os.getsid(int(entry.name)) == pid:
                alive.append(int(entry.name))
        except OSError:
            continue
    return alive


@pytest.mark.parametrize("delay", [0.3, 1.5, 3.0, 6.0])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_at_any_moment_stops_the_run_or_reaches_the_command(
    tmp_path: Path, delay: float, signum: int
) -> None:
    process, marks = _start(tmp_path, start_new_session=True)
    time.sleep(delay)
    if signum == signal.SIGINT:  # Ctrl-C: the terminal signals the whole process group
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    status = process.wait(timeout=60)
    # 128 + N, or killed by N itself while Python was still starting (nothing started yet)
    assert status in (128 + signum, -signum), (delay, status)
    lines = marks.read_text().splitlines() if marks.exists() else []
    if "started" in lines:  # the command ran: it got the signal
        assert f"signal {signum}" in lines, lines
    assert _leftovers(tmp_path) == []
    # processes killed with the namespace may take a moment to be gone from /proc
    assert poll(lambda: _same_session(process.pid), lambda alive: not alive, timeout=15, interval=0.2) == []


def test_kill_9_of_the_launcher_ends_the_whole_run(tmp_path: Path) -> None:
    process, marks = _start(tmp_path, start_new_session=True)
    poll(lambda: marks.exists() and "started" in marks.read_text(), bool, timeout=60, interval=0.1)
    process.kill()
    process.wait(timeout=10)
    poll(lambda: not _same_session(process.pid), bool, timeout=30, interval=0.1)
    assert "signal 15" in marks.read_text().splitlines()
    poll(lambda: _leftovers(tmp_path) == [], bool, timeout=10, interval=0.1)
