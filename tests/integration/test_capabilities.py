"""The controller refuses what a provider does not declare (reference §2.2 matrix):
HTTP 400 naming the provider and the capability, and nothing is created or queued."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from vcpsdk.controller.errors import ServiceError
from vcpsdk.controller.service import require_capability
from vcpsdk.testing import RunningController
from vcpsdk.vcpsdk import VcpSDK


def _headers(token: str) -> dict[str, str]:
    return {"x-vcc-access-token": token, "Content-Type": "application/json"}


def _unit_cci(sdk: VcpSDK, pubkey: Path, provider: str, flavor: str, **cloud_params: Any) -> str:
    """The unit CCI the SDK renders for ``provider``, with ``cloud_params`` changed on the wire."""
    spec = sdk.get_spec(provider, flavor)
    spec.set_ssh_pubkey(str(pubkey))
    document = yaml.safe_load(spec.cci("u"))
    document[0]["unit"]["cloud_params"].update(cloud_params)
    return base64.b64encode(yaml.safe_dump(document).encode()).decode()


def _assert_refused(response: requests.Response, provider: str, capability: str) -> None:
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert "VCPInvalidParameterException" in message
    assert f"provider {provider} " in message
    assert f"capability {capability}" in message


def _post_unit(vcc: RunningController, token: str, vcid: str, info: str) -> requests.Response:
    return requests.post(
        f"{vcc.base_url}/vcs/{vcid}",
        headers=_headers(token),
        json={"unit_name": "u", "info": info},
        timeout=10,
    )


def test_power_operations_refused_without_power_api(
    vcp_sdk: VcpSDK, vcp_token: str, live_controller: RunningController, vcp_pubkey: Path
) -> None:
    ug = vcp_sdk.create_ugroup("nopower")
    spec = vcp_sdk.get_spec("vmware", "small")  # vmware: no Power API (§2.2)
    spec.set_ssh_pubkey(str(vcp_pubkey))
    unit = ug.create_unit("vm", spec)
    [node] = unit.find_nodes()
    base = f"{live_controller.base_url}/vcs/{ug.vcid}/vm"
    # a RUNNING node may be powered off as far as its state goes: the provider refuses
    _assert_refused(
        requests.patch(f"{base}/{node.id}/power_off", headers=_headers(vcp_token), json={}, timeout=10),
        "vmware",
        "power_api",
    )
    _assert_refused(
        requests.patch(f"{base}/power_off", headers=_headers(vcp_token), json={}, timeout=10),
        "vmware",
        "power_api",
    )
    unit = ug.get_unit("vm")
    assert unit is not None
    assert unit.state == "RUNNING"
    assert [n.state for n in unit.find_nodes()] == ["RUNNING"]
    # the Base container operations need no power API
    suspended = requests.patch(f"{base}/{node.id}/suspend", headers=_headers(vcp_token), json={}, timeout=10)
    assert suspended.status_code == 202
    ug.wait_unit_applied("vm")
    assert [n.state for n in ug.find_nodes()] == ["SUSPENDED"]


def test_fixed_ips_refused_without_fixed_ip(
    vcp_sdk: VcpSDK, vcp_token: str, live_controller: RunningController, vcp_pubkey: Path
) -> None:
    ug = vcp_sdk.create_ugroup("nofixed")
    info = _unit_cci(vcp_sdk, vcp_pubkey, "chameleon", "default", ip_address_list=["127.31.1.200"])
    _assert_refused(_post_unit(live_controller, vcp_token, ug.vcid, info), "chameleon", "fixed_ip")
    assert vcp_sdk.get_ugroup("nofixed").find_units() == []  # type: ignore[union-attr]

    # a unit without fixed addresses is fine, but adding nodes at fixed addresses is not
    created = _post_unit(
        live_controller, vcp_token, ug.vcid, _unit_cci(vcp_sdk, vcp_pubkey, "chameleon", "default")
    )
    assert created.status_code == 202, created.text
    ug.wait_unit_applied("u")
    added = requests.put(
        f"{live_controller.base_url}/vcs/{ug.vcid}/u",
        headers=_headers(vcp_token),
        json={"ip_address_list": ["127.31.1.201"]},
        timeout=10,
    )
    _assert_refused(added, "chameleon", "fixed_ip")
    assert len(ug.find_nodes()) == 1


def test_tags_refused_without_tag(
    vcp_sdk: VcpSDK, vcp_token: str, live_controller: RunningController, vcp_pubkey: Path
) -> None:
    ug = vcp_sdk.create_ugroup("notags")
    info = _unit_cci(vcp_sdk, vcp_pubkey, "sakura", "small", tags={"project": "ocs"})
    _assert_refused(_post_unit(live_controller, vcp_token, ug.vcid, info), "sakura", "tag")
    assert vcp_sdk.get_ugroup("notags").find_units() == []  # type: ignore[union-attr]


def test_volumes_refused_without_attach_volume(
    vcp_sdk: VcpSDK, vcp_token: str, live_controller: RunningController, vcp_pubkey: Path
) -> None:
    ug = vcp_sdk.create_ugroup("novolumes")
    # the declaration of a provider without "attach volume" has no volume_id field either
    info = _unit_cci(vcp_sdk, vcp_pubkey, "vmware", "small", volume_id=["vol-0123"])
    refused = _post_unit(live_controller, vcp_token, ug.vcid, info)
    assert refused.status_code == 400
    assert "volume_id for provider vmware" in refused.json()["message"]
    assert vcp_sdk.get_ugroup("novolumes").find_units() == []  # type: ignore[union-attr]
    with pytest.raises(ServiceError) as refusal:
        require_capability("vmware", "attach_volume", "attach disks")
    assert refusal.value.status == 400
    assert refusal.value.detail == (
        "provider vmware does not support attaching volumes (disks / volume_id) "
        "(capability attach_volume), so cannot attach disks"
    )


def test_power_on_needs_the_power_api_too() -> None:
    with pytest.raises(ServiceError, match="provider aws_spot .*capability power_api.*cannot power_on"):
        require_capability("aws_spot", "power_api", "power_on")


@pytest.mark.parametrize("capability", ["fixed_ip", "attach_volume", "tag", "disk_api", "power_api"])
def test_declared_capabilities_are_not_refused(capability: str) -> None:
    require_capability("aws", capability, "do it")  # aws declares every capability
