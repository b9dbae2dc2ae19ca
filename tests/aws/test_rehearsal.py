"""Rehearsal mode: ``vcc fake-cloud aws`` (moto on 127.0.0.1) serving ``vcc serve --backends``,
the notebook flow through our SDK, and the leftovers line printed on SIGTERM."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from vcpsdk.controller.cli import _settings, build_parser, main
from vcpsdk.testing import write_test_public_key
from vcpsdk.testing.fakes.aws import ec2_client
from vcpsdk.testing.rehearsal import fake_cloud
from vcpsdk.testing.serve import vcc_serve
from vcpsdk.vcpsdk import VcpSDK


def _sdk(served: Any, tmp_path: Path) -> VcpSDK:
    return VcpSDK(served.create_token("alice"), config_dir=str(served.write_config(tmp_path / "cfg")))


def test_the_backends_file_points_at_loopback_only(tmp_path: Path) -> None:
    with fake_cloud("aws", tmp_path, "--state-dir", str(tmp_path / "fake")) as fake:
        section = fake.section()
        info = json.loads((tmp_path / "fake" / "fake-cloud.json").read_text())
        assert info == {
            "cloud": "aws",
            "endpoint": section["endpoint_url"],
            "backends": str(fake.backends_file),
        }
        assert urlsplit(section["endpoint_url"]).hostname == "127.0.0.1"
        assert section["access_key"] == section["secret_key"] == "testing"
        assert section["controller_address"].startswith("127.")
        [entry] = section["vpn_catalog"].values()
        assert entry["private_network_ipmask"].startswith("127.")
        assert fake.stop()["leftovers"] == []


def test_a_notebook_flow_in_rehearsal_leaves_nothing(tmp_path: Path) -> None:
    key = write_test_public_key(tmp_path / "id.pub")
    with fake_cloud("aws", tmp_path) as fake:
        ec2 = ec2_client(fake.section()["endpoint_url"])
        with vcc_serve(tmp_path / "state", "--backends", str(fake.backends_file)) as served:
            vcp = _sdk(served, tmp_path)
            ug = vcp.create_ugroup("rehearsal")
            spec = vcp.get_spec("aws", "small")
            spec.set_ssh_pubkey(str(key))
            spec.num_nodes = 2
            unit = ug.create_unit("web", spec)
            assert unit.state == "RUNNING"
            unit.add_nodes(1)
            nodes = unit.find_nodes(node_state="RUNNING")
            assert len(nodes) == 3
            # provisioned by the AWS backend on the stand-in, with loopback addresses
            reservations = ec2.describe_instances(Filters=[{"Name": "tag:vcp:vcid", "Values": [ug.vcid]}])
            instances = [i for r in reservations["Reservations"] for i in r["Instances"]]
            assert sorted(i["InstanceId"] for i in instances) == sorted(n.cloud_instance_id for n in nodes)
            assert all(n.cloud_instance_address.startswith("127.77.") for n in nodes)
            assert len(unit.power_off_nodes(num_power_off_nodes=3)) == 3
            assert {n.state for n in unit.find_nodes()} == {"POWER_OFF"}
            assert len(unit.power_on_nodes(num_power_on_nodes=3)) == 3
            assert {n.state for n in unit.find_nodes()} == {"RUNNING"}
            storage = vcp.create_ugroup("rehearsal-disks", "storage")
            disks = vcp.get_spec("aws_disk", "small")
            disks.num_disks = 1
            storage.create_unit("data", disks)
            [disk] = storage.find_nodes()
            [volume] = ec2.describe_volumes(VolumeIds=[disk.cloud_disk_id])["Volumes"]
            assert volume["State"] == "available"
            ug.cleanup()
            storage.cleanup()
        assert fake.stop() == {"cloud": "aws", "endpoint": fake.section()["endpoint_url"], "leftovers": []}


def test_the_leftovers_line_lists_an_instance_left_running(tmp_path: Path) -> None:
    key = write_test_public_key(tmp_path / "id.pub")
    with fake_cloud("aws", tmp_path) as fake:
        with vcc_serve(tmp_path / "state", "--backends", str(fake.backends_file)) as served:
            vcp = _sdk(served, tmp_path)
            spec = vcp.get_spec("aws", "small")
            spec.set_ssh_pubkey(str(key))
            [node] = vcp.create_ugroup("forgotten").create_unit("web", spec).find_nodes()
        report = fake.stop()
    left = report["leftovers"]
    assert left[0] == {"type": "instance", "id": node.cloud_instance_id, "state": "running"}
    # and what the running instance holds: its root volume and its network interface
    assert [(r["type"], r["state"]) for r in left[1:]] == [
        ("volume", "in-use"),
        ("network_interface", "in-use"),
    ]


def test_two_backends_files_are_merged(tmp_path: Path) -> None:
    with fake_cloud("aws", tmp_path) as fake:
        other = tmp_path / "other.yml"
        other.write_text("toy:\n  class: toy_backend:ToyBackend\n  providers: [azure]\n")
        args = build_parser().parse_args(
            [
                "serve",
                "--state-dir",
                str(tmp_path / "s"),
                "--backends",
                str(fake.backends_file),
                "--backends",
                str(other),
            ]
        )
        backends = _settings(args).backends
        assert sorted(backends) == ["aws", "toy"]
        assert backends["aws"] == fake.section()
        assert backends["toy"] == {"class": "toy_backend:ToyBackend", "providers": ["azure"]}
        assert fake.stop()["leftovers"] == []


def test_a_backend_named_in_two_files_is_refused(tmp_path: Path) -> None:
    first, second = tmp_path / "a.yml", tmp_path / "b.yml"
    first.write_text("aws:\n  region: ap-northeast-1\n")
    second.write_text("aws:\n  region: us-east-1\n")
    with pytest.raises(SystemExit) as refused:
        main(
            ["serve", "--state-dir", str(tmp_path / "s"), "--backends", str(first), "--backends", str(second)]
        )
    assert str(refused.value) == f"vcc: backend 'aws' is configured in both {first} and {second}"


def test_an_unknown_cloud_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "b.yml"
    assert main(["fake-cloud", "gcp", "--port", "0", "--backends-out", str(out)]) == 2
    assert (
        capsys.readouterr().err
        == "vcc: unknown cloud 'gcp': vcc fake-cloud supports aws, azure, oracle, sakura, vmware\n"
    )
    assert not out.exists()


def test_without_moto_the_command_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "moto.server", None)  # import moto.server → ImportError
    out = tmp_path / "b.yml"
    assert main(["fake-cloud", "aws", "--port", "0", "--backends-out", str(out)]) == 2
    assert capsys.readouterr().err == 'vcc: vcc fake-cloud aws needs moto: pip install "vcpsdk[rehearsal]"\n'
    assert not out.exists()
