"""The CCI documents of the occtr protocol: rendered by the SDK, parsed by the controller.

A CCI ("cloud configuration information") is a YAML list of one-key mappings sent
base64 encoded: ``- vc: {...}`` creates or renames a UnitGroup, ``- unit: {...}``
creates a unit.  Every fact about their layout is written here once: the unit keys,
the ``docker_opt`` keys, the unit-name pattern, the UnitGroup types.  The SDK renders
with :func:`unit_document` / :func:`dump_cci` / :func:`render_vc_cci`; the controller
checks with :func:`parse_unit_cci` / :func:`parse_vc_cci` against the same provider
declaration (:mod:`vcpsdk.core.providers`).  ``docs/cci.md`` documents the layout.

Only PyYAML and the standard library are needed here.
"""

from __future__ import annotations

import base64
import difflib
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from vcpsdk.core.providers import PROVIDER_NAMES, Field, Provider, all_providers, disk_provider, get_provider

#: ``cci_version`` of every unit CCI (the provider's own version goes in ``cloud_params``)
UNIT_CCI_VERSION = "1.0"
#: Base container image of a compute spec that does not name one
DEFAULT_IMAGE = "harbor.vcloud.nii.ac.jp/vcp/base:3.0.0-alpine3.22-x86_64"
#: unit names: letters, digits, ``_`` and ``-`` (checked by the SDK and the controller)
UNIT_NAME_PATTERN = r"^[a-zA-Z0-9_\-]+$"
UNIT_NAME = re.compile(UNIT_NAME_PATTERN)
#: login user of the Base container (``ssh_user_name``)
USER_NAME = re.compile(r"^[a-z_][a-z0-9_\-]{0,31}$")
#: ``vc.type`` values the controller accepts → the UnitGroup type (``disk`` is a legacy name)
VC_TYPES: Mapping[str, str] = {"compute": "compute", "storage": "storage", "disk": "storage"}
#: UnitGroup types the SDK offers (``create_ugroup(name, ugroup_type)``)
UGROUP_TYPES: tuple[str, ...] = tuple(dict.fromkeys(VC_TYPES.values()))

#: Unit-level fields of every compute spec (outside ``cloud_params``).
COMPUTE_FIELDS: tuple[Field, ...] = (
    Field("num_nodes", int, 1, minimum=0, doc="number of nodes to start"),
    Field("image", str, DEFAULT_IMAGE, doc="Base container image"),
    Field("params_v", list, [], doc="Base container volume options (docker run -v)"),
    Field("params_e", list, [], doc="Base container environment (docker run -e), KEY=value"),
    Field("recovery_mode", str, "none", doc="recovery mode of the nodes"),
    Field("ssh_user_name", str, "", doc="login user of the Base container besides root, e.g. 'vcp'"),
)
#: Base-container docker options, sent under ``docker_opt`` only when set.
DOCKER_FIELDS: tuple[Field, ...] = (
    Field("dns", list, [], doc="DNS servers of the Base container (--dns)"),
    Field("dns_search", list, [], doc="DNS search domains (--dns-search)"),
    Field("dns_opt", list, [], aliases=("options",), doc="DNS options (--dns-opt)"),
    Field("add_host", list, [], doc="extra /etc/hosts lines 'name:ip' (--add-host)"),
    Field("hostname", str, "", doc="hostname of the Base container (--hostname)"),
    Field("gpus", str, "", doc="GPUs given to the Base container (--gpus), e.g. 'all'"),
)
#: Unit-level fields of every storage spec.
STORAGE_FIELDS: tuple[Field, ...] = (Field("num_disks", int, 1, minimum=0, doc="number of disks to create"),)
#: compute fields sent together under ``params`` (``{"v": [...], "e": [...]}``)
PARAMS_FIELDS = {"params_v": "v", "params_e": "e"}

