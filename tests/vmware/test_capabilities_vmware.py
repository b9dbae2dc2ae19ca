"""The capability matrix (reference §2) with the vSphere backend enabled: ``vmware`` has fixed
IPs but no power API, disk API, attach volume or tags, so those requests are refused before
anything changes, naming the provider and the capability, and no vSphere call is made."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from vcpsdk.errors import VcpInvalidArgumentError
from vcpsdk.testing.conformance.vmware import VcsimHarness
from vcpsdk.testing.controller import RunningController
from vcpsdk.testing.keys import write_test_public_key
from vcpsdk.vcpsdk import VcpSDK

#: the vSphere methods that would change something
CHANGES = ("CloneVM_Task", "ReconfigVM_Task", "PowerOffVM_Task", "PowerOnVM_Task", "Destroy_Task")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningController]:
    harness = VcsimHarness()
    try:
        with harness.controller(tmp_path / "state") as controller:
            yield controller
    finally:
        harness.close()


def post_unit(running: RunningController, token: str, vcid: str, document: Any) -> requests.Response:
    info = base64.b64encode(yaml.safe_dump(document).encode()).decode()
    return requests.post(
        f"{running.base_url}/vcs/{vcid}",
        headers={"x-vcc-access-token": token, "Content-Type": "application/json"},
        json={"unit_name": "u", "info": info},
        timeout=10,
    )


def changes(running: RunningController) -> dict[str, int]:
    calls = running.controller.backends["vmware"].soap_calls
    return {method: calls[method] for method in CHANGES if calls[method]}


def test_power_storage_volumes_and_tags_are_refused_before_any_vsphere_call(
    running: RunningController, tmp_path: Path
) -> None:
    token = running.create_token("alice")
    vcp = VcpSDK(token, config_dir=str(running.write_config(tmp_path / "cfg")))
    spec = vcp.get_spec("vmware", "small")
    spec.set_ssh_pubkey(str(write_test_public_key(tmp_path / "id.pub")))
    document = yaml.safe_load(spec.cci("u"))

    with pytest.raises(VcpInvalidArgumentError, match="set_tag is not supported by provider vmware"):
        spec.set_tag("project", "lab")

    ug = vcp.create_ugroup("lab")
    with_volumes = yaml.safe_load(yaml.safe_dump(document))
    with_volumes[0]["unit"]["cloud_params"]["volume_id"] = ["vol-0123"]
    refused = post_unit(running, token, ug.vcid, with_volumes)
    assert refused.status_code == 400 and "volume_id for provider vmware" in refused.json()["message"]
    with_tags = yaml.safe_load(yaml.safe_dump(document))
    with_tags[0]["unit"]["cloud_params"]["tags"] = {"project": "lab"}
    refused = post_unit(running, token, ug.vcid, with_tags)
    assert refused.status_code == 400
    assert "provider vmware " in refused.json()["message"] and "capability tag" in refused.json()["message"]

    storage = vcp.create_ugroup("store", ugroup_type="storage")
    refused = post_unit(running, token, storage.vcid, document)
    assert refused.status_code == 400, refused.text
    assert "provider vmware makes compute units" in refused.json()["message"]
    disk_shaped = [{"unit": {"cloud_provider": "vmware", "num_disks": 1}}]
    refused = post_unit(running, token, storage.vcid, disk_shaped)
    assert refused.status_code == 400 and "cloud_provider[vmware] has no disk provider" in refused.text
    assert ug.find_units() == [] and storage.find_units() == []
    assert changes(running) == {}

    unit = ug.create_unit("web", spec)
    made = changes(running)
    assert made == {"CloneVM_Task": 1, "ReconfigVM_Task": 1, "PowerOnVM_Task": 1}
    [node] = unit.find_nodes()
    refused = requests.patch(
        f"{running.base_url}/vcs/{ug.vcid}/web/{node.id}/power_off",
        headers={"x-vcc-access-token": token},
        json={},
        timeout=10,
    )
    assert refused.status_code == 400
    assert "provider vmware does not support a power API" in refused.json()["message"]
    assert "capability power_api" in refused.json()["message"]
    assert changes(running) == made  # nothing was switched off
    assert [n.state for n in ug.get_unit("web").find_nodes()] == ["RUNNING"]
    ug.cleanup()
    assert changes(running)["Destroy_Task"] == 1
