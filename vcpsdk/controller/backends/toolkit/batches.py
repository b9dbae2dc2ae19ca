"""Working on the items of one request concurrently, bounded (``max_concurrent_creates``).

Example::

    results = each(nodes, create, limit=8, name="vcc-vmware")   # in the order of ``nodes``
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")


def each(items: Sequence[_T], work: Callable[[_T], _R], *, limit: int, name: str = "vcc-batch") -> list[_R]:
    """``work`` on every item, at most ``limit`` at once, the results in the order of ``items``.

    The first error is raised only after every item has finished, so that a cleanup sees
    everything that was made.  One item (or none) runs in the calling thread.

    Args:
        items: what to work on.
        work: called once per item (in a worker thread when there are several).
        limit: the most items worked on at the same time (at least 1).
        name: the prefix of the worker threads' names.

    Returns:
        ``[work(item) for item in items]``.

    Example::

        >>> each([1, 2, 3], lambda n: n * n, limit=2)
        [1, 4, 9]
    """
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=max(1, min(limit, len(items))), thread_name_prefix=name) as pool:
        futures = [pool.submit(work, item) for item in items]
    return [future.result() for future in futures]
