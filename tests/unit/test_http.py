"""``vcpsdk._http``: the one JSON-API client layer of the SDK and its extensions."""

from __future__ import annotations

import logging

import pytest
import requests
import requests_mock as requests_mock_module

from vcpsdk._http import (
    ErrorTable,
    JsonApiClient,
    default_session,
    message_of,
    redact,
    redact_text,
    response_json,
)
from vcpsdk.core.protocol import SECRET_KEYS
from vcpsdk.errors import (
    VcpAuthError,
    VcpConflictError,
    VcpConnectionError,
    VcpInvalidArgumentError,
    VcpNotFoundError,
    VcpSDKError,
)

BASE = "http://127.0.0.1:9/api"
TOKEN = "tok-0123456789"


class FamilyError(VcpSDKError):
    """Base of a test family."""


class FamilyNotFound(FamilyError, VcpNotFoundError):
    """404."""


class FamilyAuth(FamilyError, VcpAuthError):
    """401/403."""


class FamilyConnection(FamilyError, VcpConnectionError):
    """No connection."""


def client(**kwargs: object) -> JsonApiClient:
    log = logging.getLogger("vcp.sdk.test")
    return JsonApiClient(
        BASE,
        name="fam",
        errors=ErrorTable.for_family(FamilyError, log),
        logger=log,
        secret_keys={"password"},
        secrets=lambda: (TOKEN,),
        **kwargs,  # type: ignore[arg-type]
    )


def test_redact_blanks_secret_keys_and_authorized_keys() -> None:
    value = {
        "user": "u",
        "password": "pw",
        "nested": [{"password": "x", "env": "A=1 AUTHORIZED_KEYS=ssh-rsa"}],
    }
    assert redact(value, {"password"}) == {
        "user": "u",
        "password": "<redacted 2 chars>",
        "nested": [{"password": "<redacted 1 chars>", "env": "A=1 AUTHORIZED_KEYS=<redacted>"}],
    }
    assert value["password"] == "pw"  # a copy
    assert redact_text(f"token {TOKEN} refused", [TOKEN, None, "abc"]) == "token *** refused"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": {"code": 401, "message": "go away", "title": "Unauthorized"}}, "go away"),
        ({"NeutronError": {"type": "NotFound", "message": "gone"}}, "gone"),
        ({"error_code": 409, "error_message": "busy", "error_name": 409}, "busy"),
        ({"detail": "Not found."}, "Not found."),
        ({"disk_size": ["too large"], "gpu": ["bad"]}, "disk_size: too large; gpu: bad"),
        (["a", "b"], "a; b"),
        ({}, None),
    ],
)
def test_message_of_reads_every_api_shape(body: object, message: str | None) -> None:
    assert message_of(body) == message


def test_error_tables() -> None:
    table = ErrorTable.for_family(FamilyError)
    assert table.error_for(404) is FamilyNotFound
    assert table.error_for(401) is table.error_for(403) is FamilyAuth
    assert table.error_for(500) is FamilyError and table.error_for(409) is FamilyError
    assert table.connection is FamilyConnection
    sdk = ErrorTable.for_sdk()
    assert sdk.error_for(400) is VcpInvalidArgumentError and sdk.error_for(409) is VcpConflictError


def test_default_session_retries_idempotent_requests_only() -> None:
    retry = default_session().get_adapter("http://x").max_retries  # type: ignore[attr-defined]
    assert retry.allowed_methods == frozenset({"GET"}) and retry.connect == 3
    assert not retry.status_forcelist
    fast = default_session(connect_retries=0, retry_statuses=(503,)).get_adapter("https://x").max_retries  # type: ignore[attr-defined]
    assert fast.connect == 0 and tuple(fast.status_forcelist) == (503,)


