"""Spec objects: what a unit's nodes (or disks) look like, rendered as unit CCI.

A spec is built from a provider declaration (:mod:`vcpsdk.core.providers`), initialised
from a flavor, then changed attribute by attribute (``spec.volume_size = 15``).
``spec.cci(name)`` renders the unit CCI YAML that ``create_unit`` sends with
:mod:`vcpsdk.core.cci`, the module whose parser the controller checks it with (against
the same declaration).  The layout is documented in ``docs/cci.md``.

The docstrings' examples run in a sandbox notebook after the tutorial's first cells, as
those of :mod:`vcpsdk.vcpsdk` (whose module docstring lists the names they use).
"""

from __future__ import annotations

import base64
import logging
import re
from pathlib import Path
from typing import Any, ClassVar

from vcpsdk.config import load_config, load_flavors, resolve_config_dir
from vcpsdk.core.cci import (
    COMPUTE_FIELDS,
    DEFAULT_IMAGE,
    DOCKER_FIELDS,
    STORAGE_FIELDS,
    Quoted,
    dump_cci,
    suggest,
    unit_document,
)
from vcpsdk.core.providers import (
    PROVIDER_NAMES,
    Field,
    Provider,
    all_field_names,
    all_providers,
    get_provider,
)
from vcpsdk.errors import VcpInvalidArgumentError, VcpSDKError, raise_error

logger = logging.getLogger("vcp.sdk")

AUTHORIZED_KEYS = "AUTHORIZED_KEYS"


def disk_reference(value: Any) -> str:
    """``vcp:<vcid>:<unit>:<disk_id>`` for a disk node, or the cloud volume id given."""
    if isinstance(value, str):
        return value
    node_type = getattr(value, "type", None)
    if node_type is not None and node_type != "storage":
        raise VcpInvalidArgumentError(
            f"spec.disks takes disk nodes of a storage UnitGroup; got a {node_type} node"
        )
    try:
        return f"vcp:{value.vc.vcid}:{value.unit.name}:{value.id}"
    except AttributeError:
        raise VcpInvalidArgumentError(
            f"spec.disks takes volume ids (str) or disk nodes (find_nodes()), got {value!r}"
        ) from None


#: ``params_e`` keys whose values are not shown: the last word names a secret
#: (``DB_PASSWORD``, ``API_TOKEN``, ``AWS_SECRET_KEY``; not ``TOKEN_FREE``)
SECRET_ENV_KEY = re.compile(
    r"(?:^|_)(?:PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|KEY|CREDENTIALS?)$", re.IGNORECASE
)


def redact_env(entry: str) -> str:
    """``params_e`` entry as shown: the public key shortened, values of secret-looking keys
    (:data:`SECRET_ENV_KEY`) hidden.

    Example:
        >>> redact_env("DB_PASSWORD=hunter2")
        'DB_PASSWORD=(redacted)'
        >>> redact_env("LANG=C")
        'LANG=C'
    """
    key, sep, value = entry.partition("=")
    if not sep:
        return entry
    if key == AUTHORIZED_KEYS:
        return f"{key}={value[:12]}...(truncated, {len(value)} chars)" if len(value) > 12 else entry
    if SECRET_ENV_KEY.search(key) and value:
        return f"{key}=(redacted)"
    return entry


def _keep_ssh_key(before: list[Any], after: list[Any]) -> list[Any]:
    """``after`` (a new ``params_e``) with the ``AUTHORIZED_KEYS`` entry of ``before`` added
    when it has none: assigning ``spec.params_e = [...]`` after :meth:`set_ssh_pubkey`
    keeps the key (a list with its own ``AUTHORIZED_KEYS=`` entry replaces it).

    Example:
        >>> _keep_ssh_key(["AUTHORIZED_KEYS=abc"], ["A=1"])
        ['A=1', 'AUTHORIZED_KEYS=abc']
    """
    prefix = AUTHORIZED_KEYS + "="
    if any(str(e).startswith(prefix) for e in after):
        return after
    return [*after, *(e for e in before if str(e).startswith(prefix))]


