"""Provider declarations: what each cloud's spec holds, as data.

Both halves use these tables: the SDK builds spec objects from them and the
controller validates incoming unit CCI against the very same declaration, so a
field can never be known to one side and not the other.

The declarations themselves are data: ``providers.yml`` beside this module (one
entry per provider; a new provider or field is a few lines there).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import yaml

UnitType = Literal["compute", "storage"]


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
        maximum: largest allowed value for integers.
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
    maximum: int | None = None
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
            if self.maximum is not None and value > self.maximum:
                raise ValueError(f"{where} must be at most {self.maximum}, got {value}")
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
    """Optional features of a provider (reference §2.2 matrix).

    Each field's ``allows`` metadata says what the capability permits, as the
    controller's refusals name it (:meth:`allows`).
    """

    fixed_ip: bool = field(default=False, metadata={"allows": "fixed IP addresses (ip_addresses)"})
    attach_volume: bool = field(default=False, metadata={"allows": "attaching volumes (disks / volume_id)"})
    tag: bool = field(default=False, metadata={"allows": "tags (set_tag)"})
    disk_api: bool = field(default=False, metadata={"allows": "a disk API (storage units)"})
    power_api: bool = field(default=False, metadata={"allows": "a power API (power_on / power_off)"})

    @staticmethod
    def allows(capability: str) -> str:
        """What ``capability`` permits, e.g. ``"a power API (power_on / power_off)"``.

        Raises:
            KeyError: not a capability name.
        """
        allows: str = {f.name: f.metadata["allows"] for f in fields(Capabilities)}[capability]
        return allows


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
    disk_of: str | None = None

    @property
    def cloud_provider(self) -> str:
        """The ``cloud_provider`` a unit CCI names: the cloud for a disk provider.

        The original client's ``<cloud>_disk`` plugins send the cloud's own name and the
        controller tells disks from nodes by the UnitGroup type (see :func:`disk_provider`).

        Example:
            >>> get_provider("aws_disk").cloud_provider, get_provider("aws").cloud_provider
            ('aws', 'aws')
        """
        return self.disk_of or self.name

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


_DECLARATIONS = Path(__file__).with_name("providers.yml")
_KINDS: dict[str, type] = {"int": int, "str": str, "list": list}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _field(entry: dict[str, Any]) -> Field:
    entry = dict(entry)
    kind = _KINDS[entry.pop("kind")]
    for key in ("choices", "aliases"):
        if key in entry:
            entry[key] = tuple(entry[key])
    return Field(kind=kind, **entry)


def _provider(name: str, entry: dict[str, Any]) -> Provider:
    entry = dict(entry)
    return Provider(
        name=name,
        fields=tuple(_field(f) for f in entry.pop("fields")),
        capabilities=Capabilities(**dict.fromkeys(entry.pop("capabilities", ()), True)),
        credentials=tuple(entry.pop("credentials", ())),
        secrets=tuple(entry.pop("secrets", ())),
        **entry,
    )


def _load() -> dict[str, Provider]:
    with _DECLARATIONS.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=_LOADER)
    providers = {name: _provider(name, entry) for name, entry in document["providers"].items()}
    for p in providers.values():
        base = providers.get(p.disk_of or "")
        if p.disk_of is not None and (
            p.unit_type != "storage" or base is None or base.unit_type != "compute"
        ):
            raise ValueError(f"{_DECLARATIONS.name}: {p.name}.disk_of must name a compute provider")
    return providers


_PROVIDERS = _load()
#: compute provider → the storage provider making its disks (``aws`` → ``aws_disk``)
_DISKS: dict[str, Provider] = {p.disk_of: p for p in _PROVIDERS.values() if p.disk_of}

#: Every provider name of the reference, in the order ``version()`` prints plugins.
PROVIDER_NAMES: tuple[str, ...] = tuple(_PROVIDERS)


def get_provider(name: str) -> Provider:
    """The declaration of provider ``name``.

    Raises:
        KeyError: an unknown name; the message lists the known names.
    """
    try:
        return _PROVIDERS[name]
    except (KeyError, TypeError):
        raise KeyError(f"unknown provider {name!r}; known providers: {', '.join(PROVIDER_NAMES)}") from None


def disk_provider(cloud: str) -> Provider | None:
    """The storage provider that makes the disks of compute provider ``cloud``, if any.

    Args:
        cloud: a compute provider name, as a unit CCI in a storage UnitGroup names it.

    Returns:
        The ``<cloud>_disk`` declaration, or None when the cloud has no disk provider.

    Example:
        >>> disk_provider("aws").name, disk_provider("vmware")
        ('aws_disk', None)
    """
    return _DISKS.get(cloud)


def all_providers() -> list[Provider]:
    """Every declared provider, in ``PROVIDER_NAMES`` order."""
    return list(_PROVIDERS.values())


def all_field_names() -> set[str]:
    """Attribute names known to at least one provider (for foreign-attribute checks)."""
    names: set[str] = set()
    for p in all_providers():
        for f in p.fields:
            names.add(f.name)
            names.update(f.aliases)
    return names
