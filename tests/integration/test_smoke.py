"""The smallest end-to-end flow against the real controller."""

from vcpsdk.vcpsdk import VcpSDK


def test_create_unit_and_cleanup(sdk: VcpSDK, pubkey) -> None:
    ug = sdk.create_ugroup("smoke")
    spec = sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(pubkey))
    unit = ug.create_unit("server", spec)
    assert unit.state == "RUNNING"
    [address] = ug.find_ip_addresses(node_state="RUNNING")
    assert address.startswith("127.30.2.")
    ug.cleanup()
    assert sdk.get_ugroup("smoke") is None
