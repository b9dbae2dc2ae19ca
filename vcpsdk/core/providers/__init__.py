"""Provider declarations: what each cloud's spec holds, as data.

Both halves use these tables: the SDK builds spec objects from them and the
controller validates incoming unit CCI against the very same declaration, so a
field can never be known to one side and not the other.

One module per provider (``vcpsdk.core.providers.aws`` ...) declares ``PROVIDER``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

UnitType = Literal["compute", "storage"]

#: Every provider name of the reference, in the order ``version()`` prints plugins.
PROVIDER_NAMES: tuple[str, ...] = (
    "aws",
    "aws_disk",
    "aws_spot",
    "azure",
    "vmware",
    "azure_disk",
    "sakura",
    "sakura_disk",
    "oracle",
    "oracle_disk",
    "proxmox",
    "mdx2",
    "mdx2_disk",
    "aic",
    "abc",
    "hokudai",
    "chameleon",
    "gcp",
    "onpremises",
)


@dataclass(frozen=True)
class Field:
    """One provider-specific spec attribute.

    Attributes:
        name: attribute name on the spec object (``spec.volume_size``).
        kind: Python type of the value (``int``, ``str``, ``list``).
        default: value used when neither the flavor nor the user sets it.
        cci_key: key under ``cloud_params`` in the unit CCI (defaults to ``name``).
        flavor_key: key in ``vcp_flavor.yml`` (defaults to ``name``).
        choices: allowed values, or None for free values.
        minimum: smallest allowed value for integers.
        aliases: other attribute names accepted for this field (legacy names).
        doc: one line for help texts.
    """

    name: str
    kind: type
    default: Any
    cci_key: str | None = None
    flavor_key: str | None = None
    choices: tuple[Any, ...] | None = None
    minimum: int | None = None
    aliases: tuple[str, ...] = ()
    doc: str = ""

    @property
    def key(self) -> str:
        """Key of this field under ``cloud_params``."""
        return self.cci_key or self.name

    @property
    def flavor(self) -> str:
        """Key of this field in ``vcp_flavor.yml``."""
        return self.flavor_key or self.name

    def check(self, value: Any, owner: str) -> Any:
        """Return ``value`` converted to ``kind``, or raise ValueError naming the field."""
        where = f"{owner}.{self.name}"
        if self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise ValueError(f"{where} must be an integer, got {value!r}")
            try:
                value = int(value)
            except ValueError:
                raise ValueError(f"{where} must be an integer, got {value!r}") from None
            if self.minimum is not None and value < self.minimum:
                raise ValueError(f"{where} must be at least {self.minimum}, got {value}")
        elif self.kind is str:
            if isinstance(value, int | float) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                raise ValueError(f"{where} must be a string, got {value!r}")
        elif self.kind is list:
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list | tuple):
                raise ValueError(f"{where} must be a list, got {value!r}")
            value = list(value)
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(repr(c) for c in self.choices)
            raise ValueError(f"{where} must be one of {allowed}; got {value!r}")
        return value


@dataclass(frozen=True)
class Capabilities:
    """Optional features of a provider (reference §2.2 matrix)."""

    fixed_ip: bool = False
    attach_volume: bool = False
    tag: bool = False
    disk_api: bool = False
    power_api: bool = False


@dataclass(frozen=True)
class Provider:
    """Everything the SDK and the controller know about one provider name."""

    name: str
    unit_type: UnitType
    version: str
    cci_version: str
    fields: tuple[Field, ...]
    capabilities: Capabilities = field(default_factory=Capabilities)
    config_section: str | None = None
    credentials: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    description: str = ""

    @property
    def class_name(self) -> str:
        """Original spec class name: ``aws_spot`` → ``VcpSpecResourceAwsSpot``."""
        return "VcpSpecResource" + "".join(w.capitalize() for w in self.name.split("_"))

    def field_named(self, name: str) -> Field | None:
        """The field declared under ``name`` or one of its aliases, if any."""
        for f in self.fields:
            if f.name == name or name in f.aliases:
                return f
        return None

    def field_for_flavor_key(self, key: str) -> Field | None:
        """The field a ``vcp_flavor.yml`` key sets, if any."""
        for f in self.fields:
            if f.flavor == key or f.name == key:
                return f
        return None


# -- values shared by several providers ----------------------------------------------

AWS_VOLUME_TYPES = ("standard", "io1", "io2", "gp2", "gp3", "sc1", "st1")
AZURE_DISK_TYPES = (
    "Standard_LRS",
    "Premium_LRS",
    "StandardSSD_LRS",
    "UltraSSD_LRS",
    "Premium_ZRS",
    "StandardSSD_ZRS",
)


def cloud_image(doc: str = "cloud machine image name") -> Field:
    """The ``cloud_image`` field (``"default"`` = the VPN catalog's image)."""
    return Field("cloud_image", str, "default", doc=doc)


def ip_addresses() -> Field:
    """The fixed private IP list, sent as ``ip_address_list``."""
    return Field(
        "ip_addresses",
        list,
        [],
        cci_key="ip_address_list",
        aliases=("ip_address_list",),
        doc="fixed private IP addresses, one per node",
    )


def mac_addresses() -> Field:
    """The MAC address list (VMware / Proxmox), sent as ``mac_address_list``."""
    return Field(
        "mac_addresses",
        list,
        [],
        cci_key="mac_address_list",
        doc="MAC addresses, one per node (same length as ip_addresses)",
    )


def disks(cci_key: str = "volume_id") -> Field:
    """Volumes to attach: cloud volume ids or disk nodes of a storage UnitGroup."""
    return Field(
        "disks",
        list,
        [],
        cci_key=cci_key,
        aliases=(cci_key,),
        doc="volumes to attach: cloud volume ids or storage_ugroup.find_nodes()",
    )


@cache
def get_provider(name: str) -> Provider:
    """The declaration of provider ``name``; KeyError lists the known names."""
    if name not in PROVIDER_NAMES:
        raise KeyError(f"unknown provider {name!r}; known providers: {', '.join(PROVIDER_NAMES)}")
    module = importlib.import_module(f"{__name__}.{name}")
    provider: Provider = module.PROVIDER
    return provider


def all_providers() -> list[Provider]:
    """Every declared provider, in ``PROVIDER_NAMES`` order."""
    return [get_provider(n) for n in PROVIDER_NAMES]


def all_field_names() -> set[str]:
    """Attribute names known to at least one provider (for foreign-attribute checks)."""
    names: set[str] = set()
    for p in all_providers():
        for f in p.fields:
            names.add(f.name)
            names.update(f.aliases)
    return names
