"""The SDK waits out the controller's per-token rate limit (429 + ``Retry-After``) instead
of failing a notebook cell, for writes and reads alike."""

from __future__ import annotations

from pathlib import Path

from vcpsdk._http import _Retry
from vcpsdk.controller.settings import Limits
from vcpsdk.testing.controller import running_controller
from vcpsdk.testing.units import connect_sdk


def test_writes_and_reads_over_the_rate_wait_and_go_through(tmp_path: Path) -> None:
    # a burst of 2: each create_ugroup makes a POST and reads, so the third request on is refused
    limits = Limits(requests_per_second=4, request_burst=2)
    with running_controller(tmp_path / "vcc", limits=limits) as vcc:
        vcp = connect_sdk(vcc, tmp_path / "cfg", "alice")
        names = [f"rl{i}" for i in range(4)]
        for name in names:
            vcp.create_ugroup(name)
        assert set(names) <= set(vcp.df_ugroups().data["vcname"])


def test_only_a_429_that_names_its_wait_is_repeated() -> None:
    retry = _Retry(total=3)
    assert retry.is_retry("POST", 429, has_retry_after=True)
    assert not retry.is_retry("POST", 429, has_retry_after=False)  # no word on when to come back
    assert not retry.is_retry("POST", 503, has_retry_after=True)  # a write may have happened
    assert not _Retry(total=0).is_retry("POST", 429, has_retry_after=True)
