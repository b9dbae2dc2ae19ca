"""The token bucket shared by a backend's calls, on a fake clock."""

from __future__ import annotations

import threading

import pytest

from vcpsdk.controller.backends.toolkit.ratelimit import RateLimiter
from vcpsdk.core.polling import FakeClock


def test_token_bucket() -> None:
    clock = FakeClock(100.0)
    limiter = RateLimiter(4, clock=clock)
    for _ in range(4):  # the burst
        assert limiter.acquire() == 0
    assert limiter.acquire() == pytest.approx(0.25)
    assert limiter.acquire() == pytest.approx(0.25)
    clock.sleep(10)  # idle: the bucket refills to its capacity, not beyond
    for _ in range(4):
        assert limiter.acquire() == 0
    assert limiter.acquire() == pytest.approx(0.25)
    assert limiter.waited == pytest.approx(0.75)
    assert clock.now() == pytest.approx(110.75)
    assert RateLimiter(0, clock=clock).acquire() == 0  # disabled


def test_burst_size_and_rate_bound_the_requests() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, burst=2, clock=clock)
    for _ in range(22):
        limiter.acquire()
    # 2 at once, then one every 0.1 s
    assert clock.now() == pytest.approx(2.0)


def test_concurrent_callers_reserve_distinct_slots() -> None:
    clock = FakeClock()
    lock = threading.Lock()
    delays: list[float] = []
    limiter = RateLimiter(5, burst=1, clock=clock)

    def call() -> None:
        delay = limiter.acquire()
        with lock:
            delays.append(delay)

    threads = [threading.Thread(target=call) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # the fake clock is shared: whatever the order, no two callers got the same slot
    assert len(delays) == 5
    assert limiter.waited > 0
