"""Rehearsal mode for Azure: ``vcc fake-cloud azure`` (the fake ARM over HTTPS on 127.0.0.1)
next to ``vcc fake-cloud aws``, one ``vcc serve`` with both backends files, the seed
tutorial's shape through our SDK, and both leftovers lines empty after cleanup."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

from vcpsdk.testing import write_test_public_key
from vcpsdk.testing.rehearsal import fake_cloud
from vcpsdk.testing.serve import vcc_serve
from vcpsdk.vcpsdk import VcpSDK


def test_the_azure_backends_file_trusts_its_own_certificate_on_loopback(tmp_path: Path) -> None:
    state = tmp_path / "fake"
    with fake_cloud("azure", tmp_path, "--state-dir", str(state)) as fake:
        section = fake.section()
        assert urlsplit(section["base_url"]).hostname == "127.0.0.1"
        assert section["authority"] == section["base_url"]
        assert Path(section["connection_verify"]).parent == state
        assert Path(section["connection_verify"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert section["controller_address"].startswith("127.")
        [entry] = section["vpn_catalog"].values()
        assert entry["private_network_ipmask"].startswith("127.")
        info = json.loads((state / "fake-cloud.json").read_text())
        assert info == {
            "cloud": "azure",
            "endpoint": section["base_url"],
            "backends": str(fake.backends_file),
        }
        assert fake.stop() == {"cloud": "azure", "endpoint": section["base_url"], "leftovers": []}


def test_the_seed_tutorial_on_aws_and_azure_stand_ins_leaves_nothing(tmp_path: Path) -> None:
    key = write_test_public_key(tmp_path / "id.pub")
    with ExitStack() as stack:
        aws = stack.enter_context(fake_cloud("aws", tmp_path))
        azure = stack.enter_context(fake_cloud("azure", tmp_path))
        files = ("--backends", str(aws.backends_file), "--backends", str(azure.backends_file))
        with vcc_serve(tmp_path / "state", *files) as served:
            vcp = VcpSDK(served.create_token("alice"), config_dir=str(served.write_config(tmp_path / "cfg")))
            ug = vcp.create_ugroup("tutorial")
            aws_spec = vcp.get_spec("aws", "small")
            aws_spec.set_ssh_pubkey(str(key))
            web = ug.create_unit("web", aws_spec)
            azure_spec = vcp.get_spec("azure", "small")
            azure_spec.set_ssh_pubkey(str(key))
            azweb = ug.create_unit("azweb", azure_spec)
            assert web.state == azweb.state == "RUNNING"
            web.add_nodes(1)
            assert len(ug.df_nodes().data) == 3  # the tutorial's table: both clouds' nodes
            [az_node] = azweb.find_nodes()
            assert az_node.cloud_instance_address.startswith("127.78.")
            assert len(web.find_nodes(node_state="RUNNING")) == 2
            for unit, count in ((web, 2), (azweb, 1)):
                assert len(unit.power_off_nodes(num_power_off_nodes=count)) == count
                assert {n.state for n in unit.find_nodes()} == {"POWER_OFF"}
                assert len(unit.power_on_nodes(num_power_on_nodes=count)) == count
                assert {n.state for n in unit.find_nodes()} == {"RUNNING"}
            ug.cleanup()
        assert aws.stop()["leftovers"] == []
        assert azure.stop() == {"cloud": "azure", "endpoint": azure.section()["base_url"], "leftovers": []}


def test_the_azure_leftovers_line_lists_a_vm_left_running(tmp_path: Path) -> None:
    key = write_test_public_key(tmp_path / "id.pub")
    with fake_cloud("azure", tmp_path) as fake:
        with vcc_serve(tmp_path / "state", "--backends", str(fake.backends_file)) as served:
            vcp = VcpSDK(served.create_token("alice"), config_dir=str(served.write_config(tmp_path / "cfg")))
            spec = vcp.get_spec("azure", "small")
            spec.set_ssh_pubkey(str(key))
            vcp.create_ugroup("forgotten").create_unit("web", spec)
        report = fake.stop()
    assert sorted(r["type"] for r in report["leftovers"]) == ["disk", "network_interface", "virtual_machine"]