def test_request_maps_statuses_and_redacts(
    requests_mock: requests_mock_module.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    api = client(session=requests.Session(), verbose=3)
    requests_mock.get(f"{BASE}/ok", json={"password": "pw", "note": TOKEN})
    requests_mock.get(f"{BASE}/gone", status_code=404, json={"detail": f"no such thing for {TOKEN}"})
    requests_mock.get(f"{BASE}/text", text="<html>")
    with caplog.at_level(logging.DEBUG, logger="vcp.sdk.test"):
        assert api.request("GET", "/ok", "read ok") == {"password": "pw", "note": TOKEN}
        assert api.request("GET", "/gone", "read gone", missing_ok=True) is None
        with pytest.raises(FamilyNotFound) as e:
            api.request("GET", "/gone", "read gone")
        with pytest.raises(FamilyError, match="fam: read text: the answer is not JSON"):
            api.request("GET", "/text", "read text")
    assert str(e.value) == "fam: read gone failed: http_status(404): no such thing for ***"
    assert e.value.args == ("VCP", "fam: read gone failed")
    assert "[GET] http://127.0.0.1:9/api/ok" in caplog.text and "HTTP STATUS 404" in caplog.text
    assert '"password": "<redacted 2 chars>"' in caplog.text
    assert TOKEN not in caplog.text and '"pw"' not in caplog.text
    assert requests_mock.last_request.headers["Accept"] == "application/json"
    assert api.requests_sent == 4


def test_the_shared_secret_keys_always_apply(
    requests_mock: requests_mock_module.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger("vcp.sdk.test")
    # no secret_keys given: core.protocol.SECRET_KEYS apply; extra ones add to them
    api = JsonApiClient(
        BASE,
        name="plain",
        errors=ErrorTable.for_sdk(),
        logger=log,
        session=requests.Session(),
        verbose=3,
        secret_keys={"X-Subject-Token"},
    )
    assert SECRET_KEYS <= api.secret_keys and "X-Subject-Token" in api.secret_keys
    answer = {
        "token": "SECRET-JWT-123",
        "password": "hunter22",
        "client_secret": "cs-0123",
        "application_credential_secret": "acs-0123",
        "x-subject-token": "subj-0123",  # the extra key, whatever its case
        "name": "visible",
    }
    requests_mock.post(f"{BASE}/login", json=answer)
    requests_mock.post(f"{BASE}/bad", status_code=400, json={"token": ["SECRET-JWT-456 is malformed"]})
    with caplog.at_level(logging.DEBUG, logger="vcp.sdk.test"):
        assert api.request("POST", "/login", "login") == answer
        with pytest.raises(VcpInvalidArgumentError) as e:
            api.request("POST", "/bad", "login")
    assert '"name": "visible"' in caplog.text
    for secret in ("SECRET-JWT-123", "hunter22", "cs-0123", "acs-0123", "subj-0123", "SECRET-JWT-456"):
        assert secret not in caplog.text and secret not in str(e.value)
    assert (e.value.server_message or "").startswith("token: <redacted ")


def test_connection_failures_are_typed(requests_mock: requests_mock_module.Mocker) -> None:
    api = client(session=requests.Session(), timeout=3)
    requests_mock.get(f"{BASE}/down", exc=requests.ConnectionError(f"refused {TOKEN}"))
    requests_mock.get(f"{BASE}/slow", exc=requests.ReadTimeout("slow"))
    with pytest.raises(
        FamilyConnection, match=r"fam: down: cannot reach http://127.0.0.1:9/api \(ConnectionError\)"
    ) as e:
        api.request("GET", "/down", "down")
    assert e.value.server_message == "refused ***"
    with pytest.raises(FamilyConnection, match="no answer from http://127.0.0.1:9/api within 3 s"):
        api.request("GET", "/slow", "slow")


def test_response_json_never_raises(requests_mock: requests_mock_module.Mocker) -> None:
    requests_mock.get(f"{BASE}/empty", content=b"")
    requests_mock.get(f"{BASE}/text", text="oops")
    session = requests.Session()
    assert response_json(session.get(f"{BASE}/empty")) == {}
    assert response_json(session.get(f"{BASE}/text")) == {"message": "oops"}


def test_the_controller_client_shares_the_one_error_path(
    requests_mock: requests_mock_module.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    """OcctrClient has no request path of its own: JsonApiClient.check maps and raises, its
    ``status_failed`` hook logs the original's lines (``<message>: http_status(<code>)``,
    then the controller's message)."""
    from vcpsdk.occtr import OcctrClient

    assert OcctrClient.request is JsonApiClient.request and OcctrClient.check is JsonApiClient.check
    assert not hasattr(OcctrClient, "get")
    api = OcctrClient(BASE, TOKEN, session=requests.Session())
    message = f"2026-01-01 UTC: VCPNotFoundException: no vc for {TOKEN}"
    requests_mock.get(f"{BASE}/vcs/x", status_code=404, json={"message": message})
    requests_mock.get(f"{BASE}/empty", status_code=500, content=b"")
    with caplog.at_level(logging.ERROR, logger="vcp.sdk"):
        with pytest.raises(VcpNotFoundError) as e:
            api.check(api.send("GET", "/vcs/x", "get vc"), "get vc failed")
        with pytest.raises(VcpSDKError) as empty:
            api.check(api.send("GET", "/empty", "read"), "read failed")
    assert e.value.args == ("VCP", "get vc failed") and e.value.http_status == 404
    assert e.value.server_message == "2026-01-01 UTC: VCPNotFoundException: no vc for ***"
    assert [r.getMessage() for r in caplog.records] == [
        "get vc failed: http_status(404)",
        "2026-01-01 UTC: VCPNotFoundException: no vc for ***",
        "read failed: http_status(500)",
    ]
    assert empty.value.server_message is None and empty.value.http_status == 500
