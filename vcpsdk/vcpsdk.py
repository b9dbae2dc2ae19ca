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
"""

from __future__ import annotations

import inspect
import logging
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pandas as pd
from pandas.io.formats.style import Styler

import vcpsdk
from vcpsdk import embedded
from vcpsdk import occtr as occtr_module
from vcpsdk.config import (
    VccSettings,
    VcpConfig,
    load_config,
    load_flavors,
    resolve_config_dir,
    suggest,
)
from vcpsdk.errors import (
    VcpInvalidArgumentError,
    VcpSDKError,
    VcpUnitFailedError,
    raise_error,
)
from vcpsdk.frames import (
    flavors_frame,
    nodes_frame,
    ugroups_frame,
    unit_nodes_frame,
    units_frame,
)
from vcpsdk.node import VcNode
from vcpsdk.occtr import OcctrClient, b64
from vcpsdk.providers import PROVIDER_NAMES, all_providers
from vcpsdk.records import Vc, VcUnit
from vcpsdk.spec import (
    SPEC_CLASSES,
    VcpExtClass,
    VcpSpecClass,
    VcpSpecResource,
    dump_cci,
    make_spec,
)
from vcpsdk.states import ERROR, NODE_OPERATIONS, TRANSITIONAL
from vcpsdk.vcp_config_yaml import VcpConfigYaml
from vcpsdk.waiting import Waiter, unit_is_stable

logger = logging.getLogger("vcp.sdk")

UNIT_NAME = re.compile(r"^[a-zA-Z0-9_\-]+$")
UGROUP_TYPES = ("compute", "storage")
F = TypeVar("F", bound=Callable[..., Any])


class _hybrid:
    """A method callable on the class (``VcpSDK.get_spec(...)``) or on an instance."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        wraps(func)(self)
        parameters = list(inspect.signature(func).parameters.values())[1:]
        # help() and inspect show the documented signature, without self/cls
        self.__signature__ = inspect.signature(func).replace(parameters=parameters)

    def __get__(self, obj: Any, objtype: type | None = None) -> Callable[..., Any]:
        target = obj if obj is not None else objtype

        @wraps(self.func)
        def bound(*args: Any, **kwargs: Any) -> Any:
            return self.func(target, *args, **kwargs)

        bound.__signature__ = self.__signature__  # type: ignore[attr-defined]
        return bound


@dataclass
class _Session:
    """What UnitGroups and units share with their SDK object."""

    client: OcctrClient
    config: VcpConfig
    wait_timeout_sec: int


def _empty_cci(ugroup_name: str, ugroup_type: str = "compute") -> str:
    return dump_cci([{
        "vc": {
            "cci_version": vcpsdk.VCP_SDK_VERSION,
            "type": ugroup_type,
            "description": ugroup_name,
            "name": ugroup_name,
        }
    }])


def _check_selector(
    count: int | None,
    node_no: int | None,
    cloud_instance_id: str | None,
    ip_addresses: list[str] | None,
    ip_address: str | None,
) -> None:
    given = [v for v in (count, node_no, cloud_instance_id, ip_addresses, ip_address)
             if v not in (None, [], "")]
    if len(given) > 1:
        raise_error(VcpInvalidArgumentError, "invalid argment, one condition parameter allowed")


