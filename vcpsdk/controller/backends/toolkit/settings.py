"""The operator settings every cloud backend reads the same way: credentials and the VPN catalog.

Example::

    catalog = parse_catalog(config, "aws")             # {entry name: settings}
    served = served_catalog(catalog, "aws")            # {provider: {entry name: settings}}
    entry = catalog_entry(unit, catalog)               # the unit's entry
    usable = literal(unit.cloud_params.get("secret_key"))
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from vcpsdk.controller.backends.base import BackendError, UnitContext
from vcpsdk.core.providers import all_providers, get_provider

logger = logging.getLogger("vcp.controller.backends")


def literal(value: Any) -> bool:
    """A usable credential: a non-empty string that is not an unresolved ``vault://`` reference."""
    return isinstance(value, str) and bool(value) and not value.startswith("vault://")


def parse_catalog(config: dict[str, Any], backend: str) -> dict[str, dict[str, Any]]:
    """The ``vpn_catalog`` of a backend section: ``{entry name: settings}``.

    Raises:
        BackendError: the catalog is not a mapping.
    """
    catalog = config.get("vpn_catalog") or {}
    if not isinstance(catalog, dict):
        raise BackendError(f"{backend} backend: vpn_catalog must map entry names to settings")
    return {str(name): dict(entry or {}) for name, entry in catalog.items()}


def served_catalog(
    catalog: dict[str, dict[str, Any]], config_section: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """``catalog`` served for every compute provider whose declaration names ``config_section``
    (their storage providers use it through ``private_network``)."""
    return {
        provider.name: {name: dict(entry) for name, entry in catalog.items()}
        for provider in all_providers()
        if provider.config_section == config_section and provider.unit_type == "compute"
    }


def catalog_entry(unit: UnitContext, catalog: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The unit's VPN catalog entry (storage units name theirs by ``private_network``)."""
    if unit.catalog:
        return dict(unit.catalog)
    return dict(catalog.get(str(unit.spec.get("private_network") or "default"), {}))


def complete_catalog_entry(
    unit: UnitContext,
    catalog: dict[str, dict[str, Any]],
    keys: Iterable[str],
    error: Callable[[str], Exception],
) -> dict[str, Any]:
    """The unit's VPN catalog entry, which must hold every one of ``keys``.

    Raises:
        Exception: ``error(message)`` naming the entry and the first missing key.
    """
    entry = catalog_entry(unit, catalog)
    for key in keys:
        if not entry.get(key):
            name = unit.spec.get("private_network") or "default"
            raise error(f"the vpn_catalog entry {name!r} has no {key}")
    return entry


#: the power actions that switch nodes off, and those that switch them on
POWER_OFF_ACTIONS = ("power_off", "stop", "suspend")
POWER_ON_ACTIONS = ("power_on", "start", "resume")


def powers_on(action: str) -> bool:
    """Whether a power ``action`` switches nodes on (``power_on``/``start``/``resume``) rather
    than off (``power_off``/``stop``/``suspend``).

    Raises:
        BackendError: an unknown action.
    """
    if action in POWER_OFF_ACTIONS:
        return False
    if action in POWER_ON_ACTIONS:
        return True
    raise BackendError(f"unknown power action {action!r}")


def close_quietly(clients: Iterable[Any], what: str) -> None:
    """``close()`` every SDK client of ``clients``; a failure is logged (at debug), not raised:
    closing HTTP connections is best effort."""
    for client in clients:
        try:
            client.close()
        except Exception:
            logger.debug("closing %s failed", what, exc_info=True)


def declared_param(unit: UnitContext, provider: str, name: str) -> Any:
    """The unit's ``cloud_params[name]``, else the field's default in the declaration of
    ``provider`` (``vcpsdk/core/providers/providers.yml``).

    Raises:
        KeyError: ``provider`` declares no field ``name``.

    Example::

        >>> unit = UnitContext("v", "g", "u", "sakura", "o", {"cloud_params": {}}, {})
        >>> declared_param(unit, "sakura", "memory")
        1
    """
    value = unit.cloud_params.get(name)
    if value not in (None, ""):
        return value
    found = get_provider(provider).field_named(name)
    if found is None:
        raise KeyError(f"provider {provider} declares no field {name}")
    return found.default
