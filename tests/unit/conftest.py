"""Unit-test support: the SDK against the mock controller of :mod:`vcpsdk.testing.mock_controller`.

The mock is built from the occtr route table (:mod:`vcpsdk.core.protocol`) and answers
with bodies of the shapes the real controller builds; tests script answers with
``mock_controller.reply(...)`` and compare what the SDK sent (``mock_controller.sent()``)
with the wire protocol (reference §6.5).  The fixture is ``mock_controller``; ``vcc`` always
means a live controller.

Test modules import the body builders from :mod:`vcpsdk.testing.mock_controller`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import vcpsdk.waiting
from vcpsdk.testing.mock_controller import TOKEN, MockController, write_config

# -- fixtures ---------------------------------------------------------------------------


class FakeTime:
    """The waiter's clock in unit tests: sleeping only moves a fake clock."""

    def __init__(self) -> None:
        self.time = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds

    def advance(self, seconds: float) -> None:
        self.time += seconds


@pytest.fixture(autouse=True)
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """No unit test ever really sleeps in the waiter."""
    clock = FakeTime()
    monkeypatch.setattr(vcpsdk.waiting, "SYSTEM_CLOCK", clock)
    return clock


@pytest.fixture
def mock_config_dir(tmp_path: Path) -> Path:
    """``vcc: {host: 127.0.0.1, vcc_port: 9, scheme: http}`` plus AWS credentials."""
    return write_config(tmp_path / "vcp_config")


@pytest.fixture
def mock_controller(requests_mock: Any) -> MockController:
    """The mock controller built from the route table, with replies to the SDK's startup requests."""
    mock = MockController(requests_mock)
    mock.startup()
    return mock


@pytest.fixture
def make_mock_sdk(mock_controller: MockController, mock_config_dir: Path) -> Callable[..., Any]:
    """``make_sdk(long_poll=True)``: a VcpSDK on the mock; startup requests are forgotten."""
    from vcpsdk.vcpsdk import VcpSDK

    def make(long_poll: bool = True, directory: Path | None = None) -> VcpSDK:
        mock_controller.startup(long_poll=long_poll)
        sdk = VcpSDK(TOKEN, config_dir=str(directory or mock_config_dir))
        mock_controller.mark()
        return sdk

    return make


@pytest.fixture
def mock_sdk(make_mock_sdk: Callable[..., Any]) -> Any:
    """A VcpSDK on a mocked controller that advertises long polling."""
    return make_mock_sdk()


@pytest.fixture
def make_ugroup(mock_controller: MockController, mock_sdk: Any) -> Callable[..., Any]:
    """``make_ugroup(vc_json(...))``: the UnitGroup of that body, obtained by ``get_ugroup``.

    GET /vcs and GET /vcs/{vcid} answer with the body; requests are forgotten.
    """

    def make(body: dict[str, Any], client: Any = None) -> Any:
        mock_controller.reply("GET", "/vcs", {"vcs": [body]})
        mock_controller.reply("GET", f"/vcs/{body['vcid']}", body)
        ugroup = (client or mock_sdk).get_ugroup(body["name"])
        assert ugroup is not None
        mock_controller.mark()
        return ugroup

    return make
