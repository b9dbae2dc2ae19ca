"""Backends provision nodes and disks; each cloud is one module behind one interface.

``BACKENDS`` maps the names operators use in ``--backends FILE`` to the class that
implements them and the providers they serve by default.  Cloud SDKs are imported only
when an operator enables their backend.
"""

from __future__ import annotations

import importlib
from typing import Any

from vcpsdk.controller.backends.base import Backend, BackendError

#: backend name → ("module:Class", providers it serves unless the operator lists others)
BACKENDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "aws": ("vcpsdk.controller.backends.aws:AwsBackend", ("aws", "aws_spot", "aws_disk")),
}


def build_backends(
    config: dict[str, dict[str, Any]], controller_id: str
) -> tuple[dict[str, Backend], dict[str, str]]:
    """Instantiate the configured cloud backends.

    Returns ``({backend name: backend}, {provider: backend name})``.

    Raises:
        ValueError: an unknown backend name or a provider claimed twice.
        BackendError: the backend cannot start (e.g. its cloud SDK is not installed).
    """
    backends: dict[str, Backend] = {}
    providers: dict[str, str] = {}
    for name, section in (config or {}).items():
        if name not in BACKENDS:
            raise ValueError(f"unknown backend {name!r}; known backends: {', '.join(BACKENDS)}")
        target, default_providers = BACKENDS[name]
        module_name, class_name = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            raise BackendError(f"backend {name} cannot be loaded: {e}") from None
        section = dict(section or {})
        served = tuple(section.pop("providers", default_providers))
        backends[name] = getattr(module, class_name)(section, controller_id)
        for provider in served:
            if provider in providers:
                raise ValueError(f"provider {provider} is served by both {providers[provider]} and {name}")
            providers[provider] = name
    return backends, providers
