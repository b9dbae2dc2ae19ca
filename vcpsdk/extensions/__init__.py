"""Provider extensions: clients of cloud APIs the VC Controller does not drive.

* :mod:`vcpsdk.extensions.mdx`: the mdx REST API (VMs, DNAT, ACLs);
* :mod:`vcpsdk.extensions.chameleon`: Chameleon Cloud's Blazar reservations and networks.

Both are built on the SDK's plumbing: :mod:`vcpsdk._http` for HTTP, the error tree of
:mod:`vcpsdk.errors`, and :func:`vcpsdk.core.polling.poll` for waiting.  Their original
import paths (``vcpsdk.plugins.mdx_ext``, ``vcpsdk.plugins.chameleon_ext``) stay.
"""
