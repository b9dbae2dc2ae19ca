"""The one root conftest: the plugins every test folder shares.

* :mod:`vcpsdk.testing.pytest_plugin` (registered by vcpsdk's ``pytest11`` entry point,
  not listed here): ``live_controller`` (one in-process controller per test session),
  ``vcp_user``/``vcp_token``/``vcp_config_dir``/``vcp_sdk`` (a fresh user per test),
  ``make_vcp_sdk``, ``vcp_pubkey``, ``ssh_keypair``, ``make_running_unit``, ``vcp_faults``;
* :mod:`vcpsdk.testing.conformance`: the backend conformance suite, collected where a
  ``conftest.py`` provides ``conformance_harness`` (tests/backends);
* ``pytester``: pytest's own plugin for running pytest on made-up projects (tests/testkit).

A live controller is always ``live_controller`` (or ``slow_controller``,
``private_controller`` where a folder needs its own); the mocked controller of tests/unit
has names of its own (``mock_controller``, ``mock_sdk``, ``make_mock_sdk``).
Folder conftests hold only what is specific to their folder.

``--vcp-database postgres`` puts ``live_controller``'s store on a throwaway PostgreSQL
(``pg_server``, one per session or xdist worker; vcpsdk/testing/postgres.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from vcpsdk.testing.postgres import PostgresServer, postgres_server
from vcpsdk.testing.pytest_plugin import stop_live_controller

pytest_plugins = ["vcpsdk.testing.conformance", "pytester"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--vcp-database",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="the store of live_controller: SQLite (default) or a throwaway PostgreSQL "
        "(vcpsdk/testing/postgres.py; Debian's postgresql, installed by scripts/setup.sh)",
    )


#: tests that fail on PostgreSQL for a cause outside the tests (docs/deployment.md lists them):
#: expected to fail with ``--vcp-database postgres`` until the store is fixed; remove the entry then
POSTGRES_KNOWN_FAILURES: dict[str, str] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("vcp_database") != "postgres":
        return
    for item in items:
        if item.nodeid in POSTGRES_KNOWN_FAILURES:  # a race: it may pass, so not strict
            item.add_marker(pytest.mark.xfail(reason=POSTGRES_KNOWN_FAILURES[item.nodeid], strict=False))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server of this session (of this xdist worker)."""
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def vcp_controller_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """``--vcp-database postgres``: live_controller's store is a database of ``pg_server``."""
    if request.config.getoption("vcp_database") != "postgres":
        return {}
    server: PostgresServer = request.getfixturevalue("pg_server")
    # the controller stops before the server does (finalizers run before pg_server's teardown)
    request.addfinalizer(lambda: stop_live_controller(request.config))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return {"database_url": server.create_database(f"live_{worker}")}
