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

Waiting: :meth:`VcpExtResourceChameleonHostLeaseInfo.wait` polls every
``WAIT_INTERVAL_SEC`` seconds, for ``WAIT_TIMEOUT_SEC`` seconds after the lease's start
(both module constants, read at call time, and both overridable per call).

Errors: every failure raises a subclass of :class:`vcpsdk.errors.VcpSDKError`
(:class:`ChameleonError` and its subclasses), with the HTTP status and the server's message
when there is one, after an ERROR line on logger ``vcp.sdk.chameleon``.  The VCC access
token, the application credential secret and the Keystone token are never logged nor put
in an error message.
"""

from __future__ import annotations

import copy
import datetime as dt
import ipaddress
import json
import logging
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, NoReturn

import requests

from vcpsdk.config import load_config, resolve_config_dir
from vcpsdk.errors import (
    VcpAuthError,
    VcpConfigError,
    VcpConflictError,
    VcpConnectionError,
    VcpInvalidArgumentError,
    VcpNotFoundError,
    VcpSDKError,
    VcpTimeoutError,
    family_member_for_status,
    raise_error,
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

logger = logging.getLogger("vcp.sdk.chameleon")

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
_DEAD_STATUSES = ("ERROR", "TERMINATING", "TERMINATED", "DELETING", "DELETED")
#: Renew the Keystone token when it expires within this many seconds.
_TOKEN_MARGIN = dt.timedelta(seconds=60)
_HOST_RESOURCE_TYPE = "physical:host"
_NETWORK_RESOURCE_TYPE = "network"


# --------------------------------------------------------------------------- errors


class ChameleonError(VcpSDKError):
    """A Chameleon extension call failed (base class of every error of this module).

    Attributes:
        message: what the extension was doing, for which lease or network.
        http_status: the HTTP status Chameleon answered, if any.
        server_message: the server's own message (Keystone ``error.message``, Blazar
            ``error_message``, Neutron ``NeutronError.message``, or the body).
    """


class ChameleonInvalidArgumentError(ChameleonError, VcpInvalidArgumentError):
    """Wrong arguments (client-side check, or HTTP 400/422); nothing was changed."""


class ChameleonConfigError(ChameleonError, VcpConfigError):
    """The ``chameleon`` section of ``vcp_config.yml`` is missing a value or holds a wrong one
    (no credentials, a ``vault://`` reference, an unknown region, another project)."""


class ChameleonAuthError(ChameleonError, VcpAuthError):
    """Keystone refused the application credential, or a service refused the token (401/403)."""


class ChameleonNotFoundError(ChameleonError, VcpNotFoundError):
    """The lease, network or service does not exist (or HTTP 404)."""


class ChameleonConflictError(ChameleonError, VcpConflictError):
    """The operation is not allowed now: not enough hosts, a lease outside its extension
    window, a network that already exists (or HTTP 409)."""


class ChameleonLeaseError(ChameleonError):
    """The lease went to ERROR (or ended) while it was waited for."""


class ChameleonTimeoutError(ChameleonError, VcpTimeoutError):
    """``wait()`` gave up; the lease may still become ACTIVE later."""


class ChameleonConnectionError(ChameleonError, VcpConnectionError):
    """Chameleon could not be reached, or a request timed out."""


def _error_class(status: int) -> type[ChameleonError]:
    return family_member_for_status(
        status,
        (ChameleonInvalidArgumentError, ChameleonAuthError, ChameleonNotFoundError, ChameleonConflictError),
        ChameleonError,
    )


def _fail(cls: type[ChameleonError], message: str, **kwargs: Any) -> NoReturn:
    """Log an ERROR line (like the rest of the SDK) and raise ``cls``."""
    raise_error(cls, message, log=logger, **kwargs)


# ------------------------------------------------------------------ time and waiting


def _utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC (a seam for tests)."""
    return dt.datetime.now(dt.UTC)


def _sleep(seconds: float) -> None:
    """Sleep between two polls (a seam for tests)."""
    if seconds > 0:
        time.sleep(seconds)


def format_date(value: dt.datetime) -> str:
    """``value`` as a UTC ``"YYYY-mm-dd HH:MM"`` string (naive values are taken as UTC).

    Example::

        format_date(datetime.datetime(2020, 7, 31, 12, 0))   # '2020-07-31 12:00'
    """
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime(DATE_FORMAT)


def parse_date(value: Any, what: str = "date") -> dt.datetime:
    """Parse a UTC date: ``"YYYY-mm-dd HH:MM"`` or an ISO 8601 string as Blazar answers it.

    Args:
        value: the text, e.g. ``"2020-07-31 12:00"`` or ``"2020-07-31T12:00:00.000000"``.
        what: the name used in the error message.

    Returns:
        a timezone-aware UTC ``datetime``.

    Raises:
        ChameleonInvalidArgumentError: not a string in one of these formats.

    Example::

        parse_date("2020-07-31 12:00").hour   # 12
    """
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            parsed = dt.datetime.strptime(text, DATE_FORMAT)
        except ValueError:
            try:
                parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                _fail(
                    ChameleonInvalidArgumentError,
                    f"chameleon: {what} {value!r} is not a UTC date 'YYYY-mm-dd HH:MM'",
                )
    else:
        _fail(
            ChameleonInvalidArgumentError,
            f"chameleon: {what} must be a UTC date string 'YYYY-mm-dd HH:MM', not {value!r}",
        )
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _minute(value: dt.datetime) -> dt.datetime:
    return value.replace(second=0, microsecond=0)


def _is_vault(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith("vault://")


def _catalog_entry(vpn_catalog: Any, entry_name: str) -> dict[str, Any]:
    """The VPN catalog entry: accepts the entry itself, or ``{name: entry, ...}``."""
    if vpn_catalog is None:
        return {}
    if not isinstance(vpn_catalog, Mapping):
        _fail(
            ChameleonInvalidArgumentError,
            f"chameleon: vpn_catalog must be a dict (from vcp.get_vpn_catalog('chameleon')), "
            f"not {type(vpn_catalog).__name__}",
        )
    values = list(vpn_catalog.values())
    if values and all(isinstance(v, Mapping) for v in values):
        # a provider-level mapping {catalog_name: {...}} (the manual's sample shape)
        if entry_name in vpn_catalog:
            return dict(vpn_catalog[entry_name])
        if len(vpn_catalog) == 1:
            return dict(values[0])
        _fail(
            ChameleonInvalidArgumentError,
            f"chameleon: vpn_catalog has no entry {entry_name!r} "
            f"(entries: {', '.join(map(str, vpn_catalog))})",
        )
    return dict(vpn_catalog)


# --------------------------------------------------------------------- base class


class VcpChameleonOpenrc:
    """Base of the Chameleon extensions: configuration, Keystone login and HTTP plumbing.

    It plays the part of an OpenStack "openrc" file: it reads ``auth_url``,
    ``application_credential_id``, ``application_credential_secret`` and the optional
    ``region_name`` and ``project_id`` from the ``chameleon`` section of
    ``<config_dir>/vcp_config.yml``, logs in to Keystone v3 with the application credential
    when a first request needs it, and keeps the token and the service catalog until the
    token nears its expiry (or a service answers 401, which triggers one new login and one
    retry).  Nothing is sent at construction; a missing section is reported on first use.

    Args:
        provider_name: the extension name it was made for (``"chameleon"``,
            ``"chameleon_network"``, ``"chameleon_host_lease_info"``).
        config_dir: the directory holding ``vcp_config.yml`` (``""``: ``$VCPSDK_CONFIG_DIR``,
            else ``~/vcp_config``).
        token: the VCC access token of the caller.  It is kept (never logged) but not sent
            to Chameleon.
        verbose: ≥1 logs ``[METHOD] url`` at DEBUG, ≥2 also the HTTP status, ≥3 also the
            response body (never those of the Keystone login).
        session: a ``requests.Session`` to use (a new one by default).
        request_timeout: seconds one HTTP request may take.

    Raises:
        VcpConfigError: ``vcp_config.yml`` is not valid YAML.
        ChameleonConfigError: the ``chameleon`` section is not a mapping or ``auth_url`` is
            not an http(s) URL.

    Example::

        ext = VcpChameleonOpenrc("chameleon", "~/vcp_config", vcc_access_token)
        ext.authenticate()
        print(ext.endpoint("reservation"))
    """

    #: Version of the Chameleon extension (as the original plugin reports it).
    version: ClassVar[str] = "20200731"

    def __init__(
        self,
        provider_name: str,
        config_dir: str | Path,
        token: str,
        verbose: int = 0,
        *,
        session: requests.Session | None = None,
        request_timeout: float = REQUEST_TIMEOUT_SEC,
    ) -> None:
        self.provider_name = provider_name
        self._config_dir = resolve_config_dir(config_dir)
        self._vcc_token = token or ""
        self._verbose = int(verbose or 0)
        self._session = session or requests.Session()
        self._request_timeout = request_timeout
        config = load_config(self._config_dir)
        section = config.sections.get("chameleon")
        if section is None:
            section = {}
        if not isinstance(section, Mapping):
            raise ChameleonConfigError(
                f"chameleon: section chameleon of {self._config_file} must be a mapping"
            )
        self._has_section = "chameleon" in config.sections
        self._auth_url = self._normalize_auth_url(section.get("auth_url") or DEFAULT_AUTH_URL)
        self._region_name = str(section["region_name"]) if section.get("region_name") else None
        self._project_id = str(section["project_id"]) if section.get("project_id") else None
        self._private_network = str(section.get("private_network") or "default")
        self._credential_id = section.get("application_credential_id")
        self._credential_secret = section.get("application_credential_secret")
        # Keystone state, shared with the lease-info objects this one creates
        self._auth: dict[str, Any] = {"token": None, "expires_at": None, "catalog": [], "project_id": None}

    # ------------------------------------------------------------------ properties

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(provider_name={self.provider_name!r}, "
            f"auth_url={self._auth_url!r}, region_name={self._region_name!r}, "
            f"credentials={'set' if self._credential_secret else 'unset'})"
        )

    @property
    def _config_file(self) -> Path:
        return self._config_dir / "vcp_config.yml"

    @property
    def config_dir(self) -> Path:
        """The directory the configuration was read from."""
        return self._config_dir

    @property
    def verbose(self) -> int:
        """Verbosity of the HTTP log lines (see the class description); settable."""
        return self._verbose

    @verbose.setter
    def verbose(self, value: int) -> None:
        self._verbose = int(value or 0)

    @property
    def auth_url(self) -> str:
        """The Keystone v3 URL (``chameleon.auth_url``, default :data:`DEFAULT_AUTH_URL`)."""
        return self._auth_url

    @property
    def region_name(self) -> str | None:
        """The region whose endpoints are used (``chameleon.region_name``), or ``None``:
        the first region the catalog lists."""
        return self._region_name

    @property
    def project_id(self) -> str | None:
        """The project: ``chameleon.project_id``, else the token's once logged in, else None."""
        return self._project_id or self._auth.get("project_id")

    @property
    def private_network(self) -> str:
        """The VPN catalog entry name (``chameleon.private_network``, default ``default``)."""
        return self._private_network

    @staticmethod
    def _normalize_auth_url(value: Any) -> str:
        url = str(value).strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ChameleonConfigError(
                f"chameleon: auth_url must be an http(s) URL of Keystone v3, not {value!r}"
            )
        if not url.endswith("/v3"):
            url += "/v3"
        return url

    # ------------------------------------------------------------------ secrets

    def _secrets(self) -> list[str]:
        found = [self._vcc_token, self._auth.get("token")]
        if isinstance(self._credential_secret, str):
            found.append(self._credential_secret)
        return [s for s in found if s and len(s) >= 4]

    def _redact(self, text: str) -> str:
        for value in self._secrets():
            if value in text:
                text = text.replace(value, "***")
        return text

    # ------------------------------------------------------------------ Keystone

    def _credentials(self) -> tuple[str, str]:
        where = f"{self._config_file} section chameleon"
        if not self._has_section:
            _fail(
                ChameleonConfigError,
                f"chameleon: {where} is missing: add application_credential_id and "
                "application_credential_secret (Chameleon GUI: Identity > Application "
                "Credentials)",
            )
        for key, value in (
            ("application_credential_id", self._credential_id),
            ("application_credential_secret", self._credential_secret),
        ):
            if _is_vault(value):
                _fail(
                    ChameleonConfigError,
                    f"chameleon: {key} in {where} is a vault:// reference; vault references "
                    "are resolved by the VC Controller when it starts instances, but this "
                    "extension talks to Chameleon directly and needs the literal credential "
                    f"(for now): put the value itself in {key}",
                )
            if not isinstance(value, str) or not value.strip():
                _fail(ChameleonConfigError, f"chameleon: {key} is not set in {where}")
        return str(self._credential_id).strip(), str(self._credential_secret).strip()

    def authenticate(self) -> None:
        """Log in to Keystone v3 with the application credential (``POST <auth_url>/auth/tokens``).

        Called by every request that needs a token (when there is none, or it expires
        within a minute); call it yourself to check the configuration early.

        Returns:
            ``None``; the token (header ``X-Subject-Token``), its expiry, its project and the
            service catalog are kept for the following requests.

        Raises:
            ChameleonConfigError: no ``chameleon`` section, a missing or ``vault://``
                credential, or a token of another project than ``chameleon.project_id``.
            ChameleonAuthError: Keystone refused the credential (401).
            ChameleonConnectionError: Keystone could not be reached.
            ChameleonError: another failure (the answer lacks the token, ...).

        Example::

            ext = vcp.get_extension("chameleon")
            ext.authenticate()          # fails now rather than at reserve_host()
        """
        credential_id, secret = self._credentials()
        body = {
            "auth": {
                "identity": {
                    "methods": ["application_credential"],
                    "application_credential": {"id": credential_id, "secret": secret},
                }
            }
        }
        response = self._send(
            "POST",
            self._auth_url + "/auth/tokens",
            "authenticate",
            body=body,
            expected=(200, 201),
            log_body=False,
        )
        token = response.headers.get("X-Subject-Token")
        try:
            data = response.json()["token"]
        except (ValueError, KeyError, TypeError):
            data = None
        if not token or not isinstance(data, Mapping):
            _fail(
                ChameleonError,
                "chameleon: authenticate: Keystone's answer holds no token",
                http_status=response.status_code,
            )
        expires_at = None
        if data.get("expires_at"):
            try:
                expires_at = parse_date(data["expires_at"], "expires_at")
            except ChameleonInvalidArgumentError:
                expires_at = None
        project = data.get("project") if isinstance(data.get("project"), Mapping) else {}
        project_id = project.get("id")
        if self._project_id and project_id and project_id != self._project_id:
            _fail(
                ChameleonConfigError,
                f"chameleon: the application credential belongs to project {project_id}, "
                f"not to chameleon.project_id {self._project_id} of {self._config_file}",
            )
        self._auth.update(
            token=token, expires_at=expires_at, catalog=list(data.get("catalog") or []), project_id=project_id
        )
        logger.debug("chameleon: logged in to %s (project %s)", self._auth_url, project_id)

    def _token(self) -> str:
        token = self._auth.get("token")
        expires_at = self._auth.get("expires_at")
        if not token or (expires_at is not None and expires_at - _utcnow() < _TOKEN_MARGIN):
            self.authenticate()
        return str(self._auth["token"])

    def endpoint(self, service_type: str) -> str:
        """The public URL of a service of the catalog (logs in first if needed).

        Args:
            service_type: ``"reservation"`` (Blazar), ``"network"`` (Neutron), ...

        Returns:
            the URL without a trailing slash, of region ``region_name`` when it is set.

        Raises:
            ChameleonConfigError: ``region_name`` is set and the service has no endpoint
                there (the message lists the regions it has).
            ChameleonNotFoundError: the catalog has no public endpoint of that type.
            ChameleonAuthError, ChameleonConnectionError: as :meth:`authenticate`.

        Example::

            blazar_url = ext.endpoint("reservation")
        """
        self._token()
        regions: list[str] = []
        for service in self._auth.get("catalog") or []:
            if not isinstance(service, Mapping) or service.get("type") != service_type:
                continue
            for ep in service.get("endpoints") or []:
                if not isinstance(ep, Mapping) or ep.get("interface", "public") != "public":
                    continue
                region = ep.get("region_id") or ep.get("region") or ""
                regions.append(str(region))
                if self._region_name and self._region_name not in (ep.get("region_id"), ep.get("region")):
                    continue
                if ep.get("url"):
                    return str(ep["url"]).rstrip("/")
        if regions:
            _fail(
                ChameleonConfigError,
                f"chameleon: service {service_type!r} has no public endpoint in region "
                f"{self._region_name!r} (chameleon.region_name of {self._config_file}); "
                f"regions: {', '.join(sorted(set(regions)))}",
            )
        _fail(
            ChameleonNotFoundError,
            f"chameleon: the service catalog of {self._auth_url} has no public {service_type!r} endpoint",
        )

    def _blazar_url(self) -> str:
        url = self.endpoint("reservation")
        return url if url.endswith("/v1") else url + "/v1"

    def _neutron_url(self) -> str:
        url = self.endpoint("network")
        return url[: -len("/v2.0")] if url.endswith("/v2.0") else url

    # ------------------------------------------------------------------ HTTP

    def _server_message(self, response: requests.Response) -> str | None:
        try:
            body = response.json()
        except ValueError:
            text = response.text.strip()
            return self._redact(text[:2000]) if text else None
        message: Any = None
        if isinstance(body, Mapping):
            error = body.get("error")
            neutron = body.get("NeutronError")
            if isinstance(error, Mapping):  # Keystone
                message = error.get("message") or error.get("title")
            elif isinstance(neutron, Mapping):  # Neutron
                message = neutron.get("message") or neutron.get("type")
            elif body.get("error_message"):  # Blazar
                message = body["error_message"]
            elif isinstance(error, str):
                message = error
            else:
                for key in ("message", "detail", "faultstring", "description"):
                    if isinstance(body.get(key), str) and body[key]:
                        message = body[key]
                        break
        if message is None:
            message = json.dumps(body)[:2000]
        return self._redact(str(message)) or None

    def _send(
        self,
        method: str,
        url: str,
        what: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        expected: tuple[int, ...] = (200,),
        log_body: bool = True,
    ) -> requests.Response:
        """Send one request; return the response when its status is expected, else raise."""
        sent = {"Accept": "application/json", **(headers or {})}
        if self._verbose >= 1:
            logger.debug("[%s] %s", method, url)
        try:
            response = self._session.request(
                method, url, json=body, params=params, headers=sent, timeout=self._request_timeout
            )
        except requests.Timeout as e:
            _fail(
                ChameleonConnectionError,
                f"chameleon: {what}: no answer from {url} within "
                f"{self._request_timeout} s ({type(e).__name__})",
            )
        except requests.RequestException as e:
            _fail(
                ChameleonConnectionError,
                f"chameleon: {what}: cannot reach {url} ({type(e).__name__})",
                server_message=self._redact(str(e))[:500],
            )
        if self._verbose >= 2:
            logger.debug("HTTP STATUS %s", response.status_code)
        if self._verbose >= 3 and log_body:
            logger.debug("%s", self._redact(response.text[:5000]))
        if response.status_code in expected:
            return response
        _fail(
            _error_class(response.status_code),
            f"chameleon: {what} failed",
            http_status=response.status_code,
            server_message=self._server_message(response),
        )

    def _api(
        self,
        service: str,
        method: str,
        path: str,
        what: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        expected: tuple[int, ...] = (200,),
    ) -> Any:
        """A request to Blazar (``service="reservation"``) or Neutron (``"network"``).

        Logs in when needed; on a 401 logs in once more and retries once.  Returns the
        decoded JSON body (``None`` for an empty one).
        """
        for attempt in (1, 2):
            base = self._blazar_url() if service == "reservation" else self._neutron_url()
            token = self._token()
            response = self._send(
                method,
                base + path,
                what,
                body=body,
                params=params,
                headers={"X-Auth-Token": token},
                expected=(*expected, 401) if attempt == 1 else expected,
            )
            if response.status_code == 401 and 401 not in expected:
                logger.info("chameleon: %s: the token was refused; logging in again", what)
                self._auth.update(token=None, expires_at=None)
                continue
            if response.status_code == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                _fail(
                    ChameleonError,
                    f"chameleon: {what}: the answer is not JSON",
                    http_status=response.status_code,
                    server_message=self._redact(response.text[:500]),
                )
        raise AssertionError("unreachable")  # pragma: no cover

    def _share_auth(self, other: VcpChameleonOpenrc) -> None:
        """Let ``other`` use this object's session and Keystone token."""
        other._session = self._session
        other._auth = self._auth
        other._request_timeout = self._request_timeout

    def _new_lease_info(self) -> VcpExtResourceChameleonHostLeaseInfo:
        info = VcpExtResourceChameleonHostLeaseInfo(
            "chameleon_host_lease_info", self._config_dir, self._vcc_token, self._verbose
        )
        self._share_auth(info)
        return info

    # ------------------------------------------------------------------ leases

    def _create_lease(self, body: dict[str, Any], what: str) -> dict[str, Any]:
        answer = self._api("reservation", "POST", "/leases", what, body=body, expected=(200, 201, 202))
        lease = answer.get("lease", answer) if isinstance(answer, Mapping) else None
        if not isinstance(lease, Mapping) or not lease.get("id"):
            _fail(ChameleonError, f"chameleon: {what}: Blazar's answer holds no lease id")
        logger.info(
            "chameleon: lease %s (%s) created, status %s", lease.get("name"), lease["id"], lease.get("status")
        )
        return dict(lease)

    @staticmethod
    def _lease_name(prefix: str | None, kind: str) -> str:
        stamp = _utcnow().strftime("%Y%m%d%H%M")
        return f"{prefix or 'vcp'}-{kind}-{stamp}-{secrets.token_hex(3)}"

    @staticmethod
    def _lease_dates(start_date: Any, end_date: Any) -> tuple[str, str, str]:
        """(start shown, start sent, end) for a new lease; ``None`` start is "now"."""
        now = _minute(_utcnow())
        if start_date is None:
            start = now
            sent = "now"
        else:
            start = parse_date(start_date, "start_date")
            if start.second or start.microsecond:
                start = _minute(start)
            if start < now:
                _fail(
                    ChameleonInvalidArgumentError,
                    f"chameleon: start_date {format_date(start)} is in the past (now is "
                    f"{format_date(now)} UTC); pass None to start now",
                )
            sent = format_date(start)
        end = start + dt.timedelta(days=1) if end_date is None else parse_date(end_date, "end_date")
        end = _minute(end)
        if end <= start:
            _fail(
                ChameleonInvalidArgumentError,
                f"chameleon: end_date {format_date(end)} must be later than start_date {format_date(start)}",
            )
        return format_date(start), sent, format_date(end)


# --------------------------------------------------------------------- host leases


class VcpExtResourceChameleonHostLeaseInfo(VcpChameleonOpenrc):
    """A Blazar lease: its ids, its status, and what can be done with it.

    Returned by :meth:`VcpExtResourceChameleon.reserve_host` (and by
    :meth:`VcpExtResourceChameleonNetwork.create_network` for a network lease), or made by
    ``vcp.get_extension("chameleon_host_lease_info")`` followed by :meth:`setup` for a lease
    reserved earlier.

    Attributes:
        host_lease_id: the lease's id (for :meth:`setup`, and what :meth:`delete` deletes).
        reservation_id: the id of the lease's ``physical:host`` reservation (for a network
            lease, of its network reservation): the value for ``spec.reservation``.
        status: the lease status as last fetched: ``STARTING`` (being created), ``PENDING``
            (its start time is not reached), ``ACTIVE``, ``ERROR``, or another Blazar status
            (see :data:`LEASE_STATUSES`); ``DELETED`` after :meth:`delete`.
        lease_name, start_date, end_date: as Blazar has them (dates as UTC
            ``"YYYY-mm-dd HH:MM"``).
        lease: the whole lease as Blazar last answered it (a copy).
        vpn_catalog: the VPN catalog passed to :meth:`setup`, if any.

    Args:
        provider_name, config_dir, token, verbose: as :class:`VcpChameleonOpenrc`.

    Example::

        info = vcp.get_extension("chameleon_host_lease_info")
        info.setup(host_lease_id)
        print(info.status, info.reservation_id, info.end_date)
    """

    def __init__(
        self, provider_name: str, config_dir: str | Path, token: str, verbose: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(provider_name, config_dir, token, verbose, **kwargs)
        self.host_lease_id: str | None = None
        self.reservation_id: str | None = None
        self.status: str | None = None
        self.lease_name: str | None = None
        self.start_date: str | None = None
        self.end_date: str | None = None
        self.lease: dict[str, Any] = {}
        self.vpn_catalog: Any = None

    def __repr__(self) -> str:
        return (
            f"VcpExtResourceChameleonHostLeaseInfo(host_lease_id={self.host_lease_id!r}, "
            f"reservation_id={self.reservation_id!r}, status={self.status!r}, "
            f"end_date={self.end_date!r})"
        )

    def _apply(self, lease: Mapping[str, Any]) -> None:
        self.lease = copy.deepcopy(dict(lease))
        self.host_lease_id = str(lease.get("id") or self.host_lease_id)
        self.lease_name = lease.get("name", self.lease_name)
        self.status = str(lease.get("status") or "") or None
        for key in ("start_date", "end_date"):
            value = lease.get(key)
            if value:
                try:
                    setattr(self, key, format_date(parse_date(value, key)))
                except ChameleonInvalidArgumentError:
                    setattr(self, key, str(value))
        reservations = [r for r in lease.get("reservations") or [] if isinstance(r, Mapping)]
        hosts = [r for r in reservations if r.get("resource_type") == _HOST_RESOURCE_TYPE]
        chosen = (hosts or reservations or [None])[0]
        self.reservation_id = str(chosen["id"]) if chosen and chosen.get("id") else None

    def _require_lease(self, what: str) -> str:
        if not self.host_lease_id:
            _fail(
                ChameleonError,
                f"chameleon: {what}: no lease: call setup(host_lease_id) "
                "first, or use the object returned by reserve_host()",
            )
        return self.host_lease_id

    def setup(self, host_lease_id: str, vpn_catalog: Any = None) -> None:
        """Attach this object to an existing lease and fetch it (``GET /v1/leases/<id>``).

        Args:
            host_lease_id: the lease's id (``host_lease_id`` of an earlier reservation).
            vpn_catalog: the VPN catalog (``vcp.get_vpn_catalog("chameleon")``); kept for
                reference, optional.

        Returns:
            ``None``; ``reservation_id``, ``status`` and the dates are filled.

        Raises:
            ChameleonInvalidArgumentError: ``host_lease_id`` is not a non-empty string.
            ChameleonNotFoundError: Blazar has no such lease.
            ChameleonConfigError, ChameleonAuthError, ChameleonConnectionError: as
                :meth:`VcpChameleonOpenrc.authenticate`.

        Example::

            info = vcp.get_extension("chameleon_host_lease_info")
            info.setup("8f0e...", vcp.get_vpn_catalog("chameleon"))
            spec.reservation = info.reservation_id
        """
        if not isinstance(host_lease_id, str) or not host_lease_id.strip():
            _fail(
                ChameleonInvalidArgumentError,
                f"chameleon: setup: host_lease_id must be a non-empty string, not {host_lease_id!r}",
            )
        self.host_lease_id = host_lease_id.strip()
        self.vpn_catalog = vpn_catalog
        self.update()

    def update(self) -> str | None:
        """Fetch the lease again (``GET /v1/leases/<id>``) and refresh the attributes.

        Returns:
            the lease's status (also in :attr:`status`).

        Raises:
            ChameleonError: no lease (neither ``setup()`` nor ``reserve_host()`` made this
                object).
            ChameleonNotFoundError: the lease no longer exists (deleted, or expired and purged).
            ChameleonAuthError, ChameleonConnectionError: as
                :meth:`VcpChameleonOpenrc.authenticate`.

        Example::

            while info.update() != "ACTIVE":
                time.sleep(30)
        """
        lease_id = self._require_lease("update")
        answer = self._api("reservation", "GET", f"/leases/{lease_id}", f"update({lease_id})")
        lease = answer.get("lease", answer) if isinstance(answer, Mapping) else None
        if not isinstance(lease, Mapping):
            _fail(ChameleonError, f"chameleon: update({lease_id}): Blazar's answer holds no lease")
        self._apply(lease)
        return self.status

    def wait(self, timeout: float | None = None, interval: float | None = None) -> None:
        """Block until the lease is ``ACTIVE``, polling it with :meth:`update`.

        Args:
            timeout: seconds to wait from now; by default ``WAIT_TIMEOUT_SEC`` after the
                lease's start time (so a lease that starts tomorrow is waited for until then).
            interval: seconds between two polls (default ``WAIT_INTERVAL_SEC``).

        Returns:
            ``None``, once :attr:`status` is ``ACTIVE``.

        Raises:
            ChameleonLeaseError: the lease is (or goes) ``ERROR``, or ends (``TERMINATED``...).
            ChameleonTimeoutError: the lease is not ACTIVE in time (it may still become so).
            ChameleonNotFoundError: the lease was deleted meanwhile.
            ChameleonAuthError, ChameleonConnectionError: as :meth:`update`.

        Example::

            lease = ext.reserve_host()
            lease.wait()
            spec.reservation = lease.reservation_id
        """
        lease_id = self._require_lease("wait")
        pause = WAIT_INTERVAL_SEC if interval is None else float(interval)
        if pause < 0:
            _fail(ChameleonInvalidArgumentError, f"chameleon: wait: interval must be ≥ 0, not {interval}")
        started = _utcnow()
        status = self.update()
        if timeout is None:
            begin = started
            if self.start_date:
                try:
                    begin = max(started, parse_date(self.start_date))
                except ChameleonInvalidArgumentError:
                    pass
            deadline = begin + dt.timedelta(seconds=float(WAIT_TIMEOUT_SEC))
        else:
            deadline = started + dt.timedelta(seconds=float(timeout))
        polls = 1
        while True:
            if status == "ACTIVE":
                logger.info("chameleon: lease %s is ACTIVE", lease_id)
                return
            if status in _DEAD_STATUSES:
                _fail(
                    ChameleonLeaseError,
                    f"chameleon: wait: lease {self.lease_name or ''} ({lease_id}) is {status}; "
                    "it will not become ACTIVE",
                    server_message=self._lease_fault(),
                )
            if _utcnow() >= deadline:
                _fail(
                    ChameleonTimeoutError,
                    f"chameleon: wait: lease {lease_id} is still {status} after {polls} "
                    f"poll(s) (start {self.start_date} UTC); it may become ACTIVE later: "
                    "call wait() again or update()",
                )
            logger.info("%s ... lease %s (poll %d)", status, lease_id, polls)
            _sleep(pause)
            status = self.update()
            polls += 1

    def _lease_fault(self) -> str | None:
        for key in ("status_reason", "fault", "degraded_reason"):
            value = self.lease.get(key)
            if isinstance(value, str) and value:
                return self._redact(value)
        return None

    def delete(self) -> None:
        """Delete the lease (``DELETE /v1/leases/<id>``), freeing its hosts or network.

        Delete the UnitGroup's units first: Chameleon ends the instances of a deleted lease.

        Returns:
            ``None``; :attr:`status` becomes ``DELETED``.

        Raises:
            ChameleonError: no lease attached to this object.
            ChameleonNotFoundError: the lease does not exist (already deleted?).
            ChameleonConflictError: Blazar refused (HTTP 409).
            ChameleonAuthError, ChameleonConnectionError: as :meth:`update`.

        Example::

            ugroup.cleanup()
            lease.delete()
        """
        lease_id = self._require_lease("delete")
        self._api(
            "reservation", "DELETE", f"/leases/{lease_id}", f"delete({lease_id})", expected=(200, 202, 204)
        )
        logger.info("chameleon: lease %s deleted", lease_id)
        self.status = "DELETED"

    def extend(self, weeks: int | None = None, days: int | None = None, hours: int | None = None) -> None:
        """Move the lease's end later (``PUT /v1/leases/<id>`` with a new ``end_date``).

        Give one unit.  If several are given, only the longest counts (weeks, then days,
        then hours: ``extend(days=2, hours=5)`` adds 2 days).  With none, 1 day is added.
        Chameleon allows an extension only within :data:`EXTENSION_WINDOW_HOURS` (48) hours
        before the lease ends; earlier (or once it has ended) this raises without asking
        Blazar.  Chameleon may still refuse (e.g. hosts reserved by someone else afterwards,
        or a lease longer than its maximum): that raises too.

        Args:
            weeks: weeks to add (a positive integer).
            days: days to add (a positive integer).
            hours: hours to add (a positive integer).

        Returns:
            ``None``; :attr:`end_date` and :attr:`status` are refreshed.

        Raises:
            ChameleonInvalidArgumentError: a unit is not a positive integer.
            ChameleonConflictError: the lease ends more than 48 h from now, has already
                ended, or Blazar refused the extension (HTTP 409).
            ChameleonError: no lease attached, or Blazar refused otherwise (the HTTP status
                and Blazar's message are in the error).
            ChameleonAuthError, ChameleonConnectionError: as :meth:`update`.

        Example::

            lease.extend()            # one more day
            lease.extend(hours=6)
        """
        lease_id = self._require_lease("extend")
        given = {"weeks": weeks, "days": days, "hours": hours}
        for name, value in given.items():
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                _fail(
                    ChameleonInvalidArgumentError,
                    f"chameleon: extend: {name} must be a positive integer, not {value!r}",
                )
        if weeks is not None:
            delta, shown = dt.timedelta(weeks=weeks), f"{weeks} week(s)"
        elif days is not None:
            delta, shown = dt.timedelta(days=days), f"{days} day(s)"
        elif hours is not None:
            delta, shown = dt.timedelta(hours=hours), f"{hours} hour(s)"
        else:
            delta, shown = dt.timedelta(days=1), "1 day(s)"
        if sum(v is not None for v in given.values()) > 1:
            logger.info("chameleon: extend: several units given; the longest counts: +%s", shown)
        self.update()
        if not self.end_date:
            _fail(ChameleonError, f"chameleon: extend: lease {lease_id} has no end date")
        end = parse_date(self.end_date, "end_date")
        now = _utcnow()
        if end <= now:
            _fail(
                ChameleonConflictError,
                f"chameleon: extend: lease {lease_id} ended at {self.end_date} UTC; an ended "
                "lease cannot be extended: reserve again",
            )
        window = dt.timedelta(hours=EXTENSION_WINDOW_HOURS)
        if end - now > window:
            left = (end - now).total_seconds() / 3600
            _fail(
                ChameleonConflictError,
                f"chameleon: extend: lease {lease_id} ends at {self.end_date} UTC, "
                f"{left:.1f} h from now; Chameleon allows extending a lease only within "
                f"{EXTENSION_WINDOW_HOURS} h before it ends, i.e. from "
                f"{format_date(end - window)} UTC",
            )
        new_end = format_date(end + delta)
        answer = self._api(
            "reservation",
            "PUT",
            f"/leases/{lease_id}",
            f"extend({lease_id})",
            body={"end_date": new_end},
            expected=(200, 202),
        )
        lease = answer.get("lease", answer) if isinstance(answer, Mapping) else None
        if isinstance(lease, Mapping) and lease.get("id"):
            self._apply(lease)
        else:
            self.update()
        logger.info("chameleon: lease %s extended by %s to %s UTC", lease_id, shown, self.end_date)


# --------------------------------------------------------------------- host reservation


class VcpExtResourceChameleon(VcpChameleonOpenrc):
    """Reserve Chameleon bare-metal hosts: ``vcp.get_extension("chameleon")``.

    :meth:`setup` prepares a reservation (nothing is sent), :meth:`reserve_host` makes it
    and returns a :class:`VcpExtResourceChameleonHostLeaseInfo`.

    Attributes (after :meth:`setup`):
        node_type, start_date, end_date, min_instances, max_instances, lease_name,
        vpn_catalog: as given or defaulted; the dates are UTC ``"YYYY-mm-dd HH:MM"``.
        vcpus, memory_mb, disk_gb: kept as given, not used (future use).

    Args:
        provider_name, config_dir, token, verbose: as :class:`VcpChameleonOpenrc`.

    Example::

        ext = vcp.get_extension("chameleon")
        ext.setup("compute_skylake", end_date="2020-08-01 12:00")
        lease = ext.reserve_host()
        lease.wait()
    """

    def __init__(
        self, provider_name: str, config_dir: str | Path, token: str, verbose: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(provider_name, config_dir, token, verbose, **kwargs)
        self.node_type: str | None = None
        self.start_date: str | None = None
        self.end_date: str | None = None
        self.min_instances: int = 1
        self.max_instances: int = 1
        self.vcpus: Any = None
        self.memory_mb: Any = None
        self.disk_gb: Any = None
        self.lease_name: str | None = None
        self.vpn_catalog: Any = None
        self._request: dict[str, Any] | None = None

    def setup(
        self,
        node_type: str,
        start_date: str | None = None,
        end_date: str | None = None,
        min_instances: int = 1,
        max_instances: int = 1,
        vcpus: Any = None,
        memory_mb: Any = None,
        disk_gb: Any = None,
        lease_name_prefix: str | None = None,
        vpn_catalog: Any = None,
    ) -> None:
        """Prepare a host reservation; nothing is sent until :meth:`reserve_host`.

        Args:
            node_type: the Chameleon node type, e.g. ``"compute_skylake"``; hosts are
                chosen with ``resource_properties ["==", "$node_type", node_type]``.
            start_date: UTC ``"YYYY-mm-dd HH:MM"``; ``None``: now.
            end_date: UTC ``"YYYY-mm-dd HH:MM"``; ``None``: one day after the start.
            min_instances: fewest hosts to reserve (≥ 1).
            max_instances: most hosts to reserve (≥ ``min_instances``).
            vcpus, memory_mb, disk_gb: accepted and ignored (future use).
            lease_name_prefix: the lease name is ``<prefix>-host-<YYYYmmddHHMM>-<random>``
                (prefix ``vcp`` by default).
            vpn_catalog: the VPN catalog (``vcp.get_vpn_catalog("chameleon")``); kept for
                reference, optional.

        Returns:
            ``None``.

        Raises:
            ChameleonInvalidArgumentError: an empty ``node_type``, a date not in the format,
                a start in the past, an end not after the start, wrong instance counts.

        Example::

            ext.setup("compute_skylake", start_date="2020-07-31 09:00",
                      end_date="2020-08-01 09:00", min_instances=2, max_instances=2)
        """
        if not isinstance(node_type, str) or not node_type.strip():
            _fail(
                ChameleonInvalidArgumentError,
                f"chameleon: setup: node_type must be a non-empty string (e.g. "
                f"'compute_skylake'), not {node_type!r}",
            )
        for name, value in (("min_instances", min_instances), ("max_instances", max_instances)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                _fail(
                    ChameleonInvalidArgumentError,
                    f"chameleon: setup: {name} must be a positive integer, not {value!r}",
                )
        if min_instances > max_instances:
            _fail(
                ChameleonInvalidArgumentError,
                f"chameleon: setup: min_instances ({min_instances}) is larger than "
                f"max_instances ({max_instances})",
            )
        if lease_name_prefix is not None and (
            not isinstance(lease_name_prefix, str) or not lease_name_prefix.strip()
        ):
            _fail(
                ChameleonInvalidArgumentError,
                f"chameleon: setup: lease_name_prefix must be a non-empty string, not {lease_name_prefix!r}",
            )
        _catalog_entry(vpn_catalog, self._private_network)  # a wrong shape fails now
        start, sent_start, end = self._lease_dates(start_date, end_date)
        self.node_type = node_type.strip()
        self.start_date, self.end_date = start, end
        self.min_instances, self.max_instances = min_instances, max_instances
        self.vcpus, self.memory_mb, self.disk_gb = vcpus, memory_mb, disk_gb
        self.vpn_catalog = vpn_catalog
        self.lease_name = self._lease_name(lease_name_prefix and lease_name_prefix.strip(), "host")
        self._request = {
            "name": self.lease_name,
            "start_date": sent_start,
            "end_date": end,
            "reservations": [
                {
                    "resource_type": _HOST_RESOURCE_TYPE,
                    "min": min_instances,
                    "max": max_instances,
                    "resource_properties": json.dumps(["==", "$node_type", self.node_type]),
                    "hypervisor_properties": "",
                }
            ],
            "events": [],
        }

    @property
    def lease_request(self) -> dict[str, Any] | None:
        """The body :meth:`reserve_host` will send to ``POST /v1/leases`` (a copy), or None
        before :meth:`setup`.  ``start_date`` is ``"now"`` when the start was not given."""
        return copy.deepcopy(self._request)

    def reserve_host(self) -> VcpExtResourceChameleonHostLeaseInfo:
        """Reserve the hosts prepared by :meth:`setup` (``POST /v1/leases``).

        Returns:
            a :class:`VcpExtResourceChameleonHostLeaseInfo` with ``host_lease_id``,
            ``reservation_id`` and ``status`` (usually ``STARTING``; call its ``wait()``).

        Raises:
            ChameleonError: :meth:`setup` was not called, or Blazar failed.
            ChameleonConflictError: not enough hosts of that type are free then (409).
            ChameleonInvalidArgumentError: Blazar refused the dates or the request (400).
            ChameleonConfigError, ChameleonAuthError, ChameleonConnectionError: as
                :meth:`VcpChameleonOpenrc.authenticate`.

        Example::

            lease = ext.reserve_host()
            print(lease.host_lease_id, lease.reservation_id, lease.status)
        """
        if self._request is None:
            _fail(ChameleonError, "chameleon: reserve_host: call setup(node_type, ...) first")
        lease = self._create_lease(copy.deepcopy(self._request), f"reserve_host({self.node_type})")
        info = self._new_lease_info()
        info.vpn_catalog = self.vpn_catalog
        info._apply(lease)
        return info


# --------------------------------------------------------------------- networks


class VcpExtResourceChameleonNetwork(VcpChameleonOpenrc):
    """Reserve a Chameleon VLAN network and give it a subnet: ``vcp.get_extension("chameleon_network")``.

    Not needed when the nodes use a shared network such as ``sharedwan1``.  The network is
    named by the VPN catalog; Blazar creates it when its lease starts, then
    :meth:`create_subnet` adds the subnet ``private_network_ipmask``.

    VPN catalog keys read by :meth:`setup` (the manual does not document Chameleon's; these
    are this SDK's):

    * ``chameleon_network_name`` (or ``network_name``): the network's name, required;
    * ``private_network_ipmask``: the subnet's CIDR, e.g. ``"192.168.10.0/24"``;
    * ``chameleon_subnet_name``: the subnet's name (default ``<network_name>-subnet``);
    * ``chameleon_physical_network``: the physical network to reserve a VLAN on (default
      ``physnet1``);
    * ``cloud_instance_dns_servers``: DNS servers of the subnet (optional).

    Attributes (after :meth:`setup`):
        network_name, subnet_name, subnet_cidr, physical_network, dns_servers, vpn_catalog.

    Args:
        provider_name, config_dir, token, verbose: as :class:`VcpChameleonOpenrc`.

    Example::

        net = vcp.get_extension("chameleon_network")
        net.setup(vcp.get_vpn_catalog("chameleon"))
        if not net.network_exists():
            net_lease = net.create_network(end_date="2020-08-07 09:00")
    """

    def __init__(
        self, provider_name: str, config_dir: str | Path, token: str, verbose: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(provider_name, config_dir, token, verbose, **kwargs)
        self.network_name: str | None = None
        self.subnet_name: str | None = None
        self.subnet_cidr: str | None = None
        self.physical_network: str = DEFAULT_PHYSICAL_NETWORK
        self.dns_servers: list[str] = []
        self.vpn_catalog: Any = None

    def setup(self, vpn_catalog: Any) -> None:
        """Read the network's settings from the VPN catalog (nothing is sent).

        Args:
            vpn_catalog: ``vcp.get_vpn_catalog("chameleon")``: the catalog entry itself, or
                the provider-level mapping ``{entry_name: {...}}`` (the entry named by
                ``chameleon.private_network`` is used).

        Returns:
            ``None``; :attr:`network_name` and the other attributes are set.

        Raises:
            ChameleonInvalidArgumentError: not a dict, no ``chameleon_network_name`` /
                ``network_name``, an invalid ``private_network_ipmask``.

        Example::

            net.setup({"chameleon_network_name": "vcp-net",
                       "private_network_ipmask": "192.168.10.0/24"})
        """
        entry = _catalog_entry(vpn_catalog, self._private_network)
        name = entry.get("chameleon_network_name") or entry.get("network_name")
        if not isinstance(name, str) or not name.strip():
            _fail(
                ChameleonInvalidArgumentError,
                "chameleon: setup: the VPN catalog names no network: add "
                "chameleon_network_name (e.g. 'sharedwan1', or the name of the network to "
                f"reserve); keys present: {', '.join(sorted(entry)) or '(none)'}",
            )
        cidr = entry.get("private_network_ipmask")
        if cidr:
            try:
                cidr = str(ipaddress.ip_network(str(cidr), strict=False))
            except ValueError:
                _fail(
                    ChameleonInvalidArgumentError,
                    f"chameleon: setup: private_network_ipmask {cidr!r} is not a CIDR like '192.168.10.0/24'",
                )
        dns = entry.get("cloud_instance_dns_servers") or []
        if isinstance(dns, str):
            dns = [d.strip() for d in dns.split(",") if d.strip()]
        self.network_name = name.strip()
        self.subnet_cidr = cidr or None
        self.subnet_name = str(entry.get("chameleon_subnet_name") or f"{self.network_name}-subnet")
        self.physical_network = str(entry.get("chameleon_physical_network") or DEFAULT_PHYSICAL_NETWORK)
        self.dns_servers = [str(d) for d in dns]
        self.vpn_catalog = vpn_catalog

    def _require_setup(self, what: str) -> str:
        if not self.network_name:
            _fail(ChameleonError, f"chameleon: {what}: call setup(vpn_catalog) first")
        return self.network_name

    def get_network(self) -> dict[str, Any] | None:
        """The Neutron network named :attr:`network_name` (``GET /v2.0/networks?name=...``).

        Returns:
            the network as Neutron shows it (``id``, ``name``, ``status``, ``shared``,
            ``subnets``, ...), or ``None`` when the project sees no such network.

        Raises:
            ChameleonError: :meth:`setup` was not called.
            ChameleonConfigError, ChameleonAuthError, ChameleonConnectionError: as
                :meth:`VcpChameleonOpenrc.authenticate`.

        Example::

            print(net.get_network()["id"])
        """
        name = self._require_setup("get_network")
        answer = self._api("network", "GET", "/v2.0/networks", f"get_network({name})", params={"name": name})
        networks = answer.get("networks") if isinstance(answer, Mapping) else None
        matching = [n for n in networks or [] if isinstance(n, Mapping) and n.get("name") == name]
        return dict(matching[0]) if matching else None

    def network_exists(self) -> bool:
        """Whether the network :attr:`network_name` exists (a shared one counts).

        Returns:
            ``True`` if Neutron lists a network of that name for the project.

        Raises:
            as :meth:`get_network`.

        Example::

            assert net.network_exists()
        """
        return self.get_network() is not None

    def create_network(
        self,
        start_date: str | None = None,
        end_date: str | None = None,
        *,
        wait: bool = True,
        lease_name_prefix: str | None = None,
    ) -> VcpExtResourceChameleonHostLeaseInfo:
        """Reserve a VLAN network named :attr:`network_name` (a Blazar ``network`` lease).

        Blazar creates the network when the lease starts.  With ``wait=True`` this waits
        until the lease is ACTIVE (see ``VcpExtResourceChameleonHostLeaseInfo.wait``), then
        adds the subnet with :meth:`create_subnet` (when the catalog gives
        ``private_network_ipmask``).  With ``wait=False`` it returns at once; call the
        lease's ``wait()`` and then :meth:`create_subnet` later.

        Args:
            start_date: UTC ``"YYYY-mm-dd HH:MM"``; ``None``: now.
            end_date: UTC ``"YYYY-mm-dd HH:MM"``; ``None``: one day after the start.
            wait: wait for the lease and create the subnet (see above).
            lease_name_prefix: the lease name is ``<prefix>-network-<YYYYmmddHHMM>-<random>``.

        Returns:
            the network lease as a :class:`VcpExtResourceChameleonHostLeaseInfo` (its
            ``reservation_id`` is the network reservation's); ``extend()`` and ``delete()``
            work on it as on a host lease.  Deleting it deletes the network.

        Raises:
            ChameleonError: :meth:`setup` was not called.
            ChameleonConflictError: the network already exists, or no VLAN is free (409).
            ChameleonInvalidArgumentError: wrong dates.
            ChameleonLeaseError, ChameleonTimeoutError: as ``wait()`` (``wait=True``).
            ChameleonConfigError, ChameleonAuthError, ChameleonConnectionError: as
                :meth:`VcpChameleonOpenrc.authenticate`.

        Example::

            if not net.network_exists():
                net_lease = net.create_network()
            ...
            net_lease.delete()
        """
        name = self._require_setup("create_network")
        _, sent_start, end = self._lease_dates(start_date, end_date)
        if self.network_exists():
            _fail(
                ChameleonConflictError,
                f"chameleon: create_network: network {name!r} already exists; use it, or "
                "name another one in the VPN catalog (chameleon_network_name)",
            )
        body = {
            "name": self._lease_name(lease_name_prefix, "network"),
            "start_date": sent_start,
            "end_date": end,
            "reservations": [
                {
                    "resource_type": _NETWORK_RESOURCE_TYPE,
                    "network_name": name,
                    "network_description": "VCP network",
                    "resource_properties": json.dumps(["==", "$physical_network", self.physical_network]),
                }
            ],
            "events": [],
        }
        lease = self._create_lease(body, f"create_network({name})")
        info = self._new_lease_info()
        info.vpn_catalog = self.vpn_catalog
        info._apply(lease)
        if wait:
            info.wait()
            if self.subnet_cidr:
                self.create_subnet()
        return info

    def create_subnet(self) -> dict[str, Any]:
        """Give the network its subnet :attr:`subnet_cidr` (``POST /v2.0/subnets``).

        Does nothing but return the subnet if one named :attr:`subnet_name` is already on
        the network.

        Returns:
            the subnet as Neutron shows it (``id``, ``name``, ``cidr``, ``network_id``, ...).

        Raises:
            ChameleonError: :meth:`setup` was not called.
            ChameleonInvalidArgumentError: the VPN catalog gave no ``private_network_ipmask``,
                or Neutron refused the subnet (400).
            ChameleonNotFoundError: the network does not exist (yet: its lease is not ACTIVE).
            ChameleonConfigError, ChameleonAuthError, ChameleonConnectionError: as
                :meth:`VcpChameleonOpenrc.authenticate`.

        Example::

            net_lease = net.create_network(wait=False)
            net_lease.wait()
            net.create_subnet()
        """
        name = self._require_setup("create_subnet")
        if not self.subnet_cidr:
            _fail(
                ChameleonInvalidArgumentError,
                "chameleon: create_subnet: the VPN catalog gives no private_network_ipmask for the subnet",
            )
        network = self.get_network()
        if network is None:
            _fail(
                ChameleonNotFoundError,
                f"chameleon: create_subnet: network {name!r} does not exist (yet): Blazar "
                "creates it when its lease becomes ACTIVE",
            )
        answer = self._api(
            "network",
            "GET",
            "/v2.0/subnets",
            f"create_subnet({name})",
            params={"network_id": network["id"], "name": self.subnet_name},
        )
        for subnet in (answer or {}).get("subnets") or []:
            if isinstance(subnet, Mapping) and subnet.get("name") == self.subnet_name:
                return dict(subnet)
        request: dict[str, Any] = {
            "network_id": network["id"],
            "name": self.subnet_name,
            "cidr": self.subnet_cidr,
            "ip_version": 4,
            "enable_dhcp": True,
        }
        if self.dns_servers:
            request["dns_nameservers"] = list(self.dns_servers)
        answer = self._api(
            "network",
            "POST",
            "/v2.0/subnets",
            f"create_subnet({name})",
            body={"subnet": request},
            expected=(200, 201),
        )
        subnet = answer.get("subnet") if isinstance(answer, Mapping) else None
        if not isinstance(subnet, Mapping):
            _fail(ChameleonError, f"chameleon: create_subnet({name}): Neutron's answer holds no subnet")
        logger.info(
            "chameleon: subnet %s (%s) created on network %s", self.subnet_name, self.subnet_cidr, name
        )
        return dict(subnet)


#: Extension name (``vcp.get_extension(name)``) → class; construct with
#: ``cls(provider_name, config_dir, vcc_access_token, verbose=0)``.
EXTENSION_CLASSES: dict[str, type[VcpChameleonOpenrc]] = {
    "chameleon": VcpExtResourceChameleon,
    "chameleon_network": VcpExtResourceChameleonNetwork,
    "chameleon_host_lease_info": VcpExtResourceChameleonHostLeaseInfo,
}
