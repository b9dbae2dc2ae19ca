"""The client-side rate limit shared by all calls of one backend: a token bucket.

A backend holds one :class:`RateLimiter` and calls :meth:`RateLimiter.acquire` before
every request it sends to its cloud (the AWS backend does it in a botocore
``before-send`` hook, so retries count too).  The clock is injectable: tests pass a
:class:`vcpsdk.core.polling.FakeClock` and nothing really sleeps.

Example::

    from vcpsdk.core.polling import FakeClock

    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock)      # 2 requests/s, bursts of 2
    assert [limiter.acquire() for _ in range(3)] == [0.0, 0.0, 0.5]
"""

from __future__ import annotations

import threading

from vcpsdk.core.polling import SYSTEM_CLOCK, Clock


class RateLimiter:
    """A token bucket: at most ``rate`` requests per second, bursts of ``burst``.

    Thread safe and fair: each caller reserves its token under a lock (the bucket may
    go into debt) and then sleeps exactly as long as its reservation needs, outside the
    lock, so callers leave in the order they came.

    Args:
        rate: requests per second; 0 (or less) disables the limit.
        burst: bucket size (default: ``max(1, rate)``).
        clock: where time comes from (``now``/``sleep``).

    Attributes:
        waited: total seconds the callers of :meth:`acquire` have slept.
    """

    def __init__(self, rate: float, burst: float | None = None, clock: Clock = SYSTEM_CLOCK) -> None:
        self.rate = float(rate)
        self.capacity = float(burst if burst is not None else max(1.0, self.rate))
        self.waited = 0.0
        self._clock = clock
        self._tokens = self.capacity
        self._updated = clock.now()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        """Add the tokens earned since the last call (under the lock)."""
        now = self._clock.now()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def acquire(self) -> float:
        """Take one token, sleeping as long as needed.

        Returns:
            The seconds slept (0.0 when a token was available).
        """
        if self.rate <= 0:
            return 0.0
        with self._lock:
            self._refill()
            self._tokens -= 1.0
            delay = -self._tokens / self.rate if self._tokens < 0 else 0.0
            self.waited += delay
        if delay > 0:
            self._clock.sleep(delay)
        return delay

    def try_acquire(self) -> float:
        """Take one token if one is there, never sleeping (a server refusing a request).

        Returns:
            0.0 when a token was taken, else the seconds until one will be there (nothing
            is taken, so a refused caller does not push the others back).

        Example::

            limiter = RateLimiter(1, burst=1, clock=FakeClock())
            limiter.try_acquire(), limiter.try_acquire()   # (0.0, 1.0)
        """
        if self.rate <= 0:
            return 0.0
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / self.rate
