"""Module-level tunables that live in one settings module and are read at call time.

The notebooks change an extension's waits by assigning a module constant
(``mdx_ext.SLEEP_TIME_SEC = 0``).  :func:`forward_tunables` makes such assignments, on
any public module that re-exports the constants, land in the one settings module the code
reads, and makes reads of them return its current values.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class TunablesModule(types.ModuleType):
    """A module whose tunable names are read from and written to its ``__settings__`` module."""

    def __getattribute__(self, name: str) -> Any:
        target = types.ModuleType.__getattribute__(self, "__dict__").get("__settings__")
        if target is not None and name in target.TUNABLES:
            return getattr(target, name)
        return types.ModuleType.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        target = self.__dict__.get("__settings__")
        if target is not None and name in target.TUNABLES:
            setattr(target, name, value)
        types.ModuleType.__setattr__(self, name, value)


def forward_tunables(module_name: str, settings: types.ModuleType) -> None:
    """Make the tunables (``settings.TUNABLES``) of module ``module_name`` those of ``settings``.

    Example::

        forward_tunables(__name__, settings)   # at the end of a public module
    """
    module = sys.modules[module_name]
    module.__dict__["__settings__"] = settings
    module.__class__ = TunablesModule
