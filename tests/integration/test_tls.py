"""HTTPS from the controller itself (issue 9): our SDK and original-style raw requests
against a self-signed controller, verification against a private CA, clear failures, and
``vcc serve --tls-self-signed``.

Only 127.0.0.1 is used.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from vcpsdk.controller.tls import create_ca, fingerprint, issue, pem
from vcpsdk.core.polling import PollTimeout, poll
from vcpsdk.core.protocol import TOKEN_HEADER
from vcpsdk.errors import VcpConnectionError
from vcpsdk.testing import running_controller
from vcpsdk.testing.controller import RunningController
from vcpsdk.testing.serve import vcc_serve
from vcpsdk.vcpsdk import VcpSDK


@pytest.fixture(scope="module")
def tls_controller(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningController]:
    """A controller serving HTTPS with its self-signed certificate."""
    with running_controller(tmp_path_factory.mktemp("tls-vcc"), tls=True) as vcc:
        yield vcc


@pytest.fixture
def no_ca_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verification uses the system's CAs only (no bundle from the environment)."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


# our SDK silences urllib3's warning for the controller's host, as the original does
@pytest.mark.filterwarnings("error::urllib3.exceptions.InsecureRequestWarning")
def test_sdk_over_https_with_a_self_signed_certificate_and_verification_off(
    tls_controller: RunningController, tmp_path: Path, vcp_pubkey: Path, no_ca_bundle: None
) -> None:
    assert tls_controller.base_url.startswith("https://127.0.0.1:")
    config_dir = tls_controller.write_config(tmp_path / "cfg")
    assert "insecure_request_warning: false" in (config_dir / "vcp_config.yml").read_text()
    vcp = VcpSDK(tls_controller.create_token("tlsuser"), config_dir=str(config_dir))

    ug = vcp.create_ugroup("tls-flow")
    spec = vcp.get_spec("aws", "small")
    spec.set_ssh_pubkey(str(vcp_pubkey))
    unit = ug.create_unit("server", spec)
    assert unit.state == "RUNNING"
    unit.add_nodes(1)
    assert len(unit.find_nodes(node_state="RUNNING")) == 2
    vault_url = vcp.vcc_info()["vault_url"]
    assert vault_url == f"https://127.0.0.1:{tls_controller.port}"
    ug.cleanup()
    assert vcp.get_ugroup("tls-flow") is None


def test_sdk_verifies_against_a_private_ca_from_requests_ca_bundle(
    tmp_path: Path, vcp_pubkey: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = create_ca("test CA")
    bundle = tmp_path / "ca.pem"
    bundle.write_bytes(pem(ca.cert))
    files = issue(["127.0.0.1"], tmp_path / "server-tls", issuer=ca)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))

    with running_controller(tmp_path / "vcc", tls=files) as vcc:
        config_dir = vcc.write_config(tmp_path / "cfg", insecure_request_warning=True)
        vcp = VcpSDK(vcc.create_token("causer"), config_dir=str(config_dir))
        ug = vcp.create_ugroup("ca-flow")
        spec = vcp.get_spec("aws", "small")
        spec.set_ssh_pubkey(str(vcp_pubkey))
        assert ug.create_unit("server", spec).state == "RUNNING"
        ug.cleanup()


def test_verification_failure_names_the_certificate_problem(
    tls_controller: RunningController, tmp_path: Path, no_ca_bundle: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="vcp.controller")
    # the default (no insecure_request_warning) verifies, and nobody trusts this certificate
    config_dir = tls_controller.write_config(tmp_path / "cfg")
    config = yaml.safe_load((config_dir / "vcp_config.yml").read_text())
    del config["vcc"]["insecure_request_warning"]
    (config_dir / "vcp_config.yml").write_text(yaml.safe_dump(config))

    with pytest.raises(VcpConnectionError) as info:
        VcpSDK(tls_controller.create_token("verifyuser"), config_dir=str(config_dir))
    message = str(info.value)
    assert "certificate verify failed: self-signed certificate" in message
    assert "insecure_request_warning: False" in message
    assert "REQUESTS_CA_BUNDLE" in message
    # one handshake, not retried: an untrusted certificate does not become trusted
    assert _logged_handshake_failure(caplog, "TLS handshake failed")
    failures = [r for r in caplog.records if "TLS handshake failed" in r.getMessage()]
    assert len(failures) == 1


def _logged_handshake_failure(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    """Whether the controller logged a failed handshake whose message contains ``text``."""
    try:
        poll(
            lambda: [r.getMessage() for r in caplog.records if r.name == "vcp.controller"],
            lambda messages: any(text in m for m in messages),
            timeout=5,
            interval=0.02,
        )
    except PollTimeout:
        return False
    return True


def test_a_client_with_the_wrong_ca_gets_a_clear_error(
    tls_controller: RunningController, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="vcp.controller")
    other = tmp_path / "other-ca.pem"
    other.write_bytes(pem(create_ca("another CA").cert))
    with pytest.raises(requests.exceptions.SSLError, match="certificate verify failed"):
        requests.get(f"{tls_controller.base_url}/health", verify=str(other), timeout=5)
    assert _logged_handshake_failure(caplog, "the client does not trust this certificate")


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_plain_http_to_the_tls_port_fails_at_once(
    tls_controller: RunningController, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="vcp.controller")
    # the connection is closed, not left hanging: a hang would end in ReadTimeout instead
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        requests.get(f"http://127.0.0.1:{tls_controller.port}/vcp/v1/occtr/health", timeout=10)
    assert not isinstance(info.value, requests.exceptions.Timeout)
    assert _logged_handshake_failure(caplog, "a plain-http request on the HTTPS port")
    # and the server still answers TLS clients afterwards
    assert requests.get(f"{tls_controller.base_url}/health", verify=False, timeout=5).status_code == 200


def test_sdk_with_https_against_a_plain_http_port_says_so(
    live_controller: RunningController, tmp_path: Path
) -> None:
    config_dir = live_controller.write_config(tmp_path / "cfg", scheme="https")
    with pytest.raises(VcpConnectionError, match="does not speak HTTPS on this port: .*scheme: http"):
        VcpSDK(live_controller.create_token("plainuser"), config_dir=str(config_dir))


def test_the_certificate_also_verifies_when_trusted_directly(
    tls_controller: RunningController, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert tls_controller.cert_path is not None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_controller.cert_path))
    config_dir = tls_controller.write_config(tmp_path / "cfg", insecure_request_warning=True)
    vcp = VcpSDK(tls_controller.create_token("pinuser"), config_dir=str(config_dir))
    assert vcp.get_ugroup("nothing-here") is None


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_original_style_raw_requests_with_verify_false(tls_controller: RunningController) -> None:
    """Like the original's occtr.py: a plain ``requests`` call (a fresh connection) per
    request, ``verify=False``, base64 YAML CCI."""
    headers = {TOKEN_HEADER: tls_controller.create_token("rawuser"), "Content-Type": "application/json"}
    base = tls_controller.base_url
    cci = "- vc:\n    cci_version: 25.10.0\n    type: compute\n    description: raw\n    name: raw-tls\n"
    body = json.dumps({"cci": base64.b64encode(cci.encode()).decode()})

    created = requests.post(f"{base}/vcs", data=body, headers=headers, verify=False, timeout=10)
    assert created.status_code == 202, created.text
    listed = requests.get(f"{base}/vcs", headers=headers, verify=False, timeout=10)
    assert listed.status_code == 200
    assert "raw-tls" in listed.text

    # the Vault cubbyhole API answers on the same HTTPS port
    vault = {"X-Vault-Token": headers[TOKEN_HEADER]}
    stored = requests.post(
        f"{tls_controller.origin}/v1/cubbyhole/aws/access_key",
        json={"value": "AKIA-test"},
        headers=vault,
        verify=False,
        timeout=10,
    )
    assert stored.status_code == 204
    read = requests.get(
        f"{tls_controller.origin}/v1/cubbyhole/aws/access_key", headers=vault, verify=False, timeout=10
    )
    assert read.json()["data"] == {"value": "AKIA-test"}


def _run_serve(state_dir: Path, *extra: str, tls: bool = False) -> tuple[str, str]:
    """Run ``vcc serve`` with ``extra`` options, fetch the served certificate, stop it;
    returns ``(what it printed on stderr, fingerprint of the served certificate)``."""
    with vcc_serve(state_dir, *extra, tls=tls) as served:
        certificate = ssl.get_server_certificate(("127.0.0.1", served.port), timeout=10)
    assert served.log_path is not None
    return served.log_path.read_text(), fingerprint_of_pem(certificate)


def fingerprint_of_pem(text: str) -> str:
    """SHA-256 fingerprint of a PEM certificate text."""
    from cryptography import x509

    return fingerprint(x509.load_pem_x509_certificate(text.encode()))


def test_vcc_serve_tls_self_signed_prints_path_and_fingerprint_and_reuses_it(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    found = []
    for _ in range(2):
        output, served = _run_serve(state_dir, tls=True)
        printed = re.search(r"TLS certificate (\S+) \(SHA-256 fingerprint ([0-9A-F:]+)\)", output)
        assert printed, output
        assert printed.group(2) == served  # the printed fingerprint is the served one
        assert Path(printed.group(1)) == state_dir.resolve() / "tls" / "cert.pem"
        assert "serving on https://127.0.0.1:" in output
        found.append(printed.group(2))
    assert found[0] == found[1]  # the second start reused the certificate
    key = state_dir / "tls" / "key.pem"
    assert key.stat().st_mode & 0o777 == 0o600


def test_sdk_against_vcc_serve_tls_self_signed(tmp_path: Path, no_ca_bundle: None) -> None:
    with vcc_serve(tmp_path / "state", tls=True) as served:
        assert served.cert_path is not None and served.cert_path.is_file()
        vcp = VcpSDK(served.create_token("alice"), config_dir=str(served.write_config(tmp_path / "cfg")))
        ug = vcp.create_ugroup("served-tls")
        assert [g.name for g in vcp.find_ugroups(ugroup_name="served-tls")] == ["served-tls"]
        ug.cleanup()
        assert vcp.get_ugroup("served-tls") is None


def test_vcc_serve_with_the_operators_certificate(tmp_path: Path) -> None:
    files = issue(["127.0.0.1"], tmp_path / "tls", issuer=create_ca())
    options = ("--tls-cert", str(files.cert), "--tls-key", str(files.key))
    output, served = _run_serve(tmp_path / "state", *options)
    assert served == fingerprint(files.cert)
    assert f"TLS certificate {files.cert} (SHA-256 fingerprint {served})" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tls-cert", "c.pem"], "--tls-cert and --tls-key go together"),
        (["--tls-key", "k.pem"], "--tls-cert and --tls-key go together"),
    ],
)
def test_vcc_serve_refuses_half_a_tls_configuration(tmp_path: Path, args: list[str], message: str) -> None:
    from vcpsdk.controller.cli import main

    with pytest.raises(SystemExit, match=message):
        main(["serve", "--state-dir", str(tmp_path / "state"), *args])


def test_self_signed_certificate_names_the_listen_address(tmp_path: Path) -> None:
    from cryptography import x509

    from vcpsdk.controller.tls import load, self_signed

    by_ip = load(self_signed(tmp_path / "a", "127.0.0.1").cert)
    san = by_ip.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    by_name = load(self_signed(tmp_path / "b", "vcc.example.test").cert)
    san = by_name.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["vcc.example.test"]
    # another address on the same state dir: a new certificate that covers it
    first = fingerprint(self_signed(tmp_path / "a", "127.0.0.1").cert)
    assert fingerprint(self_signed(tmp_path / "a", "127.0.0.1").cert) == first
    assert fingerprint(self_signed(tmp_path / "a", "127.0.0.2").cert) != first


def test_tls_port_closes_a_silent_plain_socket_client_does_not_block_others(
    tls_controller: RunningController,
) -> None:
    # a raw TCP client that speaks http: the server answers/closes instead of waiting
    with socket.create_connection(("127.0.0.1", tls_controller.port), timeout=5) as sock:
        sock.sendall(b"GET /vcp/v1/occtr/health HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(5)
        started = time.monotonic()
        try:
            while sock.recv(4096):
                pass
        except ConnectionResetError:
            pass
        assert time.monotonic() - started < 5


def test_vcc_serve_refuses_a_pair_it_could_not_serve_before_serving(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    from vcpsdk.controller.cli import main

    one = issue(["127.0.0.1"], tmp_path / "one", issuer=create_ca())
    other = issue(["127.0.0.1"], tmp_path / "other", issuer=create_ca())
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    key = serialization.load_pem_private_key(one.key.read_bytes(), password=None)
    encrypted = tmp_path / "encrypted-key.pem"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    for cert, key_file in ((one.cert, other.key), (junk, one.key), (one.cert, encrypted)):
        args = ["serve", "--state-dir", str(tmp_path / "state"), "--port", "0"]
        with pytest.raises(
            SystemExit, match="not a PEM certificate with its matching, unencrypted private key"
        ):
            main([*args, "--tls-cert", str(cert), "--tls-key", str(key_file)])
