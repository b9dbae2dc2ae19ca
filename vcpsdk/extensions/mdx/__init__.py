"""mdx extension: a REST client of the mdx virtual-machine service (https://mdx.jp).

``MdxResourceExt`` talks to the mdx REST API directly (not through the VC Controller):
it lists the caller's projects, network segments and VM catalogs, deploys VMs, powers
them on and off, destroys them, and manages DNAT entries, IPv4 allow-ACLs and the
project's operation history.  docs/mdx.md lists every REST path and body it uses.

Example (as in the OCS notebooks)::

    from vcpsdk.plugins.mdx_ext import MdxResourceExt, MDX_VM_SPEC_SCHEMA

    mdx = MdxResourceExt(mdx_token)              # token from the mdx user portal
    mdx.set_current_project_by_name("my-project")
    segment_id = mdx.get_segments()[0]["uuid"]
    info = mdx.deploy_vm("vm-01", {
        "catalog": catalog_id, "template_name": template_name,
        "pack_num": 3, "pack_type": "cpu", "disk_size": 40, "gpu": "0",
        "network_adapters": [{"adapter_number": 1, "segment": segment_id}],
        "shared_key": ssh_public_key, "storage_network": "portgroup",
    })
    address = info["service_networks"][0]["ipv4_address"][0]
    mdx.power_off_vm("vm-01")
    mdx.destroy_vm("vm-01")

Layout: :mod:`.settings` (the tunables), :mod:`.errors`, :mod:`.schemas` (request
schemas and their validation), :mod:`.client` (HTTP, tokens, projects), :mod:`.network`
(segments, catalogs, DNAT, ACLs) and :mod:`.vms` (VMs and their waits);
:mod:`vcpsdk.plugins.mdx_ext` is the original import path of the same names.

Waiting: every blocking call polls (with :func:`vcpsdk.core.polling.poll`, on the client's
``clock``) with the module constants ``SLEEP_TIME_SEC`` (seconds
between polls), ``SLEEP_COUNT`` (polls for power operations and destroy) and
``DEPLOY_VM_SLEEP_COUNT`` (polls for a deploy).  They are read at call time, so a test
or a notebook can change them (``mdx_ext.SLEEP_TIME_SEC = 0``), and notebooks may use
them for their own wait loops.

Errors: every failure raises a subclass of :class:`vcpsdk.errors.VcpSDKError`
(:class:`MdxRestError` and its subclasses below), carrying the HTTP status and the mdx
server's message when there is one, after an ERROR line on logger ``vcp.sdk.mdx``.
The token is never logged nor put in an error message.
"""

from __future__ import annotations

from vcpsdk.extensions._tunables import forward_tunables
from vcpsdk.extensions.mdx import settings
from vcpsdk.extensions.mdx.errors import (
    MdxAuthError,
    MdxConflictError,
    MdxConnectionError,
    MdxInvalidArgumentError,
    MdxNotFoundError,
    MdxRestError,
    MdxRestException,
    MdxTimeoutError,
)
from vcpsdk.extensions.mdx.schemas import MDX_ALLOW_ACL_IPV4_SPEC_SCHEMA, MDX_VM_SPEC_SCHEMA, validate_spec
from vcpsdk.extensions.mdx.settings import (
    DEFAULT_MDX_ENDPOINT,
    DELETABLE_STATES,
    DEPLOY_VM_SLEEP_COUNT,
    PAGE_SIZE,
    REQUEST_TIMEOUT_SEC,
    SLEEP_COUNT,
    SLEEP_TIME_SEC,
)
from vcpsdk.extensions.mdx.vms import MdxResourceExt

__all__ = [
    "DEFAULT_MDX_ENDPOINT",
    "DELETABLE_STATES",
    "DEPLOY_VM_SLEEP_COUNT",
    "MDX_ALLOW_ACL_IPV4_SPEC_SCHEMA",
    "MDX_VM_SPEC_SCHEMA",
    "PAGE_SIZE",
    "REQUEST_TIMEOUT_SEC",
    "SLEEP_COUNT",
    "SLEEP_TIME_SEC",
    "MdxAuthError",
    "MdxConflictError",
    "MdxConnectionError",
    "MdxInvalidArgumentError",
    "MdxNotFoundError",
    "MdxResourceExt",
    "MdxRestError",
    "MdxRestException",
    "MdxTimeoutError",
    "validate_spec",
]

forward_tunables(__name__, settings)