#: keys allowed under ``docker_opt`` (and ``spec_options`` of ``vcp_config.yml``)
DOCKER_OPT_KEYS: frozenset[str] = frozenset(
    {f.name for f in DOCKER_FIELDS} | {a for f in DOCKER_FIELDS for a in f.aliases}
)
#: keys allowed in a unit CCI's ``unit:`` mapping
UNIT_KEYS: frozenset[str] = frozenset(
    {"cci_version", "name", "description", "private_network", "params", "docker_opt"}
    | {"cloud_provider", "cloud_params"}
    | {f.key for f in COMPUTE_FIELDS + STORAGE_FIELDS if f.name not in PARAMS_FIELDS}
)
#: ``unit:`` keys only a compute unit has: with one of them, a unit CCI is a compute unit's
COMPUTE_UNIT_KEYS: frozenset[str] = frozenset(
    {"params", "docker_opt"} | {f.key for f in COMPUTE_FIELDS if f.name not in PARAMS_FIELDS}
)


class CciError(ValueError):
    """The CCI document is malformed; the message names the field."""


#: what no stored text may hold: NUL (PostgreSQL refuses it) and lone UTF-16 surrogates (no
#: valid text has them; JSON's and YAML's ``"\\ud800"`` escape makes them)
UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")
#: the refusal's wording, after "<where> has "
UNSTORABLE_MESSAGE = "a NUL character or a lone surrogate (text that cannot be stored)"


#: libyaml's parser when PyYAML was built with it (the events are the same, only faster)
_EVENT_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class YamlLimits:
    """How large and how deep a CCI's YAML may be (checked before it is built).

    Attributes:
        max_bytes: characters of the document after alias expansion (every scalar's
            length plus one per node); an alias bomb is refused without being expanded.
        max_depth: nesting of mappings and sequences.
    """

    max_bytes: int = 256 * 1024
    max_depth: int = 32


def suggest(name: Any, candidates: Iterable[Any]) -> str:
    """A " (did you mean 'x'?)" hint for a misspelt ``name``, or an empty string.

    Args:
        name: the unknown name.
        candidates: the known names.

    Returns:
        str: the hint, starting with a space, or ``""`` when nothing is close.

    Example:
        >>> suggest("volum_size", ["volume_size", "volume_type"])
        " (did you mean 'volume_size'?)"
    """
    close = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# -- rendering (the SDK) ----------------------------------------------------------------


class Quoted(str):
    """A string YAML writes in double quotes (CCI version numbers)."""


class _CciDumper(yaml.SafeDumper):
    pass


_CciDumper.add_representer(
    Quoted, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style='"')
)


def dump_cci(document: list[dict[str, Any]]) -> str:
    """YAML text of a CCI document in the layout the original SDK prints.

    Args:
        document: a list of one-key mappings (``[{"unit": {...}}]``).

    Returns:
        str: each item written as ``- unit:`` followed by its body indented by four spaces.

    Example:
        >>> print(dump_cci([{"vc": {"name": "ug"}}]), end="")
        - vc:
            name: ug
    """
    parts = []
    for item in document:
        ((key, body),) = item.items()
        inner = yaml.dump(
            body,
            Dumper=_CciDumper,
            default_flow_style=False,
            sort_keys=False,
            indent=4,
            allow_unicode=True,
            width=4096,
        )
        parts.append(f"- {key}:\n" + textwrap.indent(inner, "    "))
    return "".join(parts)


def render_vc_cci(name: str, vc_type: str, cci_version: str) -> str:
    """The empty-VC CCI (YAML text) that creates or renames a UnitGroup.

    Args:
        name: the UnitGroup name (also its description).
        vc_type: ``'compute'`` or ``'storage'``.
        cci_version: the SDK version the original writes as ``cci_version``.

    Returns:
        str: ``- vc:`` with ``cci_version``, ``type``, ``description`` and ``name``.
    """
    body = {"cci_version": cci_version, "type": vc_type, "description": name, "name": name}
    return dump_cci([{"vc": body}])


