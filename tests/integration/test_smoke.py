"""The smallest end-to-end flow against the real controller."""

from vcpsdk.vcpsdk import VcpSDK


def test_create_unit_and_cleanup(vcp_sdk: VcpSDK, vcp_pubkey) -> None:
    ug = vcp_sdk.create_ugroup("smoke")
    spec = vcp_sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(vcp_pubkey))
    unit = ug.create_unit("server", spec)
    assert unit.state == "RUNNING"
    [address] = ug.find_ip_addresses(node_state="RUNNING")
    assert address.startswith("127.30.2.")
    ug.cleanup()
    assert vcp_sdk.get_ugroup("smoke") is None
