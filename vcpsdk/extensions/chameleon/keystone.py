"""Keystone v3 login with an application credential, done by ``keystoneauth1``.

``keystoneauth1`` (the OpenStack clients' own authentication library) is a dependency of
vcpsdk, as the original extension worked on the base install.  It is imported on the
first login (importing the extension stays light), and its requests go through the
extension's ``requests.Session`` (so its timeout, TLS settings and test seams apply).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import requests

from vcpsdk._http import JsonApiClient
from vcpsdk.extensions.chameleon.errors import ChameleonConfigError, ChameleonError, fail

#: what to install when keystoneauth1 is missing (a dependency of vcpsdk: a broken install)
EXTRA = "pip install 'keystoneauth1>=5' (a dependency of vcpsdk; reinstalling vcpsdk installs it)"


@dataclass
class KeystoneToken:
    """A Keystone token and what came with it.

    Attributes:
        token: the token (header ``X-Subject-Token``; a secret).
        expires_at: its expiry (UTC), if Keystone gave one.
        project_id: the project the token is scoped to.
        catalog: the service catalog (``[{"type", "endpoints": [{"interface", "region_id", "url"}]}]``).
    """

    token: str
    expires_at: dt.datetime | None = None
    project_id: str | None = None
    catalog: list[Any] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"KeystoneToken(project_id={self.project_id!r}, expires_at={self.expires_at!r})"


def login(http: JsonApiClient, auth_url: str, credential_id: str, secret: str) -> KeystoneToken:
    """``POST <auth_url>/auth/tokens`` with an application credential, by keystoneauth1.

    Args:
        http: the extension's client (its session, timeout, TLS setting, logger, secrets).
        auth_url: the Keystone v3 URL (ending in ``/v3``).
        credential_id: the application credential's id.
        secret: its secret.

    Returns:
        the token, its expiry, project and service catalog.

    Raises:
        ChameleonConfigError: keystoneauth1 is not installed (the message names the package).
        ChameleonAuthError: Keystone refused the credential (401), or another status error
            of the extension's error table.
        ChameleonConnectionError: Keystone could not be reached.
        ChameleonError: Keystone's answer holds no token.

    Example::

        token = login(ext._http, "https://chi.uc.chameleoncloud.org:5000/v3", cred_id, secret)
    """
    try:
        from keystoneauth1 import exceptions as ks_exceptions
        from keystoneauth1 import session as ks_session
        from keystoneauth1.identity import v3
    except ImportError:
        fail(
            ChameleonConfigError,
            f"chameleon: logging in to Keystone needs the keystoneauth1 package: {EXTRA}",
        )
    url = auth_url + "/auth/tokens"
    plugin = v3.ApplicationCredential(
        auth_url=auth_url, application_credential_id=credential_id, application_credential_secret=secret
    )
    timeout = http.timeout if isinstance(http.timeout, int | float) else max(http.timeout)
    session = ks_session.Session(session=http.session, timeout=timeout, verify=http.verify)
    if http.verbose >= 1:
        http.logger.debug("[POST] %s", url)
    try:
        access = plugin.get_auth_ref(session)
        token = access.auth_token
    except ks_exceptions.HttpError as e:
        if e.response is not None:
            http.check(e.response, "authenticate", (200, 201))
        http.fail(
            http.errors.error_for(e.http_status),
            "authenticate failed",
            http_status=e.http_status,
            server_message=http.redact_text(str(e.message)),
        )
    except ks_exceptions.ConnectionError as e:
        cause = e.__context__
        http.connection_failed(
            "authenticate",
            url,
            cause if isinstance(cause, requests.RequestException) else requests.ConnectionError(),
        )
    except (ks_exceptions.ClientException, KeyError, ValueError):
        token = None
    if not token:
        fail(ChameleonError, "chameleon: authenticate: Keystone's answer holds no token")
    expires = access.expires
    return KeystoneToken(
        token=token,
        expires_at=expires.astimezone(dt.UTC) if expires is not None else None,
        project_id=access.project_id,
        catalog=list(access.service_catalog.catalog or []),
    )
