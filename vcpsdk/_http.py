"""The one JSON-API client layer of the SDK and its extensions.

:class:`JsonApiClient` is what the VC Controller client (:mod:`vcpsdk.occtr`) and the
extensions (:mod:`vcpsdk.extensions.mdx`, :mod:`vcpsdk.extensions.chameleon`) send their
requests with.  It brings, once:

* a **session seam**: pass your own ``requests.Session`` (tests do), else
  :func:`default_session` makes one whose idempotent requests are retried by urllib3
  when a connection drops;
* **timeouts** on every request, and connection failures turned into a typed error (a
  TLS failure names the certificate problem, e.g. ``certificate verify failed:
  self-signed certificate``, and how to accept or trust the certificate);
* **TLS verification** as ``requests`` does it: ``verify=True`` checks the server's
  certificate against ``$REQUESTS_CA_BUNDLE`` (else the system's CAs), ``False`` accepts
  any certificate (urllib3's ``InsecureRequestWarning`` is then silenced for that host);
* **status → error mapping** through an :class:`ErrorTable` (HTTP status → exception
  class), the server's own message extracted by :func:`server_message`;
* **redaction**: :func:`redact` blanks secret keys of a JSON value, :func:`redact_text`
  blanks secret values in a text; nothing secret reaches a log line or an error;
* **verbose logging**: 1 logs method and URL, 2 the status, 3 the (redacted) body.

Example::

    from vcpsdk._http import ErrorTable, JsonApiClient

    api = JsonApiClient("https://api.example.org", name="example", errors=ErrorTable.for_sdk())
    response = api.send("GET", "/things", "list things")
    things = api.decode(api.check(response, "list things"), "list things")
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InsecureRequestWarning
from urllib3.util.retry import Retry

from vcpsdk.core.protocol import SECRET_KEYS
from vcpsdk.errors import (
    VcpConnectionError,
    VcpSDKError,
    error_for_status,
    family_member_for_status,
    raise_error,
)

#: the reason OpenSSL gives, in ``[SSL: CODE] reason (_ssl.c:NNN)``
_SSL_REASON = re.compile(r"\[SSL(?:: [A-Z_]+)?\] (.*?)\s*\(_ssl\.c")
#: keys of an error body whose (string) value is the server's message, in this order
MESSAGE_KEYS = ("detail", "message", "error_message", "error", "faultstring", "description")
#: keys of an error body holding a nested error object (Keystone, Neutron) and its text keys
NESTED_ERROR_KEYS = {"error": ("message", "title"), "NeutronError": ("message", "type")}


class _Retry(Retry):
    """urllib3's retry, which also repeats a request of any method that the server answered
    429 with ``Retry-After`` (a rate limit refuses before doing anything, so repeating a
    POST after the wait it names is safe); the wait is the header's."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if status_code == 429 and has_retry_after and self.respect_retry_after_header and self.total:
            return True
        return super().is_retry(method, status_code, has_retry_after)


def default_session(
    *,
    retry_methods: Collection[str] = frozenset({"GET"}),
    retry_statuses: Collection[int] = (),
    connect_retries: int = 3,
    pool_maxsize: int = 4,
) -> requests.Session:
    """A ``requests.Session`` whose idempotent requests urllib3 retries on a dropped connection,
    and whose requests of any method are repeated after a 429 answer's ``Retry-After``.

    Args:
        retry_methods: the methods safe to repeat.
        retry_statuses: HTTP statuses that are retried too (e.g. ``(502, 503, 504)`` behind
            a proxy); none by default, so a server's error reaches the caller.
        connect_retries: retries of a connection that could not be opened (``0``: a refused
            connection or an unknown host fails at once).
        pool_maxsize: connections kept per host.

    Returns:
        a new session.

    Example::

        session = default_session(retry_statuses=(502, 503, 504))
    """
    session = requests.Session()
    retry = _Retry(
        total=3,
        connect=connect_retries,
        read=2,
        backoff_factor=0.2,
        other=0,  # a failed TLS handshake (untrusted certificate, wrong scheme) never heals
        status_forcelist=tuple(retry_statuses),
        raise_on_status=False,  # the last answer (a 503's message) reaches the caller, not RetryError
        allowed_methods=frozenset(retry_methods),
    )
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=pool_maxsize)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def redact(value: Any, secret_keys: Collection[str]) -> Any:
    """A copy of a JSON value whose ``secret_keys`` fields are replaced by a short placeholder.

    Keys match whatever their case (``X-Auth-Token`` is ``x-auth-token``).  Strings
    carrying ``AUTHORIZED_KEYS=`` (a node's CCI environment) are cut there too.

    Args:
        value: a decoded JSON value (dict, list, str, ...).
        secret_keys: the keys whose values are never shown.

    Returns:
        the redacted copy.

    Example::

        redact({"user": "alice", "password": "x"}, {"password"})
        # {'user': 'alice', 'password': '<redacted 1 chars>'}
    """
    if isinstance(value, dict):
        keys = {str(k).lower() for k in secret_keys}
        return {
            k: (f"<redacted {len(str(v))} chars>" if str(k).lower() in keys and v else redact(v, secret_keys))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v, secret_keys) for v in value]
    if isinstance(value, str) and "AUTHORIZED_KEYS=" in value:
        return value.split("AUTHORIZED_KEYS=", 1)[0] + "AUTHORIZED_KEYS=<redacted>"
    return value


