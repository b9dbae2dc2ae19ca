"""The store's schema version: a state dir of the previous release is upgraded in place,
a newer one is refused, a new one is created at the newest revision."""

from __future__ import annotations

import sqlite3
import tarfile
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from vcpsdk.controller.cli import main as vcc_main
from vcpsdk.controller.store import Base, SchemaError, Store, head_revision
from vcpsdk.testing import running_controller
from vcpsdk.vcpsdk import VcpSDK

DATA = Path(__file__).parent.parent / "data"


def _alembic_version(db: Path) -> list[str]:
    with sqlite3.connect(db) as connection:
        return [row[0] for row in connection.execute("SELECT version_num FROM alembic_version")]


def _unpack_26_11_0(tmp_path: Path) -> tuple[Path, str]:
    """The state dir made by vcpsdk 26.11.0 (see tests/data/README.md) and its user's token."""
    with tarfile.open(DATA / "state-26.11.0.tar.gz") as archive:
        archive.extractall(tmp_path, filter="data")
    return tmp_path / "state", (tmp_path / "token").read_text().strip()


def test_state_dir_of_26_11_0_is_upgraded_in_place(tmp_path: Path) -> None:
    state, token = _unpack_26_11_0(tmp_path)
    with sqlite3.connect(state / "vcc.db") as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "alembic_version" not in tables  # made before migrations existed

    with running_controller(state) as vcc:
        vcp = VcpSDK(token, config_dir=str(vcc.write_config(tmp_path / "cfg")))
        assert sorted(g.name for g in vcp.find_ugroups()) == ["store", "web"]
        web = vcp.get_ugroup("web")
        assert web is not None
        assert sorted(u.name for u in web.find_units()) == ["app", "db"]
        nodes = web.find_nodes()
        assert len(nodes) == 3
        assert {n.state for n in nodes} == {"RUNNING"}
        store = vcp.get_ugroup("store")
        assert store is not None
        disks = store.find_nodes()
        assert [d.no for d in disks] == [1, 2]
        assert sorted(d.used_state for d in disks) == ["in-use", "un-use"]
        [db_node] = web.get_unit("db").find_nodes()  # type: ignore[union-attr]
        in_use = next(d for d in disks if d.used_state == "in-use")
        assert [v["volume_id"] for v in db_node.volumes] == [in_use.cloud_disk_id]
        # the old data can still change: the token works for writes too
        web.get_unit("app").add_nodes(1)  # type: ignore[union-attr]
        assert len(web.find_nodes()) == 4

    assert _alembic_version(state / "vcc.db") == [head_revision()]


def test_newer_schema_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state, _ = _unpack_26_11_0(tmp_path)
    Store(f"sqlite:///{state / 'vcc.db'}").close()  # upgraded to head
    with sqlite3.connect(state / "vcc.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_future'")
    before = (state / "vcc.db").read_bytes()

    with pytest.raises(
        SchemaError, match=r"schema 9999_future is newer than this vcpsdk knows.*upgrade vcpsdk"
    ):
        Store(f"sqlite:///{state / 'vcc.db'}")
    with pytest.raises(SchemaError, match="upgrade vcpsdk"), running_controller(state):
        pass
    assert vcc_main(["token", "create", "--user", "bob", "--state-dir", str(state)]) == 1
    assert "state dir schema 9999_future is newer than this vcpsdk knows" in capsys.readouterr().err
    assert (state / "vcc.db").read_bytes() == before  # nothing was changed


def test_new_state_dir_is_created_at_head_with_the_models_schema(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'vcc.db'}")
    try:
        with store.engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        store.close()
    assert _alembic_version(tmp_path / "vcc.db") == [head_revision()]
