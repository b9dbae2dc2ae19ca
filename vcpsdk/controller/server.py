"""Serve the controller (see ``runtime.py`` for how it is built) with uvicorn on a
socket we bind ourselves.

Binding first lets ``--port 0`` report the port actually chosen.  The listening
socket gets TCP_NODELAY, which accepted connections inherit: without it a
keep-alive response whose headers and body go out in two writes waits ~40 ms for
the client's delayed ACK (Nagle), on every request after the first.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from vcpsdk.controller.app import create_app
from vcpsdk.controller.settings import ControllerSettings
from vcpsdk.core.protocol import BASE_PATH


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on ``host:port`` (0 = any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    return sock


def make_server(app: FastAPI, log_level: str = "warning") -> uvicorn.Server:
    """A uvicorn server for ``app`` (run it with ``server.run(sockets=[sock])``)."""
    config = uvicorn.Config(
        app, log_level=log_level, access_log=log_level == "debug", timeout_graceful_shutdown=5, lifespan="on"
    )
    return uvicorn.Server(config)


def serve_forever(
    settings: ControllerSettings,
    host: str,
    port: int,
    port_file: str | Path | None = None,
    log_level: str = "warning",
) -> None:
    """Build the controller of ``settings`` and serve it in the foreground until interrupted.

    Args:
        settings: the controller's settings.
        host: address to listen on.
        port: port to listen on (0 = any free port).
        port_file: where to write ``{"host", "port", "pid"}`` once the port is bound.
        log_level: uvicorn's log level.

    Raises:
        SchemaError: the state dir was made by a newer vcpsdk.
    """
    app = create_app(settings)
    sock = bind_socket(host, port)
    bound = sock.getsockname()[1]
    if port_file:
        tmp = Path(port_file).with_suffix(".tmp")
        tmp.write_text(json.dumps({"host": host, "port": bound, "pid": os.getpid()}))
        tmp.replace(port_file)
    print(
        f"vcc: serving on http://{host}:{bound}{BASE_PATH} (state {settings.state_dir})",
        file=sys.stderr,
        flush=True,
    )
    make_server(app, log_level).run(sockets=[sock])
