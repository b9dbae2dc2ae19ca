"""Serve the controller with uvicorn on a socket we bind ourselves.

Binding first lets ``--port 0`` report the port actually chosen.  The listening
socket gets TCP_NODELAY, which accepted connections inherit: without it a
keep-alive response whose headers and body go out in two writes waits ~40 ms for
the client's delayed ACK (Nagle), on every request after the first.
"""

from __future__ import annotations

import socket

import uvicorn
from fastapi import FastAPI


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
