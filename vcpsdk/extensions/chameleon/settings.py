"""Constants and tunables of the Chameleon extensions (tunables are read at call time).

Set them on :mod:`vcpsdk.plugins.chameleon_ext` (or :mod:`vcpsdk.extensions.chameleon`):
``chameleon_ext.WAIT_INTERVAL_SEC = 1``; the change reaches this module.
"""

from __future__ import annotations

import datetime as dt

#: Keystone v3 of CHI@UC, used when ``vcp_config.yml`` has no ``chameleon.auth_url``.
DEFAULT_AUTH_URL = "https://chi.uc.chameleoncloud.org:5000/v3"
#: Format of every date this module takes or shows (UTC; Blazar's lease date format).
DATE_FORMAT = "%Y-%m-%d %H:%M"
#: A lease may be extended only this many hours (or fewer) before it ends (Chameleon rule).
EXTENSION_WINDOW_HOURS = 48
#: Physical network of a network reservation unless the VPN catalog names another.
DEFAULT_PHYSICAL_NETWORK = "physnet1"
#: Seconds between two polls of ``wait()`` (read at call time).
WAIT_INTERVAL_SEC: float = 10
#: Seconds ``wait()`` waits after the lease's start time before giving up (read at call time).
WAIT_TIMEOUT_SEC: float = 1800
#: Seconds one HTTP request may take (connect and read).
REQUEST_TIMEOUT_SEC: float = 60
#: Lease statuses as shown by Blazar (``STARTING``: being created/started, ``PENDING``: the
#: start time is not reached, ``ACTIVE``: usable, ``ERROR``: failed) plus the others Blazar
#: may report, and ``DELETED`` (set locally by ``delete()``).
LEASE_STATUSES: tuple[str, ...] = (
    "CREATING",
    "STARTING",
    "PENDING",
    "ACTIVE",
    "UPDATING",
    "TERMINATING",
    "TERMINATED",
    "DELETING",
    "ERROR",
    "DELETED",
)
#: Statuses from which a lease can no longer become ACTIVE.
DEAD_STATUSES = ("ERROR", "TERMINATING", "TERMINATED", "DELETING", "DELETED")
#: Renew the Keystone token when it expires within this many seconds.
TOKEN_MARGIN = dt.timedelta(seconds=60)
HOST_RESOURCE_TYPE = "physical:host"
NETWORK_RESOURCE_TYPE = "network"

#: the names above that a caller may change (forwarded from the public modules)
TUNABLES = frozenset({"WAIT_INTERVAL_SEC", "WAIT_TIMEOUT_SEC", "REQUEST_TIMEOUT_SEC"})
