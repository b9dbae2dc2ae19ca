"""Spec objects: fields from the provider declarations, flavors, CCI and print format."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest
import yaml

from vcpsdk.core.providers import PROVIDER_NAMES, get_provider
from vcpsdk.errors import VcpInvalidArgumentError
from vcpsdk.spec import SPEC_CLASSES, make_spec


def unit_of(spec, name: str = "u") -> dict:
    [document] = yaml.safe_load(spec.cci(name))
    return document["unit"]


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_every_provider_has_a_spec_class_with_the_original_name_and_version(provider: str) -> None:
    cls = SPEC_CLASSES[provider]
    decl = get_provider(provider)
    expected = "VcpSpecResource" + "".join(w.capitalize() for w in provider.split("_"))
    assert cls.__name__ == expected
    assert cls.version == decl.version and "+" in cls.version


@pytest.mark.parametrize("provider", PROVIDER_NAMES)
def test_every_default_flavor_builds_a_spec_whose_cci_round_trips(provider: str, tmp_path) -> None:
    from vcpsdk.config import load_flavors

    for flavor, values in load_flavors(tmp_path).get(provider, {}).items():
        spec = make_spec(provider, flavor, tmp_path)
        unit = unit_of(spec, "x")
        # a disk unit names its cloud (aws_disk → aws), as the original client sends it
        assert unit["cloud_provider"] == provider.removesuffix("_disk")
        for key, value in values.items():
            field = get_provider(provider).field_for_flavor_key(key)
            assert unit["cloud_params"][field.key] == value


def test_reference_flavor_values(tmp_path) -> None:
    spec = make_spec("aws", "small", tmp_path)
    assert (spec.instance_type, spec.volume_size, spec.volume_type) == ("m4.large", 8, "gp2")
    azure = make_spec("azure", "medium", tmp_path)
    assert (azure.vm_size, azure.disk_size_gb, azure.managed_disk_type) == (
        "Standard_D3_v2",
        100,
        "Standard_LRS",
    )
    sakura = make_spec("sakura", "medium", tmp_path)
    assert sakura.num_cores == 2 and sakura.memory == 4 and sakura.disk_plan == "ssd"


def test_unknown_provider_and_flavor_name_the_allowed_values(tmp_path) -> None:
    with pytest.raises(VcpInvalidArgumentError) as e:
        make_spec("aws", "smal", tmp_path)
    assert e.value.args[1].startswith("no flavor provider_name[aws] flavor[smal]")
    assert "did you mean 'small'" in e.value.args[1]
    with pytest.raises(VcpInvalidArgumentError) as e:
        make_spec("amazon", "small", tmp_path)
    assert "known providers: aws" in e.value.args[1]


def test_set_ssh_pubkey_appends_base64_of_the_file(tmp_path: Path) -> None:
    key = tmp_path / "k.pub"
    key.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBASE test\n")
    spec = make_spec("aws", "small", tmp_path)
    spec.params_e.append("A=1")
    spec.set_ssh_pubkey(str(key))
    spec.set_ssh_pubkey(str(key))  # replaces, does not duplicate
    encoded = base64.b64encode(key.read_bytes()).decode()
    assert spec.params_e == ["A=1", f"AUTHORIZED_KEYS={encoded}"]
    assert unit_of(spec)["params"]["e"] == ["A=1", f"AUTHORIZED_KEYS={encoded}"]
    assert encoded not in str(spec)  # printing never shows the key
    assert "AUTHORIZED_KEYS=" in str(spec)


def test_set_ssh_pubkey_rejects_missing_and_private_keys(tmp_path: Path) -> None:
    spec = make_spec("aws", "small", tmp_path)
    with pytest.raises(VcpInvalidArgumentError, match=r"public_key_path\[.*nope\] can't open"):
        spec.set_ssh_pubkey(str(tmp_path / "nope"))
    private = tmp_path / "id"
    private.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n")
    with pytest.raises(VcpInvalidArgumentError, match="not an OpenSSH public key"):
        spec.set_ssh_pubkey(str(private))
    assert spec.params_e == []


def test_params_lists_are_plain_lists(tmp_path) -> None:
    spec = make_spec("aws", "small", tmp_path)
    spec.params_v = ["/sys/fs/cgroup:/sys/fs/cgroup:rw"]
    spec.params_v.append("/exported:/exported")
    spec.params_e.extend(["X=1", "Y=2"])
    unit = unit_of(spec)
    assert unit["params"] == {
        "v": ["/sys/fs/cgroup:/sys/fs/cgroup:rw", "/exported:/exported"],
        "e": ["X=1", "Y=2"],
    }
    assert type(spec.params_e) is list


def test_ip_addresses_set_num_nodes_and_num_nodes_clears_other_counts(tmp_path, caplog) -> None:
    spec = make_spec("aws", "small", tmp_path)
    spec.num_nodes = 3
    spec.ip_addresses = ["127.30.2.101", "127.30.2.102", "127.30.2.103"]
    assert spec.num_nodes == 3
    assert unit_of(spec)["cloud_params"]["ip_address_list"] == spec.ip_addresses
    spec.ip_addresses = ["127.30.2.9"]
    assert spec.num_nodes == 1
    with caplog.at_level(logging.WARNING, logger="vcp.sdk"):
        spec.num_nodes = 2
    assert spec.ip_addresses == [] and "ip_addresses cleared" in caplog.text
    spec.ip_address_list = ["127.30.2.50"]  # legacy name
    assert spec.ip_addresses == ["127.30.2.50"]


def test_values_are_checked_naming_the_field_and_allowed_values(tmp_path) -> None:
    spec = make_spec("aws", "small", tmp_path)
    with pytest.raises(VcpInvalidArgumentError) as e:
        spec.volume_type = "fast"
    assert "aws.volume_type must be one of" in e.value.args[1] and "'gp2'" in e.value.args[1]
    with pytest.raises(VcpInvalidArgumentError, match="aws.volume_size must be an integer"):
        spec.volume_size = "big"
    spec.volume_size = "15"  # numeric strings from notebook variables are accepted
    assert spec.volume_size == 15


def test_foreign_attributes_are_tolerated_and_unknown_ones_refused(tmp_path, caplog) -> None:
    spec = make_spec("aws", "small", tmp_path)
    with caplog.at_level(logging.WARNING, logger="vcp.sdk"):
        spec.disk_size = 40  # a vmware attribute, set for every provider by OpenHPC-v3
    assert spec.disk_size == 40
    assert "disk_size" not in unit_of(spec)["cloud_params"]
    assert "not used by provider aws" in caplog.text
    with pytest.raises(AttributeError, match=r"spec resource has no attributes!!  \[instance_typ\]"):
        spec.instance_typ = "m5.large"


def test_docker_options_and_dns_defaults_from_spec_options(tmp_path: Path) -> None:
    (tmp_path / "vcp_config.yml").write_text(
        "spec_options:\n  dns: [127.10.0.53]\n  options: ['timeout:60']\n"
    )
    spec = make_spec("aws", "small", tmp_path)
    spec.hostname = "master"
    spec.add_host = ["master:127.30.2.120"]
    assert unit_of(spec)["docker_opt"] == {
        "dns": ["127.10.0.53"],
        "dns_opt": ["timeout:60"],
        "add_host": ["master:127.30.2.120"],
        "hostname": "master",
    }
    spec.dns = ["127.0.0.53"]  # spec values override spec_options
    assert unit_of(spec)["docker_opt"]["dns"] == ["127.0.0.53"]


def test_credentials_from_vcp_config_are_merged_and_redacted_when_printed(tmp_path) -> None:
    (tmp_path / "vcp_config.yml").write_text(
        "aws:\n  access_key: vault://cubbyhole/aws/access_key\n  secret_key: s3cr3t-value\n"
        "  private_network: default\n"
    )
    spec = make_spec("aws_spot", "small", tmp_path)  # uses the aws section
    params = unit_of(spec)["cloud_params"]
    assert params["access_key"] == "vault://cubbyhole/aws/access_key"
    assert params["secret_key"] == "s3cr3t-value"
    printed = str(spec)
    assert "vault://cubbyhole/aws/access_key" in printed and "s3cr3t-value" not in printed


def test_print_format_is_the_original_banner(tmp_path) -> None:
    text = str(make_spec("aws", "small", tmp_path))
    lines = text.splitlines()
    assert lines[:5] == ["", "========================", "aws", "------------------------", ""]
    assert '    cci_version: "1.0"' in lines
    assert "    instance_type: m4.large" in lines and lines[-1] == "========================"


def test_storage_spec_cci_has_num_disks_and_no_container_fields(tmp_path) -> None:
    spec = make_spec("aws_disk", "small", tmp_path)
    spec.size = 32
    unit = unit_of(spec, "nfs")
    assert unit["num_disks"] == 1 and "num_nodes" not in unit and "params" not in unit
    assert unit["cloud_params"]["size"] == 32 and spec.unit_type == "storage"


def test_set_tag_only_where_the_provider_supports_tags(tmp_path) -> None:
    spec = make_spec("aws", "small", tmp_path)
    spec.set_tag("project", "ocs")
    assert unit_of(spec)["cloud_params"]["tags"] == {"project": "ocs"}
    with pytest.raises(VcpInvalidArgumentError, match="set_tag is not supported by provider sakura"):
        make_spec("sakura", "small", tmp_path).set_tag("a", "b")


def test_cci_rejects_mac_and_ip_lists_of_different_length(tmp_path) -> None:
    spec = make_spec("vmware", "small", tmp_path)
    spec.ip_addresses = ["127.25.1.10", "127.25.1.11"]
    spec.mac_addresses = ["4a:d1:4d:ab:cf:10"]
    with pytest.raises(VcpInvalidArgumentError, match="their length are different"):
        spec.cci("x")
