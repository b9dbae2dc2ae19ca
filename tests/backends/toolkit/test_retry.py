"""Retry with backoff and jitter for retryable cloud errors, on a fake clock."""

from __future__ import annotations

import pytest

from vcpsdk.controller.backends.toolkit.errors import CloudAuthError, CloudError, CloudThrottlingError
from vcpsdk.controller.backends.toolkit.ratelimit import RateLimiter
from vcpsdk.controller.backends.toolkit.retry import (
    CloudCaller,
    RetryPolicy,
    is_retryable,
    parse_retry_after,
    retry_after,
)
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


def _throttled(seconds: float | None) -> CloudThrottlingError:
    error = CloudThrottlingError("slow down", code="TooManyRequests")
    error.retry_after = seconds  # type: ignore[attr-defined]
    return error


def test_a_retry_after_of_the_error_is_waited_at_least() -> None:
    clock = FakeClock()
    flaky = Flaky(clock, _throttled(7), _throttled(12.5))
    caller = CloudCaller(RetryPolicy(max_attempts=5, initial=0.01, maximum=0.01), clock=clock)
    assert caller(flaky) == "ok"
    pauses = [b - a for a, b in zip(flaky.times, flaky.times[1:], strict=False)]
    assert pauses[0] >= 7 and pauses[1] >= 12.5
    assert pauses == pytest.approx([7, 12.5], abs=0.02)  # not more than the backoff on top


def test_without_retry_after_the_backoff_is_unchanged() -> None:
    clock = FakeClock()
    flaky = Flaky(clock, _throttled(None), CloudThrottlingError("slow down"))
    caller = CloudCaller(RetryPolicy(max_attempts=5, initial=0.01, maximum=0.01), clock=clock)
    assert caller(flaky) == "ok"
    assert clock.now() <= 0.02


def test_a_retry_after_beyond_max_elapsed_gives_up_at_once() -> None:
    clock = FakeClock()
    flaky = Flaky(clock, _throttled(600), _throttled(600))
    caller = CloudCaller(RetryPolicy(max_attempts=5, max_elapsed=120), clock=clock)
    with pytest.raises(CloudThrottlingError):
        caller(flaky)
    assert caller.attempts == 1 and clock.now() == 0


def test_retry_after_reads_only_numbers() -> None:
    assert retry_after(_throttled(3)) == 3.0
    assert retry_after(_throttled(-1)) == 0.0
    assert retry_after(CloudThrottlingError("x")) is None
    assert retry_after(None) is None
    bogus = CloudThrottlingError("x")
    bogus.retry_after = "soon"  # type: ignore[attr-defined]
    assert retry_after(bogus) is None


def test_parse_retry_after_reads_seconds_and_http_dates() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 5 ") == 5.0
    now = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT
    assert parse_retry_after("Tue, 14 Nov 2023 22:13:50 GMT", now=now) == pytest.approx(30.0)
    assert parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now=now) == 0.0
    for unreadable in (None, "", "soon", "-3", "Tue, 14 Nov 2023"):
        assert parse_retry_after(unreadable) is None, unreadable
