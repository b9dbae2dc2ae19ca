"""The Oracle Cloud backend: ``oracle`` and ``oracle_disk`` on OCI's Core API.

* :mod:`.backend` — :class:`OracleBackend` (instances with one VNIC, power, block volumes);
* :mod:`.errors` — OCI error codes mapped onto the toolkit's cloud-error tree.

The OCI SDK (``oci``, large) is imported when an :class:`OracleBackend` is built, not when
this package is.
"""

from vcpsdk.controller.backends.oracle.backend import NEEDS_OCI, TAG_NODE, OracleBackend, bootstrap_script
from vcpsdk.controller.backends.oracle.errors import error_class, map_error

__all__ = ["NEEDS_OCI", "TAG_NODE", "OracleBackend", "bootstrap_script", "error_class", "map_error"]
