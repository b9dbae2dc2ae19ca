"""Waiting for a batch of resources on the one poll primitive, with a fake clock."""

from __future__ import annotations

import pytest

from vcpsdk.controller.backends.toolkit.errors import CloudCapacityError, CloudTimeoutError
from vcpsdk.controller.backends.toolkit.waiting import wait_all
from vcpsdk.core.polling import FakeClock


def test_only_the_pending_ids_are_checked_again() -> None:
    clock = FakeClock()
    ready_at = {"a": 0, "b": 10, "c": 25}
    asked: list[list[str]] = []

    def check(pending: list[str]) -> set[str]:
        asked.append(pending)
        return {i for i in pending if clock.now() >= ready_at[i]}

    wait_all(["c", "a", "b", "a"], check, what="disk(s)", target="ready", timeout=60, interval=5, clock=clock)
    assert asked[0] == ["a", "b", "c"]
    assert asked[1] == ["b", "c"]
    assert asked[-1] == ["c"]
    assert clock.now() == 25


def test_a_timeout_names_what_is_left() -> None:
    clock = FakeClock()
    with pytest.raises(CloudTimeoutError) as failure:
        wait_all(
            ["v1", "v2"],
            lambda pending: {"v1"},
            what="volume(s)",
            target="available",
            timeout=30,
            interval=4,
            clock=clock,
            provider="demo",
        )
    assert str(failure.value) == "Timeout: 1 volume(s) not available after 30 s: v2"
    assert failure.value.provider == "demo"
    assert clock.now() == pytest.approx(30)


def test_a_failure_stops_the_wait() -> None:
    def check(pending: list[str]) -> set[str]:
        raise CloudCapacityError("ended", code="Server.InsufficientInstanceCapacity")

    with pytest.raises(CloudCapacityError):
        wait_all(
            ["i-1"], check, what="instance(s)", target="running", timeout=30, interval=1, clock=FakeClock()
        )


def test_nothing_to_wait_for() -> None:
    called: list[list[str]] = []
    wait_all([], called.append, what="x", target="y", timeout=1, interval=1, clock=FakeClock())  # type: ignore[arg-type]
    assert called == []
