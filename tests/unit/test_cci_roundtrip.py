"""The unit CCI round trip: what the SDK renders, the controller parses back unchanged.

For every provider × every flavor of the default catalog, a spec is built and changed
with the SDK's code path (``make_spec`` → attributes → ``spec.cci(name)`` → base64) and
the payload is parsed with the controller's (``parse_unit_cci``).  Both sides read
:mod:`vcpsdk.core.cci`; these tests tie them together without a controller.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from vcpsdk import VCP_SDK_VERSION
from vcpsdk.config import default_flavors
from vcpsdk.core import cci
from vcpsdk.core.providers import Provider, all_providers, get_provider
from vcpsdk.occtr import b64
from vcpsdk.spec import VcpSpecResource, make_spec

CASES = [
    pytest.param(p.name, flavor, id=f"{p.name}-{flavor}")
    for p in all_providers()
    for flavor in default_flavors().get(p.name, {})
]
DOCKER = {
    "dns": ["127.0.0.53"],
    "dns_search": ["example.internal"],
    "dns_opt": ["ndots:2"],
    "add_host": ["db:127.30.2.99"],
    "hostname": "box",
    "gpus": "all",
}


def test_every_provider_has_a_flavor_in_the_catalog() -> None:
    assert {case.values[0] for case in CASES} == {p.name for p in all_providers()}


def credentials(decl: Provider) -> dict[str, str]:
    """Made-up credential values of a provider (secrets as vault references)."""
    return {
        key: (f"vault://vcp/{key}" if key in decl.secrets else f"{key}-value") for key in decl.credentials
    }


@pytest.fixture(scope="module")
def catalog_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config dir with a section (credentials, private network) for every provider."""
    directory = tmp_path_factory.mktemp("cci_config")
    sections: dict[str, Any] = {}
    for decl in all_providers():
        section = sections.setdefault(decl.config_section or decl.name, {"private_network": "net-a"})
        section.update(credentials(decl))
    (directory / "vcp_config.yml").write_text(yaml.safe_dump(sections), encoding="utf-8")
    return directory


def customise(spec: VcpSpecResource, pubkey: Path) -> dict[str, Any]:
    """Set every unit-level value the provider allows; return what was set."""
    decl = spec.provider_decl
    spec.description = f"{decl.name} round trip"
    changed: dict[str, Any] = {}
    if decl.unit_type == "storage":
        spec.num_disks = 3
        changed["count"] = 3
    else:
        spec.num_nodes = 2
        changed["count"] = 2
        spec.image = "registry.example/vcp/base:1"
        spec.params_v = ["/data:/data"]
        spec.params_e = ["MODE=test"]
        spec.set_ssh_pubkey(pubkey)
        spec.ssh_user_name = "vcp"
        for name, value in DOCKER.items():
            setattr(spec, name, value)
        if decl.field_named("ip_addresses"):
            spec.ip_addresses = ["127.30.2.11", "127.30.2.12", "127.30.2.13"]
            changed["count"] = 3
        if decl.field_named("mac_addresses"):
            spec.mac_addresses = ["02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03"]
        if decl.field_named("disks"):
            spec.disks = ["vol-0001", "vol-0002"]
    if decl.capabilities.tag:
        spec.set_tag("Project", "roundtrip")
        spec.set_tag("Owner", 42)
    return changed


@pytest.mark.parametrize(("provider", "flavor"), CASES)
def test_rendered_unit_cci_parses_back_to_what_was_set(
    provider: str, flavor: str, catalog_config: Path, vcp_pubkey: Path
) -> None:
    decl = get_provider(provider)
    spec = make_spec(provider, flavor, catalog_config)
    changed = customise(spec, vcp_pubkey)

    parsed = cci.parse_unit_cci(b64(spec.cci("rt-unit_1")), decl.unit_type)  # the UnitGroup's type

    assert cci.check_unit_name("rt-unit_1") == "rt-unit_1"
    assert parsed.provider == provider
    assert parsed.unit_type == decl.unit_type == spec.unit_type
    assert parsed.count == changed["count"]
    assert parsed.private_network == "net-a"
    assert parsed.document["name"] == "rt-unit_1"
    assert parsed.document["cloud_provider"] == decl.cloud_provider  # a disk unit names its cloud
    assert parsed.document["description"] == f"{provider} round trip"
    # every provider field: the flavor's value (or what the test set) arrives unchanged
    for field in decl.fields:
        assert parsed.cloud_params[field.key] == getattr(spec, field.name), field.name
    for key, value in default_flavors()[provider][flavor].items():
        field = decl.field_for_flavor_key(key)
        assert field is not None, key
        assert parsed.cloud_params[field.key] == field.check(value, provider), key
    for key, value in credentials(decl).items():
        assert parsed.cloud_params[key] == value, key
    assert parsed.cloud_params["tags"] == spec.tags
    if decl.capabilities.tag:
        assert parsed.cloud_params["tags"] == {"Project": "roundtrip", "Owner": "42"}
    if decl.unit_type == "compute":
        assert parsed.image == "registry.example/vcp/base:1"
        assert parsed.params_v == ["/data:/data"]
        assert parsed.params_e[0] == "MODE=test"
        assert parsed.params_e[1].startswith("AUTHORIZED_KEYS=")
        assert parsed.ssh_user_name == "vcp"
        assert parsed.docker_opt == DOCKER
        ips = decl.field_named("ip_addresses")
        assert parsed.ip_addresses == (["127.30.2.11", "127.30.2.12", "127.30.2.13"] if ips else [])
        macs = decl.field_named("mac_addresses")
        assert parsed.mac_addresses == (list(spec.mac_addresses) if macs else [])
        assert parsed.disks == (["vol-0001", "vol-0002"] if decl.field_named("disks") else [])


