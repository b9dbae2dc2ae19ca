"""The Sakura Cloud backend: ``sakura`` and ``sakura_disk`` over the IaaS API 1.1.

* :mod:`.client` — :class:`SakuraClient`, a thin typed client of the REST API (``requests``);
* :mod:`.backend` — :class:`SakuraBackend` (servers, NICs on the local switch, disks, power);
* :mod:`.errors` — Sakura's ``error_code`` values mapped onto the toolkit's cloud-error tree.

No SDK is needed: ``requests`` is a base dependency.
"""

from vcpsdk.controller.backends.sakura.backend import SakuraBackend, bootstrap_script, parse_description
from vcpsdk.controller.backends.sakura.client import SakuraApiError, SakuraClient
from vcpsdk.controller.backends.sakura.errors import SAKURA_CODES, map_error

__all__ = [
    "SAKURA_CODES",
    "SakuraApiError",
    "SakuraBackend",
    "SakuraClient",
    "bootstrap_script",
    "map_error",
    "parse_description",
]
