"""TLS for ``vcc serve``: certificate files, a self-signed certificate kept in the state
dir, and certificates signed by a private CA (for operators and tests).

The original client speaks HTTPS only (reference §8), so a controller it talks to serves
HTTPS: ``vcc serve --tls-cert FILE --tls-key FILE`` with the operator's certificate, or
``vcc serve --tls-self-signed`` with :func:`self_signed`.

Example::

    files = self_signed(state_dir, "10.0.0.5")
    print(files.cert, fingerprint(files.cert))
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import logging
import os
import shutil
import socket
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

logger = logging.getLogger("vcp.controller")
#: where :func:`self_signed` keeps its files, under the state dir
SELF_SIGNED_DIR = "tls"
#: how long a generated certificate is valid
VALIDITY = datetime.timedelta(days=3650)
_WILDCARDS = {"", "0.0.0.0", "::"}
#: a CA's key usage: signs certificates and CRLs (and its own handshakes), nothing else
_CA_KEY_USAGE = dict.fromkeys(
    (
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "encipher_only",
        "decipher_only",
    ),
    False,
) | {"digital_signature": True, "key_cert_sign": True, "crl_sign": True}


@dataclass(frozen=True)
class TlsFiles:
    """A certificate (PEM, may hold the chain) and its private key (PEM, unencrypted).

    Attributes:
        cert: the certificate file.
        key: the private key file.
    """

    cert: Path
    key: Path


@dataclass(frozen=True)
class Issuer:
    """A certificate authority that signs certificates (:func:`create_ca`).

    Attributes:
        cert: the CA certificate.
        key: its private key.
    """

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def names_for(host: str) -> list[str]:
    """The names a certificate for the listen address ``host`` covers.

    An address or a name covers itself; a wildcard address (``0.0.0.0``, ``::``) covers
    this machine's host name, ``localhost`` and ``127.0.0.1``.

    Example::

        names_for("0.0.0.0")   # ['vcc-host', 'localhost', '127.0.0.1']
    """
    if host in _WILDCARDS:
        return list(dict.fromkeys([socket.gethostname(), "localhost", "127.0.0.1"]))
    return [host]


def _san(name: str) -> x509.GeneralName:
    """An IP SAN for an address, a DNS SAN for a name."""
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])


def _sign(
    builder: x509.CertificateBuilder, key: ec.EllipticCurvePrivateKey, issuer: Issuer | None
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    builder = (
        builder.public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    signer = issuer.key if issuer else key
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
    )
    return builder.sign(signer, hashes.SHA256())


def create_ca(common_name: str = "vcpsdk private CA") -> Issuer:
    """A new certificate authority (in memory) that :func:`issue` can sign with.

    Example::

        ca = create_ca()
        Path("ca.pem").write_bytes(pem(ca.cert))
    """
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(**_CA_KEY_USAGE),
            critical=True,
        )
    )
    return Issuer(_sign(builder, key, None), key)


def issue(names: list[str], directory: Path, issuer: Issuer | None = None) -> TlsFiles:
    """Write a server certificate for ``names`` and its key into ``directory``.

    Args:
        names: addresses (IP SANs) and host names (DNS SANs); the first is the CN.
        directory: where ``cert.pem`` and ``key.pem`` (mode 0600) are written.
        issuer: the CA that signs it; ``None`` makes it self-signed.

    Returns:
        the two files.

    Example::

        files = issue(["127.0.0.1"], tmp_path / "tls", issuer=create_ca())
    """
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(issuer.cert.subject if issuer else _name(names[0]))
        .add_extension(x509.SubjectAlternativeName([_san(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    )
    cert = _sign(builder, key, issuer)
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "cert.pem", directory / "key.pem")
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    files.key.unlink(missing_ok=True)
    fd = os.open(files.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key_pem)
    files.cert.write_bytes(pem(cert))
    return files


def pem(cert: x509.Certificate) -> bytes:
    """``cert`` in PEM."""
    return cert.public_bytes(serialization.Encoding.PEM)


def load(path: Path) -> x509.Certificate:
    """The first certificate of the PEM file ``path``."""
    return x509.load_pem_x509_certificate(Path(path).read_bytes())


def fingerprint(cert: Path | x509.Certificate) -> str:
    """The SHA-256 fingerprint of a certificate, as ``AB:CD:...`` (how browsers and
    ``openssl x509 -fingerprint -sha256`` show it).

    Example::

        fingerprint(Path("state/tls/cert.pem"))   # '3F:A1:...'
    """
    certificate = cert if isinstance(cert, x509.Certificate) else load(cert)
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def _covers(cert: x509.Certificate, names: list[str]) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    now = datetime.datetime.now(datetime.UTC)
    return all(_san(n) in san for n in names) and cert.not_valid_after_utc > now + datetime.timedelta(days=1)


def self_signed(state_dir: Path, host: str) -> TlsFiles:
    """The self-signed certificate of ``vcc serve --tls-self-signed`` for ``host``.

    Created once under ``<state_dir>/tls/`` and reused on every later start, so clients
    that pinned or trusted it keep working; made anew only when it does not cover ``host``
    (another listen address) or is about to expire.  Replicas starting at once on one
    state dir all get the same pair: it is made in a temporary directory that is renamed
    to ``tls/`` (a rename onto a directory with files fails, so the first one wins), and a
    certificate never meets another's key.

    Args:
        state_dir: the controller's state dir.
        host: the listen address (see :func:`names_for`).

    Returns:
        the certificate and key files.

    Example::

        files = self_signed(Path("state"), "127.0.0.1")
    """
    directory = Path(state_dir) / SELF_SIGNED_DIR
    files = TlsFiles(directory / "cert.pem", directory / "key.pem")
    names = names_for(host)
    if _usable(files, names):
        return files
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{SELF_SIGNED_DIR}.", dir=directory.parent))
    try:
        issue(names, staging)
        if directory.exists() and not _usable(files, names):  # stale: set it aside first
            with contextlib.suppress(FileNotFoundError):  # another process set it aside
                directory.rename(
                    Path(tempfile.mkdtemp(prefix=f".{SELF_SIGNED_DIR}.old.", dir=directory.parent))
                )
        with contextlib.suppress(OSError):  # ENOTEMPTY/EEXIST: another process's pair won
            staging.rename(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        for old in directory.parent.glob(f".{SELF_SIGNED_DIR}.old.*"):
            shutil.rmtree(old, ignore_errors=True)
    return files


def _usable(files: TlsFiles, names: list[str]) -> bool:
    """Both files exist and the certificate covers ``names`` for more than a day."""
    return files.cert.is_file() and files.key.is_file() and _covers(load(files.cert), names)


#: what a failed handshake usually means, by OpenSSL's reason code
_HANDSHAKE_HINTS = {
    "HTTP_REQUEST": "a plain-http request on the HTTPS port: the client must use https://",
    "HTTPS_PROXY_REQUEST": "a plain-http proxy request on the HTTPS port",
    "WRONG_VERSION_NUMBER": "the client does not speak TLS",
    "TLSV1_ALERT_UNKNOWN_CA": "the client does not trust this certificate (unknown CA)",
    "SSLV3_ALERT_BAD_CERTIFICATE": "the client rejected this certificate",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "the client rejected this certificate",
}


class _HandshakeLoggingSSLObject(ssl.SSLObject):
    """An ``SSLObject`` that logs why a server-side handshake failed (asyncio only logs it
    in debug mode), then fails as before: the connection is closed at once."""

    def do_handshake(self) -> None:
        try:
            super().do_handshake()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            raise
        except ssl.SSLError as e:
            reason = e.reason or type(e).__name__
            hint = _HANDSHAKE_HINTS.get(reason, "")
            logger.warning(
                "vcc: TLS handshake failed (%s)%s; the connection was closed",
                reason,
                f": {hint}" if hint else "",
            )
            raise


def log_handshake_failures(context: ssl.SSLContext) -> ssl.SSLContext:
    """Make the server context ``context`` log every failed TLS handshake at WARNING on
    ``vcp.controller`` (e.g. "a plain-http request on the HTTPS port").

    Example::

        log_handshake_failures(uvicorn_config.ssl)
    """
    context.sslobject_class = _HandshakeLoggingSSLObject
    return context


__all__ = [
    "Issuer",
    "TlsFiles",
    "create_ca",
    "fingerprint",
    "issue",
    "load",
    "log_handshake_failures",
    "names_for",
    "pem",
    "self_signed",
]
