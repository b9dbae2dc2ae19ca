"""Send a cloud call again when it failed with a retryable :class:`CloudError`.

For clouds whose SDK has no retry mechanism of its own (the AWS backend uses botocore's
``adaptive`` retry mode instead).  Backoff is exponential with random jitter (tenacity's
``wait_random_exponential``, "full jitter"), every attempt first takes a token of the
backend's :class:`~vcpsdk.controller.backends.toolkit.ratelimit.RateLimiter`, and all
waiting goes through an injectable clock, so tests never sleep.

A cloud that says how long to wait (HTTP ``Retry-After``) is obeyed: when the error has a
``retry_after`` attribute (seconds; a backend sets it on the :class:`CloudError` it raises,
e.g. from :func:`parse_retry_after` of the response header), the next attempt waits at least
that long, and the caller gives up at once when that wait would overrun ``max_elapsed``.

Example::

    from vcpsdk.core.polling import FakeClock

    caller = CloudCaller(RetryPolicy(max_attempts=3), clock=FakeClock())
    flavors = caller(api.list_flavors)      # retried on throttling, rate limited
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import tenacity

from vcpsdk.controller.backends.toolkit.errors import CloudError
from vcpsdk.controller.backends.toolkit.ratelimit import RateLimiter
from vcpsdk.core.polling import SYSTEM_CLOCK, Clock

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a retryable cloud error is retried.

    Attributes:
        max_attempts: attempts in all (1 = never retry).
        initial: the backoff before the first retry is at most this many seconds.
        maximum: no single backoff exceeds this many seconds.
        max_elapsed: stop retrying once this many seconds have passed (None: no limit).
    """

    max_attempts: int = 5
    initial: float = 1.0
    maximum: float = 30.0
    max_elapsed: float | None = 120.0


def is_retryable(error: BaseException) -> bool:
    """True for a :class:`CloudError` whose ``retryable`` flag is set."""
    return isinstance(error, CloudError) and error.retryable


def retry_after(error: BaseException | None) -> float | None:
    """The seconds the cloud asked to wait before the next attempt, if it said.

    Args:
        error: the failed attempt's error (its ``retry_after`` attribute is read).

    Returns:
        A number of seconds (never negative), or ``None`` when the error names none.
    """
    seconds = getattr(error, "retry_after", None)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    return max(0.0, float(seconds))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """An HTTP ``Retry-After`` header as seconds to wait.

    Args:
        value: the header: delay seconds (``"120"``) or an HTTP date.
        now: the current time (seconds since the epoch; default: the system's).

    Returns:
        The seconds to wait (0 for a date in the past), or ``None`` for a missing or
        unreadable header.

    Example::

        error.retry_after = parse_retry_after(response.headers.get("Retry-After"))
    """
    if not value or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class CloudCaller:
    """Calls a cloud API function with the backend's rate limit and retry policy.

    Args:
        policy: the retry policy.
        limiter: the backend's shared rate limiter (None: no limit).
        clock: where time comes from (:class:`~vcpsdk.core.polling.FakeClock` in tests).
        retryable: decides whether an exception is worth another attempt.

    Attributes:
        attempts: attempts made by the last call.
    """

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        limiter: RateLimiter | None = None,
        clock: Clock = SYSTEM_CLOCK,
        retryable: Callable[[BaseException], bool] = is_retryable,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.limiter = limiter
        self.clock = clock
        self.retryable = retryable
        self.attempts = 0

    def __call__(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)``, retried while it raises a retryable error.

        Returns:
            What ``function`` returns.

        Raises:
            Exception: the last error once the policy gives up, or at once any error
                that is not retryable.
        """
        policy, clock = self.policy, self.clock
        started = clock.now()

        def attempt() -> T:
            self.attempts += 1
            if self.limiter is not None:
                self.limiter.acquire()
            return function(*args, **kwargs)

        self.attempts = 0
        retrying = tenacity.Retrying(
            sleep=clock.sleep,
            stop=tenacity.stop_after_attempt(max(1, policy.max_attempts))
            | _StopAfter(clock, started, policy.max_elapsed),
            wait=_AtLeastRetryAfter(
                tenacity.wait_random_exponential(multiplier=policy.initial, max=policy.maximum)
            ),
            retry=tenacity.retry_if_exception(self.retryable),
            reraise=True,
        )
        return retrying(attempt)


class _StopAfter(tenacity.stop.stop_base):
    """Stop once ``seconds`` have passed on ``clock`` (tenacity's own uses the real clock)."""

    def __init__(self, clock: Clock, started: float, seconds: float | None) -> None:
        self.clock = clock
        self.started = started
        self.seconds = seconds

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        if self.seconds is None:
            return False
        # a wait the cloud demands that would overrun the limit: give up now
        demanded = retry_after(_error_of(retry_state)) or 0.0
        return self.clock.now() + demanded - self.started >= self.seconds


class _AtLeastRetryAfter(tenacity.wait.wait_base):
    """The backoff of ``backoff``, but at least the error's ``retry_after`` seconds."""

    def __init__(self, backoff: tenacity.wait.wait_base) -> None:
        self.backoff = backoff

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        pause = float(self.backoff(retry_state))
        return max(pause, retry_after(_error_of(retry_state)) or 0.0)


def _error_of(retry_state: tenacity.RetryCallState) -> BaseException | None:
    outcome = retry_state.outcome
    return outcome.exception() if outcome is not None and outcome.failed else None
