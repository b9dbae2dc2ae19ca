"""The worker re-runs operations interrupted by a controller crash."""

from __future__ import annotations

from pathlib import Path

from vcpsdk.testing import write_test_public_key
from vcpsdk.testing.serve import vcc_serve
from vcpsdk.vcpsdk import VcpSDK


def test_operation_interrupted_by_a_crash_completes_after_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with vcc_serve(state, "--boot-delay", "30") as served:
        token = served.create_token("crash")
        vcp = VcpSDK(token, config_dir=str(served.write_config(tmp_path / "cfg1")))
        ug = vcp.create_ugroup("crashy")
        spec = vcp.get_spec("aws", "small")
        spec.set_ssh_pubkey(str(write_test_public_key(tmp_path / "k.pub")))
        spec.num_nodes = 2
        unit = ug.create_unit("web", spec, wait_for=False)
        assert unit.state == "BOOTING"
        served.process.kill()  # no graceful shutdown: the boot is cut off
        served.process.wait()
    with vcc_serve(state) as served:  # same state, boot delay 0
        vcp = VcpSDK(token, config_dir=str(served.write_config(tmp_path / "cfg2")))
        ug = vcp.get_ugroup("crashy")
        assert ug is not None
        unit = ug.wait_unit_applied("web")
        assert unit.state == "RUNNING"
        assert sorted(n.state for n in unit.find_nodes()) == ["RUNNING", "RUNNING"]
        ug.cleanup()
        assert vcp.get_ugroup("crashy") is None