class VcpSDK:
    """Entry point of the SDK: UnitGroups, specs, flavors and controller information.

    Args:
        vcc_access_token: the VC Controller access token.  With no configuration
            (no ``vcp_config.yml``) it may be omitted: the SDK then starts or reuses
            a local sandbox controller and uses the token created for you.
        config_dir: directory of ``vcp_config.yml`` / ``vcp_flavor.yml``; default
            ``$VCPSDK_CONFIG_DIR``, else ``~/vcp_config``.
        verbose: 1 logs each request, 2 adds the HTTP status, 3 the (redacted) body.

    The constructor contacts the controller (``GET <base>``, ``GET /vcs``,
    ``GET /accounts/authority``), so a wrong token fails here.

    Raises:
        VcpAuthError: the token was rejected (``config vc failed``, HTTP 403).
        VcpConnectionError: the controller cannot be reached (``server error``).

    Example:
        >>> vcp = VcpSDK(vcc_access_token)  # doctest: +SKIP
        >>> vcp.df_ugroups()                # doctest: +SKIP
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
            if not token:
                raise_error(
                    VcpInvalidArgumentError,
                    f"vcc_access_token is required for the VC Controller at {vcc.netloc}",
                )
        self._vcc = vcc
        base_url = vcc.base_url
        verify = vcc.insecure_request_warning is not True
        wait_timeout = vcc.effective_wait_timeout
        self._wait_timeout_configured = bool(config.vcc and config.vcc.wait_timeout_sec)
        client = OcctrClient(base_url, token, verify=verify, verbose=verbose)
        client.connect()
        self._authority: dict[str, Any] = client.get("/accounts/authority", "authority error")
        self._session = _Session(client, config, wait_timeout)

    # -- properties -----------------------------------------------------------------

    @property
    def config_dir(self) -> str:
        """The configuration directory in use."""
        return str(self._config_dir)

    @config_dir.setter
    def config_dir(self, value: str) -> None:
        self._config_dir = resolve_config_dir(value)
        self._session.config = load_config(self._config_dir)

    @property
    def verbose(self) -> int:
        """Request logging level (0-3)."""
        return self._verbose

    @verbose.setter
    def verbose(self, value: int) -> None:
        self._verbose = int(value)
        self._session.client.verbose = self._verbose

    # -- controller information -------------------------------------------------------

    def authority(self) -> dict[str, Any]:
        """The token's authority, e.g. ``{'role': 'fullaccess', 'user_name': 'alice',
        'user_role': 'regular'}``."""
        return dict(self._authority)

    @_hybrid
    def vcc_info(self_or_cls: Any) -> dict[str, Any]:
        """Addresses of the controller's services (also callable as ``VcpSDK.vcc_info()``).

        Returns:
            ``{"host": "<host>:<port>", "vault_url": "https://<host>:<vault_port>",
            "docker_registry": {"official": "<private_ip>:5000", "user": "<private_ip>:5001",
            "base": ..., "application": ...}}`` (``base``/``application`` are the
            older names of the same registries).
        """
        if isinstance(self_or_cls, VcpSDK):
            vcc = self_or_cls._vcc
        else:
            vcc = load_config("").vcc or _sandbox_settings()[0]
        private_ip = vcc.private_ip or vcc.host
        official, user = f"{private_ip}:5000", f"{private_ip}:5001"
        return {
            "host": vcc.host_port,
            "vault_url": f"https://{vcc.host}:{vcc.vault_port}",
            "docker_registry": {"official": official, "user": user, "base": official,
                                "application": user},
        }

    def version_dict(self) -> dict[str, Any]:
        """Versions as a dict: ``{vcplib: {filename, version}, vcpsdk: {filename, version,
        plugin}, vc_controller: {host, name, wait_timeout_sec, version, git_tag, plugin}}``."""
        controller = self._session.client.get("/version", "oc controller version failed")
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
        """Print the SDK and controller versions as YAML (``yaml.safe_load`` reads it).

        Scripts read ``yaml.safe_load(out)['vc_controller']['vc_controller']``.
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
        """The controller's SSH public key (install it on on-premises servers)."""
        body = self._session.client.get("/publickey", "publickey failed")
        return str(body.get("publickey", ""))

    def get_vpn_catalog(
        self, provider: str | None = None, vpn_catalog_name: str = "default"
    ) -> dict[str, Any]:
        """The controller's VPN catalog.

        Args:
            provider: e.g. ``'aws'``; None returns the whole catalog
                ``{provider: {catalog_name: {...}}}``.
            vpn_catalog_name: entry of the provider's catalog (``'default'``).

        Returns:
            With a provider, the entry itself, e.g. ``{'aws_region': ...,
            'private_network_ipmask': '127.30.2.0/24'}``.

        Raises:
            VcpSDKError: ``not exist in vpn_catalog, provider[...] vpn_catalog_name[...]``.
        """
        body = self._session.client.get("/vpn_catalog", "vpn_catalog failed")
        catalog = dict(body.get("vpn_catalog") or {})
        catalog.pop("cci_version", None)
        if provider is None:
            return catalog
        entry = (catalog.get(provider) or {}).get(vpn_catalog_name)
        if entry is None:
            raise_error(
                VcpSDKError,
                f"not exist in vpn_catalog, provider[{provider}] "
                f"vpn_catalog_name[{vpn_catalog_name}]",
            )
        return dict(entry)

    def get_extension(self, provider_name: str) -> Any:
        """The extension object of ``provider_name`` (e.g. ``'chameleon'`` in the original).

        Raises:
            VcpInvalidArgumentError: ``no extension provider_name[...]``.
        """
        return VcpExtClass(self.config_dir, "").find_extension(provider_name)

    def create_empty_vc(self, ugroup_name: str, ugroup_type: str = "compute") -> Vc:
        """Create an empty UnitGroup and return its raw record (internal in the original)."""
        return self.create_ugroup(ugroup_name, ugroup_type)._current()

    # -- specs and flavors ---------------------------------------------------------------

    @_hybrid
    def get_spec(self_or_cls: Any, provider_name: str, flavor: str) -> VcpSpecResource:
        """A spec of ``provider_name`` initialised from ``flavor``.

        Callable on an instance or on the class (``VcpSDK.get_spec('aws', 'small')``).

        Raises:
            VcpInvalidArgumentError: ``no flavor provider_name[...] flavor[...]`` for an
                unknown provider or flavor (the message lists the known ones).

        Example:
            >>> spec = vcp.get_spec('aws', 'small')  # doctest: +SKIP
        """
        return make_spec(provider_name, flavor, _config_dir_of(self_or_cls))

    @_hybrid
    def df_flavors(self_or_cls: Any, provider_name: str) -> pd.DataFrame:
        """The flavors of ``provider_name`` as a DataFrame (``flavor`` + spec keys).

        Raises:
            VcpInvalidArgumentError: unknown provider.
        """
        if provider_name not in PROVIDER_NAMES:
            raise_error(
                VcpInvalidArgumentError,
                f"no flavor provider_name[{provider_name}]{suggest(provider_name, PROVIDER_NAMES)}"
                f"; known providers: {', '.join(PROVIDER_NAMES)}",
            )
        flavors = load_flavors(Path(_config_dir_of(self_or_cls))).get(provider_name, {})
        return flavors_frame(flavors)

    # -- UnitGroups -----------------------------------------------------------------------

    def _vcs(self, privileged: bool = False) -> list[Vc]:
        client = self._session.client
        body = client.get("/vcs", "config vc failed", privileged=privileged)
        return [Vc(v, client, privileged) for v in body.get("vcs") or []]

    def create_ugroup(
        self, ugroup_name: str, ugroup_type: str = "compute", privileged: bool = False
    ) -> VcpUnitGroupClass:
        """Create an empty UnitGroup.

        Args:
            ugroup_name: name, unique among your UnitGroups.
            ugroup_type: ``'compute'`` (nodes) or ``'storage'`` (disks).

        Raises:
            VcpInvalidArgumentError: bad type, or a UnitGroup with that name exists
                (``aleady exist UnitGroup. change name or cleanup first!``).
        """
        if ugroup_type not in UGROUP_TYPES:
            raise_error(VcpInvalidArgumentError,
                        f"ugroup_type must be 'compute' or 'storage', got {ugroup_type!r}")
        if not isinstance(ugroup_name, str) or not ugroup_name.strip():
            raise_error(VcpInvalidArgumentError, "ugroup_name must be a non-empty string")
        if any(vc.name == ugroup_name for vc in self._vcs(privileged)):
            raise_error(VcpInvalidArgumentError,
                        "aleady exist UnitGroup. change name or cleanup first!")
        client = self._session.client
        created = client.request("POST", "/vcs", "create vc failed",
                                 body={"cci": b64(_empty_cci(ugroup_name, ugroup_type))},
                                 privileged=privileged)
        vcid = created.get("vcid") if isinstance(created, dict) else None
        if not vcid:
            raise_error(VcpSDKError, "create vc failed: cannot find new vc")
        vc_json = client.get(f"/vcs/{vcid}", "config vc failed", privileged=privileged)
        return VcpUnitGroupClass(Vc(vc_json, client, privileged), session=self._session,
                                 privileged=privileged)

    def get_ugroup(self, ugroup_name: str, privileged: bool = False) -> VcpUnitGroupClass | None:
        """The UnitGroup called ``ugroup_name``, or None."""
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
        """UnitGroups matching every given filter (empty/None = no filter)."""
        found = []
        for vc in self._vcs(privileged):
            if ugroup_name and vc.name != ugroup_name:
                continue
            if vcid and vc.vcid != vcid:
                continue
            if vcno not in ("", None) and str(vc.vcno) != str(vcno):
                continue
            if state and vc.state != state:
                continue
            if ugroup_type and vc.type != ugroup_type:
                continue
            found.append(VcpUnitGroupClass(vc, session=self._session, privileged=privileged))
        return found

    def df_ugroups(self, privileged: bool = False) -> Styler:
        """UnitGroups as a styled DataFrame: ``vcno, vctype, owner, vcname, state, vcid, cdate``."""
        return ugroups_frame(self._vcs(privileged))

    def df_nodes(self, privileged: bool = False) -> Styler | list[Any]:
        """Nodes of all UnitGroups as a styled DataFrame; ``[]`` when there is none."""
        return nodes_frame(self._vcs(privileged))

    def __str__(self) -> str:
        # the original prints the version report and returns an empty string
        self.version()
        return ""

    def __repr__(self) -> str:
        return f"<VcpSDK {self._session.client.base_url} user={self._authority.get('user_name')}>"


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


