"""The controller on PostgreSQL: what went wrong there and not on SQLite (issue 17).

Each test runs its own controller on a fresh database of the session's throwaway server
(``pg_server``, tests/conftest.py), whatever ``--vcp-database`` says.
"""

from __future__ import annotations

import base64
import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from vcpsdk.testing import RunningController, running_controller
from vcpsdk.testing.keys import write_test_public_key
from vcpsdk.testing.postgres import PostgresServer
from vcpsdk.testing.units import connect_sdk
from vcpsdk.vcpsdk import VcpSDK

CLIENTS = 8
ROUNDS = 3
_databases = itertools.count(1)


def ugroup_cci(name: str) -> str:
    """The ``cci`` of ``POST /vcs`` for an empty compute UnitGroup."""
    return base64.b64encode(yaml.safe_dump([{"vc": {"name": name, "description": ""}}]).encode()).decode()


@pytest.fixture
def pg_controller(pg_server: PostgresServer, tmp_path: Path) -> Iterator[RunningController]:
    """A controller of this test alone on a fresh PostgreSQL database."""
    url = pg_server.create_database(f"controller_{next(_databases)}")
    with running_controller(tmp_path / "vcc", database_url=url) as running:
        yield running


def first_ugroups(controller: RunningController) -> list[int]:
    """The statuses of :data:`CLIENTS` users creating their first UnitGroup at the same moment."""
    tokens = [controller.create_token(f"user{i}") for i in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)
    statuses: list[int] = []

    def create(token: str) -> None:
        start.wait()
        answer = requests.post(
            f"{controller.base_url}/vcs",
            headers={"x-vcc-access-token": token},
            json={"cci": ugroup_cci("first")},
            timeout=60,
        )
        statuses.append(answer.status_code)

    clients = [threading.Thread(target=create, args=(token,)) for token in tokens]
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=120)
    return statuses


def test_eight_concurrent_first_ugroups_all_succeed(pg_server: PostgresServer, tmp_path: Path) -> None:
    statuses: list[int] = []
    for round_no in range(ROUNDS):  # a fresh database each round: the first insert races again
        url = pg_server.create_database(f"first_ugroups_{round_no}")
        with running_controller(tmp_path / f"vcc{round_no}", database_url=url) as controller:
            statuses += first_ugroups(controller)
    assert statuses == [202] * (CLIENTS * ROUNDS)


@pytest.mark.parametrize("letter", ["a", "é", "😀"], ids=["ascii", "two-byte", "four-byte"])
def test_names_of_255_characters_are_stored_and_longer_ones_refused(
    pg_controller: RunningController, tmp_path: Path, letter: str
) -> None:
    sdk: VcpSDK = connect_sdk(pg_controller, tmp_path / "cfg", "namer")
    longest = letter * 255
    group = sdk.create_ugroup(longest)
    assert sdk.get_ugroup(longest) is not None
    spec = sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(write_test_public_key(tmp_path / "k.pub")))
    unit = group.create_unit("u" * 255, spec)  # unit names are letters, digits, '_' and '-'

    assert unit.state == "RUNNING"

    token = pg_controller.create_token("raw")
    answer = requests.post(
        f"{pg_controller.base_url}/vcs",
        headers={"x-vcc-access-token": token},
        json={"cci": ugroup_cci(letter * 256)},
        timeout=60,
    )
    assert answer.status_code == 400, answer.text
    assert "max_name_length=255" in answer.json()["message"]
    metrics = requests.get(f"{pg_controller.origin}/metrics", timeout=30).text
    assert 'status="500"' not in metrics
