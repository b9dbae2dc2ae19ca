"""Chameleon Cloud extensions: reserve bare-metal hosts and networks with Blazar.

Chameleon Cloud (https://www.chameleoncloud.org) only lets an instance start on a host
that the user has *reserved*.  The VC Controller starts the instances; reserving the hosts
(and, when a private VLAN is wanted, the network) is the user's job, done with the classes
of this module, which talk to Chameleon's OpenStack APIs directly (not through the VC
Controller):

* Keystone v3 (``POST <auth_url>/auth/tokens``) with an *application credential* from
  ``vcp_config.yml``, which yields a token (header ``X-Subject-Token``) and the service
  catalog;
* Blazar, the reservation service (catalog type ``reservation``, API v1 ``/leases``);
* Neutron, the network service (catalog type ``network``, ``/v2.0/networks`` and
  ``/v2.0/subnets``).

The workflow of the VCP SDK manual (§4.7)::

    from vcpsdk.vcpsdk import VcpSDK

    vcp = VcpSDK(vcc_access_token, config_dir="~/vcp_config")
    vpn_catalog = vcp.get_vpn_catalog("chameleon")

    net = vcp.get_extension("chameleon_network")       # 1. a network to attach to
    net.setup(vpn_catalog)
    if not net.network_exists():
        net.create_network()                            #    (not needed with sharedwan1)

    ext = vcp.get_extension("chameleon")                # 2. reserve hosts
    ext.setup("compute_skylake", min_instances=1, max_instances=1, vpn_catalog=vpn_catalog)
    lease = ext.reserve_host()
    lease.wait()                                        #    until the lease is ACTIVE

    spec = vcp.get_spec("chameleon", "default")         # 3. start nodes on them
    spec.reservation = lease.reservation_id
    spec.cloud_image = "CC-Ubuntu18.04"
    unit = ugroup.create_unit("bm", spec)
    ...
    ugroup.cleanup()
    lease.delete()                                      # 4. give the hosts back

Configuration (section ``chameleon`` of ``<config_dir>/vcp_config.yml``)::

    chameleon:
      application_credential_id: <id>          # required (Chameleon GUI: Identity >
      application_credential_secret: <secret>  #   Application Credentials)
      private_network: default                 # VPN catalog entry (used by the spec)
      auth_url: https://chi.uc.chameleoncloud.org:5000/v3   # optional, this default
      region_name: CHI@UC                      # optional: pick the catalog's endpoints
      project_id: <project id>                 # optional: check the token's project

The credentials must be literal values.  ``vault://...`` references are resolved by the
VC Controller when it starts instances; this extension talks to Chameleon itself and
cannot read them (yet), so it refuses them with :class:`ChameleonConfigError`.

Dates are UTC strings ``"YYYY-mm-dd HH:MM"`` (Blazar's lease date format).

Layout: :mod:`.settings` (constants and tunables), :mod:`.errors`, :mod:`.dates`,
:mod:`.keystone` (the login, by ``keystoneauth1``, a dependency of vcpsdk),
:mod:`.openrc` (configuration and HTTP), :mod:`.leases` (the lease object), :mod:`.hosts`
and :mod:`.network`; :mod:`vcpsdk.plugins.chameleon_ext` is the original import path of
the same names.

Waiting: :meth:`VcpExtResourceChameleonHostLeaseInfo.wait` polls (with
:func:`vcpsdk.core.polling.poll`, on the object's ``clock``) every
``WAIT_INTERVAL_SEC`` seconds, for ``WAIT_TIMEOUT_SEC`` seconds after the lease's start
(both module constants, read at call time, and both overridable per call).

Errors: every failure raises a subclass of :class:`vcpsdk.errors.VcpSDKError`
(:class:`ChameleonError` and its subclasses), with the HTTP status and the server's message
when there is one, after an ERROR line on logger ``vcp.sdk.chameleon``.  The VCC access
token, the application credential secret and the Keystone token are never logged nor put
in an error message.
"""

from __future__ import annotations

from vcpsdk.extensions._tunables import forward_tunables
from vcpsdk.extensions.chameleon import settings
from vcpsdk.extensions.chameleon.dates import format_date, parse_date
from vcpsdk.extensions.chameleon.errors import (
    ChameleonAuthError,
    ChameleonConfigError,
    ChameleonConflictError,
    ChameleonConnectionError,
    ChameleonError,
    ChameleonInvalidArgumentError,
    ChameleonLeaseError,
    ChameleonNotFoundError,
    ChameleonTimeoutError,
)
from vcpsdk.extensions.chameleon.hosts import VcpExtResourceChameleon
from vcpsdk.extensions.chameleon.leases import VcpExtResourceChameleonHostLeaseInfo
from vcpsdk.extensions.chameleon.network import VcpExtResourceChameleonNetwork
from vcpsdk.extensions.chameleon.openrc import VcpChameleonOpenrc
from vcpsdk.extensions.chameleon.settings import (
    DATE_FORMAT,
    DEFAULT_AUTH_URL,
    DEFAULT_PHYSICAL_NETWORK,
    EXTENSION_WINDOW_HOURS,
    LEASE_STATUSES,
    REQUEST_TIMEOUT_SEC,
    WAIT_INTERVAL_SEC,
    WAIT_TIMEOUT_SEC,
)

__all__ = [
    "DATE_FORMAT",
    "DEFAULT_AUTH_URL",
    "DEFAULT_PHYSICAL_NETWORK",
    "EXTENSION_CLASSES",
    "EXTENSION_WINDOW_HOURS",
    "LEASE_STATUSES",
    "REQUEST_TIMEOUT_SEC",
    "WAIT_INTERVAL_SEC",
    "WAIT_TIMEOUT_SEC",
    "ChameleonAuthError",
    "ChameleonConfigError",
    "ChameleonConflictError",
    "ChameleonConnectionError",
    "ChameleonError",
    "ChameleonInvalidArgumentError",
    "ChameleonLeaseError",
    "ChameleonNotFoundError",
    "ChameleonTimeoutError",
    "VcpChameleonOpenrc",
    "VcpExtResourceChameleon",
    "VcpExtResourceChameleonHostLeaseInfo",
    "VcpExtResourceChameleonNetwork",
    "format_date",
    "parse_date",
]

#: Extension name (``vcp.get_extension(name)``) → class; construct with
#: ``cls(provider_name, config_dir, vcc_access_token, verbose=0)``.
EXTENSION_CLASSES: dict[str, type[VcpChameleonOpenrc]] = {
    "chameleon": VcpExtResourceChameleon,
    "chameleon_network": VcpExtResourceChameleonNetwork,
    "chameleon_host_lease_info": VcpExtResourceChameleonHostLeaseInfo,
}

forward_tunables(__name__, settings)