def unit_document(
    decl: Provider,
    name: str,
    values: Mapping[str, Any],
    *,
    credentials: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The unit CCI as Python data (what :func:`dump_cci` renders and ``parse_unit_cci`` reads).

    Args:
        decl: the provider declaration.
        name: the unit name.
        values: spec values by field name: ``description``, ``private_network``, the
            unit-level fields (:data:`COMPUTE_FIELDS` and :data:`DOCKER_FIELDS`, or
            :data:`STORAGE_FIELDS`) and the provider's fields (disks already as references).
        credentials: the provider's config section; its credential keys are sent.
        tags: cloud-side tags, sent where the provider supports tags (and for disks).

    Returns:
        list: ``[{"unit": {...}}]``; docker options only when set, ``ssh_user_name`` only
        when set.
    """
    unit: dict[str, Any] = {
        "cci_version": Quoted(UNIT_CCI_VERSION),
        "name": name,
        "description": values["description"],
        "private_network": values["private_network"],
    }
    if decl.unit_type == "storage":
        unit["num_disks"] = values["num_disks"]
    else:
        unit["num_nodes"] = values["num_nodes"]
        unit["image"] = values["image"]
        unit["recovery_mode"] = values["recovery_mode"]
        if values["ssh_user_name"]:  # our extension: only sent when set
            unit["ssh_user_name"] = values["ssh_user_name"]
        docker = {f.name: values[f.name] for f in DOCKER_FIELDS if values[f.name]}
        if docker:
            unit["docker_opt"] = docker
        unit["params"] = {key: list(values[name]) for name, key in PARAMS_FIELDS.items()}
    unit["cloud_provider"] = decl.cloud_provider  # a disk unit names its cloud, as the original
    params: dict[str, Any] = {"cci_version": Quoted(decl.cci_version)}
    for f in decl.fields:
        params[f.key] = values[f.name]
    section = credentials or {}
    for key in decl.credentials:
        if key in section:
            params[key] = section[key]
    if decl.capabilities.tag or decl.unit_type == "storage":
        params["tags"] = dict(tags or {})
    unit["cloud_params"] = params
    return [{"unit": unit}]


# -- parsing (the controller) -----------------------------------------------------------


@dataclass
class UnitSpec:
    """A checked unit CCI (what the controller creates a unit from).

    Attributes:
        provider: the ``cloud_provider``.
        unit_type: ``'compute'`` or ``'storage'`` (from the provider declaration).
        count: number of nodes or disks (the length of ``ip_addresses`` when given).
        private_network: the network name (``'default'`` when not given).
        cloud_params: checked provider values, credentials and ``tags``.
        image, params_v, params_e, docker_opt, ssh_user_name: the Base container settings.
        ip_addresses, mac_addresses, disks: per-node addresses and volumes to attach.
        document: the ``unit:`` mapping as received.
    """

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


def decode(payload: Any, field_name: str, limits: YamlLimits | None = None) -> Any:
    """The YAML document in a base64 string field.

    Args:
        payload: the field's value.
        field_name: its name, for messages (``'info'`` or ``'cci'``).
        limits: size and depth the document may have (default :class:`YamlLimits`).

    Returns:
        The loaded YAML value.

    Raises:
        CciError: not a non-empty string, not base64 of UTF-8, not YAML, over a limit
            (the message names it and its value) or text with NUL or a lone surrogate.
    """
    if not isinstance(payload, str) or not payload:
        raise CciError(f"{field_name} must be a base64 encoded CCI (YAML) string")
    text = _base64_text(payload, field_name)
    try:
        check_yaml(text, field_name, limits or YamlLimits())
        return yaml.load(text, Loader=_EVENT_LOADER)  # libyaml: several times faster
    except yaml.YAMLError as e:
        raise CciError(f"{field_name}: CCI is not valid YAML: {e}") from None


def check_yaml(text: str, field_name: str, limits: YamlLimits) -> None:
    """Refuse YAML over ``limits`` from its parse events, before any node is built.

    The events are read in one pass (no recursion, no alias expanded): an anchor's
    expanded size is remembered, and each alias adds it, so a "billion laughs" document
    is refused after reading its own few lines.

    Args:
        text: the YAML text.
        field_name: the field it came in, for messages.
        limits: the limits.

    Raises:
        CciError: deeper than ``max_depth``, larger than ``max_bytes`` once expanded, or
            a scalar with NUL or a lone surrogate.
        yaml.YAMLError: the text is not YAML.

    Example:
        >>> check_yaml("a: [1, 2]", "info", YamlLimits(max_depth=1))
        Traceback (most recent call last):
        ...
        vcpsdk.core.cci.CciError: info: CCI nesting is deeper than max_depth=1
    """
    total = 0
    sizes: dict[str, int] = {}
    open_at: list[tuple[int, str | None]] = []
    for event in yaml.parse(text, Loader=_EVENT_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            open_at.append((total, event.anchor))
            total += 1
            if len(open_at) > limits.max_depth:
                raise CciError(f"{field_name}: CCI nesting is deeper than max_depth={limits.max_depth}")
        elif isinstance(event, yaml.CollectionEndEvent):
            start, anchor = open_at.pop()
            if anchor:
                sizes[anchor] = total - start
        elif isinstance(event, yaml.ScalarEvent):
            if UNSTORABLE_TEXT.search(event.value):
                raise CciError(f"{field_name}: CCI text has {UNSTORABLE_MESSAGE}")
            total += 1 + len(event.value)
            if event.anchor:
                sizes[event.anchor] = 1 + len(event.value)
        elif isinstance(event, yaml.AliasEvent):
            total += sizes.get(event.anchor or "", 0)
        if total > limits.max_bytes:
            raise CciError(
                f"{field_name}: CCI is larger than max_yaml_bytes={limits.max_bytes} "
                "(counted with its aliases expanded)"
            )


def _base64_text(payload: str, field_name: str) -> str:
    try:
        return base64.b64decode(payload, validate=True).decode("utf-8")
    except ValueError:  # binascii.Error, UnicodeDecodeError, or a non-ASCII str
        raise CciError(f"{field_name} is not valid base64 of UTF-8 text") from None


def info_text(info: str) -> str:
    """A unit's stored CCI as the YAML text a unit's ``info`` carries in answers.

    The original client's ``VcUnit.unit_info()`` base64-encodes ``info`` itself, so the
    controller answers with the text; the store keeps it base64 encoded.

    Args:
        info: the stored CCI, base64 (text that is not base64 is returned unchanged).

    Returns:
        str: the YAML text.

    Example:
        >>> info_text("LSB1bml0OiB7fQ==")
        '- unit: {}'
    """
    try:
        return _base64_text(info, "info")
    except CciError:
        return info


def _single(document: Any, key: str, field_name: str) -> dict[str, Any]:
    if isinstance(document, list) and len(document) == 1:
        document = document[0]
    if not isinstance(document, dict) or not isinstance(document.get(key), dict):
        raise CciError(f"{field_name}: CCI must be a list with one mapping '{key}: {{...}}'")
    body: dict[str, Any] = document[key]
    return body


def unknown_key(where: str, key: Any, allowed: Iterable[str], qualifier: str = "") -> str:
    """The message for a key that is not allowed, with a did-you-mean hint.

    Args:
        where: the mapping, e.g. ``'docker_opt'``.
        key: the unknown key.
        allowed: the allowed keys (listed sorted).
        qualifier: text after the key, e.g. ``' for provider aws'``.

    Returns:
        str: ``unknown key <where>.<key><qualifier> (did you mean ...?); allowed: ...``.

    Example:
        >>> unknown_key("vcc", "sheme", ["scheme", "host"])
        "unknown key vcc.sheme (did you mean 'scheme'?); allowed: host, scheme"
    """
    names = sorted(str(a) for a in allowed)
    return f"unknown key {where}.{key}{qualifier}{suggest(key, names)}; allowed: {', '.join(names)}"


def _check_keys(keys: Iterable[Any], allowed: Iterable[str], where: str, qualifier: str = "") -> None:
    allowed = set(allowed)
    for key in keys:
        if key not in allowed:
            raise CciError(f"info: {unknown_key(where, key, allowed, qualifier)}")


def parse_vc_cci(payload: Any, limits: YamlLimits | None = None) -> tuple[str, str, str]:
    """Check an empty-VC CCI.

    Args:
        payload: the base64 ``cci`` field.
        limits: size and depth the YAML may have (default :class:`YamlLimits`).

    Returns:
        tuple: ``(name, type, description)`` with the type normalised by :data:`VC_TYPES`.

    Raises:
        CciError: the message names the field.
    """
    body = _single(decode(payload, "cci", limits), "vc", "cci")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CciError("cci: vc.name must be a non-empty string")
    vc_type = str(body.get("type", "compute"))
    if vc_type not in VC_TYPES:
        raise CciError(f"cci: vc.type must be 'compute' or 'storage', got {vc_type!r}")
    return name, VC_TYPES[vc_type], str(body.get("description") or "")


def check_unit_name(name: Any) -> str:
    """The unit name, if it matches :data:`UNIT_NAME_PATTERN`.

    Raises:
        CciError: ``unit_name[<name>] is invalid: ...``.
    """
    if not isinstance(name, str) or not UNIT_NAME.match(name):
        raise CciError(
            f"unit_name[{name}] is invalid: use letters, digits, '_' and '-' ({UNIT_NAME_PATTERN})"
        )
    return name


def _str_list(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise CciError(f"{where} must be a list of strings")
    return [str(v) for v in value]


def parse_unit_cci(
    payload: Any, ugroup_type: str | None = None, limits: YamlLimits | None = None
) -> UnitSpec:
    """Check a unit CCI against its provider's declaration.

    A disk unit names its cloud (``cloud_provider: aws``, as the original client's
    ``<cloud>_disk`` plugins send it): in a storage UnitGroup the cloud's disk provider
    (``aws_disk``) checks it.  The disk provider's own name is accepted too.

    Args:
        payload: the base64 ``info`` field of ``POST /vcs/{vcid}``.
        ugroup_type: the type of the UnitGroup the unit is added to (``'compute'`` or
            ``'storage'``); None when unknown (a mock without UnitGroups): a unit with
            ``num_disks`` is then taken as a disk unit.
        limits: size and depth the YAML may have (default :class:`YamlLimits`).

    Returns:
        UnitSpec: the checked values; ``provider`` is the declaration's name (``aws_disk``).

    Raises:
        CciError: the message names the field and the allowed values.
    """
    unit = _single(decode(payload, "info", limits), "unit", "info")
    _check_keys(unit, UNIT_KEYS, "unit")
    decl = _unit_provider(unit, ugroup_type)
    provider = decl.name
    raw_params = unit.get("cloud_params") or {}
    if not isinstance(raw_params, dict):
        raise CciError("info: unit.cloud_params must be a mapping")
    allowed = {f.key for f in decl.fields} | set(decl.credentials) | {"cci_version", "tags"}
    sent = unit["cloud_provider"]
    qualifier = f" for provider {provider}" + (
        "" if sent == provider else f" ({sent} in a storage UnitGroup)"
    )
    _check_keys(raw_params, allowed, "cloud_params", qualifier)
    params: dict[str, Any] = dict(raw_params)
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
    count = unit.get(count_key)
    if count is None:  # absent or null: one node (disk), as the original
        count = 1
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
        _fill_compute(spec, decl, unit, params)
    return spec


def _unit_provider(unit: dict[str, Any], ugroup_type: str | None) -> Provider:
    """The declaration a unit CCI is checked against (a cloud in a storage UnitGroup: its disks)."""
    provider = unit.get("cloud_provider")
    if provider not in PROVIDER_NAMES:
        raise CciError(
            f"info: unit.cloud_provider[{provider}] is unknown{suggest(provider, PROVIDER_NAMES)};"
            f" known providers: {', '.join(PROVIDER_NAMES)}"
        )
    decl = get_provider(provider)
    if ugroup_type is None:
        ugroup_type = "storage" if "num_disks" in unit else decl.unit_type
    if ugroup_type != "storage" or decl.unit_type == "storage" or COMPUTE_UNIT_KEYS & unit.keys():
        return decl  # a compute unit in a storage UnitGroup is refused by its type (the service)
    disks = disk_provider(decl.name)
    if disks is None:
        storage = [p for p in all_providers() if p.unit_type == "storage"]
        raise CciError(
            f"info: unit.cloud_provider[{provider}] has no disk provider, so it cannot make units of"
            f" a storage UnitGroup; allowed in a storage UnitGroup:"
            f" {', '.join(p.cloud_provider for p in storage)} (or {', '.join(p.name for p in storage)})"
        )
    return disks


def _fill_compute(spec: UnitSpec, decl: Provider, unit: dict[str, Any], params: dict[str, Any]) -> None:
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
    _check_keys(docker, DOCKER_OPT_KEYS, "docker_opt")
    spec.docker_opt = dict(docker)
    by_name = {f.name: f.key for f in decl.fields}
    spec.ip_addresses = _str_list(params.get(by_name.get("ip_addresses", "")), "ip_address_list")
    spec.mac_addresses = _str_list(params.get(by_name.get("mac_addresses", "")), "mac_address_list")
    disk_key = by_name.get("disks", "")
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
    if spec.mac_addresses and len(spec.mac_addresses) < spec.count:
        raise CciError(
            f"info: mac_address_list has {len(spec.mac_addresses)} address(es) but "
            f"num_nodes={spec.count}; give one per node"
        )
