"""The backend registry: every backend the controller can run, the sandbox included.

Each :class:`BackendEntry` names a backend as operators write it in ``--backends FILE``,
the class that implements it (a lazy ``"module:Class"`` string, so a cloud SDK is imported
only when its backend is enabled), the providers it serves unless the operator lists
others, and how it is constructed.  The sandbox is an ordinary entry that is always
enabled and serves every provider no configured cloud backend claims.

:func:`build_backends` turns the registry and the operator's configuration into
:class:`Backends`, the set the controller runs: ``backend_for(provider)``, start/close
of all of them, the merged VPN catalog.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vcpsdk.controller.backends.base import Backend, BackendError
from vcpsdk.controller.settings import ControllerSettings
from vcpsdk.core.providers import all_providers


class BackendConfigError(ValueError):
    """The operator's backends configuration cannot be used (unknown backend, a provider
    claimed twice, a section its backend refuses, a missing extra); ``vcc serve`` prints
    it as one line and exits 2."""


@dataclass(frozen=True)
class BackendSetup:
    """What a backend is constructed from.

    Attributes:
        settings: the controller's settings.
        section: the operator's settings of this backend (``providers`` removed).
        controller_id: the controller's id (cloud resources are tagged with it).
    """

    settings: ControllerSettings
    section: dict[str, Any]
    controller_id: str


def cloud_backend(cls: type[Any], setup: BackendSetup) -> Backend:
    """Construct a cloud backend: ``cls(section, controller_id)``."""
    backend: Backend = cls(setup.section, setup.controller_id)
    return backend


def sandbox_backend(cls: type[Any], setup: BackendSetup) -> Backend:
    """Construct the sandbox from the controller's settings (state dir, boot delay, catalog, ports)."""
    settings = setup.settings
    catalog = None
    if settings.vpn_catalog_file:
        catalog = yaml.safe_load(Path(settings.vpn_catalog_file).read_text("utf-8"))
    backend: Backend = cls(
        settings.state_dir,
        settings.boot_delay,
        catalog,
        settings.ssh_port,
        settings.fallback_ssh_port,
        bwrap=settings.sandbox_bwrap,
        allow_unconfined_nodes=settings.allow_unconfined_nodes,
        limits=settings.limits,
        uid_base=settings.sandbox_uid_base,
    )
    return backend


@dataclass(frozen=True)
class BackendEntry:
    """One backend the controller knows.

    Attributes:
        name: the name operators use in ``--backends FILE``.
        target: ``"module:Class"`` of the implementation, imported when enabled.
        providers: providers served unless the operator lists ``providers:``; by default
            those whose declaration names this backend as its ``config_section`` (the
            ``aws`` backend serves ``aws``, ``aws_spot`` and ``aws_disk``).
        fallback: always enabled; serves every provider no other backend claims.
        construct: builds the instance from the class and a :class:`BackendSetup`.
    """

    name: str
    target: str
    providers: tuple[str, ...] | None = None
    fallback: bool = False
    construct: Callable[[type[Any], BackendSetup], Backend] = cloud_backend

    @property
    def default_providers(self) -> tuple[str, ...]:
        """The providers this backend serves when the operator lists none."""
        if self.providers is not None:
            return self.providers
        return tuple(p.name for p in all_providers() if p.config_section == self.name)

    def load(self) -> type[Any]:
        """The implementing class.

        Raises:
            BackendError: its module cannot be imported (e.g. the cloud SDK is missing).
        """
        module_name, class_name = self.target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            raise BackendError(f"backend {self.name} cannot be loaded: {e}") from None
        cls: type[Any] = getattr(module, class_name)
        return cls


#: every backend of this vcpsdk, by name
REGISTRY: dict[str, BackendEntry] = {
    entry.name: entry
    for entry in (
        BackendEntry(
            "sandbox",
            "vcpsdk.controller.backends.sandbox:SandboxBackend",
            fallback=True,
            construct=sandbox_backend,
        ),
        BackendEntry("aws", "vcpsdk.controller.backends.aws:AwsBackend"),
        BackendEntry("azure", "vcpsdk.controller.backends.azure:AzureBackend"),
        BackendEntry("oracle", "vcpsdk.controller.backends.oracle:OracleBackend"),
        BackendEntry("sakura", "vcpsdk.controller.backends.sakura:SakuraBackend"),
        BackendEntry("vmware", "vcpsdk.controller.backends.vmware:VmwareBackend"),
    )
}


