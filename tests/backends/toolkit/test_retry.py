"""Retry with backoff and jitter for retryable cloud errors, on a fake clock."""

from __future__ import annotations

import pytest

from vcpsdk.controller.backends.toolkit.errors import CloudAuthError, CloudError, CloudThrottlingError
from vcpsdk.controller.backends.toolkit.ratelimit import RateLimiter
from vcpsdk.controller.backends.toolkit.retry import CloudCaller, RetryPolicy, is_retryable
from vcpsdk.core.polling import FakeClock


class Flaky:
    """Fails with ``errors`` in turn, then answers ``"ok"``; records the clock at each call."""

    def __init__(self, clock: FakeClock, *errors: Exception) -> None:
        self.clock = clock
        self.errors = list(errors)
        self.times: list[float] = []

    def __call__(self, value: str = "ok") -> str:
        self.times.append(self.clock.now())
        if self.errors:
            raise self.errors.pop(0)
        return value


def test_retryable_errors_are_retried_with_growing_jittered_backoff() -> None:
    clock = FakeClock()
    flaky = Flaky(clock, *[CloudThrottlingError("slow down", code="Throttling") for _ in range(4)])
    caller = CloudCaller(RetryPolicy(max_attempts=5, initial=1.0, maximum=30.0), clock=clock)
    assert caller(flaky, value="done") == "done"
    assert caller.attempts == 5
    pauses = [b - a for a, b in zip(flaky.times, flaky.times[1:], strict=False)]
    for number, pause in enumerate(pauses):  # full jitter: 0 .. initial * 2**n
        assert 0 <= pause <= 1.0 * 2**number


def test_errors_that_are_not_retryable_are_raised_at_once() -> None:
    clock = FakeClock()
    flaky = Flaky(clock, CloudAuthError("bad key", code="AuthFailure"), KeyError("bug"))
    caller = CloudCaller(clock=clock)
    with pytest.raises(CloudAuthError):
        caller(flaky)
    with pytest.raises(KeyError):
        caller(flaky)
    assert caller.attempts == 1 and clock.now() == 0


def test_giving_up_raises_the_last_error() -> None:
    clock = FakeClock()
    errors = [CloudError(f"try {n}", code="InternalError", retryable=True) for n in range(10)]
    caller = CloudCaller(RetryPolicy(max_attempts=3), clock=clock)
    with pytest.raises(CloudError, match="^InternalError: try 2$"):
        caller(Flaky(clock, *errors))
    assert caller.attempts == 3


def test_giving_up_after_max_elapsed_seconds() -> None:
    clock = FakeClock()
    errors = [CloudThrottlingError("slow down") for _ in range(100)]
    caller = CloudCaller(RetryPolicy(max_attempts=100, initial=10, maximum=10, max_elapsed=35), clock=clock)
    with pytest.raises(CloudThrottlingError):
        caller(Flaky(clock, *errors))
    assert caller.attempts < 100
    assert clock.now() <= 35 + 10


def test_every_attempt_takes_a_token_of_the_rate_limit() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, clock=clock)
    caller = CloudCaller(RetryPolicy(initial=0.001, maximum=0.001), limiter=limiter, clock=clock)
    caller(Flaky(clock, CloudThrottlingError("slow down"), CloudThrottlingError("slow down")))
    assert caller.attempts == 3
    assert limiter.waited == pytest.approx(2.0, abs=0.01)  # 1 request/s: two waits


def test_is_retryable() -> None:
    assert is_retryable(CloudThrottlingError("x"))
    assert not is_retryable(CloudError("x"))
    assert not is_retryable(TimeoutError())