class VcpSpecResource:
    """A provider spec: the settings a unit's nodes (or disks) are created with.

    Obtain one with ``vcp.get_spec(provider, flavor)`` (each provider has its subclass,
    e.g. ``VcpSpecResourceAws``), change attributes (``spec.volume_size = 15``,
    ``spec.params_e.append('KEY=v')``) and pass it to ``ug.create_unit(name, spec)``.
    Values are checked when assigned (VcpInvalidArgumentError for a wrong one).
    ``print(spec)`` shows the settings with secrets redacted; :meth:`cci` returns the
    CCI YAML sent to the controller; ``help(spec)`` lists the provider's attributes.

    Attributes of every compute spec: ``num_nodes`` (1), ``image`` (Base container
    image), ``params_v`` / ``params_e`` (``docker run -v`` / ``-e`` lists),
    ``recovery_mode`` (``'none'``), ``ssh_user_name``, ``dns``, ``dns_search``,
    ``dns_opt`` (alias ``options``), ``add_host``, ``hostname``, ``gpus``; of every
    storage spec: ``num_disks`` (1); of both: ``name``, ``description``,
    ``private_network``.  Setting ``ip_addresses`` sets ``num_nodes`` to its length;
    setting another ``num_nodes`` afterwards clears ``ip_addresses`` (the last one wins).
    Assigning ``params_e`` keeps the key of :meth:`set_ssh_pubkey` unless the new list has
    its own ``AUTHORIZED_KEYS=`` entry.
    An attribute of another provider (e.g. ``disk_size`` on an ``aws`` spec) is kept with
    a warning and not sent; an unknown one raises
    ``AttributeError('spec resource has no attributes!!  [<name>]')``.

    Args:
        provider_name: the provider, e.g. ``'aws'``.
        flavor: a flavor of that provider, e.g. ``'small'``.
        config_dir: configuration directory (default ``''``: ``$VCPSDK_CONFIG_DIR``, else
            ``~/vcp_config``).

    Raises:
        VcpInvalidArgumentError: ``no flavor provider_name[<provider>] flavor[<flavor>]``.
        VcpConfigError: ``vcp_config.yml`` or ``vcp_flavor.yml`` is not valid.

    Example:
        >>> spec = vcp.get_spec('aws', 'small')
        >>> spec.volume_size = 15
        >>> spec.ip_addresses = ['127.30.2.100', '127.30.2.101']
        >>> print(spec)
        <BLANKLINE>
        ========================
        aws
        ...
            volume_size: 15
        ...
            ip_address_list: ['127.30.2.100', '127.30.2.101']
        ...
    """

    provider_decl: ClassVar[Provider]
    version: ClassVar[str] = ""

    def __init__(self, provider_name: str, flavor: str, config_dir: str | Path = "") -> None:
        decl = get_provider(provider_name)
        directory = resolve_config_dir(config_dir)
        flavors = load_flavors(directory).get(provider_name, {})
        if flavor not in flavors:
            raise_error(
                VcpInvalidArgumentError,
                f"no flavor provider_name[{provider_name}] flavor[{flavor}]"
                f"{suggest(flavor, flavors)}; flavors of {provider_name}: "
                f"{', '.join(flavors) or '(none)'}",
            )
        config = load_config(directory)
        section = config.provider_section(provider_name)
        state = self.__dict__
        state["_provider_name"] = provider_name
        state["_flavor"] = flavor
        state["_config_dir"] = directory
        state["_section"] = section
        state["_foreign"] = {}
        state["_tags"] = {}
        values: dict[str, Any] = {"name": "", "description": ""}
        for own in self._own_fields():
            values[own.name] = _fresh(own.default)
        for key, value in flavors[flavor].items():
            f = decl.field_for_flavor_key(key)
            if f is not None:
                values[f.name] = f.check(value, provider_name)
        if decl.unit_type == "compute":
            for key, value in config.spec_options.items():
                f = _field_in(DOCKER_FIELDS, key)
                if f is not None:
                    values[f.name] = f.check(value, "spec_options")
        values["private_network"] = str(section.get("private_network") or "default")
        state["_values"] = values

    # -- attribute access -------------------------------------------------------------

    @classmethod
    def _own_fields(cls) -> tuple[Field, ...]:
        decl = cls.provider_decl
        if decl.unit_type == "storage":
            return STORAGE_FIELDS + decl.fields
        return COMPUTE_FIELDS + DOCKER_FIELDS + decl.fields

    @classmethod
    def _field(cls, name: str) -> Field | None:
        return _field_in(cls._own_fields(), name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        state = self.__dict__
        if name in ("name", "description", "private_network"):
            return state["_values"][name]
        f = self._field(name)
        if f is not None:
            return state["_values"][f.name]
        if name in state["_foreign"]:
            return state["_foreign"][name]
        raise AttributeError(self._unknown_message(name))

    def __setattr__(self, name: str, value: Any) -> None:
        values = self.__dict__["_values"]
        if name in ("name", "description", "private_network"):
            values[name] = "" if value is None else str(value)
            return
        f = self._field(name)
        if f is None:
            if name in all_field_names() or name in _ALL_COMMON:
                logger.warning(
                    "spec attribute %s is not used by provider %s; it is kept but not sent",
                    name,
                    self._provider_name,
                )
                self.__dict__["_foreign"][name] = value
                return
            raise AttributeError(self._unknown_message(name))
        try:
            value = f.check(value, self._provider_name)
        except ValueError as e:
            raise VcpInvalidArgumentError(str(e)) from None
        if f.name == "params_e":
            value = _keep_ssh_key(values.get("params_e") or [], value)
        if f.name == "ip_addresses":
            if value and "num_nodes" in values:
                values["num_nodes"] = len(value)
        elif f.name == "num_nodes" and values.get("ip_addresses"):
            if value != len(values["ip_addresses"]):
                logger.warning(
                    "num_nodes=%s differs from the %d ip_addresses set before; "
                    "ip_addresses cleared (the last setting wins)",
                    value,
                    len(values["ip_addresses"]),
                )
                values["ip_addresses"] = []
        values[f.name] = value

    def _unknown_message(self, name: str) -> str:
        known = [f.name for f in self._own_fields()]
        return f"spec resource has no attributes!!  [{name}]{suggest(name, known)}"

    def __dir__(self) -> list[str]:
        names = {f.name for f in self._own_fields()} | {"name", "description", "private_network"}
        return sorted(set(super().__dir__()) | names)

    # -- public methods ---------------------------------------------------------------

    @property
    def provider_name(self) -> str:
        """The provider this spec is for (``str``), e.g. ``'aws'``.

        Example:
            >>> vcp.get_spec('aws', 'small').provider_name
            'aws'
        """
        return str(self.__dict__["_provider_name"])

    @property
    def flavor(self) -> str:
        """The flavor the spec was initialised from (``str``), e.g. ``'small'``; later
        attribute changes do not alter it.

        Example:
            >>> spec.flavor
            'small'
        """
        return str(self.__dict__["_flavor"])

    @property
    def unit_type(self) -> str:
        """``'compute'`` (nodes) or ``'storage'`` (disks, the ``*_disk`` providers); it must
        match the type of the UnitGroup the spec is used in.

        Example:
            >>> vcp.get_spec('aws_disk', 'small').unit_type
            'storage'
        """
        return self.provider_decl.unit_type

    @property
    def tags(self) -> dict[str, str]:
        """The cloud-side tags set with :meth:`set_tag` (a copy: ``dict[str, str]``).

        Example:
            >>> spec.set_tag('Project', 'handson')
            >>> spec.tags
            {'Project': 'handson'}
        """
        return dict(self.__dict__["_tags"])

    def set_ssh_pubkey(self, path: str | Path) -> None:
        """Register the SSH public key used to log into the nodes' Base container.

        Adds ``AUTHORIZED_KEYS=<base64 of the key file>`` to ``params_e``, replacing a key
        set before.

        Args:
            path: public key file, e.g. ``'~/.ssh/id_rsa.pub'`` (``~`` is expanded).

        Returns:
            None.

        Raises:
            VcpInvalidArgumentError: ``set_ssh_pubkey only compute spec``,
                ``public_key_path[<path>] can't open (<error>)`` or ``public_key_path[<path>]
                is not an OpenSSH public key (...)``.

        Example:
            >>> spec.set_ssh_pubkey('~/.ssh/id_rsa.pub')
        """
        if self.unit_type != "compute":
            raise_error(VcpInvalidArgumentError, "set_ssh_pubkey only compute spec")
        expanded = Path(path).expanduser()
        try:
            content = expanded.read_bytes()
        except OSError as e:
            raise_error(VcpInvalidArgumentError, f"public_key_path[{path}] can't open ({e})")
        first = content.strip().split(b"\n", 1)[0]
        if not first.startswith((b"ssh-", b"ecdsa-", b"sk-")) or b"PRIVATE KEY" in content:
            raise_error(
                VcpInvalidArgumentError,
                f"public_key_path[{path}] is not an OpenSSH public key "
                "(expected a line like 'ssh-ed25519 AAAA... comment')",
            )
        encoded = base64.b64encode(content).decode("ascii")
        params_e = self.params_e
        params_e[:] = [e for e in params_e if not str(e).startswith(AUTHORIZED_KEYS + "=")]
        params_e.append(f"{AUTHORIZED_KEYS}={encoded}")

    def set_tag(self, key: str, value: str) -> None:
        """Set a cloud-side tag on the unit's instances or disks (providers with tag support).

        Args:
            key: tag name (converted to ``str``).
            value: tag value (converted to ``str``); setting a key again replaces it.

        Returns:
            None.

        Raises:
            VcpInvalidArgumentError: ``set_tag is not supported by provider <provider>;
                supported: ...``.

        Example:
            >>> spec.set_tag('Project', 'handson')
        """
        if not self.provider_decl.capabilities.tag:
            supported = [p.name for p in all_providers() if p.capabilities.tag]
            raise_error(
                VcpInvalidArgumentError,
                f"set_tag is not supported by provider {self.provider_name}; "
                f"supported: {', '.join(supported)}",
            )
        self.__dict__["_tags"][str(key)] = str(value)

    def cci_document(self, name: str) -> list[dict[str, Any]]:
        """The unit CCI as Python data: what :meth:`cci` renders as YAML.

        Args:
            name: the unit name.

        Returns:
            list: ``[{'unit': {...}}]`` with ``cci_version``, ``name``, ``description``,
            ``private_network``; then ``num_nodes``, ``image``, ``recovery_mode``,
            ``ssh_user_name`` (when set), ``docker_opt`` (DNS and other options that are set)
            and ``params`` (``{'v': params_v, 'e': params_e}``) for compute specs, or
            ``num_disks`` for storage specs; then ``cloud_provider`` and ``cloud_params``
            (provider values, credentials from ``vcp_config.yml`` and, where tags are
            supported, ``tags``).

        Raises:
            VcpInvalidArgumentError: an entry of ``spec.disks`` is neither a volume id nor a
                disk node.

        Example:
            >>> spec.cci_document('server')[0]['unit']['num_nodes']
            1
        """
        values = dict(self.__dict__["_values"])
        values["disks"] = [disk_reference(d) for d in values.get("disks", [])]
        return unit_document(
            self.provider_decl,
            name,
            values,
            credentials=self.__dict__["_section"],
            tags=self.__dict__["_tags"],
        )

    def cci(self, name: str) -> str:
        """The unit CCI (YAML text) for a unit called ``name``, as ``create_unit`` sends it.

        It contains the provider credentials of ``vcp_config.yml`` (or their ``vault://``
        references): do not print it where others can read it.

        Args:
            name: the unit name.

        Returns:
            str: YAML text starting with ``- unit:``.

        Raises:
            VcpInvalidArgumentError: ``mac_address_list and ip_address_list has element but
                their length are different``, or a wrong ``spec.disks`` entry.

        Example:
            >>> print(spec.cci('server'))
            - unit:
                cci_version: "1.0"
                name: server
            ...
                cloud_provider: aws
            ...
        """
        ip = self.__dict__["_values"].get("ip_addresses") or []
        mac = self.__dict__["_values"].get("mac_addresses") or []
        if ip and mac and len(ip) != len(mac):
            raise_error(
                VcpInvalidArgumentError,
                "mac_address_list and ip_address_list has element but their length are different",
            )
        return dump_cci(self.cci_document(name))

    def __str__(self) -> str:
        lines = ["", "========================", self.provider_decl.name, "------------------------", ""]
        for key, value in self._shown_settings():
            lines += ["    params:", f"        {value!r}"] if key == "params" else [f"    {key}: {value}"]
        lines.append("========================")
        return "\n".join(lines) + "\n"

    def _shown_settings(self) -> list[tuple[str, Any]]:
        """The settings as ``print(spec)`` and the notebook view show them, secrets redacted:
        ``(key, text)`` pairs, except ``params``, which maps to ``{'v': [...], 'e': [...]}``."""
        decl = self.provider_decl
        unit = self.cci_document(self.__dict__["_values"]["name"])[0]["unit"]
        shown: list[tuple[str, Any]] = []
        for key, value in unit.items():
            if key == "params":
                shown.append((key, {"v": value["v"], "e": [redact_env(str(e)) for e in value["e"]]}))
            elif key not in ("cloud_provider", "cloud_params"):
                shown.append((key, _show(value)))
        for key, value in unit["cloud_params"].items():
            if key == "cci_version":
                continue
            if key in decl.secrets and value and not str(value).startswith("vault://"):
                value = "(redacted)"
            shown.append((key, _show(value)))
        return shown

    def __repr__(self) -> str:
        return f"<{type(self).__name__} provider={self.provider_name} flavor={self.flavor}>"

    def _repr_html_(self) -> str:  # notebook view: every setting, secrets redacted
        from vcpsdk._html import spec_html

        return spec_html(self)


def _show(value: Any) -> str:
    if isinstance(value, Quoted):
        return f'"{value}"'
    if isinstance(value, str):
        return value
    return repr(value)


def _fresh(default: Any) -> Any:
    return list(default) if isinstance(default, list) else default


def _field_in(fields: tuple[Field, ...], name: str) -> Field | None:
    for f in fields:
        if f.name == name or name in f.aliases:
            return f
    return None


_ALL_COMMON = {f.name for f in COMPUTE_FIELDS + DOCKER_FIELDS + STORAGE_FIELDS} | {
    a for f in DOCKER_FIELDS for a in f.aliases
}


def _make_spec_classes() -> dict[str, type[VcpSpecResource]]:
    classes: dict[str, type[VcpSpecResource]] = {}
    for decl in all_providers():
        doc = (
            f"Spec of provider ``{decl.name}`` ({decl.description}, {decl.unit_type}).\n\n"
            "Attributes:\n"
            + "\n".join(
                f"    {f.name}: {f.doc} (default {f.default!r}"
                + (f"; one of {', '.join(map(str, f.choices))}" if f.choices else "")
                + ")"
                for f in decl.fields
            )
        )
        cls = type(
            decl.class_name,
            (VcpSpecResource,),
            {
                "provider_decl": decl,
                "version": decl.version,
                "__doc__": doc,
                "__module__": f"vcpsdk.plugins.{decl.name}",
            },
        )
        classes[decl.name] = cls
    return classes


SPEC_CLASSES: dict[str, type[VcpSpecResource]] = _make_spec_classes()


def make_spec(provider_name: str, flavor: str, config_dir: str | Path = "") -> VcpSpecResource:
    """Build the spec of ``provider_name`` initialised from ``flavor``.

    Raises:
        VcpInvalidArgumentError: unknown provider or flavor (the message lists the
            known ones).
    """
    cls = SPEC_CLASSES.get(provider_name)
    if cls is None:
        raise_error(
            VcpInvalidArgumentError,
            f"no flavor provider_name[{provider_name}] flavor[{flavor}]"
            f"{suggest(provider_name, PROVIDER_NAMES)}; known providers: "
            f"{', '.join(PROVIDER_NAMES)}",
        )
    return cls(provider_name, flavor, config_dir)


class VcpSpecClass:
    """Factory of spec objects (original ``VcpSpecClass(config_dir)``); ``vcp.get_spec`` is
    the usual way.

    Args:
        config_dir: configuration directory (default ``''``: ``$VCPSDK_CONFIG_DIR``, else
            ``~/vcp_config``).

    Example:
        >>> from vcpsdk.spec import VcpSpecClass
        >>> spec = VcpSpecClass('~/vcp_config').find_spec('aws', 'small')
    """

    def __init__(self, config_dir: str | Path = "") -> None:
        self.config_dir = config_dir

    def find_spec(self, provider_name: str, flavor: str) -> VcpSpecResource:
        """A new spec of ``provider_name`` initialised from ``flavor`` (as ``vcp.get_spec``).

        Args:
            provider_name: e.g. ``'aws'``.
            flavor: a flavor of that provider, e.g. ``'small'``.

        Returns:
            VcpSpecResource: an instance of the provider's class, e.g. ``VcpSpecResourceAws``.

        Raises:
            VcpInvalidArgumentError: ``no flavor provider_name[<provider>] flavor[<flavor>]``
                (the message lists the known ones).
            VcpConfigError: ``vcp_config.yml`` or ``vcp_flavor.yml`` is not valid.

        Example:
            >>> from vcpsdk.spec import VcpSpecClass
            >>> spec = VcpSpecClass(vcp.config_dir).find_spec('azure', 'small')
            >>> spec.provider_name
            'azure'
        """
        return make_spec(provider_name, flavor, self.config_dir)


class VcpExtClass:
    """Factory of provider extensions (original ``VcpExtClass(config_dir, vcc_access_token)``);
    ``vcp.get_extension`` is the usual way.

    The names this SDK provides are in ``EXTENSIONS``: the Chameleon Cloud helpers
    ``'chameleon'`` (host reservation), ``'chameleon_network'`` (VLAN network
    reservation) and ``'chameleon_host_lease_info'`` (an existing lease), from
    :mod:`vcpsdk.plugins.chameleon_ext`.

    Args:
        config_dir: configuration directory (default ``''``); the ``chameleon`` section of
            its ``vcp_config.yml`` holds the application credential.
        vcc_access_token: the VC Controller access token (default ``''``); kept, never logged.

    Example:
        >>> from vcpsdk.spec import VcpExtClass
        >>> VcpExtClass.EXTENSIONS
        ('chameleon', 'chameleon_network', 'chameleon_host_lease_info')
    """

    #: provider names of the extensions this SDK provides
    EXTENSIONS: ClassVar[tuple[str, ...]] = (
        "chameleon",
        "chameleon_network",
        "chameleon_host_lease_info",
    )

    def __init__(self, config_dir: str | Path = "", vcc_access_token: str = "") -> None:
        self.config_dir = config_dir
        self._token = vcc_access_token

    def find_extension(self, provider_name: str) -> Any:
        """The extension object called ``provider_name``.

        Args:
            provider_name: extension name, e.g. ``'chameleon'``.

        Returns:
            A new extension object, e.g. ``VcpExtResourceChameleon`` (nothing is sent yet).

        Raises:
            VcpInvalidArgumentError: ``no extension provider_name[<name>]; available
                extensions: ...`` for a name not in ``EXTENSIONS``.

        Example:
            >>> from vcpsdk.spec import VcpExtClass
            >>> chameleon = VcpExtClass(vcp.config_dir).find_extension('chameleon')
        """
        if provider_name not in self.EXTENSIONS:
            raise_error(
                VcpInvalidArgumentError,
                f"no extension provider_name[{provider_name}]{suggest(provider_name, self.EXTENSIONS)}"
                f"; available extensions: {', '.join(self.EXTENSIONS)}",
            )
        from vcpsdk.plugins.chameleon_ext import EXTENSION_CLASSES  # heavy: imported on use

        return EXTENSION_CLASSES[provider_name](provider_name, str(self.config_dir), self._token)


__all__ = [
    "DEFAULT_IMAGE",
    "SPEC_CLASSES",
    "VcpExtClass",
    "VcpSDKError",
    "VcpSpecClass",
    "VcpSpecResource",
    "dump_cci",
    "make_spec",
]
