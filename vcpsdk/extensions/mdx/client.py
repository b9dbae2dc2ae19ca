"""The mdx REST client's base: construction, HTTP plumbing, tokens, projects and history."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Self

import requests

from vcpsdk._http import JsonApiClient, default_session
from vcpsdk.core.polling import SYSTEM_CLOCK, Clock
from vcpsdk.errors import VcpSDKError
from vcpsdk.extensions.mdx.errors import (
    ERRORS,
    MdxAuthError,
    MdxInvalidArgumentError,
    MdxNotFoundError,
    MdxRestError,
    fail,
    logger,
)
from vcpsdk.extensions.mdx.settings import DEFAULT_MDX_ENDPOINT, PAGE_SIZE, REQUEST_TIMEOUT_SEC


class MdxClient:
    """The base of :class:`MdxResourceExt`: construction, HTTP plumbing, tokens, projects.

    Args: as :class:`MdxResourceExt`.
    """

    #: where the wait loops take their time and pauses from (per instance: ``clock=``)
    clock: Clock = SYSTEM_CLOCK

    def __init__(
        self,
        init_token: str | None = None,
        endpoint: str = DEFAULT_MDX_ENDPOINT,
        *,
        session: requests.Session | None = None,
        request_timeout: float = REQUEST_TIMEOUT_SEC,
        page_size: int = PAGE_SIZE,
        clock: Clock | None = None,
        verbose: int = 1,
    ) -> None:
        if page_size < 1:
            raise MdxInvalidArgumentError(f"mdx: page_size must be at least 1, not {page_size}")
        self._endpoint = endpoint.rstrip("/")
        self._token = init_token or None
        self._page_size = page_size
        self._project_id: str | None = None
        if clock is not None:
            self.clock = clock
        self._api = JsonApiClient(
            self._endpoint,
            name="mdx",
            errors=ERRORS,
            logger=logger,
            session=session if session is not None else default_session(connect_retries=0),
            timeout=request_timeout,
            verbose=verbose,
            secrets=lambda: (self._token,),
        )

    def __repr__(self) -> str:
        return (
            f"MdxResourceExt(endpoint={self._endpoint!r}, project_id={self._project_id!r}, "
            f"token={'set' if self._token else 'unset'})"
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session (connections are reopened if the client is used again).

        Example::

            with MdxResourceExt(token) as mdx:
                mdx.get_assigned_projects()
        """
        self._api.session.close()

    @property
    def endpoint(self) -> str:
        """The base URL of the mdx REST API (without a trailing slash)."""
        return self._endpoint

    @property
    def token(self) -> str | None:
        """The token in use (a secret: do not print or log it)."""
        return self._token

    @property
    def project_id(self) -> str | None:
        """The uuid of the current project, or ``None`` when none is set."""
        return self._project_id

    # ------------------------------------------------------------------ HTTP plumbing

    def _request(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        expected: tuple[int, ...] = (200,),
        auth: bool = True,
        missing_ok: bool = False,
        decode: bool = True,
        error_classes: Mapping[int, type[VcpSDKError]] | None = None,
    ) -> Any:
        """Send one request; return its JSON body (``None`` when empty, or for a 404 when
        ``missing_ok``; not decoded unless ``decode``)."""
        headers = {}
        if auth:
            if not self._token:
                fail(
                    MdxAuthError,
                    f"mdx: {what}: no mdx token: pass init_token to MdxResourceExt() or call login() first",
                )
            headers["Authorization"] = f"JWT {self._token}"
        if decode:
            return self._api.request(
                method,
                path,
                what,
                expected=expected,
                missing_ok=missing_ok,
                error_classes=error_classes,
                params=params,
                json_body=body,
                headers=headers,
            )
        response = self._api.send(method, path, what, params=params, json_body=body, headers=headers)
        return self._api.check(response, what, expected, error_classes=error_classes)

    def _get(self, path: str, what: str, **kwargs: Any) -> Any:
        return self._request("GET", path, what, **kwargs)

    def _iter_pages(self, path: str, what: str) -> Iterator[dict[str, Any]]:
        """Yield the items of a paginated list (``?page=N&page_size=M``) across pages.

        The answer of a page is ``{"count", "next", "previous", "results"}``; a plain JSON
        list is taken as the whole list.
        """
        page = 1
        while True:
            body = self._get(path, what, params={"page": page, "page_size": self._page_size})
            if isinstance(body, list):
                yield from body
                return
            if not isinstance(body, Mapping) or not isinstance(body.get("results"), list):
                fail(MdxRestError, f"mdx: {what}: unexpected answer for page {page}")
            results = body["results"]
            yield from results
            if not body.get("next") or not results:
                return
            page += 1

    def _require_project(self, what: str) -> str:
        if self._project_id is None:
            fail(
                MdxRestError,
                f"mdx: {what}: no current project: call "
                "set_current_project_by_name() or set_current_project_id() first",
            )
        return self._project_id

    @staticmethod
    def _check_name(value: Any, what: str, name: str) -> None:
        if not isinstance(value, str) or not value:
            fail(MdxInvalidArgumentError, f"mdx: {what}: {name} must be a non-empty string, not {value!r}")

    # ----------------------------------------------------------------------- tokens

    def login(self, auth_info: Mapping[str, str]) -> None:
        """Get a token with a user name and password (for development; ``POST /api/login/``).

        In normal use take the token from the mdx user portal and pass it as
        ``init_token`` instead.

        Args:
            auth_info: ``{"username": <mdx REST API user>, "password": <its password>}``.

        Returns:
            ``None``; the new token is used by every later call.

        Raises:
            MdxInvalidArgumentError: ``auth_info`` lacks ``username`` or ``password``.
            MdxAuthError: mdx refused the credentials.
            MdxConnectionError: mdx could not be reached.

        Example::

            mdx = MdxResourceExt()
            mdx.login({"username": "alice", "password": getpass()})
        """
        if not isinstance(auth_info, Mapping) or not all(
            isinstance(auth_info.get(k), str) and auth_info.get(k) for k in ("username", "password")
        ):
            fail(MdxInvalidArgumentError, "mdx: login: auth_info must be {'username': ..., 'password': ...}")
        body = self._request(
            "POST",
            "/api/login/",
            "login",
            body={"username": auth_info["username"], "password": auth_info["password"]},
            auth=False,
            error_classes={400: MdxAuthError},
        )
        if not isinstance(body, Mapping) or not body.get("token"):
            fail(MdxAuthError, "mdx: login: the answer holds no token")
        self._token = str(body["token"])

    def refresh_token(self) -> None:
        """Exchange the current token for a fresh one (``POST /api/refresh/``).

        Returns:
            ``None``; the new token replaces the old one, which mdx may revoke.

        Raises:
            MdxAuthError: there is no token, or mdx refused it (expired or revoked).
            MdxConnectionError: mdx could not be reached.

        Example::

            mdx.refresh_token()   # e.g. once an hour in a long-running notebook
        """
        body = self._request("POST", "/api/refresh/", "refresh_token", body={"token": self._token})
        if not isinstance(body, Mapping) or not body.get("token"):
            fail(MdxAuthError, "mdx: refresh_token: the answer holds no token")
        self._token = str(body["token"])

    # --------------------------------------------------------------------- projects

    def get_assigned_projects(self) -> list[dict[str, Any]]:
        """The institutions and projects the user belongs to (``GET /api/project/assigned/``).

        Returns:
            ``[{"uuid", "name", "projects": [{"uuid", "name", "type", "expired"}]}]``: one
            entry per institution; ``type`` is ``"専有"`` (dedicated) or ``"通常"``
            (normal), ``expired`` a bool.

        Raises:
            MdxAuthError: no token, or mdx refused it.
            MdxConnectionError: mdx could not be reached.

        Example::

            project_id = mdx.get_assigned_projects()[0]["projects"][0]["uuid"]
        """
        body = self._get("/api/project/assigned/", "get_assigned_projects")
        return list(body or [])

    def _find_project(self, key: str, value: str) -> dict[str, Any] | None:
        for institution in self.get_assigned_projects():
            for project in institution.get("projects") or []:
                if project.get(key) == value:
                    return dict(project)
        return None

    def get_current_project(self) -> dict[str, Any] | None:
        """The current project, as listed by :meth:`get_assigned_projects`.

        Returns:
            ``{"uuid", "name", "type", "expired"}``, or ``None`` when no project is set or
            the set id is not among the user's projects.

        Raises:
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            print(mdx.get_current_project()["name"])
        """
        if self._project_id is None:
            return None
        return self._find_project("uuid", self._project_id)

    def set_current_project_by_name(self, project_name: str) -> None:
        """Make the project named ``project_name`` the current project.

        Args:
            project_name: the project's name as shown by :meth:`get_assigned_projects`.

        Returns:
            ``None``.

        Raises:
            MdxNotFoundError: the user has no project of that name (the current project is
                left unchanged).
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            mdx.set_current_project_by_name(os.environ["MDX_PROJECT_NAME"])
        """
        self._check_name(project_name, "set_current_project_by_name", "project_name")
        project = self._find_project("name", project_name)
        if project is None:
            fail(MdxNotFoundError, f"mdx: project {project_name!r} is not found among the assigned projects")
        self._project_id = str(project["uuid"])

    def set_current_project_id(self, project_id: str) -> None:
        """Make the project with uuid ``project_id`` the current project (no request is sent).

        Args:
            project_id: the project's uuid.

        Returns:
            ``None``.

        Raises:
            MdxInvalidArgumentError: ``project_id`` is not a non-empty string.

        Example::

            mdx.set_current_project_id(mdx.get_assigned_projects()[0]["projects"][0]["uuid"])
        """
        self._check_name(project_id, "set_current_project_id", "project_id")
        self._project_id = project_id

    def get_project_history(self) -> list[dict[str, Any]]:
        """The operation history of the current project, all pages.

        Returns:
            ``[{"uuid", "project", "user_name", "type", "object_uuid", "object_name",
            "start_datetime", "end_datetime", "status", "progress", "error_message",
            "error_detail"}]``; ``status`` is ``"Running"``, ``"Completed"`` or ``"Failed"``,
            dates are ``"YYYY-mm-dd HH:MM:SS"``.

        Raises:
            MdxRestError: no current project.
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            failed = [h for h in mdx.get_project_history() if h["status"] == "Failed"]
        """
        return list(self.project_history_iter())

    def project_history_iter(self) -> Iterator[dict[str, Any]]:
        """Iterate over the current project's history (``GET /api/history/project/<id>/``).

        Pages are fetched as the iteration goes on.

        Returns:
            an iterator of history entries (see :meth:`get_project_history`).

        Raises:
            MdxRestError: no current project (when the iteration starts).
            MdxAuthError, MdxConnectionError: as :meth:`get_assigned_projects`.

        Example::

            for entry in mdx.project_history_iter():
                print(entry["type"], entry["object_name"], entry["status"])
        """
        project_id = self._require_project("project_history_iter")
        yield from self._iter_pages(f"/api/history/project/{project_id}/", "project_history_iter")
