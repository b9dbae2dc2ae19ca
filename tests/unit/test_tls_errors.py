"""TLS failures name the certificate problem and what to do (issue 9); the self-signed
certificate's names."""

from __future__ import annotations

import socket
import warnings

import pytest
import requests
from urllib3.exceptions import InsecureRequestWarning

from vcpsdk._http import ErrorTable, JsonApiClient
from vcpsdk.controller.tls import names_for
from vcpsdk.core.protocol import ROOT
from vcpsdk.errors import VcpConnectionError
from vcpsdk.occtr import OcctrClient

BASE = "https://10.9.8.7:8443/vcp/v1/occtr"
VERIFY_FAILED = (
    "HTTPSConnectionPool(host='10.9.8.7', port=8443): Max retries exceeded with url: /vcp/v1/occtr "
    "(Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
    "verify failed: self-signed certificate (_ssl.c:1006)')))"
)
WRONG_VERSION = (
    "HTTPSConnectionPool(host='10.9.8.7', port=8443): Max retries exceeded with url: /vcp/v1/occtr "
    "(Caused by SSLError(SSLError(1, '[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)')))"
)


def test_occtr_verification_failure_names_the_problem_and_the_settings(requests_mock) -> None:
    requests_mock.get(BASE, exc=requests.exceptions.SSLError(VERIFY_FAILED))
    with pytest.raises(VcpConnectionError) as info:
        OcctrClient(BASE, "token").call(ROOT)
    message = str(info.value)
    assert message.startswith(f"config vc failed: TLS with {BASE} failed: ")
    assert "certificate verify failed: self-signed certificate;" in message
    assert "insecure_request_warning: False" in message
    assert "REQUESTS_CA_BUNDLE" in message


def test_https_to_a_plain_http_server_asks_whether_it_speaks_https(requests_mock) -> None:
    requests_mock.get(BASE, exc=requests.exceptions.SSLError(WRONG_VERSION))
    with pytest.raises(VcpConnectionError) as info:
        OcctrClient(BASE, "token").call(ROOT)
    assert "wrong version number; the controller does not speak HTTPS on this port" in str(info.value)
    assert "scheme: http under vcc: in vcp_config.yml" in str(info.value)


def test_a_host_name_the_certificate_does_not_name_gets_its_own_hint(requests_mock) -> None:
    mismatch = VERIFY_FAILED.replace(
        "certificate verify failed: self-signed certificate",
        "certificate verify failed: Hostname mismatch, certificate is not valid for 'localhost'.",
    )
    requests_mock.get(BASE, exc=requests.exceptions.SSLError(mismatch))
    with pytest.raises(VcpConnectionError) as info:
        OcctrClient(BASE, "token").call(ROOT)
    assert "Hostname mismatch" in str(info.value)
    assert "connect with a host name or address the certificate names" in str(info.value)


def test_plain_http_to_a_tls_port_suggests_https(requests_mock) -> None:
    plain = "http://127.0.0.1:8443/vcp/v1/occtr"
    aborted = requests.exceptions.ConnectionError(
        "('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))"
    )
    requests_mock.get(plain, exc=aborted)
    with pytest.raises(VcpConnectionError) as info:
        OcctrClient(plain, "token").call(ROOT)
    assert "if the controller serves HTTPS, remove scheme: http" in (info.value.server_message or "")


def test_json_api_clients_name_the_problem_too(requests_mock) -> None:
    api = JsonApiClient("https://10.9.8.7", name="mdx", errors=ErrorTable.for_sdk())
    requests_mock.get("https://10.9.8.7/x", exc=requests.exceptions.SSLError(VERIFY_FAILED))
    with pytest.raises(
        VcpConnectionError, match="mdx: list: TLS with https://10.9.8.7 failed: certificate verify"
    ):
        api.send("GET", "/x", "list")


def test_verify_false_silences_the_insecure_warning_for_that_host_only() -> None:
    text = "Unverified HTTPS request is being made to host '{}'. Adding certificate verification ..."
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        JsonApiClient("https://10.9.8.7", name="a", errors=ErrorTable.for_sdk(), verify=False)
        for host in ("10.9.8.7", "10.9.8.8"):
            warnings.warn(text.format(host), InsecureRequestWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == [text.format("10.9.8.8")]


def test_self_signed_names_for_the_listen_address() -> None:
    assert names_for("10.0.0.5") == ["10.0.0.5"]
    assert names_for("vcc.example.org") == ["vcc.example.org"]
    assert names_for("0.0.0.0") == list(dict.fromkeys([socket.gethostname(), "localhost", "127.0.0.1"]))
