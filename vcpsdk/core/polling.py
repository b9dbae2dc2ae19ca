"""The one wait/poll primitive: fetch until a condition holds, with an injectable clock.

Every loop that waits for something to change (the SDK's waiter, the extensions'
``wait_*`` helpers, the cloud backends, the embedded sandbox and the test runners) goes
through :func:`poll`, so a timeout, a progress report and a test clock behave the same
everywhere.  The one exception is the controller's own long-poll handler, which runs on
the server's event loop and waits for the change bus rather than sleeping.

Example::

    from vcpsdk.core.polling import poll

    calls = iter(["BOOTING", "BOOTING", "RUNNING"])
    state = poll(lambda: next(calls), lambda s: s == "RUNNING", timeout=10, interval=0)
    assert state == "RUNNING"
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    """Where time comes from: ``now()`` in seconds (monotonic) and ``sleep(seconds)``."""

    def now(self) -> float:
        """Seconds on a monotonic clock."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass."""
        ...


class SystemClock:
    """The real clock: :func:`time.monotonic` and :func:`time.sleep`."""

    def now(self) -> float:
        """Seconds on the monotonic clock."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Sleep for ``seconds`` (nothing for zero or less)."""
        if seconds > 0:
            time.sleep(seconds)


@dataclass
class FakeClock:
    """A clock for tests: ``sleep`` advances ``now`` at once, nothing really waits."""

    time: float = 0.0

    def now(self) -> float:
        """The current fake time."""
        return self.time

    def sleep(self, seconds: float) -> None:
        """Advance the fake time by ``seconds``."""
        self.time += max(0.0, seconds)


SYSTEM_CLOCK: Clock = SystemClock()


class PollTimeout(TimeoutError):
    """:func:`poll` gave up; ``last`` is the last value fetched."""

    def __init__(self, message: str, last: object) -> None:
        super().__init__(message)
        self.last = last


#: next_value(last value, seconds it may take at most) → the next value
Step = Callable[[T, float], T]


def poll(
    fetch: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float,
    interval: float = 1.0,
    clock: Clock = SYSTEM_CLOCK,
    progress: Callable[[T, float], None] | None = None,
    progress_interval: float = 5.0,
    step: Step[T] | None = None,
    timeout_message: str = "timed out",
    max_polls: int | None = None,
    delay: float | None = None,
) -> T:
    """Fetch until ``done(value)`` and return that value.

    Args:
        fetch: returns the current value (called once first, then after each pause).
        done: true when the value is final.
        timeout: seconds before giving up (``0`` checks once).
        interval: seconds between fetches.
        clock: where time comes from (:class:`FakeClock` in tests).
        progress: called as ``progress(value, elapsed seconds)`` at the start and then
            every ``progress_interval`` seconds while waiting, with the value at hand (a
            ``step`` is cut short so the call comes on time; the pauses between fetches
            stay ``interval``, so ``progress_interval=interval`` reports every poll).
        progress_interval: seconds between progress calls.
        step: replaces "sleep ``interval`` then fetch": ``step(last, max_seconds)``
            returns the next value and may take up to ``max_seconds`` (a long poll).
        timeout_message: the message of the :class:`PollTimeout`.
        max_polls: give up after this many values (fetches, or ``step`` calls after the
            first fetch) that are not final, whatever the time left; ``None``: no limit.
            ``timeout=math.inf, interval=S, max_polls=N`` is "at most N polls every S seconds".
        delay: seconds to pause (on ``clock``) before the first fetch, counted in
            ``timeout``, for a change that was just requested and cannot be final at once;
            ``None``: fetch at once.

    Returns:
        The first value for which ``done`` is true.

    Raises:
        PollTimeout: the value was not final within ``timeout`` or ``max_polls``
            values; ``.last`` holds the last one.

    Example::

        # at most 3 fetches, 10 s apart (20 s in all): "at most N polls every S seconds"
        poll(read_status, lambda s: s == "PowerOFF", timeout=math.inf, interval=10, max_polls=3)
    """
    if max_polls is not None and max_polls < 1:
        raise ValueError(f"max_polls must be at least 1, not {max_polls}")
    start = clock.now()
    next_progress = start
    if delay is not None:
        clock.sleep(delay)
    value = fetch()
    polls = 1
    while not done(value):
        now = clock.now()
        if progress is not None and now >= next_progress:
            progress(value, now - start)
            missed = int((now - next_progress) // progress_interval) if progress_interval else 0
            next_progress += progress_interval * (1 + missed)
        remaining = start + timeout - now
        if remaining <= 0 or (max_polls is not None and polls >= max_polls):
            raise PollTimeout(timeout_message, value)
        if step is not None:
            hold = remaining if progress is None else max(0.0, min(remaining, next_progress - now))
            value = step(value, hold)
        else:
            clock.sleep(min(interval, remaining))
            value = fetch()
        polls += 1
    return value
