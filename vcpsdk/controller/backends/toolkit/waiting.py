"""Waiting for a batch of cloud resources to reach a state, on :func:`vcpsdk.core.polling.poll`.

Backends wait through the cloud SDK's own waiters where it has them (boto3's
``instance_running``...); every other wait goes through :func:`wait_all`, which is
:func:`~vcpsdk.core.polling.poll` over a shrinking set of ids, so the timeout, the
clock (a :class:`~vcpsdk.core.polling.FakeClock` in tests) and the timeout error are
the same in every backend.

Example::

    states = {"vol-1": "creating", "vol-2": "available"}

    def check(pending: list[str]) -> set[str]:      # the ids that are done now
        return {v for v in pending if states[v] == "available"}

    wait_all(["vol-1", "vol-2"], check, what="volume(s)", target="available",
             timeout=60, interval=2)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from vcpsdk.controller.backends.toolkit.errors import CloudTimeoutError
from vcpsdk.core.polling import SYSTEM_CLOCK, Clock, PollTimeout, poll

#: at most this many ids are named in a timeout message
NAMED = 5


def wait_all(
    ids: Iterable[str],
    check: Callable[[list[str]], Iterable[str]],
    *,
    what: str,
    target: str,
    timeout: float,
    interval: float,
    clock: Clock = SYSTEM_CLOCK,
    provider: str = "",
) -> None:
    """Call ``check(pending ids)`` until every id is done.

    Args:
        ids: the resources to wait for.
        check: returns the ids of ``pending`` that have reached ``target`` now; it
            raises (a :class:`~vcpsdk.controller.backends.toolkit.errors.CloudError`)
            when one of them can never get there.
        what: how the resources are named in the timeout message (``"volume(s)"``).
        target: the wanted state, for the timeout message.
        timeout: seconds before giving up.
        interval: seconds between checks.
        clock: where time comes from.
        provider: the cloud, put on the timeout error.

    Raises:
        CloudTimeoutError: ``"Timeout: <n> <what> not <target> after <timeout> s: <ids>"``.
    """
    pending = sorted(set(ids))

    def fetch() -> list[str]:
        if pending:
            done = set(check(list(pending)))
            pending[:] = [i for i in pending if i not in done]
        return pending

    try:
        poll(fetch, lambda left: not left, timeout=timeout, interval=interval, clock=clock)
    except PollTimeout:
        raise timeout_error(pending, what=what, target=target, timeout=timeout, provider=provider) from None


def timeout_error(
    pending: Iterable[str], *, what: str, target: str, timeout: float, provider: str = ""
) -> CloudTimeoutError:
    """The error of resources that did not reach ``target`` within ``timeout`` seconds."""
    left = sorted(pending)
    return CloudTimeoutError(
        f"{len(left)} {what} not {target} after {timeout:g} s: {', '.join(left[:NAMED])}",
        code="Timeout",
        provider=provider,
    )
