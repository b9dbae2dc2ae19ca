"""toolkit.batches.each: bounded concurrency, results in order, errors after all finished."""

from __future__ import annotations

import threading
import time

import pytest

from vcpsdk.controller.backends.toolkit.batches import each


def test_results_keep_the_order_and_the_limit_holds() -> None:
    running, most, lock = [0], [0], threading.Lock()

    def work(n: int) -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return n * 10

    assert each(list(range(9)), work, limit=3) == [n * 10 for n in range(9)]
    assert 1 < most[0] <= 3


def test_the_first_error_comes_after_every_item_finished() -> None:
    done: list[int] = []

    def work(n: int) -> int:
        if n == 0:
            raise ValueError("first")
        time.sleep(0.01)
        done.append(n)
        return n

    with pytest.raises(ValueError, match="first"):
        each([0, 1, 2, 3], work, limit=4)
    assert sorted(done) == [1, 2, 3]


def test_one_item_runs_in_the_calling_thread() -> None:
    assert each(["x"], lambda _: threading.current_thread().name, limit=4) == [
        threading.current_thread().name
    ]
