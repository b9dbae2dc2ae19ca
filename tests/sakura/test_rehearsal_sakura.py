"""Rehearsal mode for Sakura Cloud: ``vcc fake-cloud sakura`` (the fake IaaS API on 127.0.0.1),
one ``vcc serve`` with its backends file, a flow shaped like the public Sakura hands-on
(a server with a fixed IP, ``add_nodes(ip_address=...)``, a ``sakura_disk`` attached, power
off/on, cleanup) through our SDK, and an empty leftovers line afterwards."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from vcpsdk.spec import VcpSpecResource
from vcpsdk.testing import write_test_public_key
from vcpsdk.testing.rehearsal import fake_cloud
from vcpsdk.testing.serve import vcc_serve
from vcpsdk.vcpsdk import VcpSDK


def test_the_sakura_backends_file_points_at_loopback(tmp_path: Path) -> None:
    state = tmp_path / "fake"
    with fake_cloud("sakura", tmp_path, "--state-dir", str(state)) as fake:
        section = fake.section()
        root = urlsplit(section["api_root"])
        assert root.hostname == "127.0.0.1" and root.scheme == "http"
        assert root.path == "/cloud/zone/{zone}/api/cloud/1.1/"
        assert section["controller_address"].startswith("127.")
        [entry] = section["vpn_catalog"].values()
        assert entry["private_network_ipmask"] == "127.81.0.0/24"
        assert entry["sakura_private_subnet_gateway_ip"] == "127.81.0.1"
        endpoint = f"http://127.0.0.1:{root.port}"
        info = json.loads((state / "fake-cloud.json").read_text())
        assert info == {"cloud": "sakura", "endpoint": endpoint, "backends": str(fake.backends_file)}
        assert fake.stop() == {"cloud": "sakura", "endpoint": endpoint, "leftovers": []}


def test_the_sakura_hands_on_flow_leaves_nothing(tmp_path: Path) -> None:
    key = write_test_public_key(tmp_path / "id.pub")
    with fake_cloud("sakura", tmp_path) as fake:
        with vcc_serve(tmp_path / "state", "--backends", str(fake.backends_file)) as served:
            vcp = VcpSDK(served.create_token("alice"), config_dir=str(served.write_config(tmp_path / "cfg")))
            # a disk first, as the hands-on attaches one
            storage = vcp.create_ugroup("handson-disk", ugroup_type="storage")
            storage.create_unit("data", vcp.get_spec("sakura_disk", "small"))
            [disk] = storage.find_nodes()
            assert disk.state == "RUNNING" and disk.cloud_disk_id
            # a server with a fixed IP and the disk
            ug = vcp.create_ugroup("handson")
            spec = vcp.get_spec("sakura", "small")
            spec.set_ssh_pubkey(str(key))
            spec.ip_addresses = ["127.81.0.21"]
            spec.disks = storage.find_nodes()
            server = ug.create_unit("server", spec)
            [node] = server.find_nodes()
            assert node.state == "RUNNING" and node.cloud_instance_address == "127.81.0.21"
            assert [v["volume_id"] for v in node.volumes] == [disk.cloud_disk_id]
            # a second server with another fixed IP, in its own unit (disks go to one-node units)
            workers = ug.create_unit("workers", _plain(vcp, key, "127.81.0.22"))
            [added] = workers.add_nodes(ip_address="127.81.0.23")
            assert added.cloud_instance_address == "127.81.0.23"
            assert sorted(workers.find_ip_addresses()) == ["127.81.0.22", "127.81.0.23"]
            for unit, count in ((server, 1), (workers, 2)):
                assert len(unit.power_off_nodes(num_power_off_nodes=count)) == count
                assert {n.state for n in unit.find_nodes()} == {"POWER_OFF"}
                assert len(unit.power_on_nodes(num_power_on_nodes=count)) == count
                assert {n.state for n in unit.find_nodes()} == {"RUNNING"}
            ug.cleanup()
            storage_again = vcp.get_ugroup("handson-disk")
            assert storage_again is not None
            assert storage_again.find_nodes()[0].used_state == "un-use"
            storage_again.cleanup()
        report = fake.stop()
    assert report["cloud"] == "sakura" and report["leftovers"] == []


def test_the_sakura_leftovers_line_lists_a_server_left_running(tmp_path: Path) -> None:
    key = write_test_public_key(tmp_path / "id.pub")
    with fake_cloud("sakura", tmp_path) as fake:
        with vcc_serve(tmp_path / "state", "--backends", str(fake.backends_file)) as served:
            vcp = VcpSDK(served.create_token("alice"), config_dir=str(served.write_config(tmp_path / "cfg")))
            vcp.create_ugroup("forgotten").create_unit("web", _plain(vcp, key, "127.81.0.30"))
        report = fake.stop()
    assert sorted(r["type"] for r in report["leftovers"]) == ["disk", "interface", "server"]


def _plain(vcp: VcpSDK, key: Path, address: str) -> VcpSpecResource:
    spec = vcp.get_spec("sakura", "small")
    spec.set_ssh_pubkey(str(key))
    spec.ip_addresses = [address]
    return spec