@pytest.mark.parametrize(("provider", "flavor"), CASES)
def test_untouched_flavor_spec_parses_with_its_defaults(
    provider: str, flavor: str, catalog_config: Path
) -> None:
    spec = make_spec(provider, flavor, catalog_config)

    parsed = cci.parse_unit_cci(b64(spec.cci("plain")), spec.unit_type)

    assert parsed.count == 1
    assert parsed.cloud_params["tags"] == {}
    if parsed.unit_type == "compute":
        assert parsed.image == cci.DEFAULT_IMAGE
        assert parsed.docker_opt == {}
        assert "docker_opt" not in parsed.document
        assert "ssh_user_name" not in parsed.document
        assert (parsed.params_v, parsed.params_e) == ([], [])


@pytest.mark.parametrize("vc_type", ["compute", "storage"])
def test_vc_cci_round_trip(vc_type: str) -> None:
    text = cci.render_vc_cci("handson101", vc_type, VCP_SDK_VERSION)

    assert cci.parse_vc_cci(b64(text)) == ("handson101", vc_type, "handson101")


def test_the_sdk_checks_unit_names_with_the_core_pattern() -> None:
    from vcpsdk import vcpsdk as sdk_module

    assert sdk_module.UNIT_NAME is cci.UNIT_NAME
    assert sdk_module.UGROUP_TYPES == ("compute", "storage")


def test_docker_opt_keys_are_the_spec_option_keys() -> None:
    from vcpsdk.config import SPEC_OPTION_KEYS

    assert SPEC_OPTION_KEYS == cci.DOCKER_OPT_KEYS == {*DOCKER, "options"}


# -- negative cases ---------------------------------------------------------------------


def _aws_document(catalog_config: Path) -> dict[str, Any]:
    document: dict[str, Any] = make_spec("aws", "small", catalog_config).cci_document("srv")[0]["unit"]
    return document


def _parse(unit: dict[str, Any]) -> cci.UnitSpec:
    return cci.parse_unit_cci(b64(cci.dump_cci([{"unit": unit}])))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda u: u.update(num_node=2), "unknown key unit.num_node (did you mean 'num_nodes'?)"),
        (lambda u: u["cloud_params"].update(volum_size=9), "cloud_params.volum_size for provider aws"),
        (lambda u: u.update(docker_opt={"dsn": ["x"]}), "unknown key docker_opt.dsn (did you mean 'dns'?)"),
        (lambda u: u.update(cloud_provider="awz"), "cloud_provider[awz] is unknown (did you mean 'aws'?)"),
        (lambda u: u["cloud_params"].update(volume_size=0), "must be at least 1"),
        (lambda u: u["cloud_params"].update(volume_type="gp9"), "volume_type must be one of"),
        (lambda u: u.update(num_nodes=-1), "num_nodes must be an integer >= 0"),
        (lambda u: u.update(params={"v": [], "e": ["NOEQUALS"]}), "must look like KEY=value"),
        (lambda u: u.update(ssh_user_name="Root User"), "ssh_user_name"),
        (
            lambda u: u.update(num_nodes=3) or u["cloud_params"].update(ip_address_list=["127.0.0.1"] * 2),
            "num_nodes=3 but ip_address_list has 2",
        ),
    ],
)
def test_bad_unit_cci_is_refused_naming_the_field(catalog_config: Path, change: Any, message: str) -> None:
    unit = _aws_document(catalog_config)
    change(unit)

    with pytest.raises(cci.CciError) as info:
        _parse(unit)

    assert message in str(info.value)


def test_mac_and_ip_lists_of_different_length_are_refused(catalog_config: Path) -> None:
    unit = make_spec("vmware", "small", catalog_config).cci_document("srv")[0]["unit"]
    unit["cloud_params"]["ip_address_list"] = ["127.0.0.1", "127.0.0.2"]
    unit["cloud_params"]["mac_address_list"] = ["02:00:00:00:00:01"]

    with pytest.raises(cci.CciError, match="their length are different"):
        _parse(unit)


@pytest.mark.parametrize("name", ["my server", "a/b", "", None, "ユニット"])
def test_bad_unit_names_are_refused(name: Any) -> None:
    with pytest.raises(cci.CciError, match=r"is invalid: use letters, digits"):
        cci.check_unit_name(name)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("", "must be a base64 encoded CCI"),
        ("%%%", "not valid base64"),
        (b64("- vc: [unclosed"), "not valid YAML"),
        (b64("- unit: {}"), "one mapping 'vc: {...}'"),
        (b64("- vc: {name: ''}"), "vc.name must be a non-empty string"),
        (b64("- vc: {name: a, type: gpu}"), "vc.type must be 'compute' or 'storage'"),
    ],
)
def test_bad_vc_cci_is_refused(payload: str, message: str) -> None:
    with pytest.raises(cci.CciError, match=message):
        cci.parse_vc_cci(payload)


def test_legacy_disk_type_is_a_storage_ugroup() -> None:
    assert cci.parse_vc_cci(b64(cci.render_vc_cci("old", "disk", "1.0")))[1] == "storage"
