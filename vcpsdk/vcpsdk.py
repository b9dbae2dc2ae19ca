"""The VCP SDK API: ``VcpSDK``, ``VcpUnitGroupClass`` and ``VcpUnitClass``.

Import it as notebooks do::

    from vcpsdk.vcpsdk import VcpSDK
    vcp = VcpSDK(vcc_access_token)          # or VcpSDK() for the local sandbox
    ug = vcp.create_ugroup('handson101')
    spec = vcp.get_spec('aws', 'small')
    spec.set_ssh_pubkey('~/.ssh/id_rsa.pub')
    unit = ug.create_unit('aws-server', spec)
    ug.df_nodes()
    ug.cleanup()

The docstrings' examples run as written in a notebook on the local sandbox after the
tutorial's first cells, which make the names they use: ``vcp = VcpSDK()``, ``ug =
vcp.create_ugroup('handson101')``, ``spec = vcp.get_spec('aws', 'small')`` with
``spec.set_ssh_pubkey('~/.ssh/id_rsa.pub')``, ``unit = ug.create_unit('aws-server', spec)``
and ``node = unit.find_nodes()[0]`` (see ``docs/api/index.md``;
``tests/docs/test_docstring_examples.py`` runs them).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import vcpsdk
from vcpsdk import _html, _views, embedded
from vcpsdk import occtr as occtr_module
from vcpsdk._views import (
    NodeViewStubs,
    Selection,
    address_list,
    as_last_read,
    check_selector,
    hybrid,
    matches,
    text_of,
)
from vcpsdk.config import (
    ACCESS_TOKEN_ENV,
    VccSettings,
    load_config,
    load_flavors,
    resolve_config_dir,
    sandbox_run_token,
    suggest,
)
from vcpsdk.core import protocol as routes
from vcpsdk.core.cci import UGROUP_TYPES, UNIT_NAME, render_vc_cci
from vcpsdk.core.protocol import CUBBYHOLE_EXTENSION
from vcpsdk.core.providers import PROVIDER_NAMES, all_providers
from vcpsdk.core.states import ERROR, NODE_OPERATIONS, TRANSITIONAL
from vcpsdk.errors import (
    VcpInvalidArgumentError,
    VcpSDKError,
    VcpUnitFailedError,
    VcpUnitGroupGoneError,
    raise_error,
)
from vcpsdk.node import VcNode
from vcpsdk.occtr import OcctrClient, b64
from vcpsdk.progress import progress_enabled
from vcpsdk.records import Vc, VcUnit
from vcpsdk.spec import (
    SPEC_CLASSES,
    VcpExtClass,
    VcpSpecClass,
    VcpSpecResource,
    make_spec,
)
from vcpsdk.vcp_config_yaml import VcpConfigYaml
from vcpsdk.waiting import Waiter, unit_is_stable

if TYPE_CHECKING:  # pandas (and jinja2 for the Styler) load on the first df_* call
    import pandas as pd
    from pandas.io.formats.style import Styler

logger = logging.getLogger("vcp.sdk")


@dataclass
class _Session:
    """What UnitGroups and units share with their SDK object."""

    client: OcctrClient
    wait_timeout_sec: int
    progress: bool = True  # show the waits' progress (vcpsdk.progress)


def _empty_cci(ugroup_name: str, ugroup_type: str = "compute") -> str:
    return render_vc_cci(ugroup_name, ugroup_type, vcpsdk.VCP_SDK_VERSION)


class VcpSDK:
    """Entry point of the SDK: UnitGroups, specs, flavors and controller information.

    The constructor reads ``<config_dir>/vcp_config.yml`` and contacts the controller
    (``GET <base>``, ``GET /vcs``, ``GET /accounts/authority``), so a wrong token or
    address fails here.  When ``vcp_config.yml`` has no ``vcc:`` section (or does not
    exist) the SDK starts or reuses a local sandbox controller instead.

    Every method that talks to the controller raises a subclass of
    :class:`~vcpsdk.errors.VcpSDKError` when a request fails, chosen by the answer:
    VcpAuthError (HTTP 401/403, e.g. ``privileged=True`` with a regular user's token),
    VcpNotFoundError (404), VcpConflictError (409), VcpInvalidArgumentError (400/422),
    VcpConnectionError (``server error``: controller unreachable).  Its message is the
    text named under ``Raises:``; the controller's own text is in ``server_message``.

    Args:
        vcc_access_token: the VC Controller access token (default ``''``).  Required when
            ``vcp_config.yml`` names a controller (else ``$VCPSDK_ACCESS_TOKEN`` is used, as
            the test kit's kernels set it); for the sandbox it may be omitted and the token
            created for you is used.
        config_dir: directory of ``vcp_config.yml`` / ``vcp_flavor.yml`` (default ``''``:
            ``$VCPSDK_CONFIG_DIR``, else ``~/vcp_config``).
        verbose: request logging at DEBUG on logger ``vcp.sdk`` (default 0): 1 logs each
            request, 2 adds the HTTP status, 3 the response body with secrets redacted.

    Raises:
        VcpInvalidArgumentError: ``vcc_access_token is required for the VC Controller at
            <host>`` (a controller is configured but no token was given).
        VcpAuthError: the token was rejected (``config vc failed``).
        VcpConnectionError: the controller cannot be reached (``server error``).
        VcpConfigError: ``vcp_config.yml`` is not valid.

    Example:
        >>> from vcpsdk.vcpsdk import VcpSDK
        >>> vcp = VcpSDK()  # the sandbox; VcpSDK(vcc_access_token) for the controller of vcp_config.yml
        >>> vcp.df_ugroups()
    """

    def __init__(self, vcc_access_token: str = "", config_dir: str = "", verbose: int = 0) -> None:
        self._config_dir = resolve_config_dir(config_dir)
        self._verbose = verbose
        config = load_config(self._config_dir)
        token = (vcc_access_token or "").strip()
        if config.vcc is None:
            vcc, sandbox_token = _sandbox_settings()
            token = token or sandbox_token
        else:
            vcc = config.vcc
            # an explicit token, else $VCPSDK_ACCESS_TOKEN, else the token file of the
            # ``vcc sandbox run`` this config points at
            token = token or os.environ.get(ACCESS_TOKEN_ENV, "").strip() or sandbox_run_token(vcc)
            if not token:
                raise_error(
                    VcpInvalidArgumentError,
                    f"vcc_access_token is required for the VC Controller at {vcc.netloc}",
                    hint=TOKEN_REQUIRED_HINT,
                )
        self._vcc = vcc
        base_url = vcc.base_url
        verify = vcc.verify
        wait_timeout = config.wait_timeout_sec or vcc.effective_wait_timeout  # also the sandbox's
        self._wait_timeout_configured = bool(config.wait_timeout_sec)
        client = OcctrClient(base_url, token, verify=verify, verbose=verbose)
        if config.vcc is None:
            client.connection_hint = SANDBOX_GONE_HINT
        client.connect()
        self._authority: dict[str, Any] = client.call(routes.AUTHORITY)
        # our controller's extensions ride along; authority() shows the original's fields only
        extensions = self._authority.pop("extensions", None)
        self._extensions: dict[str, Any] = extensions if isinstance(extensions, dict) else {}
        self._session = _Session(client, wait_timeout, progress_enabled(config.progress))

    # -- properties -----------------------------------------------------------------

    @property
    def config_dir(self) -> str:
        """The configuration directory in use (``str``), holding ``vcp_config.yml`` and
        ``vcp_flavor.yml``.  Assigning another directory re-reads its ``vcp_config.yml``
        (raising VcpConfigError when it is not valid); later ``get_spec`` and ``df_flavors``
        calls use the new directory, while the controller connection and token are kept.

        Example:
            >>> vcp.config_dir
            '.../vcp_config'
            >>> vcp.config_dir = '~/other_config'
        """
        return str(self._config_dir)

    @config_dir.setter
    def config_dir(self, value: str) -> None:
        self._config_dir = resolve_config_dir(value)

    @property
    def verbose(self) -> int:
        """Request logging level of this SDK object (``int``, 0-3), logged at DEBUG on logger
        ``vcp.sdk``: 1 logs ``[<METHOD>] <url> privileged(<bool>)`` for each request, 2 adds
        ``HTTP STATUS <code>``, 3 the response body with secrets redacted.  Assigning takes
        effect on the next request.

        Example:
            >>> import logging
            >>> logging.getLogger('vcp.sdk').setLevel(logging.DEBUG)
            >>> vcp.verbose = 2
        """
        return self._verbose

    @verbose.setter
    def verbose(self, value: int) -> None:
        self._verbose = int(value)
        self._session.client.verbose = self._verbose

    # -- controller information -------------------------------------------------------

    def authority(self) -> dict[str, Any]:
        """The authority of the token, as read when this object was created (no request).

        Returns:
            dict: a copy of the ``/accounts/authority`` answer, e.g. ``{'role': 'fullaccess',
            'user_name': 'alice', 'user_role': 'regular'}``.

        Example:
            >>> vcp.authority()['user_role']
            'superuser'
        """
        return dict(self._authority)

    @hybrid
    def vcc_info(self_or_cls: Any) -> dict[str, Any]:
        """Addresses of the controller's services, computed from the settings (no request).

        Callable on an instance or on the class (``VcpSDK.vcc_info()``).  On the class it
        reads ``vcp_config.yml`` of ``$VCPSDK_CONFIG_DIR`` (else ``~/vcp_config``), or uses
        the local sandbox (starting it if needed) when there is no ``vcc:`` section.

        Returns:
            dict: ``{'host': '<host>:<vcc_port>', 'vault_url': 'https://<host>:<vault_port>',
            'docker_registry': {'official': '<private_ip>:5000', 'user': '<private_ip>:5001',
            'base': ..., 'application': ...}}``; ``vcc_port`` defaults to 443, ``private_ip``
            to ``vcc.host``; ``base``/``application`` are the older names of
            ``official``/``user``.  Without ``vault_port`` in the config, ``vault_url`` is the
            controller's own address when the controller serves the cubbyhole API itself (this
            project's controller says so when the SDK connects), else port 8443 as in the
            original (also for the class call, which asks nothing of the controller).

        Raises:
            VcpConfigError: ``vcp_config.yml`` is not valid (call on the class).

        Example:
            >>> vcp.vcc_info()['docker_registry']['user']
            '127.0.0.1:5001'
        """
        if isinstance(self_or_cls, VcpSDK):
            vcc = self_or_cls._vcc
            served_here = CUBBYHOLE_EXTENSION in self_or_cls._extensions
        else:
            vcc = load_config("").vcc or _sandbox_settings()[0]
            served_here = False
        private_ip = vcc.private_ip or vcc.host
        official, user = f"{private_ip}:5000", f"{private_ip}:5001"
        return {
            "host": vcc.host_port,
            "vault_url": vcc.vault_url(served_by_controller=served_here),
            "docker_registry": {"official": official, "user": user, "base": official, "application": user},
        }

    def version_dict(self) -> dict[str, Any]:
        """SDK, plugin and controller versions as a dict (one ``GET /version`` request).

        Returns:
            dict: ``{'vcplib': {'filename', 'version'}, 'vcpsdk': {'filename', 'version',
            'plugin': {provider: version}}, 'vc_controller': {'host', 'name',
            'wait_timeout_sec', 'version', 'git_tag', 'plugin': {provider: version}}}``.

        Raises:
            VcpSDKError: ``oc controller version failed``.

        Example:
            >>> sorted(vcp.version_dict())
            ['vc_controller', 'vcplib', 'vcpsdk']
        """
        controller = self._session.client.call(routes.VERSION)
        return {
            "vcplib": {"filename": occtr_module.__file__, "version": vcpsdk.VCP_SDK_VERSION},
            "vcpsdk": {
                "filename": sys.modules[__name__].__file__,
                "version": vcpsdk.VCP_SDK_VERSION,
                "plugin": {p.name: p.version for p in all_providers()},
            },
            "vc_controller": {
                "host": self._vcc.host,
                "name": self._vcc.name or controller.get("name", ""),
                "wait_timeout_sec": self._session.wait_timeout_sec,
                "version": controller.get("version", ""),
                "git_tag": controller.get("git_tag", ""),
                "plugin": dict(controller.get("plugin") or {}),
            },
        }

    def version(self) -> None:
        """Print the SDK, plugin and controller versions as YAML (one ``GET /version`` request).

        The text reads with ``yaml.safe_load``: sections ``vcplib`` and ``vcpsdk``
        (``filename``, ``version``, ``plugin``) and ``vc_controller`` (``host``, ``name``,
        ``wait_timeout_sec`` -- shown as ``1000(default 15min)`` when not configured --
        ``vc_controller``, ``vc_controller_git_tag``, ``plugin``).  ``print(vcp)`` prints the
        same report.

        Returns:
            None: the report is printed.

        Raises:
            VcpSDKError: ``oc controller version failed``.

        Example:
            >>> vcp.version()
            vcplib:
              filename: ...
        """
        info = self.version_dict()
        ctl = info["vc_controller"]
        timeout = ctl["wait_timeout_sec"]
        shown = timeout if self._wait_timeout_configured else f"{timeout}(default 15min)"
        lines = [
            "vcplib:",
            f"  filename: {info['vcplib']['filename']}",
            f"  version: {info['vcplib']['version']}",
            "",
            "vcpsdk:",
            f"  filename: {info['vcpsdk']['filename']}",
            f"  version: {info['vcpsdk']['version']}",
            "",
            "  plugin:",
            *[f"    {name}: {ver}" for name, ver in info["vcpsdk"]["plugin"].items()],
            "",
            "vc_controller:",
            f"  host: {ctl['host']}",
            f"  name: {ctl['name']}",
            f"  wait_timeout_sec: {shown}",
            f"  vc_controller: {ctl['version']}",
            f"  vc_controller_git_tag: {ctl['git_tag']}",
            "",
            "  plugin:",
            *[f"    {name}: {ver}" for name, ver in ctl["plugin"].items()],
        ]
        print("\n".join(lines))

    def get_publickey(self) -> str:
        """The controller's SSH public key (one ``GET /publickey`` request).

        Add it to ``~/.ssh/authorized_keys`` of existing servers before adding them as nodes
        with an ``onpremises`` spec.

        Returns:
            str: the key line, e.g. ``'ssh-rsa AAAA... vcc'``; ``''`` if the controller sent none.

        Raises:
            VcpSDKError: ``publickey failed``.

        Example:
            >>> vcp.get_publickey().split()[0]
            'ssh-ed25519'
        """
        body = self._session.client.call(routes.PUBLICKEY)
        return str(body.get("publickey", ""))

    def get_vpn_catalog(
        self, provider: str | None = None, vpn_catalog_name: str = "default"
    ) -> dict[str, Any]:
        """The controller's VPN catalog: the cloud networks units are placed in.

        Args:
            provider: provider name, e.g. ``'aws'`` (default None: the whole catalog).
            vpn_catalog_name: entry of that provider's catalog (default ``'default'``); used
                only with ``provider``.

        Returns:
            dict: without ``provider`` the whole catalog ``{provider: {catalog_name: {...}}}``;
            with it, a copy of that entry, e.g. ``{'aws_region': 'ap-northeast-1',
            'aws_vpc_subnet_id': ..., 'private_network_ipmask': '172.30.2.0/24'}``.

        Raises:
            VcpSDKError: ``not exist in vpn_catalog, provider[<provider>]
                vpn_catalog_name[<name>]``, or ``vpn_catalog failed`` when the request fails.

        Example:
            >>> vcp.get_vpn_catalog('aws')['private_network_ipmask']
            '127.30.2.0/24'
        """
        body = self._session.client.call(routes.VPN_CATALOG)
        catalog = dict(body.get("vpn_catalog") or {})
        catalog.pop("cci_version", None)
        if provider is None:
            return catalog
        entry = (catalog.get(provider) or {}).get(vpn_catalog_name)
        if entry is None:
            raise_error(
                VcpSDKError,
                f"not exist in vpn_catalog, provider[{provider}] vpn_catalog_name[{vpn_catalog_name}]",
            )
        return dict(entry)

    def get_extension(self, provider_name: str) -> Any:
        """The provider extension called ``provider_name`` (no request).

        Args:
            provider_name: ``'chameleon'`` (host reservation), ``'chameleon_network'``
                (network reservation) or ``'chameleon_host_lease_info'`` (an existing lease).

        Returns:
            The extension object made by :meth:`VcpExtClass.find_extension`; it uses the
            ``chameleon`` section of ``vcp_config.yml`` (see ``docs/chameleon.md``).

        Raises:
            VcpInvalidArgumentError: ``no extension provider_name[<name>]; available
                extensions: ...`` for any other name.

        Example:
            Not run by the tests: reserving a host needs Chameleon Cloud and its credentials.

            >>> chameleon = vcp.get_extension('chameleon')  # doctest: +SKIP
            >>> chameleon.setup('compute_skylake')  # doctest: +SKIP
            >>> lease = chameleon.reserve_host()  # doctest: +SKIP
            >>> lease.wait(); spec.reservation = lease.reservation_id  # doctest: +SKIP
        """
        return VcpExtClass(self.config_dir, self._session.client._token).find_extension(provider_name)

    def create_empty_vc(self, ugroup_name: str, ugroup_type: str = "compute") -> Vc:
        """Create an empty UnitGroup and return its raw record (internal in the original).

        Same as :meth:`create_ugroup` (not privileged) but returns the record.

        Args:
            ugroup_name: name, unique among your UnitGroups.
            ugroup_type: ``'compute'`` or ``'storage'`` (default ``'compute'``).

        Returns:
            vcpsdk.records.Vc: the new UnitGroup's record (``vcid``, ``vcno``, ``name``,
            ``owner``, ``state``, ``type``, ``units``).

        Raises:
            VcpInvalidArgumentError: as :meth:`create_ugroup`.
            VcpSDKError: ``create vc failed``.

        Example:
            >>> vc = vcp.create_empty_vc('scratch', 'compute')
            >>> vc.name
            'scratch'
        """
        return self.create_ugroup(ugroup_name, ugroup_type)._current()

    # -- specs and flavors ---------------------------------------------------------------

    @hybrid
    def get_spec(self_or_cls: Any, provider_name: str, flavor: str) -> VcpSpecResource:
        """A new spec of ``provider_name`` initialised from ``flavor`` (no request).

        Values come from the flavor (``vcp_flavor.yml`` merged over the built-in catalog),
        from ``spec_options`` of ``vcp_config.yml`` (Base-container DNS defaults, compute
        specs) and from the provider's section of ``vcp_config.yml`` (``private_network``,
        credentials).  Callable on an instance or on the class
        (``VcpSDK.get_spec('aws', 'small')``, which uses the default config directory).

        Args:
            provider_name: e.g. ``'aws'``, ``'azure'`` or ``'aws_disk'`` (a storage spec).
            flavor: a flavor of that provider, e.g. ``'small'`` (see :meth:`df_flavors`).

        Returns:
            VcpSpecResource: an instance of the provider's class, e.g. ``VcpSpecResourceAws``.

        Raises:
            VcpInvalidArgumentError: ``no flavor provider_name[<provider>] flavor[<flavor>]``
                for an unknown provider or flavor (the message lists the known ones).
            VcpConfigError: ``vcp_config.yml`` or ``vcp_flavor.yml`` is not valid.

        Example:
            >>> spec = vcp.get_spec('aws', 'small')
            >>> spec.num_nodes = 2
            >>> spec.set_ssh_pubkey('~/.ssh/id_rsa.pub')
        """
        return make_spec(provider_name, flavor, _config_dir_of(self_or_cls))

    @hybrid
    def df_flavors(self_or_cls: Any, provider_name: str) -> pd.DataFrame:
        """The flavors of ``provider_name`` as a table (no request).

        The built-in flavors merged with ``<config_dir>/vcp_flavor.yml`` (your values win).
        Callable on an instance or on the class.

        Args:
            provider_name: e.g. ``'aws'``.

        Returns:
            pandas.DataFrame: column ``flavor`` then one column per flavor key (e.g.
            ``instance_type, volume_size, volume_type`` for aws), one row per flavor.

        Raises:
            VcpInvalidArgumentError: ``no flavor provider_name[<name>]; known providers: ...``.
            VcpConfigError: ``vcp_flavor.yml`` is not valid.

        Example:
            >>> vcp.df_flavors('aws')
        """
        if provider_name not in PROVIDER_NAMES:
            raise_error(
                VcpInvalidArgumentError,
                f"no flavor provider_name[{provider_name}]{suggest(provider_name, PROVIDER_NAMES)}"
                f"; known providers: {', '.join(PROVIDER_NAMES)}",
            )
        flavors = load_flavors(Path(_config_dir_of(self_or_cls))).get(provider_name, {})
        from vcpsdk.frames import flavors_frame  # imports pandas: only when a table is asked for

        return flavors_frame(flavors, provider_name)

    # -- UnitGroups -----------------------------------------------------------------------

    def _vcs(self, privileged: bool = False) -> list[Vc]:
        client = self._session.client
        body = client.call(routes.VCS_LIST, privileged=privileged)
        return [Vc(v, client, privileged) for v in body.get("vcs") or []]

    def create_ugroup(
        self, ugroup_name: str, ugroup_type: str = "compute", privileged: bool = False
    ) -> VcpUnitGroupClass:
        """Create an empty UnitGroup (nothing to wait for: it has no units yet).

        Args:
            ugroup_name: name, unique among the UnitGroups you see (every user's with
                ``privileged=True``).
            ugroup_type: ``'compute'`` (units of nodes) or ``'storage'`` (units of disks);
                default ``'compute'``.
            privileged: work in privileged mode: the name is checked against every user's
                UnitGroups (superuser tokens only; default False).  The returned object keeps
                reading in privileged mode; changes through it still need ``privileged=True``.

        Returns:
            VcpUnitGroupClass: the new UnitGroup.

        Raises:
            VcpInvalidArgumentError: ``ugroup_type must be 'compute' or 'storage', got ...``,
                ``ugroup_name must be a non-empty string``, or the name is taken
                (``aleady exist UnitGroup. change name or cleanup first!``).
            VcpSDKError: ``create vc failed`` or ``create vc failed: cannot find new vc``.

        Example:
            >>> ug2 = vcp.create_ugroup('handson102')
            >>> disk_ug = vcp.create_ugroup('handson102-disk', 'storage')
        """
        if ugroup_type not in UGROUP_TYPES:
            raise_error(
                VcpInvalidArgumentError, f"ugroup_type must be 'compute' or 'storage', got {ugroup_type!r}"
            )
        if not isinstance(ugroup_name, str) or not ugroup_name.strip():
            raise_error(VcpInvalidArgumentError, "ugroup_name must be a non-empty string")
        if any(vc.name == ugroup_name for vc in self._vcs(privileged)):
            raise_error(
                VcpInvalidArgumentError,
                "aleady exist UnitGroup. change name or cleanup first!",
                hint=f"vcp.get_ugroup({ugroup_name!r}) returns the existing UnitGroup; "
                f"vcp.get_ugroup({ugroup_name!r}).cleanup() deletes it.",
            )
        client = self._session.client
        created = client.call(
            routes.VC_CREATE,
            body={"cci": b64(_empty_cci(ugroup_name, ugroup_type))},
            privileged=privileged,
        )
        vcid = created.get("vcid") if isinstance(created, dict) else None
        if not vcid:
            raise_error(VcpSDKError, "create vc failed: cannot find new vc")
        vc_json = client.call(routes.VC_GET, vcid=vcid, privileged=privileged)
        return VcpUnitGroupClass(
            Vc(vc_json, client, privileged), session=self._session, privileged=privileged
        )

    def get_ugroup(self, ugroup_name: str, privileged: bool = False) -> VcpUnitGroupClass | None:
        """The first UnitGroup called ``ugroup_name``.

        Args:
            ugroup_name: the name.
            privileged: read in privileged mode, seeing every user's UnitGroups
                (superuser tokens only; default False).  The returned objects keep reading
                in privileged mode; changes made through them still need ``privileged=True``
                on each call.

        Returns:
            VcpUnitGroupClass | None: the UnitGroup, or None when none has that name.

        Raises:
            VcpSDKError: ``config vc failed``.

        Example:
            >>> ug = vcp.get_ugroup('handson101')
        """
        for vc in self._vcs(privileged):
            if vc.name == ugroup_name:
                return VcpUnitGroupClass(vc, session=self._session, privileged=privileged)
        return None

    def find_ugroups(
        self,
        ugroup_name: str = "",
        vcid: str = "",
        vcno: Any = "",
        state: str | None = None,
        ugroup_type: str = "",
        privileged: bool = False,
    ) -> list[VcpUnitGroupClass]:
        """UnitGroups matching every given filter (exact match; empty or None = no filter).

        Args:
            ugroup_name: name (default ``''``).
            vcid: UnitGroup id (default ``''``).
            vcno: UnitGroup number, int or str (default ``''``).
            state: state, e.g. ``'RUNNING'`` (default None).
            ugroup_type: ``'compute'`` or ``'storage'`` (default ``''``).
            privileged: read in privileged mode, seeing every user's UnitGroups
                (superuser tokens only; default False).  The returned objects keep reading
                in privileged mode; changes made through them still need ``privileged=True``
                on each call.

        Returns:
            list[VcpUnitGroupClass]: in the controller's order; ``[]`` when none matches.

        Raises:
            VcpSDKError: ``config vc failed``.

        Example:
            >>> [ug.name for ug in vcp.find_ugroups(state='RUNNING')]
            ['handson101']
        """
        return [
            VcpUnitGroupClass(vc, session=self._session, privileged=privileged)
            for vc in self._vcs(privileged)
            if matches(
                (vc.name, ugroup_name),
                (vc.vcid, vcid),
                (str(vc.vcno), text_of(vcno)),
                (vc.state, state),
                (vc.type, ugroup_type),
            )
        ]

    def df_ugroups(self, privileged: bool = False) -> Styler:
        """Your UnitGroups (every user's with ``privileged=True``) as a table.

        Args:
            privileged: read in privileged mode, seeing every user's UnitGroups
                (superuser tokens only; default False).

        Returns:
            pandas ``Styler`` (state cells coloured; the DataFrame is ``.data``) with columns
            ``vcno, vctype, owner, vcname, state, vcid, cdate``; ``vcid`` is shortened to 8
            characters + ``...``.

        Raises:
            VcpSDKError: ``config vc failed``.

        Example:
            >>> vcp.df_ugroups()
        """
        from vcpsdk.frames import ugroups_frame  # imports pandas: only when a table is asked for

        return ugroups_frame(self._vcs(privileged))

    def df_nodes(self, privileged: bool = False) -> Styler | list[Any]:
        """The nodes (and disks) of all your UnitGroups as one table.

        Args:
            privileged: read in privileged mode, seeing every user's UnitGroups (superuser tokens
                only; default False).

        Returns:
            pandas ``Styler`` (state cells coloured; the DataFrame is ``.data``) with columns
            ``vcno, vcname, unit_name, unit_state, node_no, node_id, node_state,
            cloud_instance_address, cloud_instance_id, cloud_instance_name, volumes`` (``node_id``
            shortened to 8 characters + ``...``; ``volumes`` is ``exists``/``none``); rows of
            storage units fill ``disk_no, disk_id, cloud_disk_id, cloud_disk_size`` instead (both
            sets when there are both kinds).  An empty list ``[]`` when there is no node.

        Raises:
            VcpSDKError: ``config vc failed``.

        Example:
            >>> vcp.df_nodes()
        """
        from vcpsdk.frames import nodes_frame  # imports pandas: only when a table is asked for

        return nodes_frame(self._vcs(privileged))

    def __str__(self) -> str:
        # the original prints the version report and returns an empty string
        self.version()
        return ""

    def __repr__(self) -> str:
        return f"<VcpSDK {self._session.client.base_url} user={self._authority.get('user_name')}>"

    def _repr_html_(self) -> str:  # notebook view: controller, user, SDK version (no request)
        return _html.sdk_html(self)


@contextmanager
def _reraise_as(message: str) -> Iterator[None]:
    """Re-raise a failed request with the SDK-level message of the original (same class,
    same status and controller message), after the request-level line was logged."""
    try:
        yield
    except VcpSDKError as e:
        text = message.format(status=e.http_status)
        logger.error(text)
        raise type(e)(text, http_status=e.http_status, server_message=e.server_message) from e


#: the hint of ``no unit unit_name[...]``
NO_UNIT_HINT = "Nothing was changed. ug.df_units() lists the units of this UnitGroup."
#: the hint of ``vcc_access_token is required ...``
TOKEN_REQUIRED_HINT = (
    "vcp_config.yml names a VC Controller: pass its access token, VcpSDK(token) (e.g. "
    "token = getpass()), or set $VCPSDK_ACCESS_TOKEN. For `vcc serve`, `vcc token create --user "
    "NAME --state-dir DIR` makes one (a sandbox's: `vcc sandbox token`; inside `vcc sandbox run` "
    "VcpSDK() reads $VCPSDK_SANDBOX_TOKEN_FILE); for a VC Controller, ask its operator. Without a vcc: "
    "host in vcp_config.yml, VcpSDK() uses the local sandbox and its own token."
)


def _unit_failed_hint(ugroup: str, unit_name: str) -> str:
    """The hint of a unit in ERROR, with the actual names."""
    return (
        f"The controller's message is after the colon. ug = vcp.get_ugroup({ugroup!r}); "
        f"ug.df_nodes() shows the nodes; ug.delete_units({unit_name!r}, force=True) removes the unit."
    )


#: the hint of a "cannot reach" error of a VcpSDK on the local sandbox
SANDBOX_GONE_HINT = (
    "The local sandbox stopped, or was restarted on another port (`vcc sandbox status` shows "
    "it): run vcp = VcpSDK() again to connect to the running one; UnitGroups are kept."
)


def _sandbox_settings() -> tuple[VccSettings, str]:
    """Settings of the embedded sandbox (started if needed) and the user's token."""
    sandbox = embedded.ensure_sandbox()
    settings = VccSettings(
        host=embedded.HOST,
        name="sandbox",
        scheme="http",
        vcc_port=sandbox.port,
        vault_port=sandbox.port,  # same server
        private_ip=embedded.HOST,
    )
    return settings, sandbox.token


