"""A controller restart on the same state brings the nodes' SSH endpoints back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import tcp_connect
from vcpsdk.testing.keys import make_ssh_keypair, public_key_of
from vcpsdk.testing.serve import vcc_serve
from vcpsdk.vcpsdk import VcpSDK

from .conftest import inner_home, ssh_text
from .test_host_keys import keyscan


def test_nodes_answer_again_after_a_controller_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    key = make_ssh_keypair(tmp_path)
    with vcc_serve(state) as served:
        token = served.create_token("restart")
        vcp = VcpSDK(token, config_dir=str(served.write_config(tmp_path / "cfg1")))
        ug = vcp.create_ugroup("restart")
        spec = vcp.get_spec("aws", "small")
        spec.set_ssh_pubkey(str(public_key_of(key)))
        spec.num_nodes = 2
        unit = ug.create_unit("web", spec)
        first, second = unit.find_nodes()
        old_port = first.ssh_port
        ssh_text(first, key, "echo first > note.txt")
        ssh_text(second, key, "echo second > note.txt")
        host_key = keyscan(first)
        unit.power_off_nodes(node_no=2)
    # the server is gone: nothing answers on the old port any more
    with pytest.raises(ConnectionRefusedError):
        tcp_connect(first.cloud_instance_address, old_port)

    with vcc_serve(state) as served:  # same state, another SSH port
        vcp = VcpSDK(token, config_dir=str(served.write_config(tmp_path / "cfg2")))
        ug = vcp.get_ugroup("restart")
        assert ug is not None
        unit = ug.get_unit("web")
        first, second = unit.find_nodes()
        assert (first.state, second.state) == ("RUNNING", "POWER_OFF")
        assert ssh_text(first, key, "cat note.txt; pwd") == (f"first\n{inner_home(state.resolve(), first)}\n")
        assert keyscan(first) == host_key  # the node keeps its host key
        with pytest.raises(ConnectionRefusedError):  # a powered-off node stays off
            tcp_connect(second.cloud_instance_address, first.ssh_port)
        unit.power_on_nodes(node_no=2)
        [second] = unit.find_nodes(node_no=2)
        assert second.ssh_port == first.ssh_port
        assert ssh_text(second, key, "cat note.txt") == "second\n"
        ug.cleanup()
        assert not (state / "nodes" / first.id).exists()
