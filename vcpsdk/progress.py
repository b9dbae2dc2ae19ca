"""Live progress of the SDK's waits: a widget in Jupyter, one line in a terminal, plain lines otherwise.

Every blocking call (``create_unit``, ``add_nodes``, ``delete_units``, the node operations,
``cleanup``, ``wait_unit_applied`` ...) waits through :class:`vcpsdk.waiting.Waiter`, which
reports each value it reads to a :class:`ProgressReport`.  The report shows the unit, its nodes
per state (``RUNNING 2/3, BOOTING 1``) and the elapsed time, and ends with a one-line summary:

* in Jupyter (an IPython kernel): a ``tqdm`` progress widget (with ``ipywidgets``; without it,
  one text line in the cell's output, updated in place), replaced by the summary when the wait
  ends;
* in a terminal (stderr is a TTY): one line on stderr, updated in place, then the summary;
* otherwise (scripts, CI): plain lines on stderr when the counts change (and every
  :data:`HEARTBEAT_SEC` seconds), then the summary.

A wait that ends at its first read shows nothing.  Progress is on by default; ``progress:
false`` in ``vcp_config.yml`` or the environment variable ``VCPSDK_PROGRESS=0`` switches it
off (the variable wins).  The log lines on logger ``vcp.sdk`` (``BOOTING ... 5 sec``) are
written either way, for users who configured logging.

Example::

    from vcpsdk.progress import ProgressReport

    report = ProgressReport("ug1/web", mode="plain")
    report.update({"node": [{"state": "BOOTING"}, {"state": "RUNNING"}]}, 0.0)
    report.finish({"node": [{"state": "RUNNING"}, {"state": "RUNNING"}]}, 12.0)
    # stderr: "ug1/web: RUNNING 1/2, BOOTING 1 ... 0 s" then "ug1/web: RUNNING 2/2 (done in 12 s)"
"""

from __future__ import annotations

import importlib
import os
import sys
from collections import Counter
from collections.abc import Mapping
from typing import Any, Literal, TextIO

from vcpsdk.core.states import TRANSITIONAL

#: the environment variable that switches progress on (``1``) or off (``0``); it wins over
#: ``progress:`` in ``vcp_config.yml``
PROGRESS_ENV = "VCPSDK_PROGRESS"
#: values of :data:`PROGRESS_ENV` (lower case) that switch progress off
OFF_VALUES = frozenset({"0", "false", "no", "off"})
#: in plain mode, seconds after which an unchanged count is repeated
HEARTBEAT_SEC = 30.0

#: the terminal's line: ``ug1/web: RUNNING 1/2, BOOTING 1 |#####     | 00:03``
TEXT_FORMAT = "{desc} |{bar:10}| {elapsed}"

Mode = Literal["notebook", "terminal", "plain", "off"]
Outcome = Literal["done", "interrupted", "timeout", "failed"]


