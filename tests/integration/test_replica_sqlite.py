"""The SQLite default with replicas in the code: one process owns the file (issue 17)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from vcpsdk.controller.replica import Membership, ReplicaConflict
from vcpsdk.controller.store import Operation, Replica, Store, Unit, Vc
from vcpsdk.core.polling import poll
from vcpsdk.core.protocol import BASE_PATH
from vcpsdk.testing import running_controller
from vcpsdk.testing.serve import VCC, ServedController, vcc_serve


def started(served: ServedController) -> None:
    """Wait until ``served`` answers (its port is bound before the controller has started)."""
    url = f"http://127.0.0.1:{served.port}{BASE_PATH}/health"
    poll(lambda: _answers(url), bool, timeout=60, interval=0.05, timeout_message="vcc serve did not answer")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).ok
    except requests.ConnectionError:
        return False


def test_a_second_controller_on_a_served_sqlite_file_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "vcc"
    with vcc_serve(state) as served:
        started(served)
        store = Store(f"sqlite:///{state / 'vcc.db'}")
        try:
            with pytest.raises(ReplicaConflict, match=rf"pid {served.process.pid}.*PostgreSQL"):
                Membership(store).join()
        finally:
            store.close()


def test_vcc_serve_on_a_served_sqlite_file_exits_with_the_reason(tmp_path: Path) -> None:
    state = tmp_path / "vcc"
    with vcc_serve(state) as served:
        started(served)
        second = subprocess.run(
            [*VCC, "serve", "--port", "0", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert second.returncode != 0
    assert "another controller" in second.stderr and "serves this SQLite database" in second.stderr


def test_a_restart_after_a_crash_takes_over_at_once(tmp_path: Path) -> None:
    """Rows of a process that is gone (kill -9) do not wait for its lease to run out."""
    state = tmp_path / "vcc"
    with running_controller(state) as first:
        url = first.controller.settings.database_url
    store = Store(url)
    try:  # what a crashed run leaves: its replica row, alive for an hour, and a claimed operation
        with store.transaction() as session:
            session.add(Vc(vcid="v1", vcno=1, name="g", owner="u", type="compute"))
            session.flush()
            session.add(
                unit := Unit(
                    vcid="v1", name="u", type="compute", provider="aws", state="BOOTING", info="", spec={}
                )
            )
            session.flush()
            session.add(
                Operation(vcid="v1", unit_id=unit.id, kind="power_on", status="running", claimed_by="dead")
            )
            session.add(Replica(id="dead", host="elsewhere", pid=1, lease_until=_hour_ahead()))
    finally:
        store.close()
    with running_controller(state) as second:
        with second.controller.store.read() as session:
            assert session.scalar(select(Replica.id).where(Replica.id == "dead")) is None
        poll(lambda: _claimant(second.controller.store), lambda who: who != "dead", timeout=30, interval=0.05)
        assert _claimant(second.controller.store) == second.controller.membership.id


def _claimant(store: Store) -> str | None:
    with store.read() as session:
        return session.scalar(select(Operation.claimed_by))


def _hour_ahead() -> object:
    import datetime as dt

    from vcpsdk.controller.store import utcnow

    return utcnow() + dt.timedelta(hours=1)