def redact_text(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret value (of 4 characters or more) replaced by ``***``.

    Example::

        redact_text("token abcd refused", ["abcd"])   # 'token *** refused'
    """
    for secret in secrets:
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, "***")
    return text


def response_json(response: requests.Response) -> Any:
    """The JSON body of ``response``: ``{}`` when empty, ``{"message": <text>}`` when not JSON.

    Example::

        payload = response_json(session.get(url))
    """
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        return {"message": response.text[:500]}


def message_of(body: Any) -> str | None:
    """The server's message in a decoded error body, in the shapes the APIs use.

    Keystone ``{"error": {"message"}}``, Neutron ``{"NeutronError": {"message"}}``, a
    string under one of :data:`MESSAGE_KEYS` (Django ``detail``, Blazar ``error_message``,
    ...), else field errors ``"key: value; ..."``; a list is joined with ``"; "``.

    Example::

        message_of({"disk_size": ["too large"]})   # 'disk_size: too large'
    """
    if isinstance(body, Mapping):
        for key, text_keys in NESTED_ERROR_KEYS.items():
            nested = body.get(key)
            if isinstance(nested, Mapping):
                for text_key in text_keys:
                    if nested.get(text_key):
                        return str(nested[text_key])
        for key in MESSAGE_KEYS:
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])
        parts = []
        for key, value in body.items():
            if isinstance(value, list):
                value = " ".join(str(v) for v in value)
            parts.append(f"{key}: {value}")
        return "; ".join(parts) or None
    if isinstance(body, list):
        return "; ".join(str(v) for v in body) or None
    return str(body) if body is not None else None


@dataclass(frozen=True)
class ErrorTable:
    """Which exception a client raises: per HTTP status, for a failed connection, otherwise.

    Attributes:
        base: the class for a status the table does not name (and for a non-JSON answer).
        by_status: HTTP status → exception class.
        connection: the class for a connection that failed or timed out.
        for_response: optional ``(status, server_message) -> class`` used instead of
            ``by_status`` (the VC Controller names its exception in the message).
        logger: where :meth:`fail` logs (``vcp.sdk`` by default).
    """

    base: type[VcpSDKError]
    connection: type[VcpSDKError] = VcpConnectionError
    by_status: Mapping[int, type[VcpSDKError]] = field(default_factory=dict)
    for_response: Callable[[int, str | None], type[VcpSDKError]] | None = None
    logger: logging.Logger | None = None

    @classmethod
    def for_sdk(cls) -> ErrorTable:
        """The SDK's own classes (:func:`vcpsdk.errors.error_for_status`).

        Example::

            errors = ErrorTable.for_sdk()
        """
        return cls(base=VcpSDKError, for_response=lambda status, _message: error_for_status(status))

    @classmethod
    def for_family(cls, base: type[VcpSDKError], logger: logging.Logger | None = None) -> ErrorTable:
        """The table of an extension's error family: the direct subclasses of ``base`` that
        also subclass an SDK class (e.g. ``MdxNotFoundError(MdxRestError, VcpNotFoundError)``)
        serve the HTTP statuses of that SDK class, and the one subclassing
        :class:`~vcpsdk.errors.VcpConnectionError` serves failed connections.

        Example::

            ERRORS = ErrorTable.for_family(MdxRestError, logging.getLogger("vcp.sdk.mdx"))
        """
        family = tuple(base.__subclasses__())
        statuses = (400, 401, 403, 404, 409, 422)
        table = {s: family_member_for_status(s, family, base) for s in statuses}
        connection = next((c for c in family if issubclass(c, VcpConnectionError)), VcpConnectionError)
        return cls(base=base, connection=connection, by_status=table, logger=logger)

    def fail(self, cls: type[VcpSDKError], message: str, **kwargs: Any) -> NoReturn:
        """Log ``message`` at ERROR on the table's logger, then raise ``cls`` (the SDK's way).

        Example::

            ERRORS.fail(MdxNotFoundError, "mdx: get_vm_info: VM 'x' is not found")
        """
        raise_error(cls, message, log=self.logger, **kwargs)

    def error_for(self, status: int, server_message: str | None = None) -> type[VcpSDKError]:
        """The exception class for an answer with ``status`` (and the server's message).

        Example::

            ErrorTable.for_sdk().error_for(404)   # VcpNotFoundError
        """
        if self.for_response is not None:
            return self.for_response(status, server_message)
        return self.by_status.get(status, self.base)


class JsonApiClient:
    """A client of one JSON HTTP API: session, timeouts, error mapping, redaction, logging.

    Args:
        base_url: prefix of relative paths (``""`` when every call passes a full URL).
        name: the API's name, the first word of the error messages (``"mdx"``).
        errors: which exception is raised for what.
        logger: where log lines and errors go.
        session: a ``requests.Session`` to use; :func:`default_session` by default.
        timeout: seconds a request may take (a number, or ``(connect, read)``).
        verify: TLS verification (``True``, ``False`` or a CA bundle path).
        verbose: 1 logs ``[METHOD] url`` at DEBUG, 2 also the status, 3 also the body.
        secret_keys: JSON keys whose values are never logged, in addition to
            :data:`vcpsdk.core.protocol.SECRET_KEYS` (``token``, ``password``,
            ``client_secret``, ``application_credential_secret``, ...), which always apply.
        secrets: returns the secret values (tokens, passwords) to blank in logs and errors.

    Example::

        api = JsonApiClient("http://127.0.0.1:8999", name="mdx", errors=ErrorTable.for_sdk())
        projects = api.request("GET", "/api/project/assigned/", "get_assigned_projects")
    """

    def __init__(
        self,
        base_url: str = "",
        *,
        name: str,
        errors: ErrorTable,
        logger: logging.Logger | None = None,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = 60.0,
        verify: bool | str = True,
        verbose: int = 0,
        secret_keys: Collection[str] = (),
        secrets: Callable[[], Iterable[str | None]] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.errors = errors
        self.logger = logger or logging.getLogger("vcp.sdk")
        self.session = session if session is not None else default_session()
        self.timeout = timeout
        self.verify = verify
        self.verbose = verbose
        #: the JSON keys whose values are never logged (the shared ones and this API's own)
        self.secret_keys: frozenset[str] = SECRET_KEYS | frozenset(secret_keys)
        self._secrets = secrets or (lambda: ())
        self.requests_sent = 0
        if verify is False:
            self._accept_any_certificate()

    #: how to get past a certificate that is not trusted (shown in TLS errors)
    tls_hint = (
        "pass verify=False to accept any certificate, or set REQUESTS_CA_BUNDLE to your CA's certificate"
    )
    #: what to check when the server does not speak TLS at all (shown in TLS errors)
    scheme_hint = "does the server speak HTTPS on this port (or should the URL say http)?"

    def _accept_any_certificate(self) -> None:
        """Silence urllib3's ``InsecureRequestWarning`` for this client's host, as the
        original SDK does when it is told not to verify (other hosts still warn)."""
        host = urlsplit(self.base_url).hostname
        if host:
            warnings.filterwarnings(
                "ignore",
                message=rf"Unverified HTTPS request is being made to host '{re.escape(host)}'",
                category=InsecureRequestWarning,
            )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.base_url}>"

    # ------------------------------------------------------------------ redaction

    def redact_text(self, text: str) -> str:
        """``text`` with this client's secret values blanked (see :func:`redact_text`).

        Example::

            api.redact_text(str(error))
        """
        return redact_text(text, self._secrets())

    def server_message(self, response: requests.Response) -> str | None:
        """The server's message in an error answer (redacted), or ``None`` for an empty body.

        Example::

            api.server_message(response)   # 'internal error'
        """
        try:
            body = response.json()
        except ValueError:
            text = response.text.strip()
            return self.redact_text(text[:2000]) if text else None
        message = message_of(redact(body, self.secret_keys))
        return self.redact_text(message) if message else None

    def log_payload(self, payload: Any) -> None:
        """Log a decoded body at DEBUG when ``verbose >= 3``, secrets redacted.

        Example::

            api.log_payload({"token": "x"})   # {"token": "<redacted 1 chars>"}
        """
        if self.verbose >= 3:
            text = json.dumps(redact(payload, self.secret_keys), ensure_ascii=False)[:4000]
            self.logger.debug("%s", self.redact_text(text))

    # ------------------------------------------------------------------ the core

    def send(
        self,
        method: str,
        url: str,
        what: str,
        *,
        json_body: Any = None,
        data: str | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | tuple[float, float] | None = None,
        log_suffix: str = "",
    ) -> requests.Response:
        """Send one request and return the response, whatever its status.

        Args:
            method: ``GET``, ``POST``, ...
            url: a path under ``base_url`` (starting with ``/`` or empty) or a full URL.
            what: what the caller is doing (used in error messages).
            json_body: a value to send as JSON, or ``data`` for a ready body.
            params: query parameters.
            headers: request headers (``Accept: application/json`` is added).
            timeout: overrides the client's timeout.
            log_suffix: appended to the ``[METHOD] url`` log line.

        Returns:
            the response.

        Raises:
            VcpConnectionError: (the table's ``connection`` class) no connection or no answer
                in time; see :meth:`connection_failed`.

        Example::

            response = api.send("POST", "/api/acl/", "add_acl", json_body={"segment": "s"})
        """
        if not url.startswith(("http://", "https://")):
            url = self.base_url + url
        if self.verbose >= 1:
            self.logger.debug("[%s] %s%s", method, url, log_suffix)
        sent = {"Accept": "application/json", **(headers or {})}
        try:
            self.requests_sent += 1
            response = self.session.request(
                method,
                url,
                json=json_body,
                data=data,
                params=params,
                headers=sent,
                verify=self.verify,
                timeout=timeout if timeout is not None else self.timeout,
            )
        except requests.RequestException as e:
            self.connection_failed(what, url, e)
        if self.verbose >= 2:
            self.logger.debug("HTTP STATUS %s", response.status_code)
        return response

    def connection_failed(self, what: str, url: str, error: requests.RequestException) -> NoReturn:
        """Log and raise the ``connection`` error for a request that got no answer.

        Example::

            # "mdx: login: cannot reach http://127.0.0.1:9 (ConnectionError)"
        """
        where = self.base_url or url
        if isinstance(error, requests.exceptions.SSLError):
            self.tls_failed(what, where, error)
        if isinstance(error, requests.Timeout):
            self.fail(
                self.errors.connection,
                f"{what}: no answer from {where} within {self.timeout} s ({type(error).__name__})",
            )
        self.fail(
            self.errors.connection,
            f"{what}: cannot reach {where} ({type(error).__name__})",
            server_message=self.redact_text(str(error))[:500],
        )

    def tls_failed(self, what: str, where: str, error: requests.exceptions.SSLError) -> NoReturn:
        """Log and raise the ``connection`` error for a failed TLS handshake, naming the
        problem (see :meth:`tls_problem`).

        Example::

            # "mdx: login: TLS with https://... failed: certificate verify failed: ..."
        """
        self.fail(self.errors.connection, f"{what}: TLS with {where} failed: {self.tls_problem(error)}")

    def tls_problem(self, error: requests.exceptions.SSLError) -> str:
        """What went wrong in a TLS handshake, as OpenSSL says it, and what to do about it.

        Example::

            api.tls_problem(error)
            # 'certificate verify failed: self-signed certificate; pass verify=False ...'
        """
        text = self.redact_text(str(error))
        found = _SSL_REASON.search(text)
        problem = found.group(1) if found else text[:300]
        if "hostname mismatch" in problem.lower() or "doesn't match" in problem.lower():
            return f"{problem}; connect with a host name or address the certificate names"
        if "certificate" in problem.lower():
            return f"{problem}; {self.tls_hint}"
        return f"{problem}; {self.scheme_hint}"

    def fail(self, cls: type[VcpSDKError], message: str, **kwargs: Any) -> NoReturn:
        """Log ``"<name>: <message>"`` at ERROR and raise ``cls`` with it.

        Example::

            api.fail(MdxNotFoundError, "get_vm_info: VM 'x' is not found")
        """
        self.errors.fail(cls, f"{self.name}: {message}", **kwargs)

    def check(
        self,
        response: requests.Response,
        what: str,
        expected: Collection[int] = (200,),
        *,
        error_classes: Mapping[int, type[VcpSDKError]] | None = None,
    ) -> requests.Response:
        """Return ``response`` if its status is ``expected``, else raise the mapped error.

        The error's message is ``"<name>: <what> failed"``, with the HTTP status and the
        server's (redacted) message.

        Args:
            response: the answer.
            what: what the caller was doing.
            expected: the statuses of success.
            error_classes: per-call overrides of the table (e.g. ``{400: AuthError}``).

        Raises:
            VcpSDKError: the table's class for the status.

        Example::

            api.check(response, "get_segments", (200,))
        """
        if response.status_code in expected:
            return response
        server_message = self.server_message(response)
        cls = (error_classes or {}).get(response.status_code) or self.errors.error_for(
            response.status_code, server_message
        )
        self.status_failed(cls, what, response.status_code, server_message)

    def status_failed(
        self, cls: type[VcpSDKError], what: str, status: int, server_message: str | None
    ) -> NoReturn:
        """Log and raise ``cls`` for an answer whose status was not expected (the hook of
        :meth:`check`; a client whose log lines or messages differ overrides it).

        By default the message is ``"<name>: <what> failed"``, logged at ERROR with the
        status and the server's message (see :meth:`fail`).

        Args:
            cls: the exception class :meth:`check` chose for the status.
            what: what the caller was doing.
            status: the HTTP status of the answer.
            server_message: the server's (redacted) message, if any.

        Raises:
            VcpSDKError: ``cls``, always.

        Example::

            api.status_failed(VcpNotFoundError, "get_vm_info", 404, "Not found.")
        """
        self.fail(cls, f"{what} failed", http_status=status, server_message=server_message)

    def decode(self, response: requests.Response | None, what: str) -> Any:
        """The JSON body of a successful answer (``None`` when empty); logged when verbose.

        Raises:
            VcpSDKError: (the table's ``base`` class) the body is not JSON.

        Example::

            body = api.decode(response, "get_segments")
        """
        if response is None or response.status_code == 204 or not response.content:
            return None
        try:
            payload = response.json()
        except ValueError:
            self.fail(
                self.errors.base,
                f"{what}: the answer is not JSON",
                http_status=response.status_code,
                server_message=self.redact_text(response.text[:500]),
            )
        self.log_payload(payload)
        return payload

    def request(
        self,
        method: str,
        url: str,
        what: str,
        *,
        expected: Collection[int] = (200,),
        missing_ok: bool = False,
        error_classes: Mapping[int, type[VcpSDKError]] | None = None,
        **kwargs: Any,
    ) -> Any:
        """:meth:`send`, :meth:`check` and :meth:`decode` in one: the decoded JSON body.

        Args:
            method, url, what: as :meth:`send` (its other keywords too).
            expected: the statuses of success.
            missing_ok: return ``None`` for a 404 instead of raising.
            error_classes: as :meth:`check`.

        Example::

            vm = api.request("GET", f"/api/vm/{vm_id}/", "get_vm_info", missing_ok=True)
        """
        response = self.send(method, url, what, **kwargs)
        if missing_ok and response.status_code == 404:
            return None
        return self.decode(self.check(response, what, expected, error_classes=error_classes), what)


__all__ = [
    "ErrorTable",
    "JsonApiClient",
    "default_session",
    "message_of",
    "redact",
    "redact_text",
    "response_json",
]
