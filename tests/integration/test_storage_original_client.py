"""Storage units as the original NII client sends them, against the live in-process controller.

The original client opens one new connection per request (plain ``requests.get/post/...``,
no session) and its ``aws_disk`` plugin sends ``cloud_provider: aws`` with ``num_disks`` in a
``storage`` UnitGroup (reference §8).  These tests speak the wire directly, that way, then
attach the disks with our SDK and clean up.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from vcpsdk.core.polling import poll
from vcpsdk.core.protocol import TOKEN_HEADER
from vcpsdk.testing import RunningController, running_controller
from vcpsdk.vcpsdk import VcpSDK

# the original client silences urllib3's warning for verify=False, as we do here
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

ORIGINAL_AWS_DISK_CCI = """\
- unit:
    cci_version: "1.0"
    name: data
    description: ''
    private_network: default
    num_disks: 2
    cloud_provider: aws
    cloud_params:
        cci_version: "1.0"
        size: 16
        type: gp2
        cloud_image: default
        access_key: AKIA-original
        secret_key: original-secret
        tags: {}
"""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class OriginalStyleClient:
    """Raw requests as the original client makes them: HTTPS, a fresh ``requests`` call each
    time, ``verify=False`` (``insecure_request_warning: False`` for a self-signed controller)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.token = token
        self.headers = {TOKEN_HEADER: token, "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
        """One request on a new connection (``requests.<method>``, no session)."""
        send = getattr(requests, method.lower())
        kwargs: dict[str, Any] = {"headers": self.headers, "timeout": 30, "verify": False}
        if body is not None:
            kwargs["json"] = body
        response: requests.Response = send(f"{self.base_url}{path}", **kwargs)
        return response

    def create_vc(self, name: str, vc_type: str) -> str:
        body = {"cci_version": "25.10.0", "type": vc_type, "description": name, "name": name}
        cci = yaml.safe_dump([{"vc": body}], sort_keys=False)
        response = self.call("POST", "/vcs", {"cci": _b64(cci)})
        assert response.status_code == 202, response.text
        vcid: str = response.json()["vcid"]
        return vcid

    def add_unit(self, vcid: str, unit_name: str, cci: str = ORIGINAL_AWS_DISK_CCI) -> requests.Response:
        return self.call("POST", f"/vcs/{vcid}", {"info": _b64(cci), "unit_name": unit_name})

    def wait_unit(self, vcid: str, unit: str) -> dict[str, Any]:
        body: dict[str, Any] = poll(
            lambda: self.call("GET", f"/vcs/{vcid}/{unit}").json(),
            lambda b: b.get("state") in ("RUNNING", "ERROR"),
            timeout=30,
            interval=0.1,
            timeout_message=f"unit {unit} did not get RUNNING",
        )
        return body

    def wait_gone(self, path: str) -> None:
        poll(
            lambda: self.call("GET", path).status_code,
            lambda status: status == 404,
            timeout=30,
            interval=0.1,
            timeout_message=f"{path} was not deleted",
        )


@pytest.fixture
def tls_controller(tmp_path: Path) -> Iterator[RunningController]:
    """A controller of its own over HTTPS (self-signed), so that its state dir holds only
    this test's disks."""
    with running_controller(tmp_path / "vcc", tls=True) as running:
        assert running.base_url.startswith("https://")
        yield running


@pytest.fixture
def client(tls_controller: RunningController) -> OriginalStyleClient:
    """The original client's requests, with the token of a new user."""
    return OriginalStyleClient(tls_controller.base_url, tls_controller.create_token("nii"))


def _our_sdk(
    tls_controller: RunningController, client: OriginalStyleClient, tmp_path: Path, pubkey: Path
) -> Any:
    """Our SDK for the same user, and a ready ``aws`` compute spec."""
    sdk = VcpSDK(client.token, config_dir=str(tls_controller.write_config(tmp_path / "cfg")))
    spec = sdk.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(pubkey))
    return sdk, spec


