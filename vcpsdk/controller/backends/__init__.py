"""Backends provision nodes and disks; each cloud is one module behind one interface.

The registry (:mod:`vcpsdk.controller.backends.registry`) lists every backend, the
sandbox included, by the name operators use in ``--backends FILE``; cloud SDKs are
imported only when an operator enables their backend.
"""

from __future__ import annotations

from vcpsdk.controller.backends.registry import REGISTRY, BackendEntry, Backends, build_backends

__all__ = ["REGISTRY", "BackendEntry", "Backends", "build_backends"]