def progress_enabled(configured: bool | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """Whether waits show progress: ``$VCPSDK_PROGRESS``, else ``configured``, else on.

    Args:
        configured: ``progress:`` of ``vcp_config.yml`` (None: not set).
        environ: the environment (default :data:`os.environ`).

    Returns:
        False when the variable is ``0``/``false``/``no``/``off``, True when it is set to
        anything else, else ``configured`` (True when None).

    Example:
        >>> progress_enabled(True, {"VCPSDK_PROGRESS": "0"})
        False
        >>> progress_enabled(None, {})
        True
    """
    value = (os.environ if environ is None else environ).get(PROGRESS_ENV)
    if value is not None and value.strip():
        return value.strip().lower() not in OFF_VALUES
    return True if configured is None else bool(configured)


def in_jupyter() -> bool:
    """True inside an IPython kernel (Jupyter, VS Code notebooks), not in a terminal IPython."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def detect_mode(stream: TextIO | None = None) -> Mode:
    """``notebook`` in Jupyter, ``terminal`` when ``stream`` (default stderr) is a TTY, else
    ``plain``."""
    if in_jupyter():
        return "notebook"
    stream = stream or sys.stderr
    try:
        return "terminal" if stream.isatty() else "plain"
    except (AttributeError, ValueError):  # closed or replaced streams
        return "plain"


def _has_widgets() -> bool:
    """Whether ``ipywidgets`` imports (the notebook widget needs it; tqdm fails half-built
    without it, leaving a traceback on stderr and a stray bar position)."""
    try:
        importlib.import_module("ipywidgets")
    except ImportError:
        return False
    return True


def state_counts(body: Mapping[str, Any] | None) -> Counter[str]:
    """Nodes (or disks) per state of a unit body, or of all units of a UnitGroup body; the
    units' own states when there are no nodes.  Empty for None (gone)."""
    if not body:
        return Counter()
    if "unit" in body and "node" not in body and "disk" not in body:
        units = body.get("unit") or []
        nodes = [n for u in units for n in (u.get("node") or u.get("disk") or [])]
        return Counter(str(n.get("state")) for n in nodes) or Counter(str(u.get("state")) for u in units)
    nodes = body.get("node") or body.get("disk") or []
    if nodes:
        return Counter(str(n.get("state")) for n in nodes)
    return Counter({str(body.get("state")): 1}) if body.get("state") else Counter()


def format_counts(counts: Counter[str]) -> str:
    """``RUNNING 2/3, BOOTING 1``: stable states first with ``n/total``, transitional ones after.

    Example:
        >>> format_counts(Counter({"BOOTING": 1, "RUNNING": 2}))
        'RUNNING 2/3, BOOTING 1'
        >>> format_counts(Counter())
        'deleted'
    """
    if not counts:
        return "deleted"
    total = sum(counts.values())
    stable = sorted(s for s in counts if s not in TRANSITIONAL)
    moving = sorted(s for s in counts if s in TRANSITIONAL)
    return ", ".join([f"{s} {counts[s]}/{total}" for s in stable] + [f"{s} {counts[s]}" for s in moving])


def summary_line(label: str, body: Mapping[str, Any] | None, elapsed: float, outcome: Outcome) -> str:
    """The one-line summary a wait ends with.

    Example:
        >>> summary_line("ug1/web", {"node": [{"state": "RUNNING"}]}, 12.3, "done")
        'ug1/web: RUNNING 1/1 (done in 12 s)'
        >>> summary_line("e/u", {"node": [{"state": "ERROR"}]}, 0.4, "done")
        'e/u: ERROR 1/1 (ended in ERROR after 0 s)'
    """
    counts = format_counts(state_counts(body))
    seconds = int(elapsed)
    if outcome == "interrupted":
        return f"{label}: {counts} (interrupted after {seconds} s; the controller goes on)"
    if outcome == "timeout":
        return f"{label}: {counts} (gave up after {seconds} s; the controller goes on)"
    if outcome == "failed":
        return f"{label}: {counts} (stopped by an error after {seconds} s)"
    if "ERROR" in state_counts(body):
        return f"{label}: {counts} (ended in ERROR after {seconds} s)"
    return f"{label}: {counts} (done in {seconds} s)"


class ProgressReport:
    """The progress of one wait, shown from the first :meth:`update` to :meth:`finish`.

    Args:
        label: what is waited for, e.g. ``ug1/web`` (UnitGroup/unit).
        mode: ``notebook``, ``terminal``, ``plain`` or ``off`` (default: :func:`detect_mode`).
        stream: where terminal and plain modes write (default ``sys.stderr`` at the time of
            writing).

    Example::

        report = ProgressReport("ug1/web")
        report.update(unit_body, elapsed)  # for every value read
        report.finish(final_body, elapsed)  # the summary (only if something was shown)
    """

    def __init__(self, label: str, mode: Mode | None = None, stream: TextIO | None = None) -> None:
        self.label = label
        self._mode = mode
        self._stream = stream
        self._bar: Any = None  # tqdm (notebook or terminal) once started
        self._handle: Any = None  # the notebook display to replace with the summary
        self._started = False
        self._last_text = ""
        self._last_line_at = 0.0
        self._last_line = ""

    @property
    def mode(self) -> Mode:
        """The mode in use (detected on first use unless given)."""
        if self._mode is None:
            self._mode = detect_mode(self._stream)
        return self._mode

    @property
    def started(self) -> bool:
        """Whether something was shown (the summary is written only then)."""
        return self._started

    def _out(self) -> TextIO:
        return self._stream or sys.stderr

    def update(self, body: Mapping[str, Any] | None, elapsed: float) -> None:
        """Show the state of ``body`` after ``elapsed`` seconds.

        Args:
            body: the unit (or UnitGroup) as last read; None once gone.
            elapsed: seconds since the wait began.
        """
        if self.mode == "off":
            return
        counts = state_counts(body)
        text = format_counts(counts)
        total = sum(counts.values())
        stable = sum(n for s, n in counts.items() if s not in TRANSITIONAL)
        if self.mode == "plain":
            if not self._started or text != self._last_text or elapsed - self._last_line_at >= HEARTBEAT_SEC:
                print(f"{self.label}: {text} ... {int(elapsed)} s", file=self._out(), flush=True)
                self._last_line_at = elapsed
        elif self.mode == "notebook" and not _has_widgets():
            line = f"{self.label}: {text} ... {int(elapsed)} s"
            if self._handle is None:
                from IPython.display import DisplayHandle

                self._handle = DisplayHandle()
                self._handle.display({"text/plain": line}, raw=True)
            elif line != self._last_line:
                self._handle.update({"text/plain": line}, raw=True)
            self._last_line = line
        else:
            if self._bar is None:
                self._started = True  # an interrupt while opening still gets the summary
                self._bar = self._open_bar(total, f"{self.label}: {text}")
            self._bar.total = total
            self._bar.n = stable
            self._bar.set_description_str(f"{self.label}: {text}", refresh=False)
            self._bar.refresh()
        self._started = True
        self._last_text = text

    def _open_bar(self, total: int, desc: str) -> Any:
        """A tqdm bar: the widget in Jupyter, else a line on the stream."""
        from tqdm import tqdm

        options: dict[str, Any] = {"total": total, "desc": desc, "leave": False, "delay": 0}
        if self.mode == "notebook":  # with ipywidgets (update() shows a text line without)
            from IPython.display import DisplayHandle
            from tqdm.notebook import tqdm as notebook_tqdm

            bar = notebook_tqdm(bar_format="{desc} {bar} {elapsed}", display=False, **options)

            self._handle = DisplayHandle()  # kept before showing: the summary replaces it
            self._handle.display(bar.container)
            return bar
        return tqdm(bar_format=TEXT_FORMAT, file=self._out(), **options)

    def finish(self, body: Mapping[str, Any] | None, elapsed: float, outcome: Outcome = "done") -> None:
        """End the display with the one-line summary (nothing when nothing was shown).

        Args:
            body: the last value read.
            elapsed: seconds since the wait began.
            outcome: ``done``, ``interrupted``, ``timeout`` or ``failed`` (an error).
        """
        if not self._started or self.mode == "off":
            return
        line = summary_line(self.label, body, elapsed, outcome)
        bar, self._bar = self._bar, None
        handle, self._handle = self._handle, None
        if bar is not None:
            if handle is not None:  # the notebook bar would turn red (n < total) before the summary
                bar.total = bar.n
            bar.close()
        if handle is not None:  # the widget's place in the notebook now holds the summary
            handle.update({"text/plain": line}, raw=True)
        elif self.mode == "notebook":
            print(line, flush=True)
        else:
            print(line, file=self._out(), flush=True)
        self._started = False
