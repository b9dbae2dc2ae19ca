"""Disk units: the exact CCI our SDK sends, and how the controller's parser tells disks by type.

The original client's ``<cloud>_disk`` plugins send ``cloud_provider: <cloud>`` (``aws``, not
``aws_disk``) with ``num_disks``; the controller checks such a unit in a ``storage`` UnitGroup
against the cloud's disk provider (reference §8).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from vcpsdk.core import cci
from vcpsdk.core.providers import all_providers, disk_provider, get_provider
from vcpsdk.occtr import b64
from vcpsdk.testing.mock_controller import (
    VCID,
    MockController,
    decode_cci,
    disk_json,
    unit_json,
    write_config,
)

SECTIONS: dict[str, dict[str, str]] = {
    "aws": {"access_key": "AKIA-test", "secret_key": "vault://cubbyhole/aws/secret_key"},
    "azure": {
        "subscription_id": "sub-1",
        "client_id": "client-1",
        "client_secret": "vault://cubbyhole/azure/client_secret",
        "tenant_id": "tenant-1",
    },
    "sakura": {
        "sakura_token": "vault://cubbyhole/sakura/token",
        "sakura_secret": "vault://cubbyhole/sakura/s",
    },
    "oracle": {"user_ocid": "ocid1.user", "fingerprint": "aa:bb", "private_key": "vault://cubbyhole/oci/key"},
    "mdx2": {"user_name": "mdx-user", "password": "vault://cubbyhole/mdx2/password"},
}

# What the SDK must send for `get_spec("<cloud>_disk", "small")`, `num_disks = 2`, unit "disks",
# written out by hand (key order included): the unit part, then cloud_provider: <cloud>.
EXPECTED: dict[str, dict[str, Any]] = {
    "aws_disk": {
        "cloud_provider": "aws",
        "cloud_params": {
            "cci_version": "1.0",
            "size": 8,
            "type": "standard",
            "cloud_image": "default",
            "access_key": "AKIA-test",
            "secret_key": "vault://cubbyhole/aws/secret_key",
            "tags": {"Project": "disks"},
        },
    },
    "azure_disk": {
        "cloud_provider": "azure",
        "cloud_params": {
            "cci_version": "1.0",
            "storage_account_type": "Standard_LRS",
            "disk_size_gb": 8,
            "cloud_image": "default",
            "subscription_id": "sub-1",
            "client_id": "client-1",
            "client_secret": "vault://cubbyhole/azure/client_secret",
            "tenant_id": "tenant-1",
            "tags": {"Project": "disks"},
        },
    },
    "sakura_disk": {
        "cloud_provider": "sakura",
        "cloud_params": {
            "cci_version": "1.0",
            "sakuracloud_disk_plan": "ssd",
            "sakuracloud_disk_size": 20,
            "cloud_image": "default",
            "sakura_token": "vault://cubbyhole/sakura/token",
            "sakura_secret": "vault://cubbyhole/sakura/s",
            "tags": {},
        },
    },
    "oracle_disk": {
        "cloud_provider": "oracle",
        "cloud_params": {
            "cci_version": "1.0",
            "size_in_gbs": 50,  # the oracle_disk small flavor: OCI block volumes are 50 GB at least
            "cloud_image": "default",
            "user_ocid": "ocid1.user",
            "fingerprint": "aa:bb",
            "private_key": "vault://cubbyhole/oci/key",
            "tags": {"Project": "disks"},
        },
    },
    "mdx2_disk": {
        "cloud_provider": "mdx2",
        "cloud_params": {
            "cci_version": "1.0",
            "volume_size": 40,
            "volume_type": "project-volume",
            "cloud_image": "default",
            "user_name": "mdx-user",
            "password": "vault://cubbyhole/mdx2/password",
            "tags": {},
        },
    },
}
STORAGE_PROVIDERS = [p.name for p in all_providers() if p.unit_type == "storage"]


def test_every_disk_provider_has_an_expected_cci() -> None:
    assert sorted(EXPECTED) == sorted(STORAGE_PROVIDERS)


def _ordered(value: Any) -> Any:
    """Mappings as lists of items, so that comparing also compares the key order."""
    if isinstance(value, dict):
        return [(k, _ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_ordered(v) for v in value]
    return value


@pytest.mark.parametrize("provider", sorted(EXPECTED))
def test_the_sdk_sends_the_cloud_name_and_num_disks_for_each_disk_spec(
    provider: str, tmp_path: Path, mock_controller: MockController
) -> None:
    from vcpsdk.vcpsdk import VcpSDK

    sections = {cloud: {"private_network": "net-a", **values} for cloud, values in SECTIONS.items()}
    config = write_config(tmp_path / "cfg", **sections)
    sdk = VcpSDK("token", config_dir=str(config))
    mock_controller.reply("GET", "/vcs", {"vcs": []})
    mock_controller.reply("GET", f"/vcs/{VCID}", {"vcid": VCID, "name": "st", "type": "storage", "units": []})
    ugroup = sdk.create_ugroup("st", "storage")
    mock_controller.reply(
        "GET", f"/vcs/{VCID}/disks", unit_json("disks", [disk_json(1)], unit_type="storage", revision=2)
    )
    mock_controller.mark()
    spec = sdk.get_spec(provider, "small")
    spec.num_disks = 2
    if get_provider(provider).capabilities.tag:
        spec.set_tag("Project", "disks")

    ugroup.create_unit("disks", spec)

    [post] = [s for s in mock_controller.sent() if s.method == "POST"]
    assert post.path == f"/vcs/{VCID}" and post.body["unit_name"] == "disks"
    sent = decode_cci(post.body["info"])
    expected = [
        {
            "unit": {
                "cci_version": "1.0",
                "name": "disks",
                "description": "",
                "private_network": "net-a",
                "num_disks": 2,
                **EXPECTED[provider],
            }
        }
    ]
    assert _ordered(sent) == _ordered(expected)
    # the controller's parser reads it back as the disk provider, in a storage UnitGroup
    parsed = cci.parse_unit_cci(post.body["info"], "storage")
    assert (parsed.provider, parsed.unit_type, parsed.count) == (provider, "storage", 2)


# -- the controller's parser ----------------------------------------------------------------


def _disk_unit(cloud: str, **extra: Any) -> dict[str, Any]:
    return {"cci_version": "1.0", "name": "d", "num_disks": 2, "cloud_provider": cloud, **extra}


def _parse(unit: dict[str, Any], ugroup_type: str | None) -> cci.UnitSpec:
    return cci.parse_unit_cci(b64(cci.dump_cci([{"unit": unit}])), ugroup_type)


@pytest.mark.parametrize("provider", STORAGE_PROVIDERS)
def test_a_cloud_name_in_a_storage_ugroup_is_checked_as_its_disk_provider(provider: str) -> None:
    cloud = get_provider(provider).cloud_provider
    assert disk_provider(cloud) is get_provider(provider)
    field = get_provider(provider).fields[0]

    spec = _parse(_disk_unit(cloud, cloud_params={field.key: field.default}), "storage")

    assert (spec.provider, spec.unit_type, spec.count) == (provider, "storage", 2)
    # the older form, naming the disk provider itself, stays accepted
    assert _parse(_disk_unit(provider), "storage").provider == provider


def test_the_original_aws_disk_cci_is_accepted_in_a_storage_ugroup() -> None:
    params = {"cci_version": "1.0", "size": 16, "type": "gp2", "cloud_image": "default"}
    params |= {"access_key": "a", "secret_key": "b", "tags": {"Name": "x"}}

    spec = _parse(_disk_unit("aws", cloud_params=params), "storage")

    assert spec.provider == "aws_disk"
    assert (spec.cloud_params["size"], spec.cloud_params["type"]) == (16, "gp2")


def test_disk_fields_of_a_cloud_name_are_checked_against_the_disk_provider() -> None:
    with pytest.raises(cci.CciError) as e:
        _parse(_disk_unit("aws", cloud_params={"siz": 8}), "storage")

    assert "unknown key cloud_params.siz for provider aws_disk (aws in a storage UnitGroup)" in str(e.value)
    assert "did you mean 'size'?" in str(e.value)


def test_a_compute_provider_without_disks_in_a_storage_ugroup_is_refused_clearly() -> None:
    with pytest.raises(cci.CciError) as e:
        _parse(_disk_unit("vmware"), "storage")

    message = str(e.value)
    assert "unit.cloud_provider[vmware] has no disk provider" in message
    assert "storage UnitGroup" in message
    assert "allowed in a storage UnitGroup: aws, azure, sakura, oracle, mdx2" in message
    assert "aws_disk" in message


def test_a_compute_unit_in_a_storage_ugroup_stays_a_compute_unit(tmp_path: Path) -> None:
    from vcpsdk.spec import make_spec

    unit = make_spec("aws", "small", tmp_path).cci_document("srv")[0]["unit"]

    spec = _parse(unit, "storage")

    assert (spec.provider, spec.unit_type) == ("aws", "compute")  # the service refuses it by type


def test_a_cloud_name_in_a_compute_ugroup_is_the_compute_provider() -> None:
    spec = _parse({"name": "n", "num_nodes": 1, "cloud_provider": "aws"}, "compute")
    assert (spec.provider, spec.unit_type) == ("aws", "compute")
    assert _parse(_disk_unit("aws_disk"), "compute").unit_type == "storage"  # refused by the service


def test_without_a_ugroup_type_num_disks_makes_a_disk_unit() -> None:
    assert _parse(_disk_unit("aws"), None).provider == "aws_disk"
    assert _parse({"name": "n", "cloud_provider": "aws"}, None).provider == "aws"


def test_disk_providers_name_their_cloud() -> None:
    pairs = {p.name: p.cloud_provider for p in all_providers() if p.unit_type == "storage"}
    assert pairs == {f"{c}_disk": c for c in ("aws", "azure", "sakura", "oracle", "mdx2")}
    assert all(p.cloud_provider == p.name for p in all_providers() if p.unit_type == "compute")
    assert disk_provider("aws_spot") is None and disk_provider("vmware") is None


def test_unit_info_is_served_as_yaml_text() -> None:
    text = cci.dump_cci([{"unit": _disk_unit("aws")}])

    assert cci.info_text(b64(text)) == text
    assert yaml.safe_load(cci.info_text(b64(text)))[0]["unit"]["num_disks"] == 2
    assert cci.info_text(text) == text  # already text: unchanged
