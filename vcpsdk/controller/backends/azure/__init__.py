"""The Azure backend: ``azure`` and ``azure_disk`` on Azure Resource Manager.

* :mod:`.backend` — :class:`AzureBackend` (NICs and VMs, power, managed disks);
* :mod:`.errors` — ARM/Entra ID error codes mapped onto the toolkit's cloud-error tree.

The Azure SDK is imported when an :class:`AzureBackend` is built, not when this package is.
"""

from vcpsdk.controller.backends.azure.backend import NEEDS_AZURE, TAG_NODE, AzureBackend, bootstrap_script
from vcpsdk.controller.backends.azure.errors import error_class, map_error

__all__ = ["NEEDS_AZURE", "TAG_NODE", "AzureBackend", "bootstrap_script", "error_class", "map_error"]
