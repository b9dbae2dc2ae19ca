"""Rehearsal mode for Oracle Cloud: ``vcc fake-cloud oracle`` (the fake OCI Core API on
127.0.0.1), one ``vcc serve`` with its backends file, a notebook flow through our SDK (compute
and block volume units, a volume attached, scale out and in, power off and on, cleanup) and an
empty leftovers line."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from vcpsdk.testing import write_test_public_key
from vcpsdk.testing.rehearsal import fake_cloud
from vcpsdk.testing.serve import vcc_serve
from vcpsdk.vcpsdk import VcpSDK


def test_the_oracle_backends_file_names_a_private_key_file_of_the_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "fake"
    with fake_cloud("oracle", tmp_path, "--state-dir", str(state)) as fake:
        section = fake.section()
        endpoint = urlsplit(section["service_endpoint"])
        assert endpoint.hostname == "127.0.0.1" and endpoint.path == "/20160918"
        key_file = Path(section["private_key_file"])
        assert key_file.parent == state and stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert key_file.read_text().startswith("-----BEGIN PRIVATE KEY-----")
        assert "private_key" not in section  # the key itself is not in the backends file
        assert section["controller_address"].startswith("127.")
        [entry] = section["vpn_catalog"].values()
        assert entry["private_network_ipmask"].startswith("127.")
        info = json.loads((state / "fake-cloud.json").read_text())
        assert info == {
            "cloud": "oracle",
            "endpoint": section["service_endpoint"],
            "backends": str(fake.backends_file),
        }
        assert fake.stop() == {"cloud": "oracle", "endpoint": section["service_endpoint"], "leftovers": []}


def test_a_notebook_flow_on_the_oracle_stand_in_leaves_nothing(tmp_path: Path) -> None:
    key = write_test_public_key(tmp_path / "id.pub")
    with fake_cloud("oracle", tmp_path) as fake:
        with vcc_serve(tmp_path / "state", "--backends", str(fake.backends_file)) as served:
            vcp = VcpSDK(served.create_token("alice"), config_dir=str(served.write_config(tmp_path / "cfg")))
            storage = vcp.create_ugroup("volumes", ugroup_type="storage")
            storage.create_unit("data", vcp.get_spec("oracle_disk", "small"))
            [disk] = storage.find_nodes()
            assert disk.state == "RUNNING" and disk.cloud_disk_id.startswith("ocid1.volume.")

            ug = vcp.create_ugroup("tutorial")
            spec = vcp.get_spec("oracle", "small")
            spec.set_ssh_pubkey(str(key))
            spec.num_nodes = 2
            web = ug.create_unit("web", spec)
            db_spec = vcp.get_spec("oracle", "small")
            db_spec.set_ssh_pubkey(str(key))
            db_spec.disks = storage.find_nodes()
            db = ug.create_unit("db", db_spec)
            assert web.state == db.state == "RUNNING"
            [db_node] = db.find_nodes()
            assert [v["volume_id"] for v in db_node.volumes] == [disk.cloud_disk_id]
            assert storage.find_nodes()[0].used_state == "in-use"

            web.add_nodes(1)  # scale out
            assert len(web.find_nodes(node_state="RUNNING")) == 3
            addresses = [n.cloud_instance_address for n in web.find_nodes()]
            assert len(set(addresses)) == 3 and all(a.startswith("127.80.0.") for a in addresses)
            web.delete_nodes(num_delete_nodes=1)  # scale in
            assert len(web.find_nodes()) == 2

            assert len(web.power_off_nodes(num_power_off_nodes=2)) == 2
            assert {n.state for n in web.find_nodes()} == {"POWER_OFF"}
            assert len(web.power_on_nodes(num_power_on_nodes=2)) == 2
            assert {n.state for n in web.find_nodes()} == {"RUNNING"}

            storage.cleanup()  # still attached: the storage group stays
            assert vcp.get_ugroup("volumes") is not None
            ug.cleanup()  # detaches the volume and terminates the instances
            assert vcp.get_ugroup("volumes").find_nodes()[0].used_state == "un-use"
            vcp.get_ugroup("volumes").cleanup()
            assert vcp.get_ugroup("volumes") is None and vcp.get_ugroup("tutorial") is None
        assert fake.stop() == {
            "cloud": "oracle",
            "endpoint": fake.section()["service_endpoint"],
            "leftovers": [],
        }


def test_the_oracle_leftovers_line_lists_an_instance_left_running(tmp_path: Path) -> None:
    key = write_test_public_key(tmp_path / "id.pub")
    with fake_cloud("oracle", tmp_path) as fake:
        with vcc_serve(tmp_path / "state", "--backends", str(fake.backends_file)) as served:
            vcp = VcpSDK(served.create_token("alice"), config_dir=str(served.write_config(tmp_path / "cfg")))
            spec = vcp.get_spec("oracle", "small")
            spec.set_ssh_pubkey(str(key))
            vcp.create_ugroup("forgotten").create_unit("web", spec)
        report = fake.stop()
    assert sorted((r["type"], r["state"]) for r in report["leftovers"]) == [
        ("boot_volume", "AVAILABLE"),
        ("instance", "RUNNING"),
    ]


def test_a_stand_in_that_fails_to_start_leaves_no_key_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    from vcpsdk.controller.rehearsal import oracle as rehearsal
    from vcpsdk.testing.fakes import oracle as fakes

    written: list[Path] = []
    write_private_key = fakes.FakeOci.write_private_key

    def recording(self: fakes.FakeOci, path: Path) -> Path:
        written.append(write_private_key(self, path))
        return written[-1]

    def refused(*args: object, **kwargs: object) -> None:
        raise OSError("address in use")

    monkeypatch.setattr(fakes.FakeOci, "write_private_key", recording)
    monkeypatch.setattr(fakes, "running_fake_oci", refused)
    with pytest.raises(OSError, match="address in use"):
        rehearsal.start(0, None)
    [key_file] = written
    assert not key_file.exists() and not key_file.parent.exists()  # its temporary directory is gone