def test_original_aws_disk_unit_is_created_attached_and_cleaned_up(
    tls_controller: RunningController, client: OriginalStyleClient, tmp_path: Path, vcp_pubkey: Path
) -> None:
    vcid = client.create_vc("share", "storage")

    created = client.add_unit(vcid, "data")
    assert created.status_code == 202, created.text
    unit = client.wait_unit(vcid, "data")

    assert unit["state"] == "RUNNING" and unit["type"] == "storage"
    assert unit["provider"] == "aws_disk"
    disks = unit["disk"]
    assert [d["disk_no"] for d in disks] == [1, 2]
    assert {d["state"] for d in disks} == {"RUNNING"}
    assert all(d["cloud_disk_id"] for d in disks)
    assert {d["cloud_disk_size"] for d in disks} == {16}
    assert {d["in_use"] for d in disks} == {False}
    # info is the unit's CCI as YAML text: the original's unit_info() base64-encodes it itself
    info = yaml.safe_load(unit["info"])[0]["unit"]
    assert (info["cloud_provider"], info["num_disks"]) == ("aws", 2)
    assert info["cloud_params"]["secret_key"] != "original-secret"  # stored redacted
    disk_dirs = tls_controller.state_dir / "disks"
    assert sorted(p.name for p in disk_dirs.iterdir()) == sorted(d["cloud_disk_id"] for d in disks)

    # our SDK attaches one of them: spec.disks = storage_ugroup.find_nodes()
    sdk, spec = _our_sdk(tls_controller, client, tmp_path, vcp_pubkey)
    storage = sdk.get_ugroup("share")
    assert storage is not None
    assert [(d.type, d.state) for d in storage.find_nodes()] == [("storage", "RUNNING")] * 2
    compute = sdk.create_ugroup("work")
    first = storage.find_nodes()[:1]
    spec.disks = first
    compute.create_unit("server", spec)
    [node] = compute.find_nodes()
    assert node.volumes == [{"volume_id": first[0].cloud_disk_id, "device_name": "/dev/xvdf"}]
    attached = client.call("GET", f"/vcs/{vcid}/data").json()["disk"]
    assert [d["in_use"] for d in attached] == [True, False]

    # a disk in use keeps its unit; once the compute unit is gone, the original's cleanup
    # (DELETE of the UnitGroup with force) removes the unit and its disks
    in_use = client.call("DELETE", f"/vcs/{vcid}/data", {"force": "true"})
    assert in_use.status_code == 409 and "in-use" in in_use.text
    compute.cleanup()
    assert sdk.get_ugroup("work") is None
    deleted = client.call("DELETE", f"/vcs/{vcid}", {"force": "true"})
    assert deleted.status_code == 202, deleted.text
    client.wait_gone(f"/vcs/{vcid}")
    assert list(disk_dirs.iterdir()) == []


def test_volume_id_references_attach_disks_of_an_original_style_unit(
    tls_controller: RunningController, client: OriginalStyleClient, tmp_path: Path, vcp_pubkey: Path
) -> None:
    vcid = client.create_vc("share", "storage")
    client.add_unit(vcid, "data")
    disk = client.wait_unit(vcid, "data")["disk"][1]

    sdk, spec = _our_sdk(tls_controller, client, tmp_path, vcp_pubkey)
    spec.volume_id = [f"vcp:{vcid}:data:{disk['disk_id']}"]
    sdk.create_ugroup("work").create_unit("server", spec)

    assert [d["in_use"] for d in client.call("GET", f"/vcs/{vcid}/data").json()["disk"]] == [False, True]


@pytest.mark.parametrize(
    ("provider", "allowed"),
    [
        ("vmware", "allowed in a storage UnitGroup: aws, azure, sakura, oracle, mdx2"),
        ("aws_spot", "aws_disk"),
    ],
)
def test_a_compute_provider_without_disks_in_a_storage_ugroup_is_a_400(
    client: OriginalStyleClient, provider: str, allowed: str
) -> None:
    vcid = client.create_vc("share", "storage")
    cci = ORIGINAL_AWS_DISK_CCI.replace("cloud_provider: aws", f"cloud_provider: {provider}")

    response = client.add_unit(vcid, "data", cci)

    assert response.status_code == 400
    message = response.json()["message"]
    assert f"cloud_provider[{provider}] has no disk provider" in message
    assert "storage UnitGroup" in message and allowed in message
    assert client.call("GET", f"/vcs/{vcid}").json()["unit"] == []


OLD_FORM_CCI = ORIGINAL_AWS_DISK_CCI.replace("cloud_provider: aws", "cloud_provider: aws_disk")
COMPUTE_CCI = "- unit:\n    name: data\n    num_nodes: 1\n    cloud_provider: aws\n    cloud_params: {}\n"


@pytest.mark.parametrize(
    ("vc_type", "cci", "message"),
    [
        ("storage", COMPUTE_CCI, "provider aws makes compute units but the UnitGroup type is storage"),
        ("compute", OLD_FORM_CCI, "provider aws_disk makes storage units but the UnitGroup type is compute"),
    ],
    ids=["compute-unit-in-storage", "disk-unit-in-compute"],
)
def test_a_unit_of_the_other_type_keeps_its_type_error(
    client: OriginalStyleClient, vc_type: str, cci: str, message: str
) -> None:
    vcid = client.create_vc("group", vc_type)

    response = client.add_unit(vcid, "data", cci)

    assert response.status_code == 400
    assert message in response.text


def test_our_older_sdk_form_is_still_accepted_in_a_storage_ugroup(client: OriginalStyleClient) -> None:
    vcid = client.create_vc("share", "storage")

    assert client.add_unit(vcid, "data", OLD_FORM_CCI).status_code == 202
    unit = client.wait_unit(vcid, "data")

    assert (unit["state"], unit["provider"], len(unit["disk"])) == ("RUNNING", "aws_disk", 2)
