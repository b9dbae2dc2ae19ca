"""The only module that talks HTTP to a VC Controller ("occtr" protocol).

Requests carry ``x-vcc-access-token`` (:data:`~vcpsdk.core.protocol.TOKEN_HEADER`; and
``x-vcc-privileged: True``, :data:`~vcpsdk.core.protocol.PRIVILEGED_HEADER`, in privileged
mode) with JSON bodies; reads expect 200 and writes 202.  An unexpected status is
logged like the original (``<message>: http_status(<code>)`` then the controller's
message) and raised as a typed :class:`~vcpsdk.errors.VcpSDKError`.  Tokens and
secrets never reach a log line.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any, NoReturn

import requests

from vcpsdk import _http
from vcpsdk._http import ErrorTable, JsonApiClient, default_session, response_json
from vcpsdk.core.protocol import PRIVILEGED_HEADER, ROOT, SECRET_KEYS, TOKEN_HEADER, VCS_LIST, Route
from vcpsdk.errors import VcpConnectionError, VcpSDKError, error_for_response

logger = logging.getLogger("vcp.sdk")


def redact(value: Any) -> Any:
    """A copy of a JSON value with secret fields (:data:`SECRET_KEYS`) replaced by a short
    placeholder (see :func:`vcpsdk._http.redact`)."""
    return _http.redact(value, SECRET_KEYS)


def b64(text: str) -> str:
    """Base64 of UTF-8 text, as CCI documents travel."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class OcctrClient(JsonApiClient):
    """HTTP client of one controller (a :class:`vcpsdk._http.JsonApiClient`).

    Args:
        base_url: e.g. ``https://10.0.0.1/vcp/v1/occtr``.
        token: the VCC access token.
        verify: TLS verification (``True``, ``False`` or a CA bundle path): the config's
            ``insecure_request_warning``, as the original passes it to ``requests``.
        verbose: 1 logs method and URL, 2 the status, 3 the (redacted) body.
        session: a ``requests.Session`` to use (tests pass their own).
    """

    tls_hint = (
        "set insecure_request_warning: False in vcp_config.yml to accept a self-signed "
        "certificate, or REQUESTS_CA_BUNDLE=<your CA's certificate> to verify it"
    )
    scheme_hint = (
        "the controller does not speak HTTPS on this port: if it serves plain http, add "
        "scheme: http under vcc: in vcp_config.yml (or start vcc serve with --tls-self-signed)"
    )
    #: seconds to wait for a connection; reads add the long-poll time
    CONNECT_TIMEOUT = 10.0
    READ_TIMEOUT = 120.0

    def __init__(
        self,
        base_url: str,
        token: str,
        verify: bool | str = True,
        verbose: int = 0,
        session: requests.Session | None = None,
    ) -> None:
        self._token = (token or "").strip()
        super().__init__(
            base_url,
            name="VCP",
            errors=ErrorTable(
                base=VcpSDKError, connection=VcpConnectionError, for_response=error_for_response
            ),
            logger=logger,
            # GETs are safe to repeat when a connection drops or a proxy hiccups
            session=session if session is not None else default_session(retry_statuses=(502, 503, 504)),
            timeout=(self.CONNECT_TIMEOUT, self.READ_TIMEOUT),
            verify=verify,
            verbose=verbose,
            secrets=lambda: (self._token,),
        )
        self.extensions: dict[str, Any] = {}
        #: the hint of a "cannot reach" error (None: :class:`VcpConnectionError`'s own), e.g.
        #: that the local sandbox may run on another port now
        self.connection_hint: str | None = None

    def __repr__(self) -> str:
        return f"<OcctrClient {self.base_url}>"

    @property
    def long_poll(self) -> bool:
        """True when the controller advertised the "wait for change" extension."""
        return "long_poll" in self.extensions

    def server_message(self, response: requests.Response) -> str | None:
        """The controller's message in an error answer, as the original reads it: the body's
        ``message``, else the body's text (at most 500 characters); secrets blanked."""
        payload = response_json(response)
        message = payload.get("message") if isinstance(payload, dict) else None
        text = str(message) if message else response.text[:500]
        return self.redact_text(redact(text)) if text else None

    def status_failed(
        self, cls: type[VcpSDKError], what: str, status: int, server_message: str | None
    ) -> NoReturn:
        """Log like the original SDK, ``<message>: http_status(<code>)`` then the controller's
        message, and raise ``cls`` with ``args == ("VCP", <message>)`` (the hook of
        :meth:`~vcpsdk._http.JsonApiClient.check`)."""
        logger.error("%s: http_status(%s)", what, status)
        if server_message:
            logger.error("%s", server_message)
        raise cls(what, http_status=status, server_message=server_message)

    def connection_failed(self, what: str, url: str, error: requests.RequestException) -> NoReturn:
        """Log and raise :class:`VcpConnectionError` (the original's ``server error``)."""
        if isinstance(error, requests.exceptions.SSLError):
            message = f"{what}: TLS with {self.base_url} failed: {self.tls_problem(error)}"
            logger.error("%s", message)
            raise VcpConnectionError(message) from None
        logger.error(
            "server error: cannot reach the VC Controller at %s (%s)", self.base_url, type(error).__name__
        )
        reached = f"cannot reach {self.base_url}"
        if self.base_url.startswith("http://") and "aborted" in str(error).lower():
            # a TLS port closes a plain-http connection without an answer
            reached += " (it closed the connection: if the controller serves HTTPS, remove scheme: http)"
        raise VcpConnectionError("server error", server_message=reached, hint=self.connection_hint) from None

    def call(
        self,
        route: Route,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        privileged: bool = False,
        allow_404: bool = False,
        read_timeout: float | None = None,
        **path_params: Any,
    ) -> Any:
        """Send the request of ``route`` (:mod:`vcpsdk.core.protocol`) and return its JSON body.

        The method, path, success status and error message come from the route table.

        Args:
            route: e.g. ``protocol.UNIT_OPERATION``.
            body: JSON body of a write (``{}`` when None).
            params: query parameters.
            privileged: send ``x-vcc-privileged: True``.
            allow_404: return None instead of raising on 404.
            read_timeout: seconds to wait for the answer (long-poll reads).
            **path_params: the route's path parameters (``vcid``, ``unit_name``, ...).

        Returns:
            The JSON body (None for an allowed 404).

        Raises:
            VcpSDKError: (typed by status) with ``args == ("VCP", <the route's message>)``.

        Example:
            >>> client.call(UNIT_GET, vcid=vcid, unit_name='server')  # doctest: +SKIP
        """
        headers = {TOKEN_HEADER: self._token, "Content-Type": "application/json"}
        if privileged:
            headers[PRIVILEGED_HEADER] = "True"
        what = route.message(**path_params)
        response = self.send(
            route.method,
            route.url(**path_params),
            what,
            data=None if route.method == "GET" else json.dumps(body if body is not None else {}),
            params=params,
            headers=headers,
            timeout=(self.CONNECT_TIMEOUT, read_timeout or self.READ_TIMEOUT),
            log_suffix=f" privileged({privileged})",
        )
        if allow_404 and response.status_code == 404:
            return None
        payload = response_json(response)
        self.log_payload(payload)
        self.check(response, what, (route.status,))
        return payload

    def connect(self) -> dict[str, Any]:
        """The startup check of the original SDK: ``GET <base>`` then ``GET /vcs``.

        Records the extensions the controller advertises.
        """
        info = self.call(ROOT)
        if isinstance(info, dict):
            extensions = info.get("extensions")
            self.extensions = extensions if isinstance(extensions, dict) else {}
        vcs: dict[str, Any] = self.call(VCS_LIST)
        return vcs


__all__ = ["SECRET_KEYS", "OcctrClient", "VcpSDKError", "b64", "redact"]
