"""Serve an ASGI app on a free 127.0.0.1 port in a background thread (the controller, the fakes)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import uvicorn

from vcpsdk.controller.server import bind_socket, make_server
from vcpsdk.controller.tls import TlsFiles
from vcpsdk.core.polling import PollTimeout, poll


@dataclass
class LoopbackServer:
    """An app served on 127.0.0.1: its ``port`` and the uvicorn ``server`` running it."""

    port: int
    server: uvicorn.Server

    @property
    def scheme(self) -> str:
        """``http`` (a server that speaks TLS says ``https``)."""
        return "http"

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>`` (``https://`` for a server that speaks TLS)."""
        return f"{self.scheme}://127.0.0.1:{self.port}"


@contextmanager
def serving(
    app: Any, what: str = "server", tls: TlsFiles | None = None, port: int = 0
) -> Iterator[tuple[int, uvicorn.Server]]:
    """Serve an ASGI ``app`` on 127.0.0.1 (a free port by default) in a background thread.

    Args:
        app: the ASGI app.
        what: its name in the error raised when it does not start.
        tls: certificate and key to serve HTTPS with (plain http when ``None``).
        port: the TCP port, 0 for any free port.

    Yields ``(port, server)``; the server stops when the block ends.
    """
    sock = bind_socket("127.0.0.1", port)
    port = sock.getsockname()[1]
    server = make_server(app, tls=tls)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    with suppress(PollTimeout):  # a thread that died (or never started the server) is reported below
        poll(lambda: server.started or not thread.is_alive(), bool, timeout=30, interval=0.01)
    if not server.started:
        raise RuntimeError(f"the in-process {what} did not start")
    try:
        yield port, server
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
