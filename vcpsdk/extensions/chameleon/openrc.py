"""The base of the Chameleon extensions: configuration, Keystone login and HTTP plumbing."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import requests

from vcpsdk._http import JsonApiClient, default_session
from vcpsdk.config import load_config, resolve_config_dir
from vcpsdk.core.polling import SYSTEM_CLOCK, Clock
from vcpsdk.extensions.chameleon import dates, keystone
from vcpsdk.extensions.chameleon.errors import (
    ERRORS,
    ChameleonConfigError,
    ChameleonInvalidArgumentError,
    ChameleonNotFoundError,
    fail,
    logger,
)
from vcpsdk.extensions.chameleon.settings import DEFAULT_AUTH_URL, REQUEST_TIMEOUT_SEC, TOKEN_MARGIN


def is_vault(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith("vault://")


def catalog_entry(vpn_catalog: Any, entry_name: str) -> dict[str, Any]:
    """The VPN catalog entry: accepts the entry itself, or ``{name: entry, ...}``."""
    if vpn_catalog is None:
        return {}
    if not isinstance(vpn_catalog, Mapping):
        fail(
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
        fail(
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
        clock: where :meth:`~VcpExtResourceChameleonHostLeaseInfo.wait` takes its time and
            pauses from (default :attr:`clock`, the system clock).

    Raises:
        VcpConfigError: ``vcp_config.yml`` is not valid YAML.
        ChameleonConfigError: the ``chameleon`` section is not a mapping or ``auth_url`` is
            not an http(s) URL.

    Example::

        ext = VcpChameleonOpenrc("chameleon", "~/vcp_config", vcc_access_token)
        ext.authenticate()
        print(ext.endpoint("reservation"))
    """

    #: where the wait loops take their time and pauses from (per instance: ``clock=``)
    clock: Clock = SYSTEM_CLOCK

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
        clock: Clock | None = None,
    ) -> None:
        self.provider_name = provider_name
        self._config_dir = resolve_config_dir(config_dir)
        self._vcc_token = token or ""
        if clock is not None:
            self.clock = clock
        self._http = JsonApiClient(
            name="chameleon",
            errors=ERRORS,
            logger=logger,
            session=session if session is not None else default_session(connect_retries=0),
            timeout=request_timeout,
            verbose=int(verbose or 0),
            # OpenStack's token headers, should a body ever echo them (the shared keys apply too)
            secret_keys=("X-Auth-Token", "X-Subject-Token"),
            secrets=self._secrets,
        )
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
        self._init_attributes()

    def _init_attributes(self) -> None:
        """Set the subclass's own attributes (called at the end of ``__init__``)."""

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
        return self._http.verbose

    @verbose.setter
    def verbose(self, value: int) -> None:
        self._http.verbose = int(value or 0)

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

    # ------------------------------------------------------------------ Keystone

    def _credentials(self) -> tuple[str, str]:
        where = f"{self._config_file} section chameleon"
        if not self._has_section:
            fail(
                ChameleonConfigError,
                f"chameleon: {where} is missing: add application_credential_id and "
                "application_credential_secret (Chameleon GUI: Identity > Application "
                "Credentials)",
            )
        for key, value in (
            ("application_credential_id", self._credential_id),
            ("application_credential_secret", self._credential_secret),
        ):
            if is_vault(value):
                fail(
                    ChameleonConfigError,
                    f"chameleon: {key} in {where} is a vault:// reference; vault references "
                    "are resolved by the VC Controller when it starts instances, but this "
                    "extension talks to Chameleon directly and needs the literal credential "
                    f"(for now): put the value itself in {key}",
                )
            if not isinstance(value, str) or not value.strip():
                fail(ChameleonConfigError, f"chameleon: {key} is not set in {where}")
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
        token = keystone.login(self._http, self._auth_url, credential_id, secret)
        if self._project_id and token.project_id and token.project_id != self._project_id:
            fail(
                ChameleonConfigError,
                f"chameleon: the application credential belongs to project {token.project_id}, "
                f"not to chameleon.project_id {self._project_id} of {self._config_file}",
            )
        self._auth.update(
            token=token.token, expires_at=token.expires_at, catalog=token.catalog, project_id=token.project_id
        )
        logger.debug("chameleon: logged in to %s (project %s)", self._auth_url, token.project_id)

    def _token(self) -> str:
        token = self._auth.get("token")
        expires_at = self._auth.get("expires_at")
        if not token or (expires_at is not None and expires_at - dates.utcnow() < TOKEN_MARGIN):
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
            fail(
                ChameleonConfigError,
                f"chameleon: service {service_type!r} has no public endpoint in region "
                f"{self._region_name!r} (chameleon.region_name of {self._config_file}); "
                f"regions: {', '.join(sorted(set(regions)))}",
            )
        fail(
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
            headers = {"X-Auth-Token": self._token()}
            response = self._http.send(
                method, base + path, what, json_body=body, params=params, headers=headers
            )
            if response.status_code == 401 and attempt == 1 and 401 not in expected:
                logger.info("chameleon: %s: the token was refused; logging in again", what)
                self._auth.update(token=None, expires_at=None)
                continue
            return self._http.decode(self._http.check(response, what, expected), what)
        raise AssertionError("unreachable")  # pragma: no cover

    def _share_auth(self, other: VcpChameleonOpenrc) -> None:
        """Let ``other`` use this object's session and Keystone token."""
        other._http.session = self._http.session
        other._http.timeout = self._http.timeout
        other._auth = self._auth
        if "clock" in vars(self):
            other.clock = self.clock
