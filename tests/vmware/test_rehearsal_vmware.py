"""Rehearsal mode for vSphere: ``vcc fake-cloud vmware`` (govmomi's vCenter simulator on
127.0.0.1) and ``vcc serve`` with its backends file: a ``vmware`` unit of three nodes with
fixed IPs, scale out and in, cleanup, and no VM left behind."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from vcpsdk.controller.cli import main
from vcpsdk.testing import write_test_public_key
from vcpsdk.testing.rehearsal import fake_cloud
from vcpsdk.testing.serve import vcc_serve
from vcpsdk.vcpsdk import VcpSDK


def test_the_vmware_backends_file_points_at_the_simulator_on_loopback(tmp_path: Path) -> None:
    state = tmp_path / "fake"
    with fake_cloud("vmware", tmp_path, "--state-dir", str(state)) as fake:
        section = fake.section()
        [entry] = section["vpn_catalog"].values()
        assert entry["vmware_vsphere_server"].startswith("127.0.0.1:")
        assert entry["vmware_allow_unverified_ssl"] is False
        assert Path(section["ca_file"]).parent == state
        assert Path(section["ca_file"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert entry["private_network_ipmask"].startswith("127.")
        assert section["controller_address"].startswith("127.")
        info = json.loads((state / "fake-cloud.json").read_text())
        assert urlsplit(info["endpoint"]).hostname == "127.0.0.1"
        assert info == {"cloud": "vmware", "endpoint": info["endpoint"], "backends": str(fake.backends_file)}
        assert fake.stop() == {"cloud": "vmware", "endpoint": info["endpoint"], "leftovers": []}


def simulator_macs(section: dict[str, Any]) -> dict[str, str]:
    """``{VM name: MAC}`` of the simulator's clones, asked with pyvmomi and the section's settings."""
    from pyVim.connect import SmartConnect
    from pyVmomi import vim

    [entry] = section["vpn_catalog"].values()
    host, port = entry["vmware_vsphere_server"].split(":")
    si = SmartConnect(
        host=host,
        port=int(port),
        user=section["user"],
        pwd=section["password"],
        sslContext=ssl.create_default_context(cafile=section["ca_file"]),
    )
    try:
        view = si.content.viewManager.CreateContainerView(si.content.rootFolder, [vim.VirtualMachine], True)
        return {
            vm.name: nic.macAddress
            for vm in view.view
            for nic in vm.config.hardware.device
            if isinstance(nic, vim.vm.device.VirtualEthernetCard)
            and vm.name != entry["vmware_template_virtual_machine_name"]
        }
    finally:
        si.content.sessionManager.Logout()


def test_three_fixed_ip_nodes_scale_out_and_in_and_leave_no_vm(tmp_path: Path) -> None:
    key = write_test_public_key(tmp_path / "id.pub")
    fixed = ["127.79.0.21", "127.79.0.22", "127.79.0.23"]
    with fake_cloud("vmware", tmp_path) as fake:
        with vcc_serve(tmp_path / "state", "--backends", str(fake.backends_file)) as served:
            vcp = VcpSDK(served.create_token("alice"), config_dir=str(served.write_config(tmp_path / "cfg")))
            ug = vcp.create_ugroup("onprem")
            spec = vcp.get_spec("vmware", "small")
            spec.set_ssh_pubkey(str(key))
            spec.ip_addresses = fixed
            spec.mac_addresses = ["00:50:56:3f:10:21", "00:50:56:3f:10:22", "00:50:56:3f:10:23"]
            unit = ug.create_unit("cluster", spec)
            assert unit.state == "RUNNING"
            assert sorted(unit.find_ip_addresses()) == fixed
            assert sorted(simulator_macs(fake.section()).values()) == spec.mac_addresses
            added = unit.add_nodes(ip_addresses=["127.79.0.24"])
            assert [n.cloud_instance_address for n in added] == ["127.79.0.24"]
            assert len(unit.find_nodes(node_state="RUNNING")) == 4
            remaining = unit.delete_nodes(num_delete_nodes=2)
            assert len(remaining) == 2
            assert len(ug.df_nodes().data) == 2
            ug.cleanup()
            assert vcp.get_ugroup("onprem") is None
        report = fake.stop()
    assert report["leftovers"] == []


def test_the_vmware_leftovers_line_lists_a_vm_left_running(tmp_path: Path) -> None:
    key = write_test_public_key(tmp_path / "id.pub")
    with fake_cloud("vmware", tmp_path) as fake:
        with vcc_serve(tmp_path / "state", "--backends", str(fake.backends_file)) as served:
            vcp = VcpSDK(served.create_token("alice"), config_dir=str(served.write_config(tmp_path / "cfg")))
            spec = vcp.get_spec("vmware", "small")
            spec.set_ssh_pubkey(str(key))
            [node] = vcp.create_ugroup("forgotten").create_unit("web", spec).find_nodes()
        report = fake.stop()
    assert report["leftovers"] == [{"type": "virtual_machine", "id": f"vcp-{node.id}", "state": "poweredOn"}]


def test_without_the_simulator_the_command_says_how_to_build_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VCPSDK_VCSIM", str(tmp_path / "no-vcsim"))
    out = tmp_path / "b.yml"
    assert main(["fake-cloud", "vmware", "--port", "0", "--backends-out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("vcc: vcc fake-cloud vmware: the vCenter simulator is not built")
    assert "run scripts/build-vcsim.sh" in error
    assert not out.exists()