def _sandbox_settings() -> tuple[VccSettings, str]:
    """Settings of the embedded sandbox (started if needed) and the user's token."""
    sandbox = embedded.ensure_sandbox()
    settings = VccSettings(host=embedded.HOST, name="sandbox", scheme="http",
                           vcc_port=sandbox.port, private_ip=embedded.HOST)
    return settings, sandbox.token


def _config_dir_of(self_or_cls: Any) -> str:
    if isinstance(self_or_cls, VcpSDK):
        return self_or_cls.config_dir
    return str(resolve_config_dir(""))


class VcpUnitGroupClass:
    """A UnitGroup: a set of units (compute nodes or storage disks).

    Obtain it from ``vcp.create_ugroup``, ``vcp.get_ugroup`` or ``vcp.find_ugroups``.
    """

    def __init__(
        self,
        vc: Vc | None = None,
        vcp_config: Any = "",
        session: _Session | None = None,
        privileged: bool = False,
    ) -> None:
        if session is None:
            raise_error(VcpSDKError, "no yet setup unit_group (use vcp.create_ugroup / get_ugroup)")
        assert session is not None
        self._vc: Vc | None = vc
        self._session = session
        # obtained in privileged mode: reads (properties, views, waits) stay privileged;
        # changes still need privileged=True on each call, as in the original
        self._read_privileged = privileged

    # -- plumbing ---------------------------------------------------------------------

    @property
    def _client(self) -> OcctrClient:
        return self._session.client

    def _current(self) -> Vc:
        if self._vc is None:
            raise_error(VcpSDKError, "no yet setup unit_group")
        assert self._vc is not None
        return self._vc

    def _refresh(self, privileged: bool = False) -> Vc:
        vcid = self._current().vcid
        body = self._client.get(f"/vcs/{vcid}", "config vc failed",
                                privileged=privileged or self._read_privileged, allow_404=True)
        if body is None:
            self._vc = None
            raise_error(VcpSDKError, "no yet setup unit_group")
        self._vc = Vc(body, self._client, self._read_privileged)
        return self._vc

    def _waiter(self) -> Waiter:
        return Waiter(self._client, self._session.wait_timeout_sec)

    def _unit_fetch(self, unit_name: str, privileged: bool) -> Callable[[int | None, float], Any]:
        vcid = self._current().vcid

        def fetch(revision: int | None, hold: float) -> Any:
            params = None
            if revision is not None:
                params = {"wait_revision": revision, "wait_sec": round(hold, 3)}
            return self._client.get(
                f"/vcs/{vcid}/{unit_name}", "config unit failed", params=params,
                privileged=privileged or self._read_privileged, allow_404=True,
                read_timeout=hold + 60,
            )

        return fetch

    def _wait_unit(self, unit_name: str, privileged: bool = False) -> dict[str, Any] | None:
        body: dict[str, Any] | None = self._waiter().wait(
            self._unit_fetch(unit_name, privileged),
            unit_is_stable,
            lambda b: str(b.get("state")) if b else "DELETED",
            f"Full of waiting time ({unit_name})",
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
            f"failed ({unit_name})", server_message=unit.error_message if unit else None
        )

    # -- properties -----------------------------------------------------------------------

    @property
    def name(self) -> str:
        """UnitGroup name; assigning renames it on the controller."""
        return self._current().name

    @name.setter
    def name(self, value: str) -> None:
        self.update_ugroup_name(value, self._current().type)

    @property
    def owner(self) -> str:
        """User who owns the UnitGroup."""
        return self._current().owner

    @property
    def vcid(self) -> str:
        """Id of the UnitGroup on the controller."""
        return self._current().vcid

    @property
    def state(self) -> str:
        """Current state (read from the controller): RUNNING, APPLYING, DELETING, ERROR."""
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
        name = self._vc.name if self._vc else "(cleaned up)"
        return f"<vcpsdk.vcpsdk.VcpUnitGroupClass {name}>"

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

        Args:
            unit_name: letters, digits, ``_`` and ``-``; unique in the UnitGroup.
            spec: from ``vcp.get_spec(provider, flavor)``; its type must match the
                UnitGroup's type.  ``spec.name`` becomes ``unit_name``.
            wait_for: wait until the unit is RUNNING (or ERROR); with False, call
                ``wait_unit_applied(unit_name)`` later.

        Returns:
            The new unit.

        Raises:
            VcpInvalidArgumentError: ``already exist unit[...]``,
                ``not much ugroup_type vc[...] and spec[...]``, bad name or spec.
            VcpUnitFailedError: ``failed (<unit>)`` when the unit ends in ERROR.
            VcpTimeoutError: ``Full of waiting time (<unit>)``.

        Example:
            >>> unit = ug.create_unit('aws-server', spec)  # doctest: +SKIP
        """
        vc = self._refresh(privileged)
        if not isinstance(unit_name, str) or not UNIT_NAME.match(unit_name):
            raise_error(VcpInvalidArgumentError,
                        f"unit_name[{unit_name}] is invalid: use letters, digits, '_' and '-'")
        if vc.unit(unit_name) is not None:
            raise_error(VcpInvalidArgumentError, f"already exist unit[{unit_name}]")
        if not isinstance(spec, VcpSpecResource):
            raise_error(VcpInvalidArgumentError,
                        f"spec must come from get_spec(provider, flavor), got {type(spec).__name__}")
        if spec.unit_type != vc.type:
            raise_error(VcpInvalidArgumentError,
                        f"not much ugroup_type vc[{vc.type}] and spec[{spec.unit_type}]")
        cci = spec.cci(unit_name)
        spec.name = unit_name
        with _reraise_as("can't create unit"):
            self._client.request("POST", f"/vcs/{vc.vcid}", "add unit failed",
                                 body={"info": b64(cci), "unit_name": unit_name},
                                 privileged=privileged)
        if not wait_for:
            body = self._client.get(f"/vcs/{vc.vcid}/{unit_name}", "config unit failed",
                                    privileged=privileged)
            return self._unit_object(body)
        return self.wait_unit_applied(unit_name, privileged=privileged)

    def wait_unit_applied(self, unit_name: str, privileged: bool = False) -> VcpUnitClass:
        """Wait until unit ``unit_name`` is RUNNING (or another stable state).

        Raises:
            VcpUnitFailedError: the unit ended in ERROR.
            VcpTimeoutError: ``Full of waiting time (<unit>)``.
        """
        body = self._wait_unit(unit_name, privileged)
        if body is None:
            raise_error(VcpInvalidArgumentError, f"no unit unit_name[{unit_name}]")
        assert body is not None
        logger.info("unit %s is %s", unit_name, body.get("state"))
        if body.get("state") == ERROR:
            self._report_unit_error(unit_name, privileged)
        return self._unit_object(body)

    def get_unit(self, unit_name: str, privileged: bool = False) -> VcpUnitClass | None:
        """The unit called ``unit_name``, or None."""
        vc = self._refresh(privileged)
        unit = vc.unit(unit_name)
        return VcpUnitClass(self, unit) if unit else None

    def find_units(self, unit_name: str = "", privileged: bool = False) -> list[VcpUnitClass]:
        """All units, or those called ``unit_name``."""
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
        """Delete unit ``unit_name``; ``force=True`` also deletes its nodes.

        Raises:
            VcpInvalidArgumentError: ``no unit unit_name[...]``.
            VcpConflictError: the unit still has nodes and ``force`` is False.
        """
        vc = self._refresh(privileged)
        if vc.unit(unit_name) is None:
            raise_error(VcpInvalidArgumentError, f"no unit unit_name[{unit_name}]")
        self._client.request("DELETE", f"/vcs/{vc.vcid}/{unit_name}", "delete unit failed",
                             body={"force": "true" if force else "false"}, privileged=privileged)
        if wait_for:
            body = self._wait_unit(unit_name, privileged)
            if body is not None and body.get("state") == ERROR:
                self._report_unit_error(unit_name, privileged)
            logger.info("delete_unit completed.")

    def cleanup(self, wait_for: bool = True, privileged: bool = False) -> None:
        """Delete every unit and node, then the UnitGroup itself.

        Storage units whose disks are still attached stay (clean the compute
        UnitGroups that use them first).
        """
        vc = self._current()
        name, vcid = vc.name, vc.vcid
        with _reraise_as("failed ugroup cleanup http status({status})"):
            self._client.request("DELETE", f"/vcs/{vcid}", "delete vc failed",
                                 body={"force": "true"}, privileged=privileged)
        if not wait_for:
            self._vc = None
            return

        def fetch(revision: int | None, hold: float) -> Any:
            params = None
            if revision is not None:
                params = {"wait_revision": revision, "wait_sec": round(hold, 3)}
            return self._client.get(f"/vcs/{vcid}", "config vc failed", params=params,
                                    privileged=privileged, allow_404=True,
                                    read_timeout=hold + 60)

        def done(body: Any) -> bool:
            return body is None or all(unit_is_stable(u) for u in body.get("unit") or [])

        def describe(body: Any) -> str:
            units = (body or {}).get("unit") or []
            return "\n".join(f"{u.get('name')} is {u.get('state')}" for u in units
                             if u.get("state") in TRANSITIONAL) or "DELETING"

        body = self._waiter().wait(fetch, done, describe, "Full of waiting time")
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
        """Rename the UnitGroup.

        Raises:
            VcpInvalidArgumentError: another of your UnitGroups already has that name.
        """
        vc = self._current()
        body = self._client.get("/vcs", "config vc failed", privileged=privileged)
        if any(v.get("name") == ugroup_name and v.get("vcid") != vc.vcid
               for v in body.get("vcs") or []):
            raise_error(VcpInvalidArgumentError,
                        "aleady exist UnitGroup. change name or cleanup first!")
        self._client.request("PUT", f"/vcs/{vc.vcid}", "update vc failed",
                             body={"cci": b64(_empty_cci(ugroup_name, ugroup_type or vc.type))},
                             privileged=privileged)
        self._refresh(privileged)

    def change_owner(self, new_owner: str, privileged: bool = False) -> None:
        """Give the UnitGroup to user ``new_owner``."""
        vc = self._current()
        with _reraise_as("failed ugroup change owner http status({status})"):
            self._client.request("PATCH", f"/vcs/{vc.vcid}", "change owner vc failed",
                                 body={"owner": new_owner, "operation": "change_owner"},
                                 privileged=privileged)
        vc.owner = new_owner

    @staticmethod
    def empty_cci(ugroup_name: str, ugroup_type: str = "compute") -> str:
        """The empty-VC CCI the SDK sends to create or rename a UnitGroup."""
        return _empty_cci(ugroup_name, ugroup_type)

    # -- views --------------------------------------------------------------------------

    def df_units(self, privileged: bool = False) -> pd.DataFrame:
        """Units as a DataFrame: ``vctype, vcno, vcname, vc_state, vcid, cdate, unit_name,
        unit_state``."""
        return units_frame(self._refresh(privileged))

    def df_nodes(self, privileged: bool = False) -> Styler | list[Any]:
        """Nodes of every unit as a styled DataFrame; ``[]`` when there is none."""
        return nodes_frame([self._refresh(privileged)])

    def find_nodes(
        self,
        unit_name: str = "",
        node_id: str = "",
        node_state: str = "",
        node_no: Any = "",
        ip_addresses: list[str] | None = None,
        ip_address: str | None = None,
        cloud_instance_id: str | None = None,
        mapper: Callable[[VcNode], Any] | None = None,
        privileged: bool = False,
    ) -> list[Any]:
        """Nodes matching every given condition (``ip_address`` ∪ ``ip_addresses``).

        Args:
            mapper: applied to each hit, e.g. ``lambda n: n.cloud_disk_id``.
        """
        vc = self._refresh(privileged)
        nodes = [n for u in vc.units if not unit_name or u.name == unit_name for n in u.nodes]
        return _filter_nodes(nodes, node_id, node_state, node_no, ip_addresses, ip_address,
                             cloud_instance_id, mapper)

    def find_ip_addresses(self, privileged: bool = False, **conditions: Any) -> list[str]:
        """IP addresses of the nodes matching ``conditions`` (see :meth:`find_nodes`)."""
        conditions["mapper"] = lambda n: n.cloud_instance_address
        return self.find_nodes(privileged=privileged, **conditions)


def _filter_nodes(
    nodes: list[VcNode],
    node_id: str = "",
    node_state: str = "",
    node_no: Any = "",
    ip_addresses: list[str] | None = None,
    ip_address: str | None = None,
    cloud_instance_id: str | None = None,
    mapper: Callable[[VcNode], Any] | None = None,
) -> list[Any]:
    wanted_ips = set(ip_addresses or [])
    if ip_address:
        wanted_ips.add(ip_address)
    hits = []
    for node in sorted(nodes, key=lambda n: (n.unit.name, n.no or 0)):
        if node_id and node.id != node_id:
            continue
        if node_state and node.state != node_state:
            continue
        if node_no not in ("", None) and str(node.no) != str(node_no):
            continue
        if wanted_ips and node.cloud_instance_address not in wanted_ips:
            continue
        if cloud_instance_id and node.cloud_instance_id != cloud_instance_id:
            continue
        hits.append(node)
    return [mapper(n) for n in hits] if mapper else hits


class VcpUnitClass:
    """A unit: homogeneous nodes (or disks) of one provider and spec.

    Obtain it from ``ug.create_unit``, ``ug.get_unit`` or ``ug.find_units``.
    """

    def __init__(self, ugroup: VcpUnitGroupClass, unit: VcUnit) -> None:
        self._ugroup = ugroup
        self._unit = unit

    @property
    def _client(self) -> OcctrClient:
        return self._ugroup._client

    def _path(self) -> str:
        return f"/vcs/{self._unit.vc.vcid}/{self._unit.name}"

    def _refresh(self, privileged: bool = False) -> VcUnit:
        body = self._client.get(self._path(), "config unit failed",
                                privileged=privileged or self._ugroup._read_privileged)
        self._unit = VcUnit(self._unit.vc, body)
        return self._unit

    @property
    def name(self) -> str:
        """Unit name."""
        return self._unit.name

    @property
    def state(self) -> str:
        """Current unit state (read from the controller)."""
        return self._refresh().state

    @property
    def type(self) -> str:
        """``compute`` or ``storage``."""
        return self._unit.type

    def __str__(self) -> str:
        return str(self._refresh())

    def __repr__(self) -> str:
        return f"<vcpsdk.vcpsdk.VcpUnitClass {self._unit.name}>"

    def _wait(self, privileged: bool) -> dict[str, Any]:
        body = self._ugroup._wait_unit(self._unit.name, privileged)
        if body is None:
            raise_error(VcpSDKError, f"no unit unit_name[{self._unit.name}]")
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
            num_add_nodes: how many (ignored when IP or MAC addresses are given).
            ip_addresses / ip_address: fixed IPs, one node each (compute only).
            mac_addresses / mac_address: MAC addresses (VMware/Proxmox), same count as IPs.
            wait_for: wait until the new nodes are RUNNING.

        Returns:
            The new nodes.

        Raises:
            VcpInvalidArgumentError: ``ip_addresses is not list``,
                ``can't set ip_address(es) to storage``, bad count or address.
        """
        ips = _address_list(ip_addresses, ip_address, "ip_addresses")
        macs = _address_list(mac_addresses, mac_address, "mac_addresses")
        if ips and self.type == "storage":
            raise_error(VcpInvalidArgumentError, "can't set ip_address(es) to storage")
        if ips and macs and len(ips) != len(macs):
            raise_error(
                VcpInvalidArgumentError,
                "mac_address_list and ip_address_list has element but their length are different",
            )
        count = len(ips) or len(macs) or num_add_nodes
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise_error(VcpInvalidArgumentError,
                        f"num_add_nodes must be an integer >= 1, got {num_add_nodes!r}")
        before = {n.id for n in self._refresh(privileged).nodes}
        self._client.request("PUT", self._path(), "add node failed", privileged=privileged,
                             body={"ip_address_list": ips, "mac_address_list": macs,
                                   "num_nodes": count})
        if wait_for:
            self._wait(privileged)
            logger.info("add_node completed.")
        else:
            self._refresh(privileged)
        return sorted((n for n in self._unit.nodes if n.id not in before), key=lambda n: n.no)

    def _select(
        self,
        op: str,
        count_name: str,
        count: int | None,
        node_no: int | None,
        cloud_instance_id: str | None,
        ip_addresses: list[str] | None,
        ip_address: str | None,
        wait_for: bool,
        privileged: bool,
    ) -> list[VcNode]:
        _check_selector(count, node_no, cloud_instance_id, ip_addresses, ip_address)
        several = (isinstance(count, int) and count > 1) or len(ip_addresses or []) > 1
        if not wait_for and several:
            raise_error(VcpInvalidArgumentError,
                        "invalid argment, delete multi-node must be wait_for=True")
        nodes = self._refresh(privileged).nodes
        if node_no not in (None, ""):
            targets = [n for n in nodes if str(n.no) == str(node_no)]
            if not targets:
                raise_error(VcpInvalidArgumentError,
                            f"no node node_no[{node_no}] in unit[{self.name}]")
        elif cloud_instance_id:
            targets = [n for n in nodes if n.cloud_instance_id == cloud_instance_id]
            if not targets:
                raise_error(VcpInvalidArgumentError,
                            f"no node cloud_instance_id[{cloud_instance_id}] in unit[{self.name}]")
        elif ip_addresses or ip_address:
            wanted = _address_list(ip_addresses, ip_address, "ip_addresses")
            by_ip = {n.cloud_instance_address: n for n in nodes}
            missing = [ip for ip in wanted if ip not in by_ip]
            if missing:
                raise_error(VcpInvalidArgumentError,
                            f"no node ip_address[{', '.join(missing)}] in unit[{self.name}]")
            targets = [by_ip[ip] for ip in dict.fromkeys(wanted)]
        else:
            number = 1 if count is None else count
            if isinstance(number, bool) or not isinstance(number, int) or number < 1:
                raise_error(VcpInvalidArgumentError,
                            f"{count_name} must be an integer >= 1, got {count!r}")
            allowed = NODE_OPERATIONS[op].allowed if op in NODE_OPERATIONS else None
            eligible = [n for n in nodes if allowed is None or n.state in allowed]
            if op in ("watch", "unwatch"):  # only nodes whose watch mode would change
                eligible = [n for n in eligible if n.watch_mode == (op == "unwatch")]
            eligible.sort(key=lambda n: n.no or 0, reverse=True)
            if number > len(eligible):
                where = "" if allowed is None else f" in a state that allows {op}"
                raise_error(VcpInvalidArgumentError,
                            f"{count_name}[{number}] is larger than the {len(eligible)} node(s)"
                            f"{where} in unit[{self.name}]")
            targets = eligible[:number]
        if not wait_for and len(targets) > 1:
            raise_error(VcpInvalidArgumentError,
                        "invalid argment, delete multi-node must be wait_for=True")
        return targets

    #: op → (count argument, HTTP verb, path suffix, error message, per-node log, final log)
    _NODE_OPS: ClassVar[dict[str, tuple[str, str, str, str, str, str]]] = {
        "delete": ("num_delete_nodes", "DELETE", "", "delete node failed", "a node deleted.",
                   "deleted node(s) completed."),
        "power_off": ("num_power_off_nodes", "PATCH", "/power_off", "power_off failed",
                      "a node power off start.", "power off node(s) has started."),
        "power_on": ("num_power_on_nodes", "PATCH", "/power_on", "power_on failed",
                     "a node power on start.", "power on node(s) has started."),
        "watch": ("num_watch_nodes", "PATCH", "/watch", "watch failed",
                  "a node watching start.", "watching node(s) has started."),
        "unwatch": ("num_watch_nodes", "PATCH", "/unwatch", "unwatch failed",
                    "a node unwatch completed.", "unwatch node(s) completed."),
    }

    def _operate(self, op: str, count: int | None, node_no: int | None,
                 cloud_instance_id: str | None, ip_addresses: list[str] | None,
                 ip_address: str | None, wait_for: bool, privileged: bool) -> list[VcNode]:
        """Apply ``op`` to the selected nodes one at a time, waiting after each (the
        controller refuses a second operation while the unit is processing)."""
        count_name, method, suffix, errmsg, each, done = self._NODE_OPS[op]
        targets = self._select(op, count_name, count, node_no, cloud_instance_id, ip_addresses,
                               ip_address, wait_for, privileged)
        for node in targets:
            self._client.request(method, f"{self._path()}/{node.id}{suffix}", errmsg,
                                 privileged=privileged)
            if wait_for:
                self._wait(privileged)
                logger.info(each)
        if wait_for:
            logger.info(done)
        return self.find_nodes(privileged=privileged)

    def delete_nodes(
        self,
        num_delete_nodes: int | None = None,
        node_no: int | None = None,
        cloud_instance_id: str | None = None,
        ip_addresses: list[str] | None = None,
        ip_address: str | None = None,
        wait_for: bool = True,
        verbose: int = 0,
        privileged: bool = False,
    ) -> list[VcNode]:
        """Delete nodes chosen by one condition (none = one node, the newest first).

        Returns:
            The unit's nodes after the deletion, sorted by ``node_no``.

        Raises:
            VcpInvalidArgumentError: ``invalid argment, one condition parameter allowed``,
                ``invalid argment, delete multi-node must be wait_for=True``, no such node.
        """
        return self._operate("delete", num_delete_nodes, node_no, cloud_instance_id, ip_addresses,
                             ip_address, wait_for, privileged)

    def power_off_nodes(
        self,
        num_power_off_nodes: int | None = None,
        node_no: int | None = None,
        cloud_instance_id: str | None = None,
        ip_addresses: list[str] | None = None,
        ip_address: str | None = None,
        wait_for: bool = True,
        privileged: bool = False,
        verbose: int = 0,
    ) -> list[VcNode]:
        """Power off nodes chosen by one condition (none = one RUNNING node).

        Returns:
            The unit's nodes after the operation, sorted by ``node_no``.
        """
        return self._operate("power_off", num_power_off_nodes, node_no, cloud_instance_id, ip_addresses,
                             ip_address, wait_for, privileged)

    def power_on_nodes(
        self,
        num_power_on_nodes: int | None = None,
        node_no: int | None = None,
        cloud_instance_id: str | None = None,
        ip_addresses: list[str] | None = None,
        ip_address: str | None = None,
        wait_for: bool = True,
        privileged: bool = False,
        verbose: int = 0,
    ) -> list[VcNode]:
        """Power on nodes chosen by one condition (none = one POWER_OFF node).

        Returns:
            The unit's nodes after the operation, sorted by ``node_no``.
        """
        return self._operate("power_on", num_power_on_nodes, node_no, cloud_instance_id, ip_addresses,
                             ip_address, wait_for, privileged)

    def watch_nodes(
        self,
        num_watch_nodes: int | None = None,
        node_no: int | None = None,
        cloud_instance_id: str | None = None,
        ip_addresses: list[str] | None = None,
        ip_address: str | None = None,
        wait_for: bool = True,
        privileged: bool = False,
        verbose: int = 0,
    ) -> list[VcNode]:
        """Start the controller's monitoring of nodes chosen by one condition
        (none = one node not yet watched).

        Returns:
            The unit's nodes afterwards, sorted by ``node_no`` (see ``watch_mode``).
        """
        return self._operate("watch", num_watch_nodes, node_no, cloud_instance_id, ip_addresses,
                             ip_address, wait_for, privileged)

    def unwatch_nodes(
        self,
        num_watch_nodes: int | None = None,
        node_no: int | None = None,
        cloud_instance_id: str | None = None,
        ip_addresses: list[str] | None = None,
        ip_address: str | None = None,
        privileged: bool = False,
        verbose: int = 0,
    ) -> list[VcNode]:
        """Stop the controller's monitoring of nodes chosen by one condition
        (none = one watched node).

        Returns:
            The unit's nodes afterwards, sorted by ``node_no``.
        """
        return self._operate("unwatch", num_watch_nodes, node_no, cloud_instance_id,
                             ip_addresses, ip_address, True, privileged)

    def watch(self, wait_for: bool = True, privileged: bool = False) -> None:
        """Start monitoring every node of the unit (``power_on_nodes`` is recommended)."""
        if self.type != "compute":
            raise_error(VcpInvalidArgumentError, "watch only compute unit")
        self._client.request("PATCH", f"{self._path()}/watch", "watch unit failed",
                             privileged=privileged)
        if wait_for:
            self._wait(privileged)
            logger.info("watching successe.")

    def unwatch(self, privileged: bool = False) -> None:
        """Stop monitoring every node of the unit (``power_off_nodes`` is recommended)."""
        if self.type != "compute":
            raise_error(VcpInvalidArgumentError, "unwatch only compute unit")
        self._client.request("PATCH", f"{self._path()}/unwatch", "unwatch unit failed",
                             privileged=privileged)

    def wait_nodes_applied(self, privileged: bool = False) -> None:
        """Wait until the unit (and, when INDEFINITE, each node) leaves transitional states.

        Raises:
            VcpTimeoutError: ``Full of waiting time``.
        """
        self._wait(privileged)

    # -- views --------------------------------------------------------------------------

    def find_nodes(
        self,
        node_id: str = "",
        node_state: str = "",
        node_no: Any = "",
        ip_addresses: list[str] | None = None,
        ip_address: str | None = None,
        cloud_instance_id: str | None = None,
        mapper: Callable[[VcNode], Any] | None = None,
        privileged: bool = False,
    ) -> list[Any]:
        """Nodes of this unit matching every given condition, sorted by ``node_no``."""
        unit = self._refresh(privileged)
        return _filter_nodes(unit.nodes, node_id, node_state, node_no, ip_addresses, ip_address,
                             cloud_instance_id, mapper)

    def find_ip_addresses(self, privileged: bool = False, **conditions: Any) -> list[str]:
        """IP addresses of this unit's nodes matching ``conditions``."""
        conditions["mapper"] = lambda n: n.cloud_instance_address
        return self.find_nodes(privileged=privileged, **conditions)

    def df_nodes(self, privileged: bool = False) -> Styler | list[Any]:
        """This unit's nodes as a styled DataFrame; ``[]`` when there is none."""
        return unit_nodes_frame(self._refresh(privileged))


def _address_list(values: Any, single: str | None, name: str) -> list[str]:
    if values is None:
        values = []
    if not isinstance(values, list | tuple):
        raise_error(VcpInvalidArgumentError, f"{name} is not list")
    merged = [str(v) for v in values]
    if single:
        merged.append(str(single))
    return list(dict.fromkeys(merged))


# Import paths the corpus uses: ``from vcpsdk.vcpsdk import VcpConfigYaml`` etc.
__all__ = [
    "SPEC_CLASSES", "VcNode", "VcpConfigYaml", "VcpExtClass", "VcpSDK", "VcpSDKError",
    "VcpSpecClass", "VcpSpecResource", "VcpUnitClass", "VcpUnitGroupClass",
]
