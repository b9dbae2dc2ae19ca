"""Rehearsal mode: ``vcc fake-cloud aws`` (moto on 127.0.0.1) serving ``vcc serve --backends``,
the notebook flow through our SDK, and the leftovers line printed on SIGTERM."""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from vcpsdk.controller.cli import _settings, build_parser, main
from vcpsdk.controller.rehearsal import NETWORKS, STARTERS, write_backends
from vcpsdk.testing import write_test_public_key
from vcpsdk.testing.fakes.aws import ec2_client
from vcpsdk.testing.rehearsal import fake_cloud
from vcpsdk.testing.serve import (
    LOOPBACK_ONLY_ENV,
    LOOPBACK_VIOLATION_EXIT,
    VCC,
    loopback_only_run,
    subprocess_env,
    vcc_serve,
)
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


def test_the_leftovers_line_lists_an_instance_left_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = write_test_public_key(tmp_path / "id.pub")
    proxies = ("HTTP_PROXY", "https_proxy", "ALL_PROXY")  # the processes must not inherit them
    for name in proxies:
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens: a proxied call fails
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with fake_cloud("aws", tmp_path) as fake:  # it calls its moto when it starts
        with vcc_serve(tmp_path / "state", "--backends", str(fake.backends_file)) as served:
            for name in proxies:  # this test's own SDK calls go direct
                monkeypatch.delenv(name)
            vcp = _sdk(served, tmp_path)  # the controller calls moto for the node
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


def test_the_rehearsal_networks_of_all_clouds_are_disjoint_loopback_networks() -> None:
    assert sorted(NETWORKS) == sorted(STARTERS)
    networks = {cloud: ipaddress.IPv4Network(net.network) for cloud, net in NETWORKS.items()}
    for (one, a), (other, b) in itertools.combinations(networks.items(), 2):
        assert not a.overlaps(b), f"the rehearsal networks of {one} and {other} overlap"
    reserved = ipaddress.IPv4Network("127.0.0.0/16")  # the sandbox's local services
    for cloud, net in NETWORKS.items():
        network = networks[cloud]
        assert network.subnet_of(ipaddress.IPv4Network("127.0.0.0/8")) and not network.overlaps(reserved)
        addresses = [net.controller_address, *([net.gateway] if net.gateway else [])]
        assert all(ipaddress.ip_address(a) in network for a in addresses), cloud
        assert len(set(addresses)) == len(addresses), cloud


def test_each_stand_in_uses_its_network_of_the_table() -> None:
    from vcpsdk.controller.rehearsal import aws, azure, oracle, sakura, vmware

    for module in (aws, azure, oracle, sakura, vmware):
        net = NETWORKS[module.__name__.rsplit(".", 1)[1]]
        assert (module.NETWORK, module.CONTROLLER_ADDRESS) == (net.network, net.controller_address)
    assert (sakura.GATEWAY, vmware.GATEWAY) == (NETWORKS["sakura"].gateway, NETWORKS["vmware"].gateway)
    assert NETWORKS["oracle"].network == "127.80.0.0/24"  # not VMware's 127.79.0.0/24


def test_the_backends_file_is_written_for_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "out" / "aws.yml"
    write_backends(path, {"aws": {"secret_key": "testing"}})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    write_backends(path, {"aws": {"secret_key": "again"}})  # replaced, still 0600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "again" in path.read_text()
    assert sorted(p.name for p in path.parent.iterdir()) == ["aws.yml"]  # no partial file left


def test_writing_the_backends_file_follows_no_planted_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".aws.yml.partial").symlink_to(victim)  # the old, predictable temporary name
    (out / "aws.yml").symlink_to(victim)
    write_backends(out / "aws.yml", {"aws": {"secret_key": "testing"}})
    assert victim.read_text() == "precious\n"
    assert not (out / "aws.yml").is_symlink() and "testing" in (out / "aws.yml").read_text()
    assert stat.S_IMODE((out / "aws.yml").stat().st_mode) == 0o600


def test_the_processes_get_no_proxy_and_no_cloud_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    dropped = [
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "AZURE_CLIENT_SECRET",
        "OCI_PRIVATE_KEY",
        "SAKURACLOUD_ACCESS_TOKEN_SECRET",
        "VSPHERE_PASSWORD",
    ]
    for name in dropped:
        monkeypatch.setenv(name, "real-value")
    monkeypatch.setenv("NO_PROXY", "example.com")
    monkeypatch.setenv("VCPSDK_VCSIM", "/opt/vcsim")
    env = subprocess_env({"AWS_REGION": "us-east-1"})
    assert not set(dropped) & set(env)
    assert env["NO_PROXY"] == env["no_proxy"] == "127.0.0.1,localhost"
    assert env["AWS_REGION"] == "us-east-1"  # what the test sets explicitly
    assert env["VCPSDK_VCSIM"] == "/opt/vcsim" and env["PATH"] == os.environ["PATH"]


def test_loopback_only_refuses_and_reports_traffic_off_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    def reach_out() -> int:
        with socket.socket() as sock, pytest.raises(OSError, match="loopback only"):
            sock.connect(("192.0.2.1", 443))  # TEST-NET-1: refused before any packet
        return 0

    assert loopback_only_run(reach_out) == LOOPBACK_VIOLATION_EXIT
    assert "refused connections to 192.0.2.1:443" in capsys.readouterr().err
    assert loopback_only_run(lambda: 0) == 0


def test_vcc_runs_under_the_loopback_guard_when_asked(tmp_path: Path) -> None:
    env = subprocess_env({LOOPBACK_ONLY_ENV: "1"})
    (tmp_path / "s").mkdir()  # vcc token create refuses a state dir that does not exist
    args = [*VCC, "token", "create", "--user", "alice", "--state-dir", str(tmp_path / "s")]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip()
    with vcc_serve(tmp_path / "served", env={LOOPBACK_ONLY_ENV: "1"}) as served:
        vcp = _sdk(served, tmp_path)
        assert vcp.create_ugroup("guarded").vcid
    assert served.process.returncode == 0  # SIGTERM, nothing refused


def test_a_controller_reaching_off_loopback_fails_under_the_guard(tmp_path: Path) -> None:
    key = write_test_public_key(tmp_path / "id.pub")
    with fake_cloud("aws", tmp_path) as fake:
        section = {**fake.section(), "endpoint_url": "http://192.0.2.1:9"}  # TEST-NET-1
        assert fake.stop()["leftovers"] == []
    backends = tmp_path / "off-loopback.yml"
    write_backends(backends, {"aws": section})
    with pytest.raises(AssertionError, match=r"(?s)off loopback.*refused connections to 192\.0\.2\.1:9"):
        with vcc_serve(
            tmp_path / "state", "--backends", str(backends), env={LOOPBACK_ONLY_ENV: "1"}
        ) as served:
            spec = _sdk(served, tmp_path).get_spec("aws", "small")
            spec.set_ssh_pubkey(str(key))
            with pytest.raises(Exception):  # noqa: B017 - the create fails, however the SDK says it
                _sdk(served, tmp_path).create_ugroup("off").create_unit("web", spec)
