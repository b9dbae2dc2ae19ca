"""The SQLite writer queue (turns in arrival order, background writers last) and the
token cache of the HTTP app."""

from __future__ import annotations

import threading
import time

import pytest

from vcpsdk.controller.auth import TokenCache, TokenOwner
from vcpsdk.controller.store.database import WriterQueue


def _hold(queue: WriterQueue, order: list[str], name: str, background: bool = False) -> threading.Thread:
    def run() -> None:
        with queue.turn(background):
            order.append(name)

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def _wait_queued(queue: WriterQueue, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(queue._waiting) < count:
        assert time.monotonic() < deadline, "writers did not queue"
        time.sleep(0.005)


def test_request_writers_take_turns_in_arrival_order() -> None:
    queue = WriterQueue()
    order: list[str] = []
    with queue.turn():
        threads = []
        for i in range(5):
            threads.append(_hold(queue, order, f"w{i}"))
            _wait_queued(queue, i + 1)
    for thread in threads:
        thread.join(10)
    assert order == ["w0", "w1", "w2", "w3", "w4"]


def _worker_then_request(background_max_wait: float, held: float) -> list[str]:
    """The order in which a background writer, then a request writer, get their turns
    after the turn was held ``held`` seconds longer."""
    queue = WriterQueue(background_max_wait=background_max_wait)
    order: list[str] = []
    with queue.turn():
        worker = _hold(queue, order, "worker", background=True)
        _wait_queued(queue, 1)
        request = _hold(queue, order, "request")
        _wait_queued(queue, 2)
        time.sleep(held)
    worker.join(10)
    request.join(10)
    return order


def test_a_background_writer_lets_later_request_writers_go_first() -> None:
    assert _worker_then_request(background_max_wait=30.0, held=0.0) == ["request", "worker"]


def test_a_background_writer_waits_at_most_its_longest() -> None:
    # the worker has waited longer than background_max_wait when the turn is free
    assert _worker_then_request(background_max_wait=0.05, held=0.1) == ["worker", "request"]


def test_background_writers_keep_their_order_among_themselves() -> None:
    queue = WriterQueue(background_max_wait=30.0)
    order: list[str] = []
    with queue.turn():
        threads = []
        for i in range(3):
            threads.append(_hold(queue, order, f"b{i}", background=True))
            _wait_queued(queue, i + 1)
    for thread in threads:
        thread.join(10)
    assert order == ["b0", "b1", "b2"]


def test_a_writer_keeps_its_turn_in_a_nested_transaction() -> None:
    queue = WriterQueue()
    order: list[str] = []
    with queue.turn():
        other = _hold(queue, order, "other")
        _wait_queued(queue, 1)
        with queue.turn(background=True):  # nested: no new ticket, no waiting
            order.append("nested")
        order.append("outer")
    other.join(10)
    assert order == ["nested", "outer", "other"]


def test_an_interrupted_waiter_passes_its_turn_on() -> None:
    queue = WriterQueue()
    order: list[str] = []
    waiting = threading.Event()

    class Interrupt(Exception):
        pass

    original_wait = queue._cond.wait

    def wait(timeout: float | None = None) -> bool:
        if threading.current_thread().name == "doomed":
            waiting.set()
            raise Interrupt
        return original_wait(timeout)

    queue._cond.wait = wait  # type: ignore[method-assign]
    errors: list[BaseException] = []

    def doomed() -> None:
        try:
            with queue.turn():
                order.append("doomed")
        except Interrupt as e:
            errors.append(e)

    with queue.turn():
        thread = threading.Thread(target=doomed, name="doomed")
        thread.start()
        assert waiting.wait(10)
        thread.join(10)
        after = _hold(queue, order, "after")
        _wait_queued(queue, 1)
    after.join(10)
    assert order == ["after"] and len(errors) == 1 and not queue._waiting


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_cache_remembers_an_owner_for_its_seconds() -> None:
    clock = FakeClock()
    cache = TokenCache(seconds=5.0, clock=clock)
    lookups: list[str] = []

    def lookup() -> TokenOwner:
        lookups.append("db")
        return TokenOwner("h", "alice", False)

    assert cache.owner("h", lookup).user_name == "alice"
    clock.now += 4.9
    assert cache.owner("h", lookup).user_name == "alice"
    assert lookups == ["db"]
    clock.now += 0.2  # 5.1 s after the lookup: asked again
    assert cache.owner("h", lambda: None) is None
    assert cache.cached("h") is None


def test_token_cache_never_remembers_an_unknown_token() -> None:
    cache = TokenCache(seconds=5.0, clock=FakeClock())
    assert cache.owner("h", lambda: None) is None
    # created meanwhile (vcc token create): works at once
    assert cache.owner("h", lambda: TokenOwner("h", "bob", False)).user_name == "bob"


def test_token_cache_forget_takes_effect_at_once() -> None:
    cache = TokenCache(seconds=5.0, clock=FakeClock())
    cache.owner("a", lambda: TokenOwner("a", "alice", False))
    cache.owner("b", lambda: TokenOwner("b", "bob", True))
    cache.forget("a")
    assert cache.cached("a") is None and cache.cached("b") is not None
    cache.forget()
    assert cache.cached("b") is None


@pytest.mark.parametrize("seconds", [0.0, -1.0])
def test_token_cache_of_no_seconds_remembers_nothing(seconds: float) -> None:
    cache = TokenCache(seconds=seconds, clock=FakeClock())
    cache.owner("a", lambda: TokenOwner("a", "alice", False))
    assert cache.cached("a") is None


def test_token_cache_stays_within_its_size() -> None:
    cache = TokenCache(seconds=5.0, size=3, clock=FakeClock())
    for name in "abcd":
        cache.owner(name, lambda name=name: TokenOwner(name, name, False))  # type: ignore[misc]
    assert len(cache._owners) <= 3
    assert cache.cached("d") is not None
