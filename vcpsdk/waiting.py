"""One waiter for every blocking call.

It returns as soon as the controller reports a stable state: against our
controller it long-polls ("wait for change"), against others it polls every
``poll_interval`` seconds.  It logs progress like the original SDK
(``BOOTING ... 5 sec``) every ``progress_interval`` seconds, honours one timeout
(``vcc.wait_timeout_sec``, overridable per call) and leaves the operation running
on the controller when it gives up, so ``get_unit(name)`` can pick it up later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from vcpsdk.core.polling import SYSTEM_CLOCK, Clock, PollTimeout, poll
from vcpsdk.core.states import INDEFINITE, TRANSITIONAL
from vcpsdk.errors import VcpTimeoutError, raise_error
from vcpsdk.occtr import OcctrClient

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
    """Waits for a condition on a UnitGroup or a unit, with progress lines."""

    def __init__(
        self,
        client: OcctrClient,
        timeout_sec: float,
        poll_interval: float = 5.0,
        progress_interval: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        self.client = client
        self.timeout_sec = timeout_sec
        self.poll_interval = poll_interval
        self.progress_interval = progress_interval
        self.clock = clock or SYSTEM_CLOCK

    def wait(
        self,
        fetch: Fetch,
        done: Callable[[Body], bool],
        describe: Callable[[Body], str],
        timeout_message: str,
        timeout_sec: float | None = None,
    ) -> Body:
        """Fetch until ``done(body)``; log ``describe(body) ... N sec`` while waiting.

        Raises:
            VcpTimeoutError: ``timeout_message`` after the timeout.
        """
        limit = self.timeout_sec if timeout_sec is None else timeout_sec

        def step(body: Body, hold: float) -> Body:
            revision = body.get("revision") if isinstance(body, dict) else None
            if self.client.long_poll and isinstance(revision, int):
                return fetch(revision, hold)
            self.clock.sleep(min(self.poll_interval, hold) if hold > 0 else 0.05)
            return fetch(None, 0.0)

        try:
            return poll(
                lambda: fetch(None, 0.0),
                done,
                timeout=limit,
                clock=self.clock,
                progress=lambda body, elapsed: logger.info("%s ... %d sec", describe(body), int(elapsed)),
                progress_interval=self.progress_interval,
                step=step,
            )
        except PollTimeout:
            raise_error(VcpTimeoutError, timeout_message)
