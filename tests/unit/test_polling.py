"""The one wait/poll primitive (vcpsdk.core.polling) on a fake clock."""

from __future__ import annotations

import pytest

from vcpsdk.core.polling import FakeClock, PollTimeout, poll


def test_returns_first_final_value_and_sleeps_interval() -> None:
    clock = FakeClock()
    values = iter(["BOOTING", "BOOTING", "RUNNING", "never"])
    result = poll(lambda: next(values), lambda v: v == "RUNNING", timeout=60, interval=2, clock=clock)
    assert result == "RUNNING"
    assert clock.now() == 4


def test_timeout_carries_last_value_and_message() -> None:
    clock = FakeClock()
    with pytest.raises(PollTimeout, match="still booting") as info:
        poll(
            lambda: "BOOTING",
            lambda v: False,
            timeout=10,
            interval=3,
            clock=clock,
            timeout_message="still booting",
        )
    assert info.value.last == "BOOTING"
    assert clock.now() == 10


def test_progress_every_interval_from_the_start() -> None:
    clock = FakeClock()
    seen: list[float] = []
    with pytest.raises(PollTimeout):
        poll(
            lambda: 1,
            lambda v: False,
            timeout=12,
            interval=1,
            clock=clock,
            progress=lambda v, elapsed: seen.append(elapsed),
            progress_interval=5,
        )
    assert seen == [0, 5, 10]


def test_step_replaces_sleep_and_fetch() -> None:
    clock = FakeClock()
    holds: list[float] = []

    def step(last: int, hold: float) -> int:
        holds.append(hold)
        clock.sleep(1)
        return last + 1

    assert poll(lambda: 0, lambda v: v == 3, timeout=100, clock=clock, step=step) == 3
    # each long poll may take all the time that is left
    assert holds == [100, 99, 98]


def test_zero_timeout_checks_once() -> None:
    calls: list[int] = []
    with pytest.raises(PollTimeout):
        poll(lambda: calls.append(1) or 0, lambda v: False, timeout=0, clock=FakeClock())
    assert calls == [1]