class Backends:
    """The backends one controller runs, and which provider each serves."""

    def __init__(self, backends: dict[str, Backend], providers: dict[str, str], fallback: str) -> None:
        """Args:
        backends: backend name → instance (the fallback included).
        providers: provider → name of the backend that claims it.
        fallback: name of the backend serving every unclaimed provider.
        """
        self.by_name = backends
        self.providers = providers
        self.fallback = fallback

    def __iter__(self) -> Iterator[tuple[str, Backend]]:
        """``(name, backend)`` pairs, the fallback first."""
        yield self.fallback, self.by_name[self.fallback]
        for name, backend in self.by_name.items():
            if name != self.fallback:
                yield name, backend

    def name_for(self, provider: str) -> str:
        """Name of the backend that provisions ``provider``."""
        return self.providers.get(provider, self.fallback)

    def backend_for(self, provider: str) -> Backend:
        """The backend that provisions ``provider``."""
        return self.by_name[self.name_for(provider)]

    def vpn_catalog(self) -> dict[str, Any]:
        """The fallback's catalog with the entries of the other backends on top."""
        catalog: dict[str, Any] = {}
        for _, backend in self:
            catalog.update(backend.vpn_catalog())
        return catalog

    def start(self) -> None:
        """Start every backend (the fallback first)."""
        for _, backend in self:
            backend.start()

    def close(self) -> None:
        """Close every backend (the fallback last)."""
        for _, backend in reversed(list(self)):
            backend.close()


def build_backends(
    settings: ControllerSettings,
    controller_id: str,
    registry: dict[str, BackendEntry] | None = None,
) -> Backends:
    """Instantiate the fallback backend and the backends configured in ``settings.backends``.

    Args:
        settings: the controller's settings (``backends`` maps name → operator settings).
        controller_id: the controller's id.
        registry: the known backends (default :data:`REGISTRY`).

    Returns:
        The backends to run.

    Raises:
        ValueError: an unknown backend name or a provider claimed twice.
        BackendError: a backend cannot be loaded (e.g. its cloud SDK is not installed).

    Example:
        >>> build_backends(ControllerSettings(state_dir=tmp), "id").name_for("aws")  # doctest: +SKIP
        'sandbox'
    """
    registry = REGISTRY if registry is None else registry
    fallbacks = [entry for entry in registry.values() if entry.fallback]
    if len(fallbacks) != 1:
        raise ValueError("the backend registry needs exactly one fallback backend")
    config = {name: dict(section or {}) for name, section in (settings.backends or {}).items()}
    entries = [fallbacks[0]]
    for name, section in config.items():
        if "class" in section:  # a backend of another package: "module:Class"
            entries.append(BackendEntry(name, str(section.pop("class"))))
        elif name in registry and not registry[name].fallback:
            entries.append(registry[name])
        else:
            known = ", ".join(n for n, e in registry.items() if not e.fallback)
            raise BackendConfigError(
                f"unknown backend {name!r}; known backends: {known} "
                f"(a backend of another package is enabled with class: 'module:Class')"
            )
    backends: dict[str, Backend] = {}
    providers: dict[str, str] = {}
    for entry in entries:
        section = config.get(entry.name, {})
        served = () if entry.fallback else tuple(section.pop("providers", entry.default_providers))
        setup = BackendSetup(settings, section, controller_id)
        try:
            backends[entry.name] = entry.construct(entry.load(), setup)
        except (BackendError, ValueError) as e:
            if entry.fallback:
                raise
            raise BackendConfigError(f"backend {entry.name}: {e}") from None
        for provider in served:
            if provider in providers:
                raise BackendConfigError(
                    f"provider {provider} is served by both {providers[provider]} and {entry.name}"
                )
            providers[provider] = entry.name
    return Backends(backends, providers, fallbacks[0].name)
