"""Decode and check the CCI documents clients send (base64 YAML).

The unit CCI is checked against the same provider declaration the SDK builds spec
objects from (:mod:`vcpsdk.core.providers`); every error names the field and the
allowed values.  ``docs/cci.md`` documents the layout.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from vcpsdk.config import suggest
from vcpsdk.core.providers import PROVIDER_NAMES, get_provider

UNIT_NAME = re.compile(r"^[a-zA-Z0-9_\-]+$")
USER_NAME = re.compile(r"^[a-z_][a-z0-9_\-]{0,31}$")
UNIT_KEYS = {
    "cci_version",
    "name",
    "description",
    "private_network",
    "num_nodes",
    "num_disks",
    "image",
    "recovery_mode",
    "docker_opt",
    "params",
    "cloud_provider",
    "cloud_params",
    "ssh_user_name",
}
DOCKER_OPT_KEYS = {"dns", "dns_search", "dns_opt", "options", "add_host", "hostname", "gpus"}
VC_TYPES = {"compute": "compute", "storage": "storage", "disk": "storage"}


class CciError(ValueError):
    """The CCI document is malformed; the message names the field."""


@dataclass
class UnitSpec:
    """A checked unit CCI."""

    provider: str
    unit_type: str
    count: int
    private_network: str
    cloud_params: dict[str, Any]
    image: str = ""
    params_v: list[str] = field(default_factory=list)
    params_e: list[str] = field(default_factory=list)
    docker_opt: dict[str, Any] = field(default_factory=dict)
    ip_addresses: list[str] = field(default_factory=list)
    mac_addresses: list[str] = field(default_factory=list)
    disks: list[str] = field(default_factory=list)
    ssh_user_name: str = ""
    document: dict[str, Any] = field(default_factory=dict)


def decode(payload: Any, field_name: str) -> Any:
    """YAML document from a base64 string field."""
    if not isinstance(payload, str) or not payload:
        raise CciError(f"{field_name} must be a base64 encoded CCI (YAML) string")
    try:
        text = base64.b64decode(payload, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise CciError(f"{field_name} is not valid base64 of UTF-8 text") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise CciError(f"{field_name}: CCI is not valid YAML: {e}") from None


def _single(document: Any, key: str, field_name: str) -> dict[str, Any]:
    if isinstance(document, list) and len(document) == 1:
        document = document[0]
    if not isinstance(document, dict) or not isinstance(document.get(key), dict):
        raise CciError(f"{field_name}: CCI must be a list with one mapping '{key}: {{...}}'")
    body: dict[str, Any] = document[key]
    return body


def parse_vc_cci(payload: Any) -> tuple[str, str, str]:
    """``(name, type, description)`` of an empty-VC CCI."""
    body = _single(decode(payload, "cci"), "vc", "cci")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CciError("cci: vc.name must be a non-empty string")
    vc_type = str(body.get("type", "compute"))
    if vc_type not in VC_TYPES:
        raise CciError(f"cci: vc.type must be 'compute' or 'storage', got {vc_type!r}")
    return name, VC_TYPES[vc_type], str(body.get("description") or "")


def check_unit_name(name: Any) -> str:
    """The unit name, or CciError: letters, digits, '_' and '-' only."""
    if not isinstance(name, str) or not UNIT_NAME.match(name):
        raise CciError(f"unit_name[{name}] is invalid: use letters, digits, '_' and '-' (^[a-zA-Z0-9_\\-]+$)")
    return name


def _str_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise CciError(f"{where} must be a list of strings")
    return [str(v) for v in value]


def parse_unit_cci(payload: Any) -> UnitSpec:
    """Check a unit CCI against its provider's declaration."""
    unit = _single(decode(payload, "info"), "unit", "info")
    for key in unit:
        if key not in UNIT_KEYS:
            raise CciError(
                f"info: unknown key unit.{key}{suggest(key, UNIT_KEYS)}; "
                f"allowed: {', '.join(sorted(UNIT_KEYS))}"
            )
    provider = unit.get("cloud_provider")
    if provider not in PROVIDER_NAMES:
        raise CciError(
            f"info: unit.cloud_provider[{provider}] is unknown{suggest(provider, PROVIDER_NAMES)};"
            f" known providers: {', '.join(PROVIDER_NAMES)}"
        )
    decl = get_provider(provider)
    raw_params = unit.get("cloud_params") or {}
    if not isinstance(raw_params, dict):
        raise CciError("info: unit.cloud_params must be a mapping")
    allowed = {f.key for f in decl.fields} | set(decl.credentials) | {"cci_version", "tags"}
    params: dict[str, Any] = {}
    for key, value in raw_params.items():
        if key not in allowed:
            raise CciError(
                f"info: unknown key cloud_params.{key} for provider {provider}"
                f"{suggest(key, allowed)}; allowed: {', '.join(sorted(allowed))}"
            )
        params[key] = value
    for f in decl.fields:
        value = params.get(f.key, f.default)
        try:
            params[f.key] = f.check(value, f"cloud_params[{provider}]")
        except ValueError as e:
            raise CciError(f"info: {e}") from None
    tags = params.get("tags") or {}
    if not isinstance(tags, dict):
        raise CciError("info: cloud_params.tags must be a mapping")
    params["tags"] = {str(k): str(v) for k, v in tags.items()}

    count_key = "num_disks" if decl.unit_type == "storage" else "num_nodes"
    count = unit.get(count_key, 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise CciError(f"info: unit.{count_key} must be an integer >= 0, got {count!r}")
    spec = UnitSpec(
        provider=provider,
        unit_type=decl.unit_type,
        count=count,
        private_network=str(unit.get("private_network") or "default"),
        cloud_params=params,
        document=unit,
    )
    if decl.unit_type == "compute":
        _fill_compute(spec, unit, params)
    return spec


def _fill_compute(spec: UnitSpec, unit: dict[str, Any], params: dict[str, Any]) -> None:
    spec.image = str(unit.get("image") or "")
    user = unit.get("ssh_user_name") or ""
    if not isinstance(user, str) or (user and not USER_NAME.match(user)):
        raise CciError(f"info: unit.ssh_user_name[{user}] must be a login name like 'vcp'")
    spec.ssh_user_name = user
    raw = unit.get("params") or {}
    if not isinstance(raw, dict):
        raise CciError("info: unit.params must be a mapping with lists 'v' and 'e'")
    spec.params_v = _str_list(raw.get("v"), "info: unit.params.v")
    spec.params_e = _str_list(raw.get("e"), "info: unit.params.e")
    for entry in spec.params_e:
        if "=" not in entry:
            raise CciError(f"info: unit.params.e entry {entry!r} must look like KEY=value")
    docker = unit.get("docker_opt") or {}
    if not isinstance(docker, dict):
        raise CciError("info: unit.docker_opt must be a mapping")
    for key in docker:
        if key not in DOCKER_OPT_KEYS:
            raise CciError(
                f"info: unknown key docker_opt.{key}{suggest(key, DOCKER_OPT_KEYS)}; "
                f"allowed: {', '.join(sorted(DOCKER_OPT_KEYS))}"
            )
    spec.docker_opt = dict(docker)
    spec.ip_addresses = _str_list(params.get("ip_address_list"), "ip_address_list")
    spec.mac_addresses = _str_list(params.get("mac_address_list"), "mac_address_list")
    disk_key = "ext_managed_disk" if spec.provider == "azure" else "volume_id"
    spec.disks = _str_list(params.get(disk_key), disk_key)
    if spec.ip_addresses:
        if spec.count not in (len(spec.ip_addresses), 1):
            raise CciError(
                f"info: num_nodes={spec.count} but ip_address_list has "
                f"{len(spec.ip_addresses)} address(es); they must match"
            )
        spec.count = len(spec.ip_addresses)
    if spec.mac_addresses and spec.ip_addresses and len(spec.mac_addresses) != len(spec.ip_addresses):
        raise CciError("mac_address_list and ip_address_list has element but their length are different")
