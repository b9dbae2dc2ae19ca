"""One waiter for every blocking call.

It returns as soon as the controller reports a stable state: against our
controller it long-polls ("wait for change"), against others it polls every
``poll_interval`` seconds.  It logs progress like the original SDK
(``BOOTING ... 5 sec``) every ``progress_interval`` seconds, shows each value it reads
on a :class:`~vcpsdk.progress.ProgressReport` (a widget in Jupyter, a line in a
terminal), honours one timeout (``vcc.wait_timeout_sec``, overridable per call) and
leaves the operation running on the controller when it gives up or is interrupted
(Ctrl-C raises :class:`~vcpsdk.errors.VcpWaitInterrupted` saying how to resume), so
``wait_unit_applied(name)`` or ``get_unit(name)`` can pick it up later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from vcpsdk.core.polling import SYSTEM_CLOCK, Clock, PollTimeout, poll
from vcpsdk.core.states import INDEFINITE, TRANSITIONAL
from vcpsdk.errors import VcpTimeoutError, VcpWaitInterrupted, exit_like_keyboard_interrupt, raise_error
from vcpsdk.occtr import OcctrClient
from vcpsdk.progress import Outcome, ProgressReport, format_counts, state_counts

logger = logging.getLogger("vcp.sdk")

Body = dict[str, Any] | None
#: fetch(revision to wait past or None, seconds the controller may hold the request)
Fetch = Callable[[int | None, float], Body]


def unit_is_stable(unit: Body) -> bool:
    """A unit is stable when gone, or out of transitional states (nodes too if INDEFINITE)."""
    if unit is None:
        return True
    state = unit.get("state")
    if state == INDEFINITE:
        nodes = unit.get("node") or unit.get("disk") or []
        return all(n.get("state") not in TRANSITIONAL for n in nodes)
    return state not in TRANSITIONAL


class Waiter:
    """Waits for a condition on a UnitGroup or a unit, with progress lines and a live display.

    Args:
        client: the controller's client (long-polls when it can).
        timeout_sec: the default timeout of :meth:`wait`.
        poll_interval: seconds between reads when the controller cannot long-poll.
        progress_interval: seconds between the ``<STATE> ... <n> sec`` log lines.
        clock: where time comes from (:class:`~vcpsdk.core.polling.FakeClock` in tests).
        progress: show the live display (:mod:`vcpsdk.progress`; default True).
    """

    def __init__(
        self,
        client: OcctrClient,
        timeout_sec: float,
        poll_interval: float = 5.0,
        progress_interval: float = 5.0,
        clock: Clock | None = None,
        progress: bool = True,
    ) -> None:
        self.client = client
        self.timeout_sec = timeout_sec
        self.poll_interval = poll_interval
        self.progress_interval = progress_interval
        self.clock = clock or SYSTEM_CLOCK
        self.progress = progress

    def wait(
        self,
        fetch: Fetch,
        done: Callable[[Body], bool],
        describe: Callable[[Body], str],
        timeout_message: str,
        timeout_sec: float | None = None,
        *,
        label: str = "",
        resume: str = "",
    ) -> Body:
        """Fetch until ``done(body)``; log ``describe(body) ... N sec`` and show progress while waiting.

        Args:
            fetch: reads the unit or UnitGroup (see :data:`Fetch`).
            done: true when the body is final.
            describe: the state named in the log lines.
            timeout_message: the message of the timeout error.
            timeout_sec: the timeout (default: the waiter's).
            label: what is waited for in the display and messages, e.g. ``ug1/web``.
            resume: the calls that pick the operation up again, e.g.
                ``ug.wait_unit_applied('web')`` (in the timeout's and the interruption's hint).

        Returns:
            The final body (None once gone).

        Raises:
            VcpTimeoutError: ``timeout_message`` after the timeout.
            VcpWaitInterrupted: the wait was interrupted (Ctrl-C, Jupyter's stop button).
        """
        limit = self.timeout_sec if timeout_sec is None else timeout_sec
        report = ProgressReport(label or "waiting") if self.progress else None
        start = self.clock.now()
        last: list[Body] = [None]

        def seen(body: Body) -> Body:
            last[0] = body
            if report is not None and report.started and not done(body):
                report.update(body, self.clock.now() - start)
            return body

        def step(body: Body, hold: float) -> Body:
            revision = body.get("revision") if isinstance(body, dict) else None
            if self.client.long_poll and isinstance(revision, int):
                return seen(fetch(revision, hold))
            self.clock.sleep(min(self.poll_interval, hold) if hold > 0 else 0.05)
            return seen(fetch(None, 0.0))

        def progress(body: Body, elapsed: float) -> None:
            logger.info("%s ... %d sec", describe(body), int(elapsed))
            if report is not None:
                report.update(body, elapsed)

        def finish(outcome: Outcome) -> float:
            elapsed = self.clock.now() - start
            if report is not None:
                report.finish(last[0], elapsed, outcome)
            return elapsed

        again = f"To pick it up again: {resume}" if resume else ""
        try:
            result = poll(
                lambda: seen(fetch(None, 0.0)),
                done,
                timeout=limit,
                clock=self.clock,
                progress=progress,
                progress_interval=self.progress_interval,
                step=step,
            )
        except PollTimeout:
            timed_out = True  # raised below: no "during handling of PollTimeout" in the traceback
        except KeyboardInterrupt:
            elapsed = finish("interrupted")
            state = format_counts(state_counts(last[0])) if last[0] else "not read yet"
            exit_like_keyboard_interrupt()
            raise VcpWaitInterrupted(
                f"Stopped waiting for {label or 'the operation'} after {int(elapsed)} s ({state}); "
                "the operation goes on on the controller.",
                again,
            ) from None
        except BaseException:
            finish("failed")
            raise
        else:
            timed_out = False
        if timed_out:
            finish("timeout")
            hint = (
                f"The operation goes on on the controller. {again} vcc.wait_timeout_sec in "
                "vcp_config.yml sets how long a call waits."
                if resume
                else None
            )
            raise_error(VcpTimeoutError, timeout_message, hint=hint)
        finish("done")
        return result
