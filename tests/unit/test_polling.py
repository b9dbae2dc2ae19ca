"""The one wait/poll primitive (vcpsdk.core.polling) on a fake clock."""

from __future__ import annotations

import math

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


def test_max_polls_stops_after_that_many_fetches() -> None:
    clock = FakeClock()
    calls: list[float] = []

    def fetch() -> str:
        calls.append(clock.now())
        return "BOOTING"

    with pytest.raises(PollTimeout, match="3 polls") as info:
        poll(
            fetch,
            lambda v: False,
            timeout=math.inf,
            interval=5,
            clock=clock,
            max_polls=3,
            timeout_message="3 polls",
        )
    # "at most 3 polls every 5 s": fetched at 0, 5 and 10, then no pause after the last
    assert calls == [0, 5, 10] and clock.now() == 10
    assert info.value.last == "BOOTING"


def test_max_polls_returns_a_final_value_of_the_last_allowed_fetch() -> None:
    values = iter(["a", "b", "done"])
    assert (
        poll(lambda: next(values), lambda v: v == "done", timeout=60, clock=FakeClock(), max_polls=3)
        == "done"
    )


def test_max_polls_and_timeout_whichever_comes_first() -> None:
    clock = FakeClock()
    with pytest.raises(PollTimeout):
        poll(lambda: 0, lambda v: False, timeout=7, interval=5, clock=clock, max_polls=10)
    assert clock.now() == 7  # the timeout came first: the last pause is cut to the deadline


def test_max_polls_counts_step_calls() -> None:
    steps: list[float] = []

    def step(last: int, hold: float) -> int:
        steps.append(hold)
        return last + 1

    with pytest.raises(PollTimeout) as info:
        poll(lambda: 0, lambda v: False, timeout=100, clock=FakeClock(), step=step, max_polls=2)
    assert info.value.last == 1 and len(steps) == 1


def test_max_polls_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_polls"):
        poll(lambda: 0, lambda v: True, timeout=1, clock=FakeClock(), max_polls=0)


def test_delay_pauses_before_the_first_fetch() -> None:
    clock = FakeClock()
    calls: list[float] = []

    def fetch() -> int:
        calls.append(clock.now())
        return len(calls)

    assert poll(fetch, lambda v: v == 2, timeout=math.inf, interval=3, clock=clock, delay=3) == 2
    assert calls == [3, 6]


def test_progress_reports_every_poll_with_interval_as_progress_interval() -> None:
    clock = FakeClock()
    seen: list[tuple[int, float]] = []
    values = iter([1, 2, 3])
    poll(
        lambda: next(values),
        lambda v: v == 3,
        timeout=100,
        interval=20,
        clock=clock,
        progress=lambda v, elapsed: seen.append((v, elapsed)),
        progress_interval=20,
    )
    assert seen == [(1, 0), (2, 20)]


def test_progress_does_not_change_the_pauses_between_fetches() -> None:
    clock = FakeClock()
    fetched: list[float] = []
    seen: list[float] = []

    def fetch() -> int:
        fetched.append(clock.now())
        return len(fetched)

    poll(
        fetch,
        lambda v: v == 4,
        timeout=100,
        interval=7,
        clock=clock,
        progress=lambda v, elapsed: seen.append(elapsed),
        progress_interval=5,
    )
    assert fetched == [0, 7, 14, 21]  # every `interval`, not every `progress_interval`
    assert seen == [0, 7, 14]  # each report at the first check after it is due
