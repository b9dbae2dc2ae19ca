"""A controller whose PostgreSQL cannot be reached: requests answer 503 with a message and
``Retry-After`` (not a bare 500), ``/health`` answers 503 so a load balancer takes the
replica out, and both work again once the database accepts connections."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from vcpsdk.core import protocol
from vcpsdk.errors import VcpSDKError
from vcpsdk.occtr import OcctrClient
from vcpsdk.testing import running_controller
from vcpsdk.testing.postgres import PostgresServer

MESSAGE = "the controller's database cannot be reached; try again"


@contextmanager
def refused(server: PostgresServer, url: str) -> Iterator[None]:
    """The database of ``url`` refuses new connections and its open ones are dropped."""
    name = url.rsplit("/", 1)[1]
    with server.connect() as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def test_an_unreachable_database_answers_503_and_health_fails(
    pg_server: PostgresServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = pg_server.create_database("outage")
    with running_controller(tmp_path / "vcc", database_url=url) as vcc:
        headers = {"x-vcc-access-token": vcc.create_token("dana")}
        health = f"{vcc.base_url}/health"
        assert requests.get(health, timeout=30).json() == {"status": "ok"}
        assert requests.get(f"{vcc.base_url}/vcs", headers=headers, timeout=30).status_code == 200

        with refused(pg_server, url), caplog.at_level(logging.DEBUG, logger="vcp.controller"):
            for _ in range(3):
                answer = requests.get(f"{vcc.base_url}/vcs", headers=headers, timeout=30)
                assert answer.status_code == 503, answer.text
                assert answer.json()["message"].endswith(f"VCPServiceUnavailableException: {MESSAGE}")
                assert int(answer.headers["Retry-After"]) > 0
            down = requests.get(health, timeout=30)
            assert (down.status_code, down.json()) == (503, {"status": "database unavailable"})
            client = OcctrClient(vcc.base_url, headers["x-vcc-access-token"])
            with pytest.raises(VcpSDKError) as error:
                client.call(protocol.VCS_LIST)
            assert "http_status(503)" in str(error.value) and MESSAGE in str(error.value)

        warnings = [
            r
            for r in caplog.records
            if r.levelno == logging.WARNING and "database cannot be reached" in r.getMessage()
        ]
        assert len(warnings) == 1 and warnings[0].exc_info is None  # once, and no traceback
        assert pg_server.password not in caplog.text

        up = requests.get(health, timeout=30)
        assert (up.status_code, up.json()) == (200, {"status": "ok"})
        assert requests.get(f"{vcc.base_url}/vcs", headers=headers, timeout=30).status_code == 200