def _config_dir_of(self_or_cls: Any) -> str:
    if isinstance(self_or_cls, VcpSDK):
        return self_or_cls.config_dir
    return str(resolve_config_dir(""))


class VcpUnitGroupClass:
    """A UnitGroup: a set of units of one type (compute nodes or storage disks).

    Obtain it from ``vcp.create_ugroup``, ``vcp.get_ugroup`` or ``vcp.find_ugroups``.
    ``name``, ``owner`` and ``vcid`` are cached; ``state`` and the methods read the
    controller again.  An object obtained with ``privileged=True`` keeps reading
    (properties, views, waits) in privileged mode, but each change (``create_unit``,
    ``delete_units``, ``cleanup``, ...) needs ``privileged=True`` again.  Once the
    UnitGroup is cleaned up, its members raise VcpSDKError ``no yet setup unit_group``.
    ``print(ug)`` shows ``[Vc]`` with type, name, owner, vcno, state and vcid, then the
    units in ERROR.

    Args:
        vc: the UnitGroup record (default None).
        vcp_config: unused, kept for compatibility (default ``''``).
        session: the SDK session the object works with (default None; required).
        privileged: keep reading in privileged mode (default False).

    Raises:
        VcpSDKError: ``no yet setup unit_group (use vcp.create_ugroup / get_ugroup)`` when
            constructed without a session (directly instead of through ``VcpSDK``).

    Example:
        >>> ug = vcp.get_ugroup('handson101')
        >>> print(ug)
        [Vc]
        ...
    """

    def __init__(
        self,
        vc: Vc | None = None,
        vcp_config: Any = "",
        session: _Session | None = None,
        privileged: bool = False,
    ) -> None:
        if session is None:
            raise_error(VcpUnitGroupGoneError, "no yet setup unit_group (use vcp.create_ugroup / get_ugroup)")
        assert session is not None
        self._vc: Vc | None = vc
        self._session = session
        self._client: OcctrClient = session.client
        # obtained in privileged mode: reads (properties, views, waits) stay privileged;
        # changes still need privileged=True on each call, as in the original
        self._read_privileged = privileged

    # -- plumbing ---------------------------------------------------------------------

    def _current(self) -> Vc:
        if self._vc is None:
            raise_error(VcpUnitGroupGoneError, "no yet setup unit_group")
        assert self._vc is not None
        return self._vc

    def _refresh(self, privileged: bool = False) -> Vc:
        vcid = self._current().vcid
        body = self._client.call(
            routes.VC_GET, vcid=vcid, privileged=privileged or self._read_privileged, allow_404=True
        )
        if body is None:
            self._vc = None
            raise_error(VcpUnitGroupGoneError, "no yet setup unit_group")
        self._vc = Vc(body, self._client, self._read_privileged)
        return self._vc

    def _waiter(self) -> Waiter:
        return Waiter(self._client, self._session.wait_timeout_sec, progress=self._session.progress)

    def _long_poll(
        self, route: routes.Route, privileged: bool, **where: Any
    ) -> Callable[[int | None, float], Any]:
        """The waiter's fetch of ``route`` (None once gone): with a revision, the controller
        holds the answer up to ``hold`` seconds until that revision changes."""

        def fetch(revision: int | None, hold: float) -> Any:
            params = None if revision is None else {"wait_revision": revision, "wait_sec": round(hold, 3)}
            return self._client.call(
                route, params=params, privileged=privileged, allow_404=True, read_timeout=hold + 60, **where
            )

        return fetch

    def _unit_fetch(self, unit_name: str, privileged: bool) -> Callable[[int | None, float], Any]:
        vcid = self._current().vcid
        return self._long_poll(
            routes.UNIT_GET, privileged or self._read_privileged, vcid=vcid, unit_name=unit_name
        )

    def _wait_unit(self, unit_name: str, privileged: bool = False) -> dict[str, Any] | None:
        ugroup = self._current().name
        body: dict[str, Any] | None = self._waiter().wait(
            self._unit_fetch(unit_name, privileged),
            unit_is_stable,
            lambda b: str(b.get("state")) if b else "DELETED",
            f"Full of waiting time ({unit_name})",
            label=f"{ugroup}/{unit_name}",
            resume=f"ug.wait_unit_applied({unit_name!r}) waits again, ug.get_unit({unit_name!r}).state "
            f"looks without waiting (ug = vcp.get_ugroup({ugroup!r})).",
        )
        return body

    def _unit_object(self, unit_json: dict[str, Any]) -> VcpUnitClass:
        vc = self._current()
        return VcpUnitClass(self, VcUnit(vc, unit_json))

    def _report_unit_error(self, unit_name: str, privileged: bool) -> None:
        vc = self._refresh(privileged)
        unit = vc.unit(unit_name)
        logger.error("%s\n%s", str(vc).rstrip("\n"), str(unit) if unit else "")
        raise VcpUnitFailedError(
            f"failed ({unit_name})",
            server_message=unit.error_message if unit else None,
            hint=_unit_failed_hint(vc.name, unit_name),
        )

    # -- properties -----------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The UnitGroup's name (``str``, as last read).  Assigning a new name renames the
        UnitGroup on the controller with :meth:`update_ugroup_name` (not privileged, same
        type), raising VcpInvalidArgumentError when another of your UnitGroups has it.

        Example:
            >>> ug.name
            'handson101'
            >>> ug.name = 'handson101-v2'
        """
        return self._current().name

    @name.setter
    def name(self, value: str) -> None:
        self.update_ugroup_name(value, self._current().type)

    owner = as_last_read(
        "owner",
        "The user who owns the UnitGroup (``str``, as last read; :meth:`change_owner` updates it), "
        "e.g. ``'alice'``.",
        "'...'",
    )
    vcid = as_last_read(
        "vcid",
        "The UnitGroup's id on the controller (``str``; ``df_ugroups`` shows its first 8 characters).",
        "'...'",
    )

    @property
    def state(self) -> str:
        """The UnitGroup's state read from the controller now (one request): ``RUNNING``,
        ``APPLYING``, ``DELETING`` or ``ERROR``.  Raises VcpSDKError ``no yet setup
        unit_group`` once the UnitGroup is gone.

        Example:
            >>> ug.state
            'RUNNING'
        """
        return self._refresh().state

    def __str__(self) -> str:
        vc = self._refresh() if self._vc is not None else None
        if vc is None:
            return "[Vc]\n+ (cleaned up)\n"
        text = str(vc)
        for unit in vc.units:
            if unit.state == ERROR:
                text += "\n" + str(unit)
        return text

    def __repr__(self) -> str:
        if self._vc is None:
            return "<vcpsdk.vcpsdk.VcpUnitGroupClass (cleaned up)>"
        # the state as last read (no request)
        return f"<vcpsdk.vcpsdk.VcpUnitGroupClass {self._vc.name} state={self._vc.state}>"

    def _repr_html_(self) -> str:  # notebook view: fields, units, nodes (one request)
        return _html.ugroup_html(self)

    # -- units ------------------------------------------------------------------------

    def create_unit(
        self,
        unit_name: str,
        spec: VcpSpecResource,
        wait_for: bool = True,
        privileged: bool = False,
        verbose: int = -1,
    ) -> VcpUnitClass:
        """Create a unit and its nodes (or disks) from ``spec``.

        Sends ``spec.cci(unit_name)`` to the controller; ``spec.name`` becomes ``unit_name``.
        With ``wait_for`` it waits up to ``vcc.wait_timeout_sec`` (default 1000 s), logging
        ``<STATE> ... <n> sec`` every 5 s on logger ``vcp.sdk``; after a timeout the
        controller goes on and :meth:`wait_unit_applied` or :meth:`get_unit` picks the unit
        up later.

        Args:
            unit_name: letters, digits, ``_`` and ``-``; unique in the UnitGroup.
            spec: from ``vcp.get_spec(provider, flavor)``; its type (compute or storage) must
                be the UnitGroup's.
            wait_for: wait until the unit leaves the transitional states, e.g. RUNNING
                (default True); False returns at once, the unit still in a
                transitional state (e.g. BOOTING).
            privileged: create the unit in another user's UnitGroup
                (superuser tokens only; default False).
            verbose: ignored; kept for compatibility (default -1).

        Returns:
            VcpUnitClass: the new unit.

        Raises:
            VcpInvalidArgumentError: ``already exist unit[<unit>]``, ``not much ugroup_type
                vc[<type>] and spec[<type>]``, ``unit_name[<unit>] is invalid: ...``, ``spec
                must come from get_spec(provider, flavor), ...`` or a CCI error of the spec.
            VcpSDKError: ``can't create unit`` when the controller refuses the unit (subclass
                and ``server_message`` from its answer), ``no yet setup unit_group``.
            VcpUnitFailedError: ``failed (<unit>)`` when the unit ends in ERROR (the
                controller's message is in ``server_message``).
            VcpTimeoutError: ``Full of waiting time (<unit>)``.

        Example:
            >>> spec = vcp.get_spec('aws', 'small')
            >>> spec.set_ssh_pubkey('~/.ssh/id_rsa.pub')
            >>> client = ug.create_unit('aws-client', spec)
            >>> client.state
            'RUNNING'
        """
        vc = self._refresh(privileged)
        if not isinstance(unit_name, str) or not UNIT_NAME.match(unit_name):
            raise_error(
                VcpInvalidArgumentError,
                f"unit_name[{unit_name}] is invalid: use letters, digits, '_' and '-'",
            )
        if vc.unit(unit_name) is not None:
            raise_error(
                VcpInvalidArgumentError,
                f"already exist unit[{unit_name}]",
                hint=f"ug.get_unit({unit_name!r}) returns the existing unit; "
                f"ug.delete_units({unit_name!r}, force=True) deletes it.",
            )
        if not isinstance(spec, VcpSpecResource):
            raise_error(
                VcpInvalidArgumentError,
                f"spec must come from get_spec(provider, flavor), got {type(spec).__name__}",
            )
        if spec.unit_type != vc.type:
            raise_error(
                VcpInvalidArgumentError, f"not much ugroup_type vc[{vc.type}] and spec[{spec.unit_type}]"
            )
        cci = spec.cci(unit_name)
        spec.name = unit_name
        with _reraise_as("can't create unit"):
            self._client.call(
                routes.UNIT_ADD,
                vcid=vc.vcid,
                body={"info": b64(cci), "unit_name": unit_name},
                privileged=privileged,
            )
        if not wait_for:
            body = self._client.call(
                routes.UNIT_GET, vcid=vc.vcid, unit_name=unit_name, privileged=privileged
            )
            return self._unit_object(body)
        return self.wait_unit_applied(unit_name, privileged=privileged)

    def wait_unit_applied(self, unit_name: str, privileged: bool = False) -> VcpUnitClass:
        """Wait until unit ``unit_name`` leaves the transitional states (BOOTING, DELETING, ...).

        Use it after ``create_unit(..., wait_for=False)`` or after a timeout.  Waits up to
        ``vcc.wait_timeout_sec`` (default 1000 s), logging ``<STATE> ... <n> sec`` every 5 s
        on logger ``vcp.sdk``; on timeout the operation goes on in the controller.

        Args:
            unit_name: the unit.
            privileged: read in privileged mode (superuser tokens only; default False);
                an object obtained with ``privileged=True`` reads that way anyway.

        Returns:
            VcpUnitClass: the unit, in a stable state (e.g. RUNNING).

        Raises:
            VcpInvalidArgumentError: ``no unit unit_name[<unit>]``.
            VcpUnitFailedError: ``failed (<unit>)`` when the unit ends in ERROR (the
                controller's message is in ``server_message``).
            VcpTimeoutError: ``Full of waiting time (<unit>)``.

        Example:
            >>> server = ug.create_unit('server', spec, wait_for=False)
            >>> server = ug.wait_unit_applied('server')
            >>> server.state
            'RUNNING'
        """
        body = self._wait_unit(unit_name, privileged)
        if body is None:
            raise_error(VcpInvalidArgumentError, f"no unit unit_name[{unit_name}]", hint=NO_UNIT_HINT)
        assert body is not None
        logger.info("unit %s is %s", unit_name, body.get("state"))
        if body.get("state") == ERROR:
            self._report_unit_error(unit_name, privileged)
        return self._unit_object(body)

    def get_unit(self, unit_name: str, privileged: bool = False) -> VcpUnitClass | None:
        """The unit called ``unit_name``.

        Args:
            unit_name: the unit.
            privileged: read in privileged mode (superuser tokens only; default False);
                an object obtained with ``privileged=True`` reads that way anyway.

        Returns:
            VcpUnitClass | None: the unit, or None when there is none of that name.

        Raises:
            VcpSDKError: ``config vc failed``, ``no yet setup unit_group``.

        Example:
            >>> unit = ug.get_unit('aws-server')
        """
        vc = self._refresh(privileged)
        unit = vc.unit(unit_name)
        return VcpUnitClass(self, unit) if unit else None

    def find_units(self, unit_name: str = "", privileged: bool = False) -> list[VcpUnitClass]:
        """The units of the UnitGroup, or the one called ``unit_name``.

        Args:
            unit_name: keep only the unit of this name (default ``''``: all units).
            privileged: read in privileged mode (superuser tokens only; default False);
                an object obtained with ``privileged=True`` reads that way anyway.

        Returns:
            list[VcpUnitClass]: in the controller's order; ``[]`` when none matches.

        Raises:
            VcpSDKError: ``config vc failed``, ``no yet setup unit_group``.

        Example:
            >>> [u.name for u in ug.find_units()]
            ['aws-server']
        """
        vc = self._refresh(privileged)
        return [VcpUnitClass(self, u) for u in vc.units if not unit_name or u.name == unit_name]

    def delete_units(
        self,
        unit_name: str,
        wait_for: bool = True,
        force: bool = False,
        privileged: bool = False,
        verbose: int = 0,
    ) -> None:
        """Delete unit ``unit_name``; with ``force`` also its nodes (or disks).

        Args:
            unit_name: the unit.
            wait_for: wait until the unit is gone (default True).
            force: delete the unit even though it has nodes (default False: the controller
                refuses while nodes remain).
            privileged: delete units of another user's UnitGroup
                (superuser tokens only; default False).
            verbose: ignored; kept for compatibility (default 0).

        Returns:
            None.

        Raises:
            VcpInvalidArgumentError: ``no unit unit_name[<unit>]``.
            VcpConflictError: ``delete unit failed`` when the unit still has nodes and
                ``force`` is False, is busy, or holds disks still attached to nodes.
            VcpUnitFailedError: ``failed (<unit>)`` when the deletion ends in ERROR.
            VcpTimeoutError: ``Full of waiting time (<unit>)``.

        Example:
            >>> ug.delete_units('aws-server', force=True)
            >>> ug.find_units()
            []
        """
        vc = self._refresh(privileged)
        if vc.unit(unit_name) is None:
            raise_error(VcpInvalidArgumentError, f"no unit unit_name[{unit_name}]", hint=NO_UNIT_HINT)
        self._client.call(
            routes.UNIT_DELETE,
            vcid=vc.vcid,
            unit_name=unit_name,
            body={"force": "true" if force else "false"},
            privileged=privileged,
        )
        if wait_for:
            body = self._wait_unit(unit_name, privileged)
            if body is not None and body.get("state") == ERROR:
                self._report_unit_error(unit_name, privileged)
            logger.info("delete_unit completed.")

    def cleanup(self, wait_for: bool = True, privileged: bool = False) -> None:
        """Delete every unit and node, then the UnitGroup itself (a forced delete).

        Storage units whose disks are still attached stay, with their UnitGroup (clean the
        compute UnitGroups that use them first).  Units ending in ERROR are logged, not
        raised.  With ``wait_for=False``, or once the UnitGroup is gone, this object is
        released: its members then raise VcpSDKError ``no yet setup unit_group``.

        Args:
            wait_for: wait until the UnitGroup is gone or only units that cannot be deleted
                remain (default True); logs ``cleanup completed. vc <name> is cleanup(no
                unit)``.
            privileged: clean up another user's UnitGroup (superuser tokens only; default False).

        Returns:
            None.

        Raises:
            VcpSDKError: ``failed ugroup cleanup http status(<status>)`` when the controller
                refuses (subclass by HTTP status), ``no yet setup unit_group``.
            VcpTimeoutError: ``Full of waiting time``.

        Example:
            >>> ug.cleanup()
        """
        vc = self._current()
        name, vcid = vc.name, vc.vcid
        with _reraise_as("failed ugroup cleanup http status({status})"):
            self._client.call(routes.VC_DELETE, vcid=vcid, body={"force": "true"}, privileged=privileged)
        if not wait_for:
            self._vc = None
            return

        fetch = self._long_poll(routes.VC_GET, privileged, vcid=vcid)

        def done(body: Any) -> bool:
            return body is None or all(unit_is_stable(u) for u in body.get("unit") or [])

        def describe(body: Any) -> str:
            units = (body or {}).get("unit") or []
            return (
                "\n".join(
                    f"{u.get('name')} is {u.get('state')}" for u in units if u.get("state") in TRANSITIONAL
                )
                or "DELETING"
            )

        body = self._waiter().wait(
            fetch,
            done,
            describe,
            "Full of waiting time",
            label=f"{name} (cleanup)",
            resume=f"vcp.get_ugroup({name!r}) shows what is left; its cleanup() waits again.",
        )
        if body is None:
            self._vc = None
            logger.info("cleanup completed. vc %s is cleanup(no unit)", name)
            return
        self._vc = Vc(body, self._client, self._read_privileged)
        left = ", ".join(f"{u.name}({u.state})" for u in self._vc.units)
        logger.info("cleanup completed. vc %s keeps unit(s) still in use: %s", name, left)
        errors = [u for u in self._vc.units if u.state == ERROR]
        if errors:
            logger.error("%s\n%s", str(self._vc).rstrip("\n"), "\n".join(map(str, errors)))

    def update_ugroup_name(
        self, ugroup_name: str, ugroup_type: str = "compute", privileged: bool = False
    ) -> None:
        """Rename the UnitGroup (a PUT of an empty-VC CCI); the cached ``name`` follows.

        Args:
            ugroup_name: the new name, unique among the UnitGroups you see.
            ugroup_type: kept for compatibility (default ``'compute'``); the CCI always
                carries the UnitGroup's own type, which never changes.
            privileged: rename another user's UnitGroup (superuser tokens only; default False).

        Returns:
            None.

        Raises:
            VcpInvalidArgumentError: ``aleady exist UnitGroup. change name or cleanup first!``
                when another UnitGroup has that name.
            VcpSDKError: ``update vc failed`` for other refusals (subclass by HTTP status),
                ``config vc failed``, ``no yet setup unit_group``.

        Example:
            >>> ug.update_ugroup_name('handson101-v2')
        """
        vc = self._current()
        body = self._client.call(routes.VCS_LIST, privileged=privileged)
        if any(v.get("name") == ugroup_name and v.get("vcid") != vc.vcid for v in body.get("vcs") or []):
            raise_error(VcpInvalidArgumentError, "aleady exist UnitGroup. change name or cleanup first!")
        self._client.call(
            routes.VC_RENAME,
            vcid=vc.vcid,
            body={"cci": b64(_empty_cci(ugroup_name, vc.type))},
            privileged=privileged,
        )
        self._refresh(privileged)

    def change_owner(self, new_owner: str, privileged: bool = False) -> None:
        """Give the UnitGroup to user ``new_owner`` (the cached ``owner`` follows).

        Afterwards only the new owner (or a superuser with ``privileged=True``) sees it.

        Args:
            new_owner: user name of the new owner.
            privileged: hand another user's UnitGroup over (superuser tokens only; default False).

        Returns:
            None.

        Raises:
            VcpSDKError: ``failed ugroup change owner http status(<status>)`` when the
                controller refuses (subclass by HTTP status), ``no yet setup unit_group``.

        Example:
            >>> me = vcp.authority()['user_name']  # or e.g. 'bob': a user with a token of the controller
            >>> ug.change_owner(me, privileged=True)
            >>> ug.owner == me
            True
        """
        vc = self._current()
        with _reraise_as("failed ugroup change owner http status({status})"):
            self._client.call(
                routes.VC_CHANGE_OWNER,
                vcid=vc.vcid,
                body={"owner": new_owner, "operation": "change_owner"},
                privileged=privileged,
            )
        vc.owner = new_owner

    @staticmethod
    def empty_cci(ugroup_name: str, ugroup_type: str = "compute") -> str:
        """The empty-VC CCI (YAML text) the SDK sends to create or rename a UnitGroup.

        A static method, no request.

        Args:
            ugroup_name: the UnitGroup name (also its description).
            ugroup_type: ``'compute'`` or ``'storage'`` (default ``'compute'``).

        Returns:
            str: ``- vc:`` with ``cci_version`` (the SDK version), ``type``, ``description``
            and ``name``.

        Example:
            >>> from vcpsdk.vcpsdk import VcpUnitGroupClass
            >>> print(VcpUnitGroupClass.empty_cci('handson101'))
            - vc:
                cci_version: ...
                type: compute
                description: handson101
                name: handson101
        """
        return _empty_cci(ugroup_name, ugroup_type)

    # -- views --------------------------------------------------------------------------

    def df_units(self, privileged: bool = False) -> pd.DataFrame:
        """The units of the UnitGroup as a table.

        Args:
            privileged: read in privileged mode (superuser tokens only; default False);
                an object obtained with ``privileged=True`` reads that way anyway.

        Returns:
            pandas.DataFrame: one row per unit, columns ``vctype, vcno, vcname, vc_state,
            vcid, cdate, unit_name, unit_state`` (``vcid`` shortened to 8 characters +
            ``...``); no rows when there is no unit.

        Raises:
            VcpSDKError: ``config vc failed``, ``no yet setup unit_group``.

        Example:
            >>> ug.df_units()
        """
        from vcpsdk.frames import units_frame  # imports pandas: only when a table is asked for

        return units_frame(self._refresh(privileged))

    def _scope_nodes(self, privileged: bool, unit_name: str = "") -> list[VcNode]:
        vc = self._refresh(privileged)
        return [n for u in vc.units if not unit_name or u.name == unit_name for n in u.nodes]

    def _nodes_frame(self, privileged: bool) -> Styler | list[Any]:
        from vcpsdk.frames import nodes_frame  # imports pandas: only when a table is asked for

        return nodes_frame([self._refresh(privileged)])

    df_nodes = _views.df_nodes(
        _views.UGROUP_VIEWS,
        "The nodes (or disks) of every unit of the UnitGroup as a table.",
        "storage UnitGroups",
        ">>> ug.df_nodes()",
    )(NodeViewStubs.df_nodes)
    find_nodes = _views.find_nodes_by_unit(
        _views.UGROUP_VIEWS,
        "cloud_disk_id",
        ">>> nodes = ug.find_nodes('aws-server', node_state='RUNNING')\n"
        ">>> ug.find_nodes(mapper=lambda n: n.cloud_instance_address)\n['127.30.2.10']",
    )(NodeViewStubs.find_nodes)
    find_ip_addresses = _views.find_ip_addresses(
        _views.UGROUP_VIEWS,
        "IP addresses (``cloud_instance_address``) of the nodes matching ``conditions``.",
        "``unit_name``, ``node_state``",
        ">>> ug.find_ip_addresses(unit_name='aws-server')\n['127.30.2.10']",
    )(NodeViewStubs.find_ip_addresses)


class VcpUnitClass:
    """A unit: homogeneous nodes (or disks) of one provider and spec.

    Obtain it from ``ug.create_unit``, ``ug.get_unit`` or ``ug.find_units``.  ``name``
    and ``type`` are cached; ``state`` and the methods read the controller again.  A unit
    of a UnitGroup obtained with ``privileged=True`` keeps reading in privileged mode, but
    each change needs ``privileged=True`` again.  ``print(unit)`` shows ``[VcUnit]`` with
    type, name and state (and the unit's error message, if any).

    Args:
        ugroup: the UnitGroup object the unit belongs to.
        unit: the unit record (``vcpsdk.records.VcUnit``).

    Example:
        >>> unit = ug.get_unit('aws-server')
        >>> print(unit)
        [VcUnit]
        ...
    """

    def __init__(self, ugroup: VcpUnitGroupClass, unit: VcUnit) -> None:
        self._ugroup = ugroup
        self._unit = unit

    @property
    def _client(self) -> OcctrClient:
        return self._ugroup._client

    def _where(self) -> dict[str, Any]:
        return {"vcid": self._unit.vc.vcid, "unit_name": self._unit.name}

    def _refresh(self, privileged: bool = False) -> VcUnit:
        body = self._client.call(
            routes.UNIT_GET, privileged=privileged or self._ugroup._read_privileged, **self._where()
        )
        self._unit = VcUnit(self._unit.vc, body)
        return self._unit

    @property
    def name(self) -> str:
        """The unit's name (``str``), unique in its UnitGroup.

        Example:
            >>> unit.name
            'aws-server'
        """
        return self._unit.name

    @property
    def state(self) -> str:
        """The unit's state read from the controller now (one request): e.g. ``RUNNING``,
        ``BOOTING``, ``INDEFINITE`` (nodes in different states) or ``ERROR``.  Raises
        VcpNotFoundError ``config unit failed`` once the unit is gone.

        Example:
            >>> unit.state
            'RUNNING'
        """
        return self._refresh().state

    @property
    def type(self) -> str:
        """The unit's type (``str``): ``'compute'`` (nodes) or ``'storage'`` (disks), as its
        UnitGroup's.

        Example:
            >>> unit.type
            'compute'
        """
        return self._unit.type

    def __str__(self) -> str:
        return str(self._refresh())

    def __repr__(self) -> str:
        return f"<vcpsdk.vcpsdk.VcpUnitClass {self._unit.name} state={self._unit.state}>"  # as last read

    def _repr_html_(self) -> str:  # notebook view: fields and nodes (one request)
        return _html.unit_html(self)

    def _wait(self, privileged: bool) -> dict[str, Any]:
        body = self._ugroup._wait_unit(self._unit.name, privileged)
        if body is None:
            raise_error(VcpInvalidArgumentError, f"no unit unit_name[{self._unit.name}]", hint=NO_UNIT_HINT)
        assert body is not None
        logger.info("unit %s is %s", self._unit.name, body.get("state"))
        self._unit = VcUnit(self._unit.vc, body)
        if body.get("state") == ERROR:
            self._ugroup._report_unit_error(self._unit.name, privileged)
        return body

    # -- scaling ---------------------------------------------------------------------------

    def add_nodes(
        self,
        num_add_nodes: int = 1,
        ip_addresses: list[str] | None = None,
        ip_address: str | None = None,
        mac_addresses: list[str] | None = None,
        mac_address: str | None = None,
        wait_for: bool = True,
        verbose: int = 0,
        privileged: bool = False,
    ) -> list[VcNode]:
        """Add nodes (or disks) built from the unit's spec.

        Args:
            num_add_nodes: how many (default 1); ignored when IP or MAC addresses are given.
            ip_addresses: fixed private IPs, one node each (compute units only; default None).
            ip_address: one more fixed IP, added to ``ip_addresses`` (default None).
            mac_addresses: MAC addresses (VMware/Proxmox), as many as the IPs when both are
                given (default None).
            mac_address: one more MAC address, added to ``mac_addresses`` (default None).
            wait_for: wait until the unit settles, e.g. the new nodes are RUNNING (default
                True).
            verbose: ignored; kept for compatibility (default 0).
            privileged: add nodes to another user's unit (superuser tokens only; default False).

        Returns:
            list[VcNode]: the new nodes, sorted by ``node_no``; with ``wait_for=False`` in the
            state the controller lists them in (e.g. BOOTING).

        Raises:
            VcpInvalidArgumentError: ``ip_addresses is not list``, ``mac_addresses is not
                list``, ``can't set ip_address(es) to storage``, ``mac_address_list and
                ip_address_list has element but their length are different``, ``num_add_nodes
                must be an integer >= 1, got ...``.
            VcpSDKError: ``add node failed`` when the controller refuses (subclass by HTTP
                status), ``config unit failed``.
            VcpUnitFailedError: ``failed (<unit>)`` when the unit ends in ERROR.
            VcpTimeoutError: ``Full of waiting time (<unit>)``.

        Example:
            >>> [node.cloud_instance_address for node in unit.add_nodes(2)]
            ['127.30.2.11', '127.30.2.12']
            >>> new = unit.add_nodes(ip_addresses=['127.30.2.20', '127.30.2.21'])
            >>> [node.no for node in new]
            [4, 5]
        """
        ips = address_list(ip_addresses, ip_address, "ip_addresses")
        macs = address_list(mac_addresses, mac_address, "mac_addresses")
        if ips and self.type == "storage":
            raise_error(VcpInvalidArgumentError, "can't set ip_address(es) to storage")
        if ips and macs and len(ips) != len(macs):
            raise_error(
                VcpInvalidArgumentError,
                "mac_address_list and ip_address_list has element but their length are different",
            )
        count = len(ips) or len(macs) or num_add_nodes
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise_error(
                VcpInvalidArgumentError, f"num_add_nodes must be an integer >= 1, got {num_add_nodes!r}"
            )
        before = {n.id for n in self._refresh(privileged).nodes}
        self._client.call(
            routes.UNIT_ADD_NODES,
            **self._where(),
            privileged=privileged,
            body={"ip_address_list": ips, "mac_address_list": macs, "num_nodes": count},
        )
        if wait_for:
            self._wait(privileged)
            logger.info("add_node completed.")
        else:
            self._refresh(privileged)
        return sorted((n for n in self._unit.nodes if n.id not in before), key=lambda n: n.no)

    def _select(self, op: str, count_name: str, *arguments: Any) -> list[VcNode]:
        """The nodes an ``<op>_nodes`` call names (``arguments`` as :class:`Selection`)."""
        count, node_no, cloud_instance_id, ip_addresses, ip_address, wait_for, privileged = Selection(
            *arguments
        )
        check_selector(count, node_no, cloud_instance_id, ip_addresses, ip_address)
        several = (isinstance(count, int) and count > 1) or len(ip_addresses or []) > 1
        if not wait_for and several:
            raise_error(VcpInvalidArgumentError, "invalid argment, delete multi-node must be wait_for=True")
        nodes = self._refresh(privileged).nodes
        if node_no not in (None, ""):
            targets = [n for n in nodes if str(n.no) == str(node_no)]
            if not targets:
                raise_error(VcpInvalidArgumentError, f"no node node_no[{node_no}] in unit[{self.name}]")
        elif cloud_instance_id:
            targets = [n for n in nodes if n.cloud_instance_id == cloud_instance_id]
            if not targets:
                raise_error(
                    VcpInvalidArgumentError,
                    f"no node cloud_instance_id[{cloud_instance_id}] in unit[{self.name}]",
                )
        elif ip_addresses or ip_address:
            wanted = address_list(ip_addresses, ip_address, "ip_addresses")
            by_ip = {n.cloud_instance_address: n for n in nodes}
            missing = [ip for ip in wanted if ip not in by_ip]
            if missing:
                raise_error(
                    VcpInvalidArgumentError, f"no node ip_address[{', '.join(missing)}] in unit[{self.name}]"
                )
            targets = [by_ip[ip] for ip in dict.fromkeys(wanted)]
        else:
            number = 1 if count is None else count
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                raise_error(VcpInvalidArgumentError, f"{count_name} must be an integer >= 1, got {count!r}")
            allowed = NODE_OPERATIONS[op].allowed if op in NODE_OPERATIONS else None
            eligible = [n for n in nodes if allowed is None or n.state in allowed]
            if op in ("watch", "unwatch"):  # only nodes whose watch mode would change
                eligible = [n for n in eligible if n.watch_mode == (op == "unwatch")]
            # as the original SDK: walk the nodes in ascending node_no and take up to
            # ``number`` that match; a larger count is not an error (notebooks pass the
            # size they planned, e.g. num_power_off_nodes=4 on a unit that now has 3)
            eligible.sort(key=lambda n: n.no or 0)
            targets = eligible[:number]
        if not wait_for and len(targets) > 1:
            raise_error(VcpInvalidArgumentError, "invalid argment, delete multi-node must be wait_for=True")
        return targets

    #: op → (count argument, per-node log, final log); the request is the route table's
    #: NODE_DELETE for "delete", else NODE_OPERATION with the op
    _NODE_OPS: ClassVar[dict[str, tuple[str, str, str]]] = {
        "delete": ("num_delete_nodes", "a node deleted.", "deleted node(s) completed."),
        "power_off": ("num_power_off_nodes", "a node power off start.", "power off node(s) has started."),
        "power_on": ("num_power_on_nodes", "a node power on start.", "power on node(s) has started."),
        "watch": ("num_watch_nodes", "a node watching start.", "watching node(s) has started."),
        "unwatch": ("num_watch_nodes", "a node unwatch completed.", "unwatch node(s) completed."),
    }

    def _operate(
        self,
        op: str,
        count: int | None,
        node_no: int | None,
        cloud_instance_id: str | None,
        ip_addresses: list[str] | None,
        ip_address: str | None,
        wait_for: bool,
        privileged: bool,
    ) -> list[VcNode]:
        """Apply ``op`` to the selected nodes one at a time, waiting after each (the
        controller refuses a second operation while the unit is processing)."""
        count_name, each, done = self._NODE_OPS[op]
        targets = self._select(
            op, count_name, count, node_no, cloud_instance_id, ip_addresses, ip_address, wait_for, privileged
        )
        for node in targets:
            if op == "delete":
                self._client.call(routes.NODE_DELETE, **self._where(), node_id=node.id, privileged=privileged)
            else:
                where = {**self._where(), "node_id": node.id, "operation": op}
                self._client.call(routes.NODE_OPERATION, **where, privileged=privileged)
            if wait_for:
                self._wait(privileged)
                logger.info(each)
        if wait_for:
            logger.info(done)
        return self.find_nodes(privileged=privileged)

    # one row an ``<op>_nodes`` method: operation, count parameter, docstring parts
    delete_nodes = _views.unit_operation(
        "Delete nodes (or disks) chosen by one condition.",
        "(in any state)",
        "delete node failed",
        ">>> nodes = unit.add_nodes(3)\n"
        ">>> remaining = unit.delete_nodes(node_no=2)\n"
        ">>> remaining = unit.delete_nodes(num_delete_nodes=2)\n"
        ">>> len(remaining)\n1",
        returns=(
            " (the remaining ones; with ``wait_for=False`` the deleted node may still be listed as DELETING)"
        ),
        options=("wait_for", "verbose", "privileged"),
    )(_views.delete_nodes)
    power_off_nodes = _views.unit_operation(
        "Power off nodes chosen by one condition (providers with the Power API).",
        "among those in RUNNING, CONTAINER_ERROR, SUSPENDED or HOST_ERROR",
        "power_off failed",
        ">>> [node.state for node in unit.power_off_nodes(node_no=1)]\n['POWER_OFF']\n>>> unit.df_nodes()",
        returns=" (with ``wait_for``, the chosen ones are then POWER_OFF)",
    )(_views.power_off_nodes)
    power_on_nodes = _views.unit_operation(
        "Power on nodes chosen by one condition (providers with the Power API).",
        "among those in POWER_OFF",
        "power_on failed",
        ">>> nodes = unit.power_off_nodes(ip_address='127.30.2.10')\n"
        ">>> [node.state for node in unit.power_on_nodes(ip_address='127.30.2.10')]\n['RUNNING']",
    )(_views.power_on_nodes)
    watch_nodes = _views.unit_operation(
        "Start the controller's liveness monitoring of nodes chosen by one condition.",
        "among those not watched yet (``watch_mode`` False) in RUNNING, SUSPENDED, POWER_OFF or STOPPED",
        "watch failed",
        ">>> [node.watch_mode for node in unit.watch_nodes(node_no=1)]\n[True]",
        returns=" (see their ``watch_mode``)",
    )(_views.watch_nodes)
    unwatch_nodes = _views.unit_operation(
        "Stop the controller's liveness monitoring of nodes chosen by one condition.",
        "among those watched (``watch_mode`` True) in RUNNING, SUSPENDED, POWER_OFF or STOPPED",
        "unwatch failed",
        ">>> nodes = unit.add_nodes(1)\n"
        ">>> unit.watch()\n"
        ">>> [node.watch_mode for node in unit.unwatch_nodes(num_watch_nodes=2)]\n[False, False]",
        returns=" (see their ``watch_mode``)",
        options=("privileged", "verbose"),
        details=(
            "  The nodes are processed one at a time and the SDK always waits for the unit to settle "
            "after each request (there is no ``wait_for``), so several nodes may be chosen."
        ),
    )(_views.unwatch_nodes)

    def watch(self, wait_for: bool = True, privileged: bool = False) -> None:
        """Start the controller's liveness monitoring of every node of the unit.

        The original recommends :meth:`power_on_nodes` / :meth:`watch_nodes` instead.

        Args:
            wait_for: wait until the unit settles (default True).
            privileged: watch the nodes of another user's unit
                (superuser tokens only; default False).

        Returns:
            None.

        Raises:
            VcpInvalidArgumentError: ``watch only compute unit``.
            VcpSDKError: ``watch unit failed`` when the controller refuses (subclass by HTTP
                status).
            VcpUnitFailedError: ``failed (<unit>)`` when the unit ends in ERROR.
            VcpTimeoutError: ``Full of waiting time (<unit>)``.

        Example:
            >>> unit.watch()
        """
        if self.type != "compute":
            raise_error(VcpInvalidArgumentError, "watch only compute unit")
        self._client.call(routes.UNIT_OPERATION, **self._where(), operation="watch", privileged=privileged)
        if wait_for:
            self._wait(privileged)
            logger.info("watching successe.")

    def unwatch(self, privileged: bool = False) -> None:
        """Stop the controller's liveness monitoring of every node of the unit.

        Sends one request and returns without waiting.  The original recommends
        :meth:`power_off_nodes` / :meth:`unwatch_nodes` instead.

        Args:
            privileged: stop watching the nodes of another user's unit
                (superuser tokens only; default False).

        Returns:
            None.

        Raises:
            VcpInvalidArgumentError: ``unwatch only compute unit``.
            VcpSDKError: ``unwatch unit failed`` (subclass by HTTP status) when the controller refuses.

        Example:
            >>> unit.unwatch()
        """
        if self.type != "compute":
            raise_error(VcpInvalidArgumentError, "unwatch only compute unit")
        self._client.call(routes.UNIT_OPERATION, **self._where(), operation="unwatch", privileged=privileged)

    def wait_nodes_applied(self, privileged: bool = False) -> None:
        """Wait until the unit (and, when INDEFINITE, each node) leaves the transitional states.

        Use it after node operations that do not wait (``node.suspend()``, ...,
        ``wait_for=False``).  Waits up to ``vcc.wait_timeout_sec`` (default 1000 s), logging
        ``<STATE> ... <n> sec`` every 5 s on logger ``vcp.sdk``.

        Args:
            privileged: read in privileged mode (superuser tokens only; default False);
                an object obtained with ``privileged=True`` reads that way anyway.

        Returns:
            None.

        Raises:
            VcpSDKError: ``no unit unit_name[<unit>]`` when the unit is gone.
            VcpUnitFailedError: ``failed (<unit>)`` when the unit ends in ERROR.
            VcpTimeoutError: ``Full of waiting time (<unit>)``.

        Example:
            >>> node.suspend()
            True
            >>> unit.wait_nodes_applied()
        """
        self._wait(privileged)

    # -- views --------------------------------------------------------------------------

    def _scope_nodes(self, privileged: bool, unit_name: str = "") -> list[VcNode]:
        return self._refresh(privileged).nodes

    def _nodes_frame(self, privileged: bool) -> Styler | list[Any]:
        from vcpsdk.frames import unit_nodes_frame  # imports pandas: only when a table is asked for

        return unit_nodes_frame(self._refresh(privileged))

    find_nodes = _views.find_nodes(
        _views.UNIT_VIEWS,
        "cloud_instance_id",
        ">>> node = unit.find_nodes(node_no=1)[0]\n>>> running = unit.find_nodes(node_state='RUNNING')",
    )(NodeViewStubs.find_nodes)
    find_ip_addresses = _views.find_ip_addresses(
        _views.UNIT_VIEWS,
        "IP addresses (``cloud_instance_address``) of this unit's nodes matching ``conditions``.",
        "``node_state``, ``node_no``",
        ">>> unit.find_ip_addresses(node_state='RUNNING')\n['127.30.2.10']",
    )(NodeViewStubs.find_ip_addresses)
    df_nodes = _views.df_nodes(
        _views.UNIT_VIEWS,
        "The nodes (or disks) of this unit as a table.",
        "storage units",
        ">>> unit.df_nodes()",
    )(NodeViewStubs.df_nodes)


# Import paths the corpus uses: ``from vcpsdk.vcpsdk import VcpConfigYaml`` etc.
__all__ = [
    "SPEC_CLASSES",
    "VcNode",
    "VcpConfigYaml",
    "VcpExtClass",
    "VcpSDK",
    "VcpSDKError",
    "VcpSpecClass",
    "VcpSpecResource",
    "VcpUnitClass",
    "VcpUnitGroupClass",
]
