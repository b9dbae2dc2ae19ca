"""Fixtures of the Sakura Cloud tests: the fake IaaS API 1.1 on 127.0.0.1, a client of it,
the network rule (nothing but loopback), and the conformance harness, so the backend
conformance suite runs here against the fake (``tests/sakura/vcpsdk_conformance.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from vcpsdk.controller.backends.sakura.client import SakuraClient
from vcpsdk.controller.backends.toolkit.retry import RetryPolicy
from vcpsdk.testing import network
from vcpsdk.testing.conformance.harness import ConformanceHarness
from vcpsdk.testing.conformance.sakura import SakuraFakeHarness
from vcpsdk.testing.fakes.sakura import SECRET, TOKEN, FakeSakura, RunningSakura, running_fake_sakura


@pytest.fixture(autouse=True)
def network_rule(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail the test if anything connects outside 127.0.0.0/8 or resolves a public name
    (secure.sakura.ad.jp...); the operator's credential variables are unset."""
    unset = ("SAKURACLOUD_ACCESS_TOKEN", "SAKURACLOUD_ACCESS_TOKEN_SECRET")
    with network.network_rule(monkeypatch, unset) as refused:
        yield refused


@pytest.fixture
def sakura() -> Iterator[RunningSakura]:
    """A fresh fake Sakura API (disks migrate for 2 reads, power changes take 1)."""
    with running_fake_sakura(FakeSakura()) as running:
        yield running


@pytest.fixture
def client(sakura: RunningSakura) -> Iterator[SakuraClient]:
    """A client of zone is1a of the fake, with fast polls and backoffs."""
    made = SakuraClient(
        sakura.zone_root("is1a"),
        TOKEN,
        SECRET,
        poll_interval=0.01,
        retry=RetryPolicy(max_attempts=4, initial=0.01, maximum=0.02),
    )
    yield made
    made.close()


@pytest.fixture
def conformance_harness() -> ConformanceHarness:
    """The Sakura backend on the fake API: the conformance suite runs against it."""
    harness: ConformanceHarness = SakuraFakeHarness()
    return harness
