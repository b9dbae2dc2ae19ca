"""Serve the controller (see ``runtime.py`` for how it is built) with uvicorn on a
socket we bind ourselves.

Binding first lets ``--port 0`` report the port actually chosen.  The listening
socket gets TCP_NODELAY, which accepted connections inherit: without it a
keep-alive response whose headers and body go out in two writes waits ~40 ms for
the client's delayed ACK (Nagle), on every request after the first.

With a certificate (``ControllerSettings.tls_cert``) the same socket speaks HTTPS, as the
original client requires.  A client that fails the handshake (a plain-http request, a
client that does not trust the certificate) has its connection closed at once, and the
reason is logged at WARNING (``vcp.controller``); nothing waits for it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from vcpsdk.controller.app import create_app
from vcpsdk.controller.settings import ControllerSettings
from vcpsdk.controller.tls import TlsFiles, fingerprint, log_handshake_failures
from vcpsdk.core.protocol import BASE_PATH

#: how the controller's own log lines look on stderr (``vcc serve --log-level``)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (not when it was made)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def log_to_stderr(level: str) -> None:
    """Send the controller's log (``vcp.controller``: operations started and done, replicas
    taking over, leases changing hands) to stderr at ``level``, as uvicorn does with its own."""
    logger = logging.getLogger("vcp.controller")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(handler)
    logger.setLevel(level.upper())


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on ``host:port`` (0 = any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


def make_server(app: FastAPI, log_level: str = "warning", tls: TlsFiles | None = None) -> uvicorn.Server:
    """A uvicorn server for ``app`` (run it with ``server.run(sockets=[sock])``).

    Args:
        app: the ASGI app.
        log_level: uvicorn's log level.
        tls: certificate and key to serve HTTPS with; plain http when ``None``.

    Returns:
        the server, not started.
    """
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=log_level == "debug",
        timeout_graceful_shutdown=5,
        lifespan="on",
        # h11, even where httptools is installed (uvicorn would pick it): httptools refuses
        # methods outside HTTP's list, and Vault's API has LIST
        http="h11",
        ssl_certfile=str(tls.cert) if tls else None,
        ssl_keyfile=str(tls.key) if tls else None,
    )
    if tls:
        config.load()  # builds config.ssl, the context the server's socket will use
        assert config.ssl is not None
        log_handshake_failures(config.ssl)
    return uvicorn.Server(config)


def settings_tls(settings: ControllerSettings) -> TlsFiles | None:
    """The certificate and key ``settings`` serve with (``None``: plain http)."""
    if settings.tls_cert and settings.tls_key:
        return TlsFiles(Path(settings.tls_cert), Path(settings.tls_key))
    return None


def serve_forever(
    settings: ControllerSettings,
    host: str,
    port: int,
    port_file: str | Path | None = None,
    log_level: str = "warning",
    notes: Sequence[str] = (),
) -> None:
    """Build the controller of ``settings`` and serve it in the foreground until interrupted.

    Args:
        settings: the controller's settings.
        host: address to listen on.
        port: port to listen on (0 = any free port).
        port_file: where to write ``{"host", "port", "pid"}`` once the port is bound.
        log_level: the level of uvicorn's log and of the controller's (:func:`log_to_stderr`).
        notes: lines printed on stderr (prefixed ``vcc: ``) once the controller is built,
            before the address line (``vcc serve``: confinement and limits).

    Raises:
        SchemaError: the state dir was made by a newer vcpsdk.
    """
    tls = settings_tls(settings)
    app = create_app(settings)
    sock = bind_socket(host, port)
    sock.listen(2048)  # connectable from now on (queued until the server accepts), as the port file says
    bound = sock.getsockname()[1]
    if port_file:
        tmp = Path(port_file).with_suffix(".tmp")
        tmp.write_text(json.dumps({"host": host, "port": bound, "pid": os.getpid()}))
        tmp.replace(port_file)
    if tls:
        print(
            f"vcc: TLS certificate {tls.cert} (SHA-256 fingerprint {fingerprint(tls.cert)})",
            file=sys.stderr,
            flush=True,
        )
    for note in notes:
        print(f"vcc: {note}", file=sys.stderr, flush=True)
    print(
        f"vcc: serving on {settings.scheme}://{host}:{bound}{BASE_PATH} (state {settings.state_dir})",
        file=sys.stderr,
        flush=True,
    )
    log_to_stderr(log_level)  # from here on: every check that can refuse to start has passed
    make_server(app, log_level, tls).run(sockets=[sock])
