"""Scale smoke test: 200 nodes of one unit, each its own listening endpoint."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import tcp_connect
from vcpsdk.controller.settings import Limits
from vcpsdk.testing import running_controller
from vcpsdk.testing.keys import make_ssh_keypair, public_key_of
from vcpsdk.testing.units import connect_sdk

from .conftest import ssh_text


def test_two_hundred_nodes_all_reachable(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.yml"
    catalog.write_text("aws:\n  default:\n    private_network_ipmask: 127.42.0.0/16\n")
    key = make_ssh_keypair(tmp_path)
    # above the default node limits (50 a request, 100 a user): the operator raised them
    limits = Limits(max_nodes_per_request=200, max_nodes_per_unit=200, max_nodes_per_user=200)
    with running_controller(tmp_path / "vcc", vpn_catalog_file=catalog, limits=limits) as vcc:
        vcp = connect_sdk(vcc, tmp_path / "cfg", "scale")
        spec = vcp.get_spec("aws", "small")
        spec.set_ssh_pubkey(str(public_key_of(key)))
        spec.num_nodes = 200
        unit = vcp.create_ugroup("big").create_unit("many", spec)
        nodes = unit.find_nodes()
        assert len(nodes) == 200
        assert {n.state for n in nodes} == {"RUNNING"}
        addresses = [n.cloud_instance_address for n in nodes]
        assert len(set(addresses)) == 200
        assert all(a.startswith("127.42.") for a in addresses)
        assert len({n.ssh_port for n in nodes}) == 1
        for node in nodes:
            tcp_connect(node.cloud_instance_address, node.ssh_port)
        for node in (nodes[0], nodes[99], nodes[-1]):
            assert ssh_text(node, key, 'echo "$MY_PRIVATE_IP"') == f"{node.cloud_instance_address}\n"
        assert len(list((Path(vcc.state_dir) / "nodes").iterdir())) == 200
