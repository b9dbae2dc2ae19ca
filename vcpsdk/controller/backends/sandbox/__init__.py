"""The sandbox backend: every provider, offline, nodes are SSH endpoints on loopback addresses.

* :mod:`.backend` — :class:`SandboxBackend` (addresses, nodes, power, disks);
* :mod:`.nodes` — :class:`~.nodes.NodeHub`, the asyncssh endpoints of the running nodes.
"""

from vcpsdk.controller.backends.sandbox.backend import SandboxBackend, default_catalog

__all__ = ["SandboxBackend", "default_catalog"]
