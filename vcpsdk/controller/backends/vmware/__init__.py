"""The vSphere backend: ``vmware`` units as clones of a template VM (vCenter, pyvmomi).

* :mod:`.backend` — :class:`VmwareBackend` (clone → reconfigure → customize → power on, destroy);
* :mod:`.errors` — vSphere faults mapped onto the toolkit's cloud-error tree.

pyvmomi is imported when a :class:`VmwareBackend` is built, not when this package is.
"""

from vcpsdk.controller.backends.vmware.backend import NEEDS_PYVMOMI, VmwareBackend, bootstrap_script
from vcpsdk.controller.backends.vmware.errors import VSPHERE_FAULTS, map_error

__all__ = ["NEEDS_PYVMOMI", "VSPHERE_FAULTS", "VmwareBackend", "bootstrap_script", "map_error"]
