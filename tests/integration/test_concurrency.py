"""Concurrent clients: writes queue instead of failing, and numbers stay unique."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from vcpsdk.testing import RunningController
from vcpsdk.vcpsdk import VcpSDK


def test_concurrent_ugroup_and_unit_creation(
    live_controller: RunningController, vcp_config_dir, vcp_pubkey
) -> None:
    users = [
        VcpSDK(live_controller.create_token(f"busy{i}"), config_dir=str(vcp_config_dir)) for i in range(6)
    ]

    def build(index: int) -> tuple[int, list[str]]:
        vcp = users[index]
        ug = vcp.create_ugroup(f"parallel{index}")
        spec = vcp.get_spec("aws", "small")
        spec.set_ssh_pubkey(str(vcp_pubkey))
        spec.num_nodes = 3
        unit = ug.create_unit("web", spec)
        return int(ug._current().vcno), unit.find_ip_addresses()

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(build, range(6)))
    numbers = [vcno for vcno, _ in results]
    addresses = [a for _, ips in results for a in ips]
    assert len(set(numbers)) == 6
    assert len(addresses) == 18 and len(set(addresses)) == 18
    for vcp in users:
        for ug in vcp.find_ugroups():
            ug.cleanup()
